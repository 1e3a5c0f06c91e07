from __future__ import annotations

import json
import multiprocessing
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from slocheck.errors import UsageError
from slocheck.regress import RunRecord
from slocheck.regress.record_dicts import record_from_dict, record_to_dict
from slocheck.store.history import History, load_record


def rec(run_id: str, t: float, fp: str = "fp", verdict: str = "pass") -> RunRecord:
    return RunRecord(run_id, t, fp, None, None, 100, 1, [10, 11], verdict, {"git_sha": "abc"})


def test_add_get_and_baselines(location: str) -> None:
    with History(location) as h:
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


def test_export_import_round_trip(tmp_path: Path, location: str) -> None:
    with History(tmp_path / "a.sqlite") as a:
        a.add(rec("x", 1.0))
        a.add(rec("y", 2.0))
        assert a.export_jsonl(tmp_path / "runs.jsonl") == 2
    lines = (tmp_path / "runs.jsonl").read_text().splitlines()
    with History(location) as b:  # from the SQLite cache into either store, twice
        assert b.import_jsonl(lines) == 2
        assert b.import_jsonl(lines) == 2
        assert b.runs() == [rec("y", 2.0), rec("x", 1.0)]  # the same rows, once


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


def _writer(location: str, worker: int) -> None:
    with History(location) as h:
        for i in range(25):
            h.add(rec(f"w{worker}-{i}", time.time()))


def test_concurrent_writers_lose_nothing(location: str) -> None:
    # 8 processes, 25 runs each, all at once (the first opens create the tables together)
    procs = [
        multiprocessing.get_context("spawn").Process(target=_writer, args=(location, w))
        for w in range(8)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert all(p.exitcode == 0 for p in procs)
    with History(location) as h:
        runs = h.runs()
        assert len(runs) == 200 and all(r.requests == 100 for r in runs)  # none lost or torn
        assert {r.run_id for r in runs} == {f"w{w}-{i}" for w in range(8) for i in range(25)}


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


def measured(run_id: str, t: float, p95_ms: float, verdict: str = "pass") -> RunRecord:
    """A run with a latency histogram around ``p95_ms`` (what compare judges)."""
    from slocheck.load.stats import new_histogram

    h = new_histogram()
    for i in range(400):
        h.record_value(int((p95_ms * (0.5 + (i % 20) / 20)) * 1000))
    return RunRecord(run_id, t, "fp", h.encode().decode(), None, 400, 0, [40] * 10, verdict, {})


def test_both_stores_give_the_same_baselines_and_verdicts(tmp_path: Path, postgres: Any) -> None:
    """The same runs in SQLite and in PostgreSQL: compare median:15 says the same; moving the
    history (export from SQLite, import into PostgreSQL twice) keeps last-pass's verdict."""
    from slocheck.regress import compare

    runs = [measured(f"r{i}", float(i), 10.0 + (i % 3), "fail" if i % 7 == 0 else "pass")
            for i in range(20)]  # fmt: skip
    slower = measured("tonight", 100.0, 14.0)
    sqlite_path = tmp_path / "h.sqlite"
    with History(sqlite_path) as lite, History(postgres.new_database()) as pg:
        for r in runs:
            lite.add(r)
            pg.add(r)
        for spec in ("median:15", "last-pass"):
            a, b = lite.baseline(spec, slower), pg.baseline(spec, slower)
            assert [r.run_id for r in a] == [r.run_id for r in b]
            assert compare(slower, a).verdict == compare(slower, b).verdict
        before = compare(slower, lite.baseline("last-pass", slower)).verdict
        lite.export_jsonl(tmp_path / "runs.jsonl")
    lines = (tmp_path / "runs.jsonl").read_text().splitlines()
    with History(postgres.new_database()) as moved:
        assert moved.import_jsonl(lines) == 20 and moved.import_jsonl(lines) == 20
        assert len(moved.runs()) == 20  # imported twice, kept once
        assert compare(slower, moved.baseline("last-pass", slower)).verdict == before


def test_a_password_in_the_url_is_refused_and_never_shown() -> None:
    with pytest.raises(UsageError) as info:
        History("postgresql://ci:s3cret@db.example:5432/bench")
    assert "s3cret" not in str(info.value) and "PGPASSWORD" in str(info.value.hint)


def test_the_history_is_given_by_flag_else_environment_else_the_default_file(
    monkeypatch: pytest.MonkeyPatch, location: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from slocheck.cli import main
    from slocheck.store import DEFAULT_HISTORY, history_location

    monkeypatch.delenv("SLOCHECK_HISTORY", raising=False)
    assert history_location(None) == DEFAULT_HISTORY
    monkeypatch.setenv("SLOCHECK_HISTORY", location)
    assert history_location(None) == location and history_location("x.sqlite") == "x.sqlite"
    with History(location) as h:
        h.add(rec("kept", 1.0))
    assert main(["history"]) == 0  # the environment's history, either store
    assert "1 run(s) in" in capsys.readouterr().out


def test_a_history_written_by_a_newer_slocheck_is_refused(location: str) -> None:
    History(location).close()
    if location.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(location, autocommit=True) as db:
            db.execute("UPDATE slocheck_meta SET value = '2' WHERE key = 'schema_version'")
    else:
        with sqlite3.connect(location) as db:
            db.execute("UPDATE slocheck_meta SET value = '2' WHERE key = 'schema_version'")
    with pytest.raises(UsageError, match="schema version 2, written by a newer slocheck"):
        History(location)


def test_migrate_brings_an_old_history_to_this_version(
    location: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from slocheck.cli import main
    from slocheck.store.backends import SCHEMA_VERSION

    with History(location) as h:
        h.add(rec("old", 1.0))
        assert h.migrate() == (SCHEMA_VERSION, SCHEMA_VERSION)  # nothing to do: up to date
    assert main(["history", "migrate", "--history", location]) == 0
    assert f"schema version {SCHEMA_VERSION}, this slocheck's: nothing to do" in (
        capsys.readouterr().out
    )
    with History(location) as h:
        assert [r.run_id for r in h.runs()] == ["old"]


def test_the_spec_may_name_the_history_but_never_its_password() -> None:
    from slocheck.errors import SpecError
    from slocheck.slofile import parse_spec

    base = "version: 1\nslos:\n  - {name: a, sli: availability, objective: 99%}\n"
    spec = parse_spec(base + "history: postgresql://ci@db/bench\n").spec
    assert spec.history == "postgresql://ci@db/bench"
    with pytest.raises(SpecError, match="secrets never go inline") as info:
        parse_spec(base + "history: postgresql://ci:hunter2@db/bench\n", "slos.yaml")
    assert "hunter2" not in str(info.value) and info.value.field == "history"
