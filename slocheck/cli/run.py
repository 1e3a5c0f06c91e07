"""``slocheck run`` on the command line: its flags, live progress, reports and exit code."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from slocheck.cli.common import (
    append_step_summary,
    new_console,
    print_comparison,
    shown,
    stop_on_signals,
    warn,
)
from slocheck.cli.flags import add_settings, settings_of
from slocheck.errors import ExitCode
from slocheck.verdict import Verdict, exit_code

if TYPE_CHECKING:
    from rich.console import Console

    from slocheck.regress import Comparison, RunRecord
    from slocheck.results import RunResult


def add_run(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "run",
        help="load a service, verify its SLOs over the load window, write reports",
        description="Drive the service with Locust, judge the SLOs over exactly the load window, "
        "write every report and exit 0 (met), 1 (missed or inconclusive), 2 (usage), "
        "3 (infrastructure) or 130 (interrupted). With no URLs, starts the embedded stack.",
    )
    p.add_argument("--slo", required=True, metavar="FILE", help="the SLO file (YAML)")
    p.add_argument(
        "--out",
        metavar="DIR",
        help="reports go here (default: slocheck-results/<timestamp>.<ms>-<random>, a folder "
        "per run); a folder another run is writing to is refused (exit 2)",
    )
    add_settings(p)  # --target-url, --users, --duration, ...: every setting of a run
    p.add_argument("--history", metavar="PATH", help="append this run to a history database")
    p.add_argument(
        "--compare-to",
        metavar="BASELINE",
        help="last-pass, median:N, a run id or a "
        "report.json: a regression beyond the spec's tolerances fails the gate",
    )
    p.set_defaults(handler=_cmd_run)


def _cmd_run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from slocheck.results.run_settings import RunOptions
    from slocheck.slofile import load_spec
    from slocheck.workflows.outdir import claimed, default_out
    from slocheck.workflows.run import run

    loaded = load_spec(args.slo)
    for trap in loaded.traps:  # a value that likely means something else (validate says more)
        warn(trap)
    out = Path(args.out) if args.out else default_out()
    options = RunOptions(out_dir=out, **settings_of(args))

    stop_on_signals()
    console = new_console()
    with claimed(out):  # the folder stays this run's until its reports are written
        with _Progress(console) as progress:
            result = run(
                loaded,
                options,
                on_progress=progress.update,
                on_phase=progress.phase,
                on_warning=warn,
            )
        return _after_run(args, result, console)


def _after_run(args: argparse.Namespace, result: RunResult, console: Console) -> int:
    """The history, the comparison and every report; a stop signal meanwhile is noted and
    waits for them (exit 130 after)."""
    from slocheck.load import stopping
    from slocheck.store.run_record import record_of
    from slocheck.workflows.regression import regression_step

    with stopping.deferred():
        stopping.pause_for_tests("reports")
        record = record_of(result)
        comparison = None
        if result.verdict not in (Verdict.INTERRUPTED, Verdict.ERROR) and not stopping.received():
            comparison = regression_step(
                record,
                history=args.history or result.loaded.spec.history,
                compare_to=args.compare_to,
                regression=result.loaded.spec.regression,
                on_skip=warn,
            )
        code = _run_reports(result, console, record, comparison)
    if stopping.received() and code != ExitCode.INTERRUPTED:
        print("slocheck: interrupted (the reports are complete)", file=sys.stderr)
        return ExitCode.INTERRUPTED
    return code


class _Progress:
    """Live progress on a terminal; a plain line every 5 s otherwise."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live: Any = None
        self.last_line = 0.0

    def __enter__(self) -> _Progress:
        if self.console.is_terminal:
            from rich.live import Live

            self.live = Live(console=self.console, refresh_per_second=4, transient=True)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.__exit__(None, None, None)

    def phase(self, text: str) -> None:
        self.console.print(f"[dim]slocheck:[/] {escape(shown(text))}")

    def update(self, p: Any) -> None:
        p95 = f"{p.p95_s * 1000:.1f} ms" if p.p95_s is not None else "-"
        line = (
            f"{p.elapsed:5.0f} s elapsed, {p.remaining:4.0f} s left | {p.rps:7.1f} req/s | "
            f"{p.requests:,} requests, {p.errors:,} errors | client P95 {p95} | "
            f"{p.users} users"
        )
        if self.live is not None:
            self.live.update(line)
        else:
            import time

            if time.monotonic() - self.last_line >= 5:
                self.last_line = time.monotonic()
                self.console.print(line)


def _run_reports(
    result: RunResult, console: Console, record: RunRecord, comparison: Comparison | None
) -> int:
    from slocheck.report.gate import write_run_reports
    from slocheck.report.run_report import client_texts, run_alerts_lines, run_to_markdown
    from slocheck.report.terminal import verdict_table

    if result.verify is not None:
        console.print(verdict_table(result.verify))
    for check in result.checks:
        mark = "[green]ok[/]" if check.ok else "[bold red]not ok[/]"
        console.print(f"{mark} {check.name}: {escape(check.message)}")
    for what, text in client_texts(result.client):
        heading = "load generators" if what == "generators" else f"client ({what})"
        console.print(f"{heading}: {escape(text)}")
    for line in run_alerts_lines(result):
        console.print(f"alerts: {escape(line)}")
    if comparison is not None:
        print_comparison(comparison, console)
    write_run_reports(result, record, comparison)
    markdown = run_to_markdown(result)
    append_step_summary(markdown)
    where = escape(str(result.out_dir))
    kept = f"; not ok: {', '.join(c.name for c in result.not_ok)}" if result.not_ok else ""
    console.print(f"verdict: [bold]{result.verdict.upper()}[/]{kept}; reports in {where}")
    if result.verdict != Verdict.INTERRUPTED and result.error is not None:
        print(f"slocheck: error: {shown(result.error)}", file=sys.stderr)
    regression = Verdict.PASS
    if comparison is not None:
        on_inconclusive = result.loaded.spec.regression.on_inconclusive
        regression = comparison.verdict.gate(on_inconclusive=on_inconclusive)
    slos = [r.verdict for r in result.verify.results] if result.verify is not None else []
    return exit_code(result.verdict, regression, slos=slos)
