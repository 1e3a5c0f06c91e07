"""The verdict table for a terminal (rich)."""

from __future__ import annotations

from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from slocheck.report.format import result_value_text, samples_text, sli_text, target_text
from slocheck.results import VerifyResult
from slocheck.units import printable
from slocheck.verdict import Verdict

STYLES = {
    Verdict.PASS: "green",
    Verdict.WARN: "yellow",
    Verdict.FAIL: "bold red",
    Verdict.NO_DATA: "bold red",
    Verdict.INCONCLUSIVE: "bold yellow",
    Verdict.ERROR: "bold red",
}


def verdict_table(result: VerifyResult) -> Group:
    table = Table(
        title=f"slocheck: {result.verdict.upper()}",
        title_justify="left",
        expand=False,
        show_lines=False,
    )
    for col, justify in (
        ("SLO", "left"),
        ("SLI", "left"),
        ("verdict", "left"),
        ("value", "right"),
        ("target", "left"),
        ("samples", "right"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for r in result.results:
        table.add_row(
            escape(printable(r.name)),
            sli_text(r),
            Text(r.verdict, style=STYLES[r.verdict]),
            result_value_text(r),
            target_text(r),
            samples_text(r),
        )
    notes = [Text(printable(f"{r.name}: {r.explanation}"), style="dim") for r in result.results]
    notes += [Text(printable(f"warning: {w}"), style="yellow") for w in result.warnings]
    return Group(table, *notes)
