"""What ``history``, ``compare --canary`` and ``bench`` print (issue 25): no empty database
created, the canary's numbers, the noise in the units compare uses, run ids joined alike."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from slocheck.cli import main
from slocheck.cli.common import comparison_table
from slocheck.cli.regress import noise_table
from slocheck.regress import compare
from slocheck.regress.record_dicts import record_to_dict
from slocheck.store.history import History
from tests.unit.regress.test_compare import record


def _report(path: Path, **kw: Any) -> Path:
    path.write_text(json.dumps({"regression_record": record_to_dict(record(path.stem, **kw))}))
    return path


def _text(renderable: object) -> str:
    console = Console(width=200, record=True)
    console.print(renderable)
    return console.export_text()


@pytest.mark.parametrize("action", ["list", "trend", "export"])
def test_history_without_a_database_says_so_and_creates_none(
    action: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "none.sqlite"
    file = [str(tmp_path / "x.jsonl")] if action == "export" else []
    assert main(["history", action, *file, "--history", str(db)]) == 2
    err = capsys.readouterr().err
    assert f"history {action}: there is no history at {db}" in err
    assert list(tmp_path.iterdir()) == []


def test_history_import_still_creates_its_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "h.sqlite"
    with History(str(db)) as h:
        h.add(record("a", seed=1))
    assert main(["history", "export", str(tmp_path / "runs.jsonl"), "--history", str(db)]) == 0
    other = tmp_path / "other.sqlite"
    assert main(["history", "import", str(tmp_path / "runs.jsonl"), "--history", str(other)]) == 0
    assert other.exists() and "imported 1 run(s)" in capsys.readouterr().out


def test_a_canary_that_passes_shows_its_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = _report(tmp_path / "base.json", seed=1, errors=20)
    same = _report(tmp_path / "same.json", seed=2, errors=30)
    history = str(tmp_path / "none.sqlite")
    assert (
        main(["compare", str(same), "--baseline", str(base), "--history", history, "--canary"]) == 0
    )
    out = " ".join(capsys.readouterr().out.split())
    assert "canary same: 20,000 requests, error ratio 0.150%, P95 " in out
    assert "baseline (1 run(s): base): 20,000 requests, error ratio 0.100%, P95 " in out
    assert "change: error ratio +0.05 points, P95 " in out
    assert "canary: ok (limits: error ratio +5 points, P95 +100 ms)" in out


def test_the_noise_table_is_in_ms_and_requests_per_second() -> None:
    summaries = [
        {"p50_s": 0.010, "p95_s": 0.020, "p99_s": 0.030, "throughput": 100.0},
        {"p50_s": 0.012, "p95_s": 0.022, "p99_s": 0.034, "throughput": 110.0},
    ]
    text = _text(noise_table(summaries, ["run-a", "run-b"]))
    assert "noise over 2 runs (run-a, run-b)" in text
    assert "p95 latency" in text and "21.00 ms" in text and "1.41 ms" in text
    assert "105.00 requests/s" in text
    assert "0.021" not in text and "p95_s" not in text


def test_run_ids_are_joined_alike_and_the_note_names_no_other_baseline() -> None:
    current = [record("c1", seed=3), record("c2", seed=4)]
    c = compare(current, [record("b1", seed=1), record("b2", seed=2)])
    title = _text(comparison_table(c)).splitlines()[0]
    assert "(c1, c2 vs b1, b2)" in title
    assert not any("median:5" in note for note in c.notes)
