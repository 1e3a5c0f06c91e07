"""Command-line entry point. The only module that prints or exits; it wires the stages."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from rich.markup import escape

from slocheck._version import __version__
from slocheck.errors import (
    ExitCode,
    ServiceStartError,
    SlocheckError,
    UsageError,
    exit_code_for,
)
from slocheck.units import parse_duration, parse_ratio

if TYPE_CHECKING:
    from rich.console import Console

    from slocheck.service.config import ServiceConfig
    from slocheck.verify import VerifyResult


class _Parser(argparse.ArgumentParser):
    """argparse that raises :class:`UsageError` (exit 2) instead of exiting itself."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}", hint=f"see '{self.prog} --help'")


def _typed(parse: Callable[[str], object], what: str) -> Callable[[str], object]:
    def convert(text: str) -> object:
        try:
            return parse(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(f"{what}: {e}") from None

    convert.__name__ = what
    return convert


def _url(text: str) -> str:
    from slocheck.spec.model import http_url

    return http_url(text)


def _add_serve(sub: argparse._SubParsersAction[_Parser]) -> None:
    from slocheck.service.config import (
        BACKEND_CHOICES,
        DEVICE_CHOICES,
        MODEL_CHOICES,
        ServiceConfig,
    )

    d = ServiceConfig()
    p = sub.add_parser(
        "serve",
        help="run the reference instrumented inference service",
        description="Run the reference instrumented inference service.",
    )
    p.add_argument("--host", default=d.host, help="address to listen on (default %(default)s)")
    p.add_argument(
        "--port", type=int, default=d.port, help="port (default %(default)s; 0 picks one)"
    )
    p.add_argument("--model", choices=MODEL_CHOICES, default=d.model)
    p.add_argument("--backend", choices=BACKEND_CHOICES, default=d.backend)
    p.add_argument("--device", choices=DEVICE_CHOICES, default=d.device)
    p.add_argument(
        "--max-batch-size",
        type=int,
        default=d.max_batch_size,
        help="largest batch (1 turns batching off; default %(default)s)",
    )
    p.add_argument(
        "--max-batch-wait-ms",
        type=float,
        default=d.max_batch_wait_ms,
        help="longest wait for a batch to fill (default %(default)s)",
    )
    p.add_argument(
        "--max-queue",
        type=int,
        default=d.max_queue,
        help="queued requests per model before 503 (default %(default)s)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=d.threads,
        help="math-library threads per model call (default %(default)s; 0: one per core)",
    )
    p.add_argument("--max-body-bytes", type=int, default=d.max_body_bytes)
    p.add_argument("--seed", type=int, default=d.seed, help="seed of the model weights")
    p.add_argument(
        "--fault-error-rate",
        type=_typed(parse_ratio, "ratio"),
        default=0.0,
        help="share of inference requests answered 500 (0.05 or 5%%)",
    )
    p.add_argument(
        "--fault-latency",
        type=_typed(parse_duration, "duration"),
        default=0.0,
        help="latency added to inference requests (200ms)",
    )
    p.add_argument(
        "--fault-latency-probability",
        type=_typed(parse_ratio, "ratio"),
        default=1.0,
        help="share of requests that get --fault-latency (default 1)",
    )
    p.add_argument(
        "--fault-crash-after",
        type=int,
        default=None,
        help="exit abruptly when this many inference requests were served",
    )
    p.add_argument("--fault-seed", type=int, default=None, help="seed of the fault draws")
    p.add_argument("--enable-admin", action="store_true", help="enable POST /admin/faults")
    p.add_argument(
        "--log-level",
        default=d.log_level,
        choices=("debug", "info", "warning", "error", "critical"),
    )
    p.add_argument("--no-access-log", dest="access_log", action="store_false")
    p.add_argument("--service-name", default=d.service_name)
    p.set_defaults(handler=_cmd_serve)


def service_config_from_args(args: argparse.Namespace) -> ServiceConfig:
    """The :class:`ServiceConfig` that ``slocheck serve`` arguments describe."""
    from slocheck.service import ConfigError, FaultConfig, ServiceConfig

    try:
        faults = FaultConfig(
            error_rate=args.fault_error_rate,
            latency=args.fault_latency,
            latency_probability=args.fault_latency_probability,
            crash_after=args.fault_crash_after,
            seed=args.fault_seed,
        )
        return ServiceConfig(
            host=args.host,
            port=args.port,
            model=args.model,
            backend=args.backend,
            device=args.device,
            max_batch_size=args.max_batch_size,
            max_batch_wait_ms=args.max_batch_wait_ms,
            max_queue=args.max_queue,
            threads=args.threads,
            max_body_bytes=args.max_body_bytes,
            seed=args.seed,
            faults=faults,
            enable_admin=args.enable_admin,
            log_level=args.log_level,
            access_log=args.access_log,
            service_name=args.service_name,
        )
    except ConfigError as e:
        flag = e.field.removeprefix("faults.").replace("_", "-")
        prefix = "fault-" if e.field.startswith("faults.") else ""
        raise UsageError(f"--{prefix}{flag}: {e.message}") from e


def _cmd_serve(args: argparse.Namespace) -> int:
    from slocheck.service import ServeError, serve

    config = service_config_from_args(args)
    try:
        serve(config)
    except ServeError as e:
        if e.kind == "usage":
            raise UsageError(str(e)) from e
        raise ServiceStartError(str(e)) from e
    return ExitCode.OK


def _console() -> Console:
    """Rich output; a fixed, wide layout when not a terminal (CI logs)."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)


def _add_validate(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser(
        "validate",
        help="check an SLO file and show the PromQL of each SLI",
        description="Check an SLO file; exit 0 when valid, 2 when not.",
    )
    p.add_argument("--slo", required=True, metavar="FILE", help="the SLO file (YAML)")
    p.set_defaults(handler=_cmd_validate)


def _cmd_validate(args: argparse.Namespace) -> int:
    from slocheck.evaluate.plan import plan
    from slocheck.spec import load_spec

    loaded = load_spec(args.slo)
    spec = loaded.spec
    console = _console()
    console.print(
        f"[green]valid[/]: {escape(args.slo)} (schema version {spec.version}, "
        f"{len(spec.slos)} SLO(s), sha256 {loaded.sha256[:12]})"
    )
    for slo in spec.slos:
        p = plan(slo, spec.prometheus.selector)
        console.print(f"- [bold]{escape(slo.name)}[/] ({slo.sli}, {slo.severity})", soft_wrap=True)
        if p.fetch:
            console.print(f"    fetches: {escape(p.fetch)}[$window + look-back]", soft_wrap=True)
        console.print(f"    PromQL:  {escape(p.promql)}", soft_wrap=True)
    return ExitCode.OK


def _add_verify(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser(
        "verify",
        help="judge the SLOs over one window of Prometheus data",
        description="Judge the SLOs of a spec over exactly [start, end].",
    )
    p.add_argument("--slo", required=True, metavar="FILE", help="the SLO file (YAML)")
    p.add_argument(
        "--prometheus-url", metavar="URL", type=_typed(_url, "URL"), help="overrides prometheus.url"
    )
    p.add_argument(
        "--start",
        required=True,
        metavar="T",
        help="window start: RFC 3339, unix seconds or now-10m",
    )
    p.add_argument("--end", default="now", metavar="T", help="window end (default: now)")
    p.add_argument("--json", metavar="PATH", help="write the JSON report here")
    p.add_argument("--junit", metavar="PATH", help="write a JUnit XML report here")
    p.add_argument("--markdown", metavar="PATH", help="write a Markdown report here")
    p.set_defaults(handler=_cmd_verify)


def _cmd_verify(args: argparse.Namespace) -> int:
    import time

    from slocheck.evaluate import Window
    from slocheck.spec import load_spec
    from slocheck.units import parse_time
    from slocheck.verify import client_for, verify

    loaded = load_spec(args.slo)
    now = time.time()
    try:
        window = Window(parse_time(args.start, now), parse_time(args.end, now))
    except ValueError as e:
        raise UsageError(f"--start/--end: {e}") from None
    result = verify(loaded, client_for(loaded.spec.prometheus, args.prometheus_url), window)
    return _report(result, args)


def _report(result: VerifyResult, args: argparse.Namespace) -> int:
    import os

    from slocheck.report import to_json, to_junit, to_markdown, write_atomic
    from slocheck.report.terminal import verdict_table

    _console().print(verdict_table(result))
    if args.json:
        write_atomic(args.json, to_json(result))
    if args.junit:
        write_atomic(args.junit, to_junit(result))
    markdown = to_markdown(result)
    if args.markdown:
        write_atomic(args.markdown, markdown)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as f:
            f.write(markdown)
    if any(r.verdict == "error" for r in result.results):
        return ExitCode.USAGE  # a query answered in a shape that cannot be judged: fix the spec
    return ExitCode.CHECK_FAILED if result.verdict == "fail" else ExitCode.OK


def build_parser() -> _Parser:
    parser = _Parser(
        prog="slocheck",
        description=(
            "Prove, with a real load and real metrics, that an ML inference service meets its SLOs."
        ),
    )
    parser.add_argument("--version", action="version", version=f"slocheck {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    _add_serve(sub)
    _add_validate(sub)
    _add_verify(sub)
    from slocheck.cli_run import add_run

    add_run(sub)
    from slocheck.cli_regress import add_bench, add_compare, add_history

    add_compare(sub)
    add_history(sub)
    add_bench(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        if argv is not None and any("\x00" in a for a in argv):  # only the Python API can
            raise UsageError("an argument contains a NUL byte")
        args = parser.parse_args(argv)
        if getattr(args, "handler", None) is None:
            parser.print_help(sys.stderr)
            return ExitCode.USAGE
        code: int = args.handler(args)
        return code
    except SlocheckError as e:
        print(f"slocheck: error: {e}", file=sys.stderr)
        return e.exit_code
    except OSError as e:  # a report or file that cannot be written, a child that cannot start
        where = f" ({e.filename})" if getattr(e, "filename", None) else ""
        print(f"slocheck: error: {e.strerror or e}{where}", file=sys.stderr)
        return exit_code_for(e)
    except Exception as e:  # a bug: never exit 1, which means "an SLO failed"
        print(
            f"slocheck: internal error: {type(e).__name__}: {e}\n  please report it with the "
            "command line and spec",
            file=sys.stderr,
        )
        return exit_code_for(e)
    except KeyboardInterrupt:
        print("slocheck: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
