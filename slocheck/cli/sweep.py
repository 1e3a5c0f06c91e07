"""``slocheck sweep`` on the command line: its flags, a line per load, reports, exit code."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from slocheck.cli.common import duration_in, new_console, shown, stop_on_signals, warn
from slocheck.cli.flags import add_settings, settings_of
from slocheck.errors import ExitCode, UsageError
from slocheck.results.run_settings import SweepOptions, setting_names
from slocheck.slofile.bounds import MAX_DURATION_S, MIN_DURATION_S
from slocheck.verdict import exit_code

if TYPE_CHECKING:
    from slocheck.evaluate.sweep import CurvePoint


def _loads(kind: type[float] | type[int]) -> Any:
    """A comma-separated list of loads: ``1,2,4,8``."""

    def parse(text: str) -> tuple[float, ...] | tuple[int, ...]:
        try:
            return tuple(kind(part) for part in text.split(",") if part.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a comma-separated list of {kind.__name__}s like 1,2,4,8, got {text!r}"
            ) from None

    return parse


def add_sweep(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "sweep",
        help="run the spec at several loads and write the latency-throughput curve",
        description="Run the spec once per load, open loop at each of --rates or closed loop "
        "at each of --concurrency, judge each like a gate and write the curve (TTFT P95, "
        "inter-token P95, latency P95, goodput attainment, output tokens/s against the load) "
        "as curve.csv and report.html with the SLO thresholds drawn; with cost: in the spec, "
        "the cost per million output tokens at the highest load that met every SLO. Exit 0 "
        "when every load ran and one met every SLO, 1 when none did, 2 usage, 3 "
        "infrastructure.",
    )
    p.add_argument("--slo", required=True, metavar="FILE", help="the SLO file (YAML)")
    loads = p.add_mutually_exclusive_group(required=True)
    loads.add_argument(
        "--rates", type=_loads(float), metavar="R1,R2,...", help="open-loop rates, requests/s"
    )
    loads.add_argument(
        "--concurrency", type=_loads(int), metavar="C1,C2,...", help="closed-loop users"
    )
    p.add_argument(
        "--step-duration",
        type=duration_in(MIN_DURATION_S, MAX_DURATION_S),
        default=30.0,
        help="the judged load at each point (default 30s; longer at a rate too low to decide "
        "every SLO), after the spec's warm-up",
    )
    add_settings(p, setting_names(SweepOptions))
    p.add_argument("--out", metavar="DIR", help="reports (default: slocheck-results/<timestamp>)")
    p.set_defaults(handler=_cmd_sweep)


def _cmd_sweep(args: argparse.Namespace) -> int:
    from slocheck.load import stopping
    from slocheck.slofile import load_spec
    from slocheck.workflows.outdir import default_out
    from slocheck.workflows.sweep import sweep

    loaded = load_spec(args.slo)
    for trap in loaded.traps:
        warn(trap)
    if loaded.spec.load.trace is not None:
        raise UsageError("sweep: the spec replays a trace (load.trace), which sets its own rate")
    out = Path(args.out) if args.out else default_out()
    options = SweepOptions(
        out_dir=out,
        rates=args.rates or (),
        concurrency=args.concurrency or (),
        step_duration=args.step_duration,
        **settings_of(args, setting_names(SweepOptions)),
    )
    stop_on_signals()
    console = new_console()
    unit = "requests/s" if options.rates else "users"

    def on_point(p: CurvePoint) -> None:
        broke = f" (broken by {', '.join(p.broken_by)})" if p.broken_by else ""
        ttft = f", TTFT P95 {p.ttft_p95_s * 1000:.1f} ms" if p.ttft_p95_s is not None else ""
        good = f", goodput {p.goodput:.1%}" if p.goodput is not None else ""
        console.print(
            f"{p.at:g} {unit}: [bold]{p.verdict}[/]{escape(ttft + good)}{escape(shown(broke))}"
        )

    result = sweep(
        loaded,
        options,
        on_point=on_point,
        on_phase=lambda m: console.print(f"[dim]{escape(shown(m))}[/]"),
    )
    with stopping.deferred():  # a stop signal now waits for the reports (exit 130 after)
        _write_reports(result, out)
    from slocheck.report.sweep_report import best_text

    console.print(
        f"sweep: [bold]{escape(best_text(result))}[/]; verdict {result.verdict.upper()}; "
        f"reports in {escape(str(out))}"
    )
    if result.error is not None:
        print(f"slocheck: error: {shown(result.error)}", file=sys.stderr)
    if stopping.received():
        print("slocheck: interrupted (the reports are complete)", file=sys.stderr)
        return ExitCode.INTERRUPTED
    return exit_code(result.verdict)


def _write_reports(result: Any, out: Path) -> None:
    from slocheck.cli.common import append_step_summary
    from slocheck.report import write_atomic
    from slocheck.report.sweep_report import (
        curve_csv,
        sweep_to_html,
        sweep_to_json,
        sweep_to_markdown,
    )

    write_atomic(out / "report.json", sweep_to_json(result))
    write_atomic(out / "curve.csv", curve_csv(result.points, result.axis))
    markdown = sweep_to_markdown(result)
    write_atomic(out / "summary.md", markdown)
    write_atomic(out / "report.html", sweep_to_html(result))
    append_step_summary(markdown)
