from __future__ import annotations

import json
import multiprocessing
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from slocheck.errors import UsageError
from slocheck.regress import RunRecord
from slocheck.regress.record_dicts import record_from_dict, record_to_dict
from slocheck.store.history import History, load_record


def rec(run_id: str, t: float, fp: str = "fp", verdict: str = "pass") -> RunRecord:
    return RunRecord(run_id, t, fp, None, None, 100, 1, [10, 11], verdict, {"git_sha": "abc"})


def test_add_get_and_baselines(tmp_path: Path) -> None:
    with History(tmp_path / "h.sqlite") as h:
        for i, verdict in enumerate(["pass", "fail", "pass", "fail"]):
            h.add(rec(f"r{i}", float(i), verdict=verdict))
        h.add(rec("other", 10.0, fp="elsewhere"))
        cur = rec("now", 20.0)
        assert [r.run_id for r in h.runs("fp")] == ["r3", "r2", "r1", "r0"]
        assert [r.run_id for r in h.baseline("last-pass", cur)] == ["r2"]
        assert [r.run_id for r in h.baseline("median:3", cur)] == ["r3", "r2", "r1"]
        h.add(rec("starved", 5.0, verdict="inconclusive"))
        assert [r.run_id for r in h.baseline("median:3", cur)] == ["r3", "r2", "r1"]
        assert len(h.baseline("median:9", cur, any_fingerprint=True)) == 5  # not "starved"
        assert [r.run_id for r in h.baseline("r0", cur)] == ["r0"]
        with pytest.raises(UsageError):
            h.baseline("median:x", cur)
        with pytest.raises(UsageError):
            h.baseline("no-such-run", cur)
        assert h.get("r1") == rec("r1", 1.0, verdict="fail")


def test_export_import_round_trip(tmp_path: Path) -> None:
    with History(tmp_path / "a.sqlite") as a:
        a.add(rec("x", 1.0))
        a.add(rec("y", 2.0))
        assert a.export_jsonl(tmp_path / "runs.jsonl") == 2
    with History(tmp_path / "b.sqlite") as b:
        assert b.import_jsonl((tmp_path / "runs.jsonl").read_text().splitlines()) == 2
        assert b.runs() == [rec("y", 2.0), rec("x", 1.0)]


def test_bad_inputs(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(UsageError, match="not a slocheck history"):
        History(junk)
    with pytest.raises(UsageError, match="not a slocheck run record"):
        record_from_dict({"run_id": "x"})
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"verdict": "pass"}))
    with pytest.raises(UsageError, match="no regression_record"):
        load_record(report)
    report.write_text(json.dumps({"regression_record": record_to_dict(rec("z", 3.0))}))
    assert load_record(report).run_id == "z"


def _writer(path: str, worker: int) -> None:
    with History(path) as h:
        for i in range(25):
            h.add(rec(f"w{worker}-{i}", time.time()))


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "h.sqlite")
    History(path).close()
    procs = [
        multiprocessing.get_context("spawn").Process(target=_writer, args=(path, w))
        for w in range(4)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert all(p.exitcode == 0 for p in procs)
    with History(path) as h:
        assert len(h.runs()) == 100


def test_a_kill_mid_write_leaves_a_sound_database(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    code = (
        "import sys, time; sys.path.insert(0, '.')\n"
        "from tests.unit.store.test_history import rec\n"
        "from slocheck.store.history import History\n"
        f"h = History({str(path)!r})\n"
        "i = 0\n"
        "while True:\n"
        "    h.add(rec(f'k{i}', time.time())); i += 1\n"
        "    if i == 20: print('writing', flush=True)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    # killed once it has written 20 rows (a condition, not a sleep) and goes on writing
    assert proc.stdout is not None and proc.stdout.readline() == b"writing\n"
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    with History(path) as h:
        runs = h.runs(limit=100_000)
        assert runs and all(r.requests == 100 for r in runs)  # every stored row is whole
