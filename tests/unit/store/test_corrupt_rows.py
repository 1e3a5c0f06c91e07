"""Issue 24, item 8: a corrupt history row is skipped with a warning naming it; ``history``,
``history trend`` and ``compare`` still work on the rest of the database."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from slocheck.cli import main
from slocheck.regress import RunRecord
from slocheck.store.history import History


def rec(run_id: str, t: float, p95_ms: float = 10.0) -> RunRecord:
    from slocheck.load.stats import new_histogram

    h = new_histogram()
    for i in range(200):
        h.record_value(int((p95_ms + i % 3) * 1000))
    hdr = h.encode().decode()
    return RunRecord(run_id, t, "fp", hdr, None, 200, 0, [20] * 10, "pass", {})


CORRUPT = {
    "not-json": ("{not json", "{}"),
    "not-object": ("[1, 2]", "{}"),
    "missing-keys": ('{"run_id": "x"}', "{}"),
    "bad-labels": (
        json.dumps(
            {
                "run_id": "b",
                "created_at": 1,
                "fingerprint": "fp",
                "requests": 1,
                "errors": 0,
                "labels": [1],
            }
        ),
        "{}",
    ),
    "bad-hdr": (
        json.dumps(
            {
                "run_id": "h",
                "created_at": 1,
                "fingerprint": "fp",
                "requests": 1,
                "errors": 0,
                "latency_hdr": "not a histogram",
            }
        ),
        "{}",
    ),
    "bad-summary": (None, "not json"),
    "evil\x1b]0;title\x07name\u202e": ("{", "{}"),
}


def _history(tmp_path: Path, corrupt: str) -> Path:
    path = tmp_path / "h.sqlite"
    with History(path) as h:
        for i in range(4):
            h.add(rec(f"r{i}", float(i), p95_ms=10.0 + i))
    record, summary = CORRUPT[corrupt]
    with sqlite3.connect(path) as db:
        if record is None:  # a sound record, a corrupt summary
            db.execute("UPDATE runs SET summary = ? WHERE run_id = 'r3'", (summary,))
        else:
            db.execute(
                "INSERT INTO runs VALUES (?, ?, 'fp', 'pass', ?, ?)",
                (corrupt, 10.0, record, summary),
            )
    return path


@pytest.mark.parametrize("corrupt", sorted(CORRUPT))
def test_a_corrupt_row_is_skipped_with_one_warning(tmp_path: Path, corrupt: str) -> None:
    path = _history(tmp_path, corrupt)
    warnings: list[str] = []
    with History(path, on_skip=warnings.append) as h:
        runs = [r.run_id for r in h.runs("fp")]
        summaries = [s[0] for s in h.summaries()]
        h.get(corrupt)
        newest = h.runs(limit=1)
    if corrupt == "bad-summary":
        assert runs == ["r3", "r2", "r1", "r0"] and summaries == ["r2", "r1", "r0"]
        assert len(warnings) == 1 and "run 'r3' skipped" in warnings[0]
    else:
        assert runs == ["r3", "r2", "r1", "r0"] and summaries[1:] == ["r3", "r2", "r1", "r0"]
        assert [r.run_id for r in newest] == ["r3"]  # the limit counts readable runs
        assert len(warnings) == 1 and "skipped: its record is corrupt" in warnings[0]
    assert str(path) in warnings[0]
    assert all(c not in warnings[0] for c in "\x1b\x07\u202e")


@pytest.mark.parametrize(
    ("args", "corrupt", "run"),
    [
        (["history", "list"], "bad-summary", "r3"),
        (["history", "trend"], "bad-summary", "r3"),
        (["compare", "last", "--baseline", "median:3"], "not-json", "not-json"),
        (["compare", "r3", "--baseline", "median:3"], "bad-hdr", "bad-hdr"),
        (["compare", "r3", "--baseline", "r0"], "not-object", "not-object"),
    ],
    ids=["history", "trend", "compare-last", "compare-median", "compare-ids"],
)
def test_history_trend_and_compare_warn_and_go_on(
    tmp_path: Path, args: list[str], corrupt: str, run: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _history(tmp_path, corrupt)
    code = main([*args, "--history", str(path)])
    captured = capsys.readouterr()
    assert code in (0, 1), captured.err
    assert "internal error" not in captured.err
    assert f"slocheck: warning: {path}: run '{run}' skipped" in captured.err
    assert captured.err.count("skipped") == 1  # once, however often it is read


def test_run_compare_to_names_its_own_flag(tmp_path: Path) -> None:
    from slocheck.errors import UsageError
    from slocheck.slofile import RegressionSpec
    from slocheck.workflows.regression import regression_step

    with pytest.raises(UsageError, match=r"^--compare-to no-such-run: no such run"):
        regression_step(
            rec("now", 5.0),
            history=str(tmp_path / "h.sqlite"),
            compare_to="no-such-run",
            regression=RegressionSpec(),
        )
