from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from slocheck.cli import main
from slocheck.regress.record_dicts import record_to_dict
from slocheck.store.history import History
from tests.unit.regress.test_compare import record


def report(path: Path, **kw: Any) -> Path:
    path.write_text(json.dumps({"regression_record": record_to_dict(record(path.stem, **kw))}))
    return path


def test_compare_two_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = report(tmp_path / "base.json", seed=1)
    same = report(tmp_path / "same.json", seed=2)
    slow = report(tmp_path / "slow.json", seed=3, shift=0.1)
    history = str(tmp_path / "none.sqlite")
    assert main(["compare", str(same), "--baseline", str(base), "--history", history]) == 0
    assert (
        main(
            [
                "compare",
                str(slow),
                "--baseline",
                str(base),
                "--history",
                history,
                "--json",
                str(tmp_path / "c.json"),
            ]
        )
        == 1
    )
    out = capsys.readouterr().out
    assert "REGRESSED" in out and "p95_latency" in out and "95% CI" in out
    assert json.loads((tmp_path / "c.json").read_text())["verdict"] == "regressed"
    assert (
        main(["compare", str(slow), "--baseline", str(base), "--history", history, "--canary"]) == 1
    )
    assert "P95 up" in capsys.readouterr().out


def test_compare_from_history_and_no_baseline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "h.sqlite")
    with History(db) as h:
        h.add(record("only", seed=1))
    assert main(["compare", "last", "--history", db]) == 0  # no baseline: a warning
    assert "no baseline" in capsys.readouterr().out
    assert main(["compare", "last", "--history", db, "--require-baseline"]) == 1
    assert main(["compare", "nope", "--history", db]) == 2


def test_history_list_export_import_trend(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "h.sqlite")
    with History(db) as h:
        for i in range(12):
            r = record(f"night-{i:02d}", seed=i, scale=1.0 if i < 8 else 1.3)
            h.add(type(r)(**{**r.__dict__, "created_at": float(i)}))
    assert main(["history", "--history", db]) == 0
    assert "12 run(s)" in capsys.readouterr().out
    assert main(["history", "trend", "--history", db, "--html", str(tmp_path / "t.html")]) == 0
    out = capsys.readouterr().out
    assert "change point: run night-08" in out
    page = (tmp_path / "t.html").read_text()
    assert "<svg" in page and ">change point</text>" in page and 'class="xlabel"' in page
    assert main(["history", "export", str(tmp_path / "runs.jsonl"), "--history", db]) == 0
    other = str(tmp_path / "other.sqlite")
    assert main(["history", "import", str(tmp_path / "runs.jsonl"), "--history", other]) == 0
    assert "imported 12 run(s)" in capsys.readouterr().out
    (tmp_path / "bad.jsonl").write_text("{not json\n")
    assert main(["history", "import", str(tmp_path / "bad.jsonl"), "--history", other]) == 2
    assert main(["history", "export", "--history", db]) == 2


def test_compare_the_last_n_runs_pooled(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``last:N``: the newest N runs of the newest run's configuration, pooled, against a
    baseline that never holds them."""
    db = str(tmp_path / "h.sqlite")
    with History(db) as h:
        for i in range(8):  # five nights of the old build, then three of a 30% slower one
            r = record(f"night-{i}", seed=i, scale=1.0 if i < 5 else 1.3)
            h.add(type(r)(**{**r.__dict__, "created_at": float(i)}))
    out = tmp_path / "c.json"
    code = main(
        ["compare", "last:3", "--baseline", "median:5", "--history", db, "--json", str(out)]
    )
    c = json.loads(out.read_text())
    assert code == 1 and c["verdict"] == "regressed", c
    assert c["current"] == "night-7,night-6,night-5"
    assert sorted(c["baseline"]) == [f"night-{i}" for i in range(5)]
    assert main(["compare", "last:9", "--history", db]) == 2  # only 8 runs
    assert "only 8 run(s)" in capsys.readouterr().err
    assert main(["compare", "last:x", "--history", db]) == 2
    assert main(["compare", "last:2", "--canary", "--history", db]) == 2
