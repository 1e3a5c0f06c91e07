"""A run's gate as plain text (the verdict table, the cross-checks that did not hold, the
error), and the files ``slocheck run`` writes, for callers that print nothing themselves (the
pytest plugin)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from slocheck.load.request_log import PARQUET_FILE, REQUESTS_FILE, write_parquet, write_records
from slocheck.report.atomic import write_atomic
from slocheck.report.format import result_value_text, samples_text, sli_text, target_text
from slocheck.report.html import to_html
from slocheck.report.run_report import run_to_json, run_to_junit, run_to_markdown
from slocheck.results import RunResult

if TYPE_CHECKING:
    from slocheck.regress import Comparison, RunRecord

COLUMNS = ("SLO", "SLI", "verdict", "value", "target", "samples")


def gate_text(result: RunResult) -> str:
    """The verdicts of a run as aligned plain text: one row per SLO (verdict, value, target,
    samples), each SLO's explanation, the cross-checks that did not hold and the error, if
    any. What a failed assertion shows."""
    where = f"spec {result.loaded.path}; reports in {result.out_dir}"
    lines = [f"slocheck: {result.verdict.upper()} ({where})"]
    verified = result.verify
    if verified is not None and verified.results:
        rows = [COLUMNS] + [
            (
                r.name,
                sli_text(r),
                r.verdict,
                result_value_text(r),
                target_text(r),
                samples_text(r),
            )
            for r in verified.results
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
        for row in rows:
            cells = [
                cell.rjust(w) if i in (3, 5) else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            ]
            lines.append("  " + "  ".join(cells).rstrip())
        lines += [f"  {r.name}: {r.explanation}" for r in verified.results]
        lines += [f"  warning: {w}" for w in verified.warnings]
    elif result.error is None:
        lines.append("  no SLO was judged: the load stopped before the judged window opened")
    lines += [f"  cross-check not ok: {c.name}: {c.message}" for c in result.checks if not c.ok]
    if result.error is not None:
        lines.append(f"  error: {result.error}")
    return "\n".join(lines)


def write_run_reports(
    result: RunResult, record: RunRecord | None = None, comparison: Comparison | None = None
) -> list[Path]:
    """Write what ``slocheck run`` writes into ``result.out_dir``, whatever its ending:
    ``junit.xml`` (one testcase per SLO, an <error> each when none could be judged, one per
    cross-check that keeps the run from passing, one for an ending before the planned end),
    ``report.json``, ``summary.md`` and ``report.html``, and every request's record
    (``requests.jsonl.gz``, and ``requests.parquet`` where pyarrow is installed), each
    atomically. Returns the paths written."""
    out = result.out_dir
    written: list[Path] = []
    for name, text in (
        ("junit.xml", run_to_junit(result)),
        ("report.json", run_to_json(result, record, comparison)),
        ("summary.md", run_to_markdown(result)),
        ("report.html", to_html(result)),
    ):
        write_atomic(out / name, text)
        written.append(out / name)
    written.append(write_records(result.load.records, out / REQUESTS_FILE))
    table = write_parquet(result.load.records, out / PARQUET_FILE)  # with pyarrow only
    return [*written, table] if table is not None else written
