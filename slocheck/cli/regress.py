"""``slocheck compare``, ``slocheck history`` and ``slocheck bench`` on the command line: their
flags, tables and exit codes. The judgement is in ``regress``, the runs in ``store``."""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table

from slocheck.cli.common import (
    new_console,
    number_in,
    print_comparison,
    shown,
    stop_on_signals,
    warn,
)
from slocheck.cli.flags import add_settings, settings_of
from slocheck.errors import ExitCode, UsageError
from slocheck.results.run_settings import BenchOptions, setting_names
from slocheck.store import DEFAULT_HISTORY, HISTORY_ENV, history_exists, history_location
from slocheck.verdict import Change, Verdict, exit_code

if TYPE_CHECKING:
    from rich.console import Console

    from slocheck.regress import Comparison, RunRecord
    from slocheck.slofile import RegressionSpec


# -- slocheck compare ------------------------------------------------------------------------
def add_compare(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "compare",
        help="compare a run with a baseline (regressions)",
        description="Compare a run (a run id, 'last', or a report.json) with a "
        "baseline; exit 1 when a metric regressed beyond its tolerance.",
    )
    p.add_argument(
        "current",
        help="run id in the history, 'last', 'last:N' (the newest N runs of the newest run's "
        "configuration, pooled), or a report.json of slocheck run",
    )
    p.add_argument(
        "--baseline",
        default="median:5",
        help="last-pass, median:N (the last N runs pooled), a run id or a report.json "
        "(default median:5)",
    )
    p.add_argument("--history", help=HISTORY_HELP)
    p.add_argument("--slo", metavar="FILE", help="read the tolerances from this spec's regression:")
    p.add_argument(
        "--any-fingerprint",
        action="store_true",
        help="also compare with runs of another configuration",
    )
    p.add_argument("--require-baseline", action="store_true", help="no baseline is a failure")
    p.add_argument(
        "--canary",
        action="store_true",
        help="the canary rule: error ratio +5 points or P95 +100 ms (see regression:)",
    )
    p.add_argument("--json", metavar="PATH", help="write the comparison as JSON")
    p.add_argument(
        "--canary-selector",
        metavar="MATCHERS",
        help="canary analysis in one Prometheus: the canary's label matchers (CURRENT "
        "is then the baseline's, e.g. 'deployment=\"stable\"'); needs --slo",
    )
    p.add_argument("--prometheus-url", metavar="URL", help="with --canary-selector")
    p.add_argument("--start", default="now-10m", help="with --canary-selector (default now-10m)")
    p.add_argument("--end", default="now", help="with --canary-selector (default now)")
    p.set_defaults(handler=cmd_compare)


def _current(spec: str, history_path: str) -> list[RunRecord]:
    from slocheck.store.history import History, load_record

    if Path(spec).is_file():
        return [load_record(Path(spec))]
    if not Path(history_path).exists():
        raise UsageError(f"{spec}: not a file, and there is no history at {history_path}")
    count = 1 if spec == "last" else _last_n(spec)
    with History(history_path, on_skip=warn) as store:
        if count is None:
            found = store.get(spec)
            if found is None:
                raise UsageError(f"{spec}: no such run in {history_path}")
            return [found]
        newest = store.runs(limit=1)
        if not newest:
            raise UsageError(f"{spec}: the history {history_path} holds no run")
        runs = store.runs(newest[0].fingerprint, limit=count)
    if len(runs) < count:
        raise UsageError(f"{spec}: the history holds only {len(runs)} run(s) of that configuration")
    return runs


def _last_n(spec: str) -> int | None:
    """N of ``last:N``; None when ``spec`` is not of that form (a run id)."""
    if not spec.startswith("last:"):
        return None
    n = spec.split(":", 1)[1]
    if not n.isdigit() or not 1 <= int(n) <= 1000:
        raise UsageError(f"{spec}: expected last:N, N a number from 1 to 1000")
    return int(n)


#: ``--history`` of compare, history and bench
HISTORY_HELP = (
    f"the history: a SQLite file or a postgresql:// URL (its password in PGPASSWORD or "
    f"~/.pgpass); default ${HISTORY_ENV}, else {DEFAULT_HISTORY}"
)


def cmd_compare(args: argparse.Namespace) -> int:
    from slocheck.regress import canary, compare
    from slocheck.slofile import RegressionSpec, load_spec
    from slocheck.store.history import History, load_record

    if args.canary_selector:
        return _canary_in_prometheus(args)
    spec = load_spec(args.slo).spec if args.slo else None
    regression = spec.regression if spec is not None else RegressionSpec()
    args.history = history_location(args.history or (spec.history if spec else None))
    current = _current(args.current, args.history)
    if history_exists(args.history):
        with History(
            args.history, on_skip=warn
        ) as store:  # run ids, median:N, last-pass and report files
            baseline = store.baseline(args.baseline, current, args.any_fingerprint)
    elif Path(args.baseline).is_file():
        baseline = [load_record(Path(args.baseline))]
    else:
        raise UsageError(f"--baseline {args.baseline}: no history at {shown(args.history)}")
    console = new_console()
    if args.canary:
        if len(current) > 1:
            raise UsageError(f"--canary judges one run, not {args.current}")
        flags = (
            canary(
                current[0],
                baseline,
                max_error_points=regression.canary_error_points,
                max_p95_increase_s=regression.canary_p95_increase,
            )
            if baseline
            else []
        )
        from slocheck.regress.canary import canary_lines

        for line in canary_lines(current[0], baseline) if baseline else []:
            console.print(escape(line), soft_wrap=True)
        for flag in flags:
            console.print(f"[bold red]canary[/]: {escape(flag)}")
        limits = (
            f" (limits: error ratio +{regression.canary_error_points * 100:g} points, "
            f"P95 +{regression.canary_p95_increase * 1000:g} ms)"
        )
        verdict = "FLAGGED" if flags else "ok" if baseline else "no baseline"
        console.print(f"canary: {verdict}{limits if baseline else ''}")
        change = Change.REGRESSED if flags else Change.UNCHANGED if baseline else Change.NO_BASELINE
        return exit_code(change.gate(require_baseline=args.require_baseline))
    result = compare(current, baseline, regression.tolerances(), noise=regression.noise)
    return _report_comparison(result, args, regression, console)


def _report_comparison(
    result: Comparison, args: argparse.Namespace, regression: RegressionSpec, console: Console
) -> int:
    """What ``compare`` and ``bench --compare-to`` do with their comparison: print it, write
    ``--json``, and turn it into the exit code."""
    from slocheck.regress import to_dict
    from slocheck.report import write_atomic

    print_comparison(result, console)
    if args.json:
        write_atomic(args.json, json.dumps(to_dict(result), indent=2, default=str) + "\n")
    gate = result.verdict.gate(
        on_inconclusive=regression.on_inconclusive, require_baseline=args.require_baseline
    )
    return exit_code(gate)


def _canary_in_prometheus(args: argparse.Namespace) -> int:
    import time

    from slocheck.evaluate import Window
    from slocheck.slofile import load_spec
    from slocheck.slofile.model import PrometheusSpec
    from slocheck.units import parse_time
    from slocheck.workflows.canary import canary_analysis
    from slocheck.workflows.verify import check_window, client_for

    if not args.slo:
        raise UsageError("--canary-selector needs --slo (Prometheus settings and tolerances)")
    spec = load_spec(args.slo).spec
    try:
        base_sel = PrometheusSpec(selector=args.current).selector
        canary_sel = PrometheusSpec(selector=args.canary_selector).selector
    except ValueError as e:
        raise UsageError(f'selectors: expected label matchers like job="demo": {e}') from None
    now = time.time()
    try:
        window = Window(parse_time(args.start, now), parse_time(args.end, now))
    except ValueError as e:
        raise UsageError(f"--start/--end: {e}") from None
    check_window(window)
    result = canary_analysis(
        client_for(spec.prometheus, args.prometheus_url), spec, window, base_sel, canary_sel
    )
    console = new_console()
    for d, name in ((result.baseline, "baseline"), (result.canary, "canary")):
        ratio = f"{d.error_ratio:.3%}" if d.error_ratio is not None else "-"
        p95 = f"{d.p95_s * 1000:.1f} ms" if d.p95_s is not None else "-"
        console.print(
            f"{name} {{{escape(d.selector)}}}: {d.requests:,.0f} requests, error "
            f"ratio {ratio}, P95 {p95}"
        )
    for flag in result.flags:
        console.print(f"[bold red]canary[/]: {escape(flag)}")
    for note in result.notes:
        console.print(f"[yellow]warning[/]: {escape(note)}")
    console.print("canary: " + ("FLAGGED" if result.flagged else "ok"))
    return exit_code(Verdict.FAIL if result.flagged else Verdict.PASS)


# -- slocheck history ------------------------------------------------------------------------
def add_history(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "history",
        help="list, export, import runs; find change points",
        description="The benchmark history.",
    )
    p.add_argument(
        "action",
        nargs="?",
        default="list",
        choices=("list", "export", "import", "trend", "migrate"),
        help="list the runs, export or import them as JSON lines, find the change points of a "
        "metric (trend), or bring the history's schema to this slocheck's (migrate) "
        "(default: list)",
    )
    p.add_argument("file", nargs="?", help="the JSON-lines file (export, import)")
    p.add_argument(
        "--history",
        help=HISTORY_HELP + "; it must exist (slocheck run --history writes it)",
    )
    p.add_argument(
        "--metric",
        default="p95_s",
        choices=("p50_s", "p95_s", "p99_s", "throughput"),
        help="trend: the metric to look at",
    )
    p.add_argument("--html", metavar="PATH", help="trend: write an HTML plot")
    p.set_defaults(handler=cmd_history)


def cmd_history(args: argparse.Namespace) -> int:
    from slocheck.store.history import History

    console = new_console()
    args.history = history_location(args.history)
    if args.action != "import" and not history_exists(args.history):  # nothing to read
        raise UsageError(
            f"history {args.action}: there is no history at {shown(args.history)}",
            hint="slocheck run --history FILE and slocheck bench add runs to one; "
            "history import creates one",
        )
    with History(args.history, on_skip=warn) as store:
        if args.action == "migrate":
            before, after = store.migrate()
            console.print(
                f"{shown(args.history)}: schema version {before}"
                + (f" -> {after}" if after != before else ", this slocheck's: nothing to do")
            )
            return ExitCode.OK
        if args.action in ("export", "import") and not args.file:
            raise UsageError(f"history {args.action}: give the JSON-lines FILE")
        if args.action == "export":
            console.print(f"exported {store.export_jsonl(Path(args.file))} run(s)")
            return ExitCode.OK
        if args.action == "import":
            try:
                text = Path(args.file).read_text()
            except OSError as e:
                raise UsageError(f"{args.file}: {e.strerror or e}") from None
            try:
                console.print(f"imported {store.import_jsonl(text.splitlines())} run(s)")
            except json.JSONDecodeError as e:
                raise UsageError(f"{args.file}: not JSON lines ({e})") from None
            return ExitCode.OK
        rows = store.summaries()
    if args.action == "trend":
        return _trend(rows, args, console)
    table = Table(title=f"{len(rows)} run(s) in {shown(args.history)}", title_justify="left")
    for col in ("run", "fingerprint", "verdict", "requests", "p50 ms", "p95 ms", "req/s"):
        table.add_column(col)
    for run_id, _created, fp, verdict, s in rows:
        ms = [
            f"{s[k] * 1000:.2f}" if isinstance(s.get(k), float) else "-" for k in ("p50_s", "p95_s")
        ]
        rps = f"{s['throughput']:.1f}" if isinstance(s.get("throughput"), float) else "-"
        table.add_row(run_id, fp, verdict, str(s.get("requests", "-")), *ms, rps)
    console.print(table)
    return ExitCode.OK


def _trend(
    rows: list[tuple[str, float, str, str, dict[str, Any]]],
    args: argparse.Namespace,
    console: Console,
) -> int:
    from slocheck.regress.trend import change_points

    by_fp: dict[str, list[tuple[str, float, float]]] = {}
    for run_id, created, fp, _verdict, s in reversed(rows):
        value = s.get(args.metric)
        if isinstance(value, (int, float)):
            by_fp.setdefault(fp, []).append((run_id, created, float(value)))
    if not by_fp:
        console.print("no runs with that metric")
        return ExitCode.OK
    fp, series = max(by_fp.items(), key=lambda kv: len(kv[1]))
    points = change_points([v for _, _, v in series])
    console.print(f"{args.metric} over {len(series)} run(s) of fingerprint {fp}")
    for i in points:
        before = statistics.median(v for _, _, v in series[:i])
        after = statistics.median(v for _, _, v in series[i:])
        console.print(
            f"change point: run {escape(series[i][0])} ({before:.4g} -> {after:.4g}, "
            f"{after / before - 1:+.1%})"
        )
    if not points:
        console.print("no change point")
    if args.html:
        from slocheck.report import write_atomic
        from slocheck.report.plots import XAxis, svg_plot

        svg = svg_plot(
            f"{args.metric} per run",
            [t for _, t, _ in series],
            [(args.metric, "#0969da", [v for _, _, v in series])],
            args.metric,
            x=XAxis(
                label="seconds since the first run",
                marks=[("change point", "#cf222e", series[i][1]) for i in points],
            ),
        )
        write_atomic(
            args.html,
            f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>"
            f"slocheck trend</title></head><body>{svg}</body></html>\n",
        )
    return ExitCode.OK


# -- slocheck bench --------------------------------------------------------------------------
def add_bench(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "bench",
        help="repeat a run N times (the noise; with --compare-to, the nightly check)",
        description="Repeat slocheck run N times into the history; print the "
        "coefficient of variation of each metric across the runs. With --compare-to, compare "
        "the N runs, pooled, with a baseline of earlier runs: more runs narrow the interval, "
        "so a nightly job decides instead of saying inconclusive.",
    )
    p.add_argument("--slo", required=True, metavar="FILE", help="the SLO file (YAML)")
    p.add_argument(
        "--repeat",
        type=number_in(2, 1000, integer=True),
        default=5,
        help="how many runs (2 to 1000)",
    )
    p.add_argument("--history", help=HISTORY_HELP + ", each run added to it")
    p.add_argument(
        "--out",
        metavar="DIR",
        help="run-1, run-2 ... go here (default: slocheck-results/bench-<timestamp>.<ms>-<random>"
        ", a folder per bench); a folder another run is writing to is refused (exit 2)",
    )
    add_settings(p, setting_names(BenchOptions))  # each run's options: as slocheck run's
    p.add_argument(
        "--compare-to",
        metavar="BASELINE",
        help="then compare the N runs, pooled, with this baseline of earlier runs (median:M, "
        "last-pass, a run id or a report.json): the nightly check; exit 1 on a regression",
    )
    p.add_argument(
        "--any-fingerprint", action="store_true", help="a baseline of another configuration"
    )
    p.add_argument("--require-baseline", action="store_true", help="no baseline is a failure")
    p.add_argument("--json", metavar="PATH", help="write the comparison as JSON")
    p.set_defaults(handler=cmd_bench)


#: the noise table's rows: summary key, name, scale to the unit shown, unit
NOISE_ROWS = (
    ("p50_s", "p50 latency", 1000.0, "ms"),
    ("p95_s", "p95 latency", 1000.0, "ms"),
    ("p99_s", "p99 latency", 1000.0, "ms"),
    ("throughput", "throughput", 1.0, "requests/s"),
)


def noise_table(summaries: list[dict[str, Any]], run_ids: list[str]) -> Table:
    """The run-to-run noise of a bench: each metric's mean and standard deviation in the unit
    ``compare`` shows it in (ms, requests/s), and its coefficient of variation."""
    table = Table(
        title=f"noise over {len(run_ids)} runs ({', '.join(run_ids)})", title_justify="left"
    )
    for col in ("metric", "mean", "stdev", "CV"):
        table.add_column(col)
    for key, name, scale, unit in NOISE_ROWS:
        values = [s[key] * scale for s in summaries if isinstance(s.get(key), float)]
        if len(values) >= 2:
            mean, sd = statistics.mean(values), statistics.stdev(values)
            cv = f"{sd / mean:.1%}" if mean else "-"
            table.add_row(name, f"{mean:,.2f} {unit}", f"{sd:,.2f} {unit}", cv)
    return table


def cmd_bench(args: argparse.Namespace) -> int:
    from slocheck.regress.record_dicts import summary_of
    from slocheck.slofile import load_spec
    from slocheck.workflows.bench import bench
    from slocheck.workflows.outdir import ROOT, default_out

    loaded = load_spec(args.slo)
    for trap in loaded.traps:  # a value that likely means something else (validate says more)
        warn(trap)
    console = new_console()
    stop_on_signals()

    def progress(i: int, record: RunRecord, verdict: str) -> None:
        console.print(f"run {i + 1}/{args.repeat}: {record.run_id} {verdict}")

    options = BenchOptions(
        repeat=args.repeat,
        history=history_location(args.history or loaded.spec.history),
        out_dir=Path(args.out) if args.out else default_out(ROOT, prefix="bench-"),
        compare_to=args.compare_to,
        **settings_of(args, setting_names(BenchOptions)),
        any_fingerprint=args.any_fingerprint,
    )
    result = bench(loaded, options, on_run=progress)
    if result.interrupted:
        console.print(f"run {len(result.records) + 1}/{args.repeat}: interrupted; not recorded")
        return ExitCode.INTERRUPTED
    summaries = [summary_of(r) for r in result.records]
    console.print(noise_table(summaries, [r.run_id for r in result.records]))
    if result.comparison is None:
        return ExitCode.OK
    return _report_comparison(result.comparison, args, loaded.spec.regression, console)
