"""``slocheck generate`` on the command line: write the production side of an SLO file."""

from __future__ import annotations

import argparse
from typing import Any

from rich.markup import escape

from slocheck.cli.common import new_console
from slocheck.errors import ExitCode
from slocheck.units import printable


def add_generate(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "generate",
        help="write Prometheus rules, their promtool tests, a Grafana dashboard and "
        "Alertmanager routes from an SLO file",
        description="Write, from the SLO file, prometheus-rules.yml (recording rules and "
        "multi-window, multi-burn-rate alerts), prometheus-rules.test.yml (promtool unit "
        "tests), grafana-dashboard.json and alertmanager-routes.yml into DIR. Exit 0, 1 when "
        "--check finds promtool refusing them, 2 on a bad spec.",
    )
    p.add_argument("--slo", required=True, metavar="FILE", help="the SLO file (YAML)")
    p.add_argument("--out", required=True, metavar="DIR", help="the files go here")
    p.add_argument(
        "--check",
        action="store_true",
        help="then run `promtool check rules` and `promtool test rules` on them",
    )
    p.set_defaults(handler=_cmd_generate)


def _cmd_generate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from slocheck.slofile import load_spec
    from slocheck.workflows.generate import generate

    result = generate(load_spec(args.slo), Path(args.out), check=args.check)
    console = new_console()
    console.print(
        f"wrote {len(result.files)} files into {escape(str(result.out_dir))}: "
        f"{result.rules} rules, {result.tests} promtool test groups"
    )
    for name, path in result.files.items():
        console.print(f"  {escape(name)}: {escape(str(path))}")
    for slo, why in result.skipped:
        console.print(f"  [dim]no rule for {escape(printable(slo))}: {escape(why)}[/]")
    for slo, why in result.untested:
        console.print(f"  [yellow]no promtool test for {escape(printable(slo))}[/]: {escape(why)}")
    for check in result.checks:
        mark = "[green]ok[/]" if check.ok else "[bold red]failed[/]"
        console.print(f"{mark} promtool {escape(' '.join(check.command))}")
        if not check.ok:
            console.print(escape(check.output))
    return ExitCode.OK if result.ok else ExitCode.CHECK_FAILED
