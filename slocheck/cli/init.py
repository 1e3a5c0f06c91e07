"""``slocheck init`` on the command line: probe a target, write a commented spec for it."""

from __future__ import annotations

import argparse
from typing import Any

from rich.markup import escape

from slocheck.cli.common import duration_in, new_console, number_in, url_arg
from slocheck.errors import ExitCode


def add_init(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "init",
        help="probe a service and write a commented SLO spec for it",
        description="Probe --target-url (OpenAI-compatible, KServe v2 or plain HTTP: "
        "/v1/models, /v2/health/ready, /metrics), recognise the server from its metric names, "
        "send a few requests one after another, and write a spec with the server's preset, a "
        "rate of half what one connection sent, and SLOs the load decides in --duration. With "
        "no --target-url: the spec of the embedded reference service. Exit 0, 2 on bad usage "
        "or an existing --out, 3 when the target does not answer well.",
    )
    p.add_argument(
        "--target-url",
        type=url_arg,
        metavar="URL",
        help="the service to probe (default: none, the embedded reference service's spec)",
    )
    p.add_argument(
        "--prometheus-url",
        type=url_arg,
        metavar="URL",
        help="a Prometheus that scrapes the target: written as prometheus.url, and asked for "
        "the metric names when the target's /metrics does not answer (default: none, run "
        "starts its own)",
    )
    p.add_argument(
        "--metrics-url",
        type=url_arg,
        metavar="URL",
        help="where the target's metrics are, when not at URL/metrics (MLServer: port 8082)",
    )
    p.add_argument("--model", metavar="NAME", help="the model (default: the first one listed)")
    p.add_argument(
        "--payload",
        metavar="FILE",
        help="request bodies (JSON, or JSON lines sent in turn): needed for KServe v2 and for "
        "a plain HTTP POST (default: none)",
    )
    p.add_argument(
        "--path", default="/", metavar="PATH", help="plain HTTP: the path to load (default: /)"
    )
    p.add_argument(
        "--duration",
        type=duration_in(5.0, 86400.0),
        default=60.0,
        metavar="DURATION",
        help="the load's duration in the spec; the SLOs are chosen to decide in it (default: 60s)",
    )
    p.add_argument(
        "--probe-requests",
        type=number_in(1, 200, integer=True),
        default=20,
        metavar="N",
        help="requests the probe sends, one after another (default: 20)",
    )
    p.add_argument(
        "--timeout",
        type=duration_in(0.1, 300.0),
        default=10.0,
        metavar="DURATION",
        help="the most each probe request may take (default: 10s)",
    )
    p.add_argument("--out", default="slos.yaml", metavar="FILE", help="(default: slos.yaml)")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    p.set_defaults(handler=_cmd_init)


def _cmd_init(args: argparse.Namespace) -> int:
    from pathlib import Path

    from slocheck.prom.client import redact_url
    from slocheck.workflows.init import InitOptions, describe, init

    command = "slocheck init" + "".join(
        f" {flag} {redact_url(value)}"
        for flag, value in (("--target-url", args.target_url), ("--metrics-url", args.metrics_url))
        if value
    )
    options = InitOptions(
        target_url=args.target_url,
        prometheus_url=args.prometheus_url,
        metrics_url=args.metrics_url,
        model=args.model,
        payload=Path(args.payload) if args.payload else None,
        path=args.path,
        duration=args.duration,
        requests=args.probe_requests,
        timeout=args.timeout,
        command=command,
    )
    result = init(options, Path(args.out), force=args.force)
    console = new_console()
    for line in describe(result):
        console.print(escape(line))
    console.print(f"check it: slocheck validate --slo {escape(str(result.path))}")
    return ExitCode.OK
