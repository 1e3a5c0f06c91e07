"""What the command modules of the CLI share: the parser class, argument types, the console,
signal handling, the regression exit code and the comparison table. Imports no command
module."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

from slocheck.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from slocheck.regress import Comparison


class Parser(argparse.ArgumentParser):
    """argparse that raises :class:`UsageError` (exit 2) instead of exiting itself."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}", hint=f"see '{self.prog} --help'")


def typed(parse: Callable[[str], object], what: str) -> Callable[[str], object]:
    """An argparse ``type=``: ``parse``'s ValueError becomes a usage error naming ``what``."""

    def convert(text: str) -> object:
        try:
            return parse(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(f"{what}: {e}") from None

    convert.__name__ = what
    return convert


def url_arg(text: str) -> str:
    from slocheck.spec.model import http_url

    return http_url(text)


def new_console() -> Console:
    """Rich output; a fixed, wide layout when not a terminal (CI logs)."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)


def stop_on_signals() -> None:
    """SIGINT and SIGTERM stop the run in order, with a partial report: the first raises
    KeyboardInterrupt, a later one is only noted until the reports are written
    (:mod:`slocheck.load.stopping`). Both, explicitly: a shell starts background jobs with
    SIGINT ignored, and CI runners cancel with SIGTERM."""
    from slocheck.load import stopping

    stopping.install()


def append_step_summary(markdown: str) -> None:
    """Add ``markdown`` to the GitHub Actions job summary when there is one."""
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as f:
            f.write(markdown)


STYLES = {
    "regressed": "bold red",
    "inconclusive": "yellow",
    "improved": "green",
    "unchanged": "default",
    "no_baseline": "yellow",
}


def comparison_table(c: Comparison) -> Table:
    table = Table(
        title=f"compare: {c.verdict.upper()} ({c.current} vs "
        f"{', '.join(c.baseline) or 'no baseline'})",
        title_justify="left",
    )
    for col in ("metric", "verdict", "baseline", "current", "change (95% CI)", "tolerance"):
        table.add_column(col)
    for m in c.metrics:
        if m.unit == "points":
            base, cur = f"{m.baseline * 100:.3f}%", f"{m.current * 100:.3f}%"
            change = f"{m.change * 100:+.3f} pts [{m.ci_low * 100:+.3f}, {m.ci_high * 100:+.3f}]"
            tol = f"+{m.tolerance * 100:g} pts"
        else:
            scale, unit = (1000.0, " ms") if m.unit == "seconds" else (1.0, "/s")
            base, cur = f"{m.baseline * scale:,.2f}{unit}", f"{m.current * scale:,.2f}{unit}"
            change = f"{m.change:+.1%} [{m.ci_low:+.1%}, {m.ci_high:+.1%}]"
            tol = f"{'-' if m.metric == 'throughput' else '+'}{m.tolerance:.0%}"
        table.add_row(m.metric, f"[{STYLES[m.verdict]}]{m.verdict}[/]", base, cur, change, tol)
    return table


def print_comparison(c: Comparison, console: Console) -> None:
    console.print(comparison_table(c))
    for m in c.metrics:
        if m.verdict in ("regressed", "inconclusive"):
            console.print(f"  {m.verdict}: {escape(m.explanation)}")
    for note in c.notes:
        console.print(f"[yellow]warning[/]: {escape(note)}")


def exit_code(c: Comparison, on_inconclusive: str, require_baseline: bool) -> int:
    """The exit code of a comparison: 1 when it regressed (or, as configured, when it is
    inconclusive or has no baseline), else 0."""
    if c.verdict == "regressed":
        return ExitCode.CHECK_FAILED
    if c.verdict == "no_baseline":
        return ExitCode.CHECK_FAILED if require_baseline else ExitCode.OK
    if c.verdict == "inconclusive" and on_inconclusive == "fail":
        return ExitCode.CHECK_FAILED
    return ExitCode.OK
