"""``slocheck validate`` and ``slocheck verify`` on the command line: their flags, the verdict
table, the reports and the exit code."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from rich.markup import escape

from slocheck.cli.common import Parser, append_step_summary, new_console, typed, url_arg
from slocheck.errors import ExitCode, UsageError
from slocheck.verdict import exit_code

if TYPE_CHECKING:
    from slocheck.evaluate import Window
    from slocheck.results import VerifyResult


def add_validate(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser(
        "validate",
        help="check an SLO file and show the PromQL of each SLI",
        description="Check an SLO file; exit 0 when valid, 2 when not.",
    )
    p.add_argument("--slo", required=True, metavar="FILE", help="the SLO file (YAML)")
    p.add_argument(
        "--probe",
        action="store_true",
        help="also run the checks of `slocheck run` before its load, with no load: the files "
        "the spec names exist, prometheus.url answers Prometheus' API (exit 3 if not), each "
        "SLO's metric is on target.url's /metrics or in Prometheus (a warning if not)",
    )
    p.set_defaults(handler=_cmd_validate)


def _cmd_validate(args: argparse.Namespace) -> int:
    from slocheck.slofile import load_spec
    from slocheck.units import printable
    from slocheck.workflows.validate import validate

    result = validate(load_spec(args.slo))
    if args.probe:
        from slocheck.cli.common import warn
        from slocheck.workflows.prechecks import probe

        for problem in probe(result.loaded):
            warn(problem)
    spec = result.loaded.spec
    console = new_console()
    written = {"openslo": "OpenSLO v1, read as ", "sloth": "Sloth prometheus/v1, read as "}
    console.print(
        f"[green]valid[/]: {escape(args.slo)} ({written.get(result.loaded.format, '')}"
        f"schema version {spec.version}, "
        f"{len(spec.slos)} SLO(s), sha256 {result.loaded.sha256[:12]}, "
        f"preset {result.preset})"
    )
    for note in result.loaded.warnings:
        console.print(f"  [yellow]note[/]: {escape(note)}", soft_wrap=True)
    for warning in result.warnings:
        console.print(f"  [yellow]warning[/]: {escape(warning)}", soft_wrap=True)
    for note in result.preset_notes:
        console.print(f"  [dim]{escape(result.preset)}: {escape(note)}[/]", soft_wrap=True)
    if any(v.source == "both" for v in result.slos):
        console.print(
            "  [dim]source both: slocheck run judges it from the server and the load generator "
            "(the stricter wins; docs/presets.md); slocheck verify reads the server[/]",
            soft_wrap=True,
        )
    for v in result.slos:
        console.print(
            f"- [bold]{escape(printable(v.name))}[/]: {escape(v.reads)}"
            f"{' (severity warning)' if v.severity == 'warning' else ''}",
            soft_wrap=True,
        )
        if v.undecided:
            console.print(f"    [yellow]warning[/]: {escape(v.undecided)}", soft_wrap=True)
        if v.fetch:
            console.print(f"    fetches: {escape(v.fetch)}[$window + look-back]", soft_wrap=True)
        if v.promql:
            console.print(f"    PromQL:  {escape(v.promql)}", soft_wrap=True)
        if v.client:
            console.print(f"    {escape(v.client)}", soft_wrap=True)
        if v.warning:
            console.print(f"    [yellow]warning[/]: {escape(v.warning)}", soft_wrap=True)
    return ExitCode.OK


def add_verify(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser(
        "verify",
        help="judge the SLOs over one window of Prometheus data",
        description=(
            "Judge the SLOs of a spec over exactly (start, end]: a sample at start is outside it."
        ),
    )
    p.add_argument("--slo", required=True, metavar="FILE", help="the SLO file (YAML)")
    p.add_argument(
        "--prometheus-url",
        metavar="URL",
        type=typed(url_arg, "URL"),
        help="overrides prometheus.url",
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
    p.add_argument(
        "--with-rules",
        action="store_true",
        help="also report the alerts of the rules `slocheck generate` writes (loaded into that "
        "Prometheus) that went pending or fired in the window",
    )
    p.add_argument(
        "--requests",
        metavar="FILE",
        help="a run's requests.jsonl.gz: judge the SLOs that read the load generator (source "
        "client or both, goodput) from its records, as slocheck run did",
    )
    p.set_defaults(handler=_cmd_verify)


def _cmd_verify(args: argparse.Namespace) -> int:
    import time

    from slocheck.evaluate import Window
    from slocheck.slofile import load_spec
    from slocheck.units import parse_time
    from slocheck.workflows.verify import client_for, verify

    loaded = load_spec(args.slo)
    now = time.time()
    try:
        window = Window(parse_time(args.start, now), parse_time(args.end, now))
    except ValueError as e:
        raise UsageError(f"--start/--end: {e}") from None
    check_written_window(window, args.start, args.end, now)
    client = client_for(loaded.spec.prometheus, args.prometheus_url)
    if args.requests:
        from slocheck.workflows.client_slis import measures_from_file

        measured, kind = measures_from_file(loaded.spec, args.requests, window)
        result = verify(
            loaded, client, window, with_rules=args.with_rules, measured=measured, load=kind
        )
    else:
        result = verify(loaded, client, window, with_rules=args.with_rules)
    new_console().print(escape(window_words(window, args.start, args.end)), soft_wrap=True)
    return _report(result, args)


def _clock(t: float) -> str:
    """``2026-12-02 08:15:00 UTC``: a time as a person reads it."""
    import datetime as dt

    return dt.datetime.fromtimestamp(t, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def window_words(window: Window, start: str, end: str) -> str:
    """``window: now-5m (2026-12-02 08:15:00 UTC) to now (2026-12-02 08:20:00 UTC), 5m``:
    what the user wrote, then what it meant."""
    from slocheck.slofile.bounds import bound_text

    length = bound_text(round(window.end - window.start, 3))
    return f"window: {start} ({_clock(window.start)}) to {end} ({_clock(window.end)}), {length}"


def check_written_window(window: Window, start: str, end: str, now: float) -> None:
    """The window's problems, in the words the user wrote (``--end now-10m``), not in unix
    seconds; the workflow checks the rest."""
    if window.end <= window.start:
        raise UsageError(
            f"--start/--end: the window is empty: --end {end} ({_clock(window.end)}) is not "
            f"after --start {start} ({_clock(window.start)})"
        )
    if window.end > now + 5:
        raise UsageError(
            f"--end {end} ({_clock(window.end)}) is in the future: its data does not exist yet",
            hint="end the window at now or before",
        )


def _report(result: VerifyResult, args: argparse.Namespace) -> int:
    from slocheck.report import to_json, to_junit, to_markdown, write_atomic
    from slocheck.report.terminal import verdict_table
    from slocheck.report.writers import alerts_lines

    console = new_console()
    console.print(verdict_table(result))
    if result.alerts is not None:
        for line in alerts_lines(result.alerts, result.window):
            console.print(f"alerts: {escape(line)}")
    if args.json:
        write_atomic(args.json, to_json(result))
    if args.junit:
        write_atomic(args.junit, to_junit(result))
    markdown = to_markdown(result)
    if args.markdown:
        write_atomic(args.markdown, markdown)
    append_step_summary(markdown)
    # an SLO whose query answered in a shape that cannot be judged: exit 2 (fix the spec)
    return exit_code(result.verdict, slos=[r.verdict for r in result.results])
