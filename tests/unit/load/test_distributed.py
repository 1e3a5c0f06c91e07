"""Distributed load, the parts that need no Locust: the master's address, the workers' config
file, the errors for workers that never came or were lost, the Locust flags, and a worker's
snapshots as the master merges them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from slocheck.errors import LoadGeneratorError, UsageError
from slocheck.load.config import LoadConfig
from slocheck.load.distributed import (
    config_source,
    gave_up_error,
    lost_error,
    parse_master,
    write_config,
)
from slocheck.load.locustfiles.snapshots import merge_delta, worker_file
from slocheck.load.stats import read_snapshot


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.0.0.5:5557", ("10.0.0.5", 5557)),
        ("localhost:1", ("localhost", 1)),
        ("*:5557", ("*", 5557)),
        ("[::1]:6000", ("::1", 6000)),
    ],
)
def test_parse_master(text: str, expected: tuple[str, int]) -> None:
    assert parse_master(text) == expected


@pytest.mark.parametrize("text", ["nowhere", ":5557", "host:", "host:0", "host:70000", "h:x"])
def test_a_bad_master_address_names_the_flag(text: str) -> None:
    with pytest.raises(UsageError, match="--master-bind: expected HOST:PORT"):
        parse_master(text, "--master-bind")


def _exec_config(source: str, env: dict[str, str]) -> dict[str, str]:
    """Run the config file in a child with ``env`` and return the SLOCHECK_* it leaves."""
    code = source + (
        "\nimport json\nprint(json.dumps({k: v for k, v in os.environ.items() "
        "if k.startswith('SLOCHECK_')}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"PATH": os.environ.get("PATH", ""), **env},
        capture_output=True,
        text=True,
        check=True,
    )
    settings: dict[str, str] = json.loads(out.stdout)
    return settings


def test_the_config_file_carries_the_settings_and_the_files_to_a_worker(tmp_path: Path) -> None:
    payload = tmp_path / "bodies.jsonl"
    payload.write_text('{"a": 1}\n{not json\n')
    settings = {
        "SLOCHECK_API": "kserve-v2",
        "SLOCHECK_PAYLOAD": str(payload),
        "SLOCHECK_PROMPTS": "",
        "SLOCHECK_LOAD_DIR": "/the/master/only",
        "SLOCHECK_MIX": "classify=9,generate=1",
    }
    source = config_source(settings)
    assert "/the/master/only" not in source, "the master's load folder must not travel"
    on_master = _exec_config(source, {})
    assert on_master["SLOCHECK_PAYLOAD"] == str(payload), "the master reads its own file"
    assert on_master["SLOCHECK_API"] == "kserve-v2"
    worker_tmp = tmp_path / "worker-tmp"
    worker_tmp.mkdir()
    on_worker = _exec_config(source, {"SLOCHECK_WORKER": "1", "TMPDIR": str(worker_tmp)})
    copy = Path(on_worker["SLOCHECK_PAYLOAD"])
    assert copy != payload and copy.is_relative_to(worker_tmp)
    assert copy.name == "bodies.jsonl", "the suffix says JSONL"
    assert copy.read_text() == payload.read_text(), "verbatim, malformed line included"
    assert on_worker["SLOCHECK_MIX"] == "classify=9,generate=1"
    assert "SLOCHECK_LOAD_DIR" not in on_worker


def test_each_run_has_a_config_file_of_its_own(tmp_path: Path) -> None:
    a, b = write_config(tmp_path, {}), write_config(tmp_path, {})
    assert a != b and a.suffix == b.suffix == ".py"


def test_workers_that_never_came_say_how_many_and_what_to_do() -> None:
    log = "... [ERROR] locust.main: Gave up waiting for workers to connect\n"
    e = gave_up_error(log, workers=2, ready=1, bind=("10.0.0.1", 5600), timeout=60)
    assert isinstance(e, LoadGeneratorError) and e.exit_code == 3
    assert "1 of 2 Locust workers connected" in str(e)
    assert "slocheck worker --master HOST:5600" in str(e)
    assert gave_up_error("all fine", 2, 2, ("*", 5557), 60) is None


def test_lost_workers_are_an_error_that_names_them() -> None:
    assert lost_error({}, 100.0) is None
    e = lost_error({"box-2_ab": 112.5}, 100.0)
    assert isinstance(e, LoadGeneratorError) and e.exit_code == 3
    assert "box-2_ab (12.5 s into the load)" in str(e)


def test_the_master_waits_for_its_workers_and_splits_the_open_rate() -> None:
    cfg = LoadConfig(
        host="http://10.0.0.1:8000",
        workers=4,
        users=8,
        rate=100.0,
        arrival="open",
        master_bind=("10.0.0.1", 5600),
        workers_timeout=30,
    )
    assert cfg.distributed_args() == [
        "--master",
        "--expect-workers",
        "4",
        "--expect-workers-max-wait",
        "30",
        "--master-bind-host",
        "10.0.0.1",
        "--master-bind-port",
        "5600",
    ]
    settings = cfg.settings()
    assert settings["SLOCHECK_OPEN_RATE"] == repr(25.0), "each worker sends its quarter"
    assert settings["SLOCHECK_PROCESSES"] == "4"
    assert LoadConfig(host="x").distributed_args() == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"workers": 2, "processes": 2}, "--processes cannot be combined with --expect-workers"),
        ({"workers": 4, "users": 2}, "2 users cannot keep 4 workers busy"),
        ({"workers": -1}, "--expect-workers: expected 0 or more"),
        ({"workers": 1, "master_bind": ("h", 0)}, "--master-bind: expected HOST:PORT"),
        ({"workers": 1, "workers_timeout": 0.0}, "--workers-timeout"),
    ],
)
def test_distributed_settings_that_cannot_work(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        LoadConfig(host="http://127.0.0.1:1", **changes).locustfiles()


def test_the_master_rebuilds_a_worker_snapshot_from_its_deltas() -> None:
    whole: dict[str, Any] = {}
    merge_delta(
        whole,
        {
            "pid": 7,
            "requests": {"/x": {"100": [3, 0, "h1"], "101": [1, 0, "h2"]}},
            "metrics": {},
            "status": {"/x": {"200": 4}},
            "marks": {"test_start": 99.0},
        },
    )
    # second 100 closed; 101 grew; 102 opened: only the open ones come again
    merge_delta(
        whole,
        {
            "requests": {"/x": {"101": [5, 1, "h3"], "102": [2, 0, "h4"]}, "/y": {"102": [1]}},
            "status": {"/x": {"200": 9, "500": 1}},
            "done": True,
        },
    )
    assert whole["requests"]["/x"] == {
        "100": [3, 0, "h1"],
        "101": [5, 1, "h3"],
        "102": [2, 0, "h4"],
    }
    assert whole["requests"]["/y"] == {"102": [1]}
    assert whole["status"] == {"/x": {"200": 9, "500": 1}}, "counts are replaced whole"
    assert whole["pid"] == 7 and whole["done"] is True and whole["marks"]["test_start"] == 99.0


def test_worker_files_have_safe_names() -> None:
    assert worker_file("box-1_ab12") == "client-w-box-1_ab12.json"
    assert "/" not in worker_file("../../etc/passwd")
    assert worker_file("a b").startswith("client-w-a_b")


def test_per_worker_load_and_lost_workers_are_read_back(tmp_path: Path) -> None:
    def write(name: str, data: dict[str, Any]) -> None:
        (tmp_path / name).write_text(json.dumps(data))

    write(
        "client-1.json",
        {
            "role": "master",
            "marks": {"test_start": 99.0},
            "requests": {},
            "workers": {"seen": ["a", "b"], "lost": {"b": 104.0}, "ready": 1},
        },
    )
    write("client-w-a.json", {"worker": "a", "requests": {"/x": {"100": [3, 0, ""]}}})
    write("client-w-b.json", {"worker": "b", "requests": {"/x": {"100": [2, 0, ""]}}})
    snap = read_snapshot(tmp_path)
    assert snap.by_process == {"a": {100: 3}, "b": {100: 2}}, "the master sends no load"
    assert snap.workers_lost == {"b": 104.0}
    assert snap.workers_ready == 1
    assert snap.processes == 3


def test_the_recorder_sends_only_the_seconds_still_open() -> None:
    """In a child: importing the plugin imports Locust, which patches with gevent."""
    code = (
        "import json, time\n"
        "from slocheck.load.locustfiles import plugin as p\n"
        "from slocheck.load.locustfiles.snapshots import merge_delta\n"
        "r = p.Recorder()\n"
        "now = int(time.time())\n"
        "for sec in (now - 5, now - 4):\n"
        "    r.requests.setdefault('/x', {})[sec] = p._Second()\n"
        "    r.requests['/x'][sec].count = 1\n"
        "    r.requests['/x'][sec].values.append(1000)\n"
        "first = r.snapshot(delta=True)\n"
        "second = r.snapshot(delta=True)\n"
        "r.request('/x', 0.01, True, '200')\n"
        "third = r.snapshot(delta=True)\n"
        "whole = merge_delta(merge_delta(merge_delta({}, first), second), third)\n"
        "print(json.dumps([sorted(first['requests']['/x']), second['requests'], "
        "sorted(third['requests']['/x']), whole['requests'] == r.snapshot()['requests']]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    first, second, third, same = json.loads(out.stdout)
    assert len(first) == 2, "both seconds were open: both are sent, then closed"
    assert second == {}, "closed seconds are never sent again"
    assert len(third) == 1, "the new request's second"
    assert same, "the merged deltas are the whole snapshot"
