"""``slocheck capacity`` on the command line: its flags, a line per step, reports, exit code."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from slocheck.cli.common import (
    duration_in,
    new_console,
    number_in,
    shown,
    stop_on_signals,
    warn,
)
from slocheck.cli.flags import add_settings, settings_of
from slocheck.errors import ExitCode, UsageError
from slocheck.results.run_settings import CapacityOptions, setting_names
from slocheck.slofile.bounds import MAX_DURATION_S, MAX_RATE, MIN_DURATION_S
from slocheck.verdict import Verdict, exit_code

if TYPE_CHECKING:
    from rich.console import Console

    from slocheck.results import CapacityResult
    from slocheck.slofile import LoadedSpec

_rate = number_in(0, MAX_RATE, above=True)


def add_capacity(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "capacity",
        help="find the highest open-loop rate at which every critical SLO still holds",
        description="Run the spec at open-loop rates (doubling from --min-rate, then bisecting) "
        "and report the capacity as a bracket [highest passing, lowest failing rate] with the SLO "
        "that broke first. Exit 0 when a capacity was found (and reaches --require-rate), 1 when "
        "the minimum already fails (or it is below --require-rate), 2 usage, 3 infrastructure.",
    )
    p.add_argument("--slo", required=True, metavar="FILE", help="the SLO file (YAML)")
    p.add_argument(
        "--min-rate",
        type=_rate,
        metavar="R",
        help="the first rate (default: the lowest at which one step gathers enough "
        "observations to decide every SLO, e.g. 42/s for a P99 over 30 s steps)",
    )
    p.add_argument(
        "--max-rate",
        type=_rate,
        default=10_000.0,
        metavar="R",
        help="the highest rate searched, requests/s",
    )
    p.add_argument(
        "--budget",
        type=duration_in(MIN_DURATION_S, MAX_DURATION_S),
        default=600.0,
        help="the time the whole search may take (default 10m); a step that would not fit ends it",
    )
    p.add_argument(
        "--step-duration",
        type=duration_in(MIN_DURATION_S, MAX_DURATION_S),
        default=30.0,
        help="the judged load of each step (default 30s), after the spec's warm-up",
    )
    p.add_argument(
        "--precision",
        type=float,
        default=0.10,
        help="stop when the bracket is within this share of its lower end (default 0.1)",
    )
    p.add_argument(
        "--require-rate",
        type=_rate,
        metavar="R",
        help="exit 1 unless the capacity found reaches R requests/s",
    )
    # each step's options of a run (--warmup, --target-url, ...): as slocheck run declares them
    add_settings(p, setting_names(CapacityOptions))
    p.add_argument("--out", metavar="DIR", help="reports (default: slocheck-results/<timestamp>)")
    p.add_argument("--history", metavar="PATH", help="append the capacity to a history database")
    p.add_argument(
        "--compare-to",
        metavar="BASELINE",
        help="last-pass, median:N, a run id: a capacity drop beyond regression.capacity (10%%) "
        "fails",
    )
    p.set_defaults(handler=_cmd_capacity)


def _cmd_capacity(args: argparse.Namespace) -> int:
    from slocheck.load import stopping
    from slocheck.slofile import load_spec
    from slocheck.workflows.capacity import capacity

    loaded = load_spec(args.slo)
    for trap in loaded.traps:  # a value that likely means something else (validate says more)
        warn(trap)
    if args.min_rate is not None and args.min_rate > args.max_rate:
        raise UsageError(f"--min-rate {args.min_rate:g} is above --max-rate {args.max_rate:g}")
    if not 0 < args.precision < 1:
        raise UsageError(f"--precision: expected a share in (0, 1), got {args.precision:g}")
    from slocheck.workflows.outdir import default_out

    out = Path(args.out) if args.out else default_out()
    options = CapacityOptions(
        out_dir=out,
        min_rate=args.min_rate,
        max_rate=args.max_rate,
        budget_s=args.budget,
        step_duration=args.step_duration,
        precision=args.precision,
        require_rate=args.require_rate,
        **settings_of(args, setting_names(CapacityOptions)),
    )
    stop_on_signals()
    console = new_console()

    def on_step(step: Any) -> None:
        broke = f" (broken by {', '.join(step.broken_by)})" if step.broken_by else ""
        p95 = f", P95 {step.p95_s * 1000:.1f} ms" if step.p95_s is not None else ""
        achieved = f", achieved {step.achieved_rps:.1f}/s" if step.achieved_rps else ""
        console.print(
            f"step {step.rate:g} requests/s: [bold]{step.verdict}[/]{escape(achieved + p95)}"
            f"{escape(shown(broke))}"
        )

    result = capacity(
        loaded,
        options,
        on_step=on_step,
        on_phase=lambda m: console.print(f"[dim]{escape(shown(m))}[/]"),
    )
    with stopping.deferred():  # a stop signal now waits for the reports (exit 130 after)
        code = _capacity_reports(args, result, loaded, out, console)
    if stopping.received() and code != ExitCode.INTERRUPTED:
        print("slocheck: interrupted (the reports are complete)", file=sys.stderr)
        return ExitCode.INTERRUPTED
    return code


def _capacity_reports(
    args: argparse.Namespace,
    result: CapacityResult,
    loaded: LoadedSpec,
    out: Path,
    console: Console,
) -> int:
    """The history, the comparison, every report; the exit code."""
    from slocheck.evaluate.sweep import Axis
    from slocheck.report import write_atomic
    from slocheck.report.capacity_report import (
        bracket_text,
        capacity_to_html,
        capacity_to_json,
        capacity_to_markdown,
    )
    from slocheck.report.sweep_report import curve_csv
    from slocheck.store import HISTORY_ENV
    from slocheck.store.run_record import capacity_record
    from slocheck.workflows.regression import regression_step

    comparison = None
    history = args.history or loaded.spec.history or os.environ.get(HISTORY_ENV)
    if result.verdict in (Verdict.PASS, Verdict.FAIL) and (history or args.compare_to):
        comparison = regression_step(
            capacity_record(result),
            history=history,
            compare_to=args.compare_to,
            regression=loaded.spec.regression,
            on_skip=warn,
        )
    write_atomic(out / "report.json", capacity_to_json(result, comparison))
    write_atomic(out / "curve.csv", curve_csv(sorted(result.curve, key=lambda p: p.at), Axis.RATE))
    markdown = capacity_to_markdown(result)
    write_atomic(out / "summary.md", markdown)
    write_atomic(out / "report.html", capacity_to_html(result))
    from slocheck.cli.common import append_step_summary

    append_step_summary(markdown)
    console.print(
        f"capacity: [bold]{escape(bracket_text(result))}[/]; verdict "
        f"{result.verdict.upper()}; reports in {escape(str(out))}"
    )
    if result.verdict != Verdict.INTERRUPTED and result.error is not None:
        print(f"slocheck: error: {shown(result.error)}", file=sys.stderr)
    regression = Verdict.PASS
    if comparison is not None:
        from slocheck.cli.common import print_comparison

        print_comparison(comparison, console)
        regression = comparison.verdict.gate(on_inconclusive=loaded.spec.regression.on_inconclusive)
    return exit_code(result.verdict, regression)
