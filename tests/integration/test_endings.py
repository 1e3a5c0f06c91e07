"""Every ending of ``slocheck run`` once its load has started writes every report, marked with
what happened (issue 24): a stop signal while waiting for the final scrape, while verifying, a
second one; a frozen load generator; two runs started together (each its own folder, its own
counts); and nothing outlives a slocheck killed by SIGKILL.

The runs pause at a named stage through the test-only hook of :mod:`slocheck.load.stopping`
(``SLOCHECK_TEST_PAUSE_AT``), which writes a marker file there: the signal lands in that stage
whatever the machine's speed."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import STOP_GUARD_S, all_gone, children_of, load_running_for, run_spec

pytestmark = pytest.mark.skipif(
    shutil.which("prometheus") is None, reason="needs the prometheus binary (scripts/setup.sh)"
)
REPORTS = ("report.json", "junit.xml", "summary.md", "report.html")
SPEC = """version: 1
service: {model: classifier}
load: {users: 2, rate: 20}
slos:
  - {name: availability, sli: availability, objective: 99%}
  - {name: p95-latency, sli: latency, percentile: 95, threshold: 1s}
"""
HANG_GUARD_S = 180.0  # the loops below end on their condition; this only stops a hang


def _spec(tmp_path: Path, text: str = SPEC) -> Path:
    path = tmp_path / "slos.yaml"
    path.write_text(text)
    return path


def _start(
    args: list[str],
    *,
    pause_at: str = "",
    marker: Path | None = None,
    cwd: Path | None = None,
    tmpdir: Path | None = None,
) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    if tmpdir is not None:  # its temporary folders where no other slocheck cleans up
        tmpdir.mkdir(parents=True, exist_ok=True)
        env["TMPDIR"] = str(tmpdir)
    if pause_at:
        env["SLOCHECK_TEST_PAUSE_AT"] = pause_at
        env["SLOCHECK_TEST_PAUSE_FILE"] = str(marker)
    return subprocess.Popen(
        [sys.executable, "-m", "slocheck", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=cwd,
    )


def _wait_for(condition: Any, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + HANG_GUARD_S
    while not condition():
        if proc.poll() is not None:
            out = proc.communicate()[0].decode(errors="replace")
            raise AssertionError(f"slocheck ended before {what}: {out}")
        assert time.monotonic() < deadline, f"never reached: {what}"
        time.sleep(0.05)


def _finish(proc: subprocess.Popen[bytes]) -> str:
    return proc.communicate(timeout=120)[0].decode(errors="replace")


def _reports(out: Path) -> dict[str, Any]:
    """Every report file is there and parses; report.json's contents."""
    missing = [name for name in REPORTS if not (out / name).exists()]
    assert not missing, f"reports missing: {missing}"
    ET.fromstring((out / "junit.xml").read_text())
    report: dict[str, Any] = json.loads((out / "report.json").read_text())
    return report


def _junit(out: Path) -> ET.Element:
    return ET.fromstring((out / "junit.xml").read_text())


def _client_count(report: dict[str, Any]) -> int:
    return int(sum(t["count"] for t in report["client"]["whole_run"].values()))


def _paused_run(tmp_path: Path, stage: str, sig: signal.Signals) -> tuple[int, str, Path]:
    out, marker = tmp_path / "out", tmp_path / "paused"
    proc = _start(
        ["run", "--slo", str(_spec(tmp_path)), "--out", str(out), "--duration", "3s"],
        pause_at=stage,
        marker=marker,
    )
    _wait_for(Path(f"{marker}.{stage}").exists, proc, f"the pause at {stage}")
    proc.send_signal(sig)
    output = _finish(proc)
    assert proc.returncode is not None
    return proc.returncode, output, out


@pytest.mark.parametrize(
    ("stage", "words", "sig"),
    [
        ("final-scrape", "waiting for the final scrape", signal.SIGTERM),
        ("verifying", "verifying", signal.SIGINT),
    ],
    ids=["final-scrape", "verifying"],
)
def test_a_signal_after_the_load_still_writes_every_report(
    tmp_path: Path, stage: str, words: str, sig: signal.Signals
) -> None:
    code, output, out = _paused_run(tmp_path, stage, sig)
    assert code == 130, output
    report = _reports(out)
    assert report["verdict"] == "interrupted" and report["interrupted"] is True
    ending = report["ending"]
    assert ending["stage"] == words and ending["signals"] == [sig.name], ending
    assert ending["slos_judged"] is False and report["slos"] == []
    assert _client_count(report) > 0, "the load's own records are kept"
    assert f"interrupted by {sig.name} while {words}" in (out / "summary.md").read_text()
    assert f"interrupted by {sig.name} while {words}" in (out / "report.html").read_text()
    suite = _junit(out)
    errors = {c.get("name"): c.find("error") for c in suite.iter("testcase")}
    assert set(errors) == {"availability", "p95-latency", "run"}
    assert all(e is not None and e.get("type") == "interrupted" for e in errors.values())
    assert "not judged" in (errors["availability"].get("message") or "")  # type: ignore[union-attr]


def test_a_double_ctrl_c_during_the_load_still_writes_every_report(tmp_path: Path) -> None:
    """The first SIGINT stops the load; the second lands while Locust is being stopped (held
    there by the hook until it comes): noted, and the reports are still written."""
    out, marker = tmp_path / "out", tmp_path / "paused"
    proc = _start(
        [
            *("run", "--slo", str(_spec(tmp_path)), "--out", str(out)),
            *("--duration", "60s", "--warmup", "1s"),
        ],
        pause_at="load-stopping",
        marker=marker,
    )
    _wait_for(lambda: load_running_for(out, 4), proc, "3 s of load past the warm-up")
    proc.send_signal(signal.SIGINT)
    _wait_for(Path(f"{marker}.load-stopping").exists, proc, "the stop of the load")
    proc.send_signal(signal.SIGINT)
    output = _finish(proc)
    assert proc.returncode == 130, output
    report = _reports(out)
    assert report["verdict"] == "interrupted"
    assert report["ending"]["stage"] == "the load"
    assert report["ending"]["signals"] == ["SIGINT", "SIGINT"], report["ending"]
    assert report["ending"]["slos_judged"] is True and report["slos"], "the window that ran"
    assert _client_count(report) > 0
    assert any(c.get("name") == "run" for c in _junit(out).iter("testcase"))


def test_a_second_ctrl_c_while_the_reports_are_written_waits_for_them(tmp_path: Path) -> None:
    """SIGINT while verifying, another while the reports are being written: both noted,
    every report written, exit 130."""
    out, marker = tmp_path / "out", tmp_path / "paused"
    proc = _start(
        ["run", "--slo", str(_spec(tmp_path)), "--out", str(out), "--duration", "3s"],
        pause_at="verifying,reports",
        marker=marker,
    )
    _wait_for(Path(f"{marker}.verifying").exists, proc, "the pause at verifying")
    proc.send_signal(signal.SIGINT)
    _wait_for(Path(f"{marker}.reports").exists, proc, "the pause before the reports")
    proc.send_signal(signal.SIGINT)
    output = _finish(proc)
    assert proc.returncode == 130, output
    report = _reports(out)
    assert report["verdict"] == "interrupted" and report["ending"]["stage"] == "verifying"


def _child_named(pid: int, name: str) -> int | None:
    for child in children_of(pid):
        try:
            args = Path(f"/proc/{child}/cmdline").read_bytes().decode().split("\0")
        except OSError:
            continue
        if any(a == name or a.endswith("/" + name) for a in args):
            return child
    return None


def test_a_frozen_load_generator_ends_in_error_with_every_report(tmp_path: Path) -> None:
    """SIGSTOP on Locust: it overruns its time by the grace period, is stopped, and the run
    ends in error (exit 3) with every report, junit.xml's SLOs as errors."""
    out = tmp_path / "out"
    proc = _start(["run", "--slo", str(_spec(tmp_path)), "--out", str(out), "--duration", "3s"])
    _wait_for(lambda: _child_named(proc.pid, "locust") is not None, proc, "Locust")
    _wait_for(lambda: load_running_for(out, 1), proc, "1 s of load")
    locust = _child_named(proc.pid, "locust")
    assert locust is not None
    children = children_of(proc.pid)
    os.kill(locust, signal.SIGSTOP)
    output = _finish(proc)
    assert proc.returncode == 3, output
    report = _reports(out)
    assert report["verdict"] == "error" and "overran" in report["error"], report["error"]
    assert report["ending"]["stage"] == "the load" and report["ending"]["signals"] == []
    assert _client_count(report) > 0, "what it recorded before it froze is kept"
    assert "could not be judged" in (out / "summary.md").read_text()
    cases = {c.get("name"): c for c in _junit(out).iter("testcase")}
    assert {"availability", "p95-latency", "run"} <= set(cases)
    assert all(c.find("error") is not None for c in cases.values())
    assert all_gone(children) == set(), "a child process outlived slocheck"


def test_two_runs_started_together_keep_their_own_folders_and_counts(tmp_path: Path) -> None:
    """Two runs with the default --out, started at once in one folder, at different rates:
    two folders, every report in each, each run's own load in its report and its history row."""
    history = tmp_path / "h.sqlite"
    spec = _spec(tmp_path)
    procs = {
        rate: _start(
            [
                *("run", "--slo", str(spec), "--rate", str(rate), "--duration", "4s"),
                *("--history", str(history)),
            ],
            cwd=tmp_path,
        )
        for rate in (10, 30)
    }
    outputs = {rate: _finish(p) for rate, p in procs.items()}
    for rate, p in procs.items():
        assert p.returncode in (0, 1), outputs[rate]
    folders = sorted((tmp_path / "slocheck-results").iterdir())
    assert len(folders) == 2, folders
    by_rate = {}
    for folder in folders:
        report = _reports(folder)
        assert not (folder / ".slocheck.lock").exists()
        by_rate[report["load"]["requested_rps"]] = report
    assert set(by_rate) == {10, 30}
    for rate, report in by_rate.items():
        # never the other run's requests added in: at most what was asked for (and slack)
        assert report["load"]["achieved_rps"] <= rate * 1.2, report["load"]
        counts = next(c for c in report["cross_checks"] if c["name"] == "request_counts")
        assert counts["ok"], counts["message"]
    with sqlite3.connect(history) as db:
        rows = sorted(json.loads(r)["requests"] for (r,) in db.execute("SELECT record FROM runs"))
    assert rows == sorted(r["regression_record"]["requests"] for r in by_rate.values())


def test_a_given_out_another_run_is_writing_to_is_refused(tmp_path: Path) -> None:
    out, marker = tmp_path / "out", tmp_path / "paused"
    first = _start(
        ["run", "--slo", str(_spec(tmp_path)), "--out", str(out), "--duration", "3s"],
        pause_at="verifying",
        marker=marker,
    )
    _wait_for(Path(f"{marker}.verifying").exists, first, "the first run's pause")
    second = subprocess.run(
        [sys.executable, "-m", "slocheck", "run", "--slo", str(_spec(tmp_path)), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    first.send_signal(signal.SIGINT)
    _finish(first)
    assert second.returncode == 2, second.stderr
    assert f"pid {first.pid}" in second.stderr and "in use" in second.stderr


def test_sigkill_leaves_no_prometheus_and_its_folder_goes_at_the_next_start(
    tmp_path: Path,
) -> None:
    from slocheck.prom.managed import remove_stale_folders

    out = tmp_path / "out"
    # a temporary directory of its own: every slocheck run that starts a Prometheus removes
    # the stale folders of the system's one, and other tests (pytest-xdist workers) run some
    args = ["run", "--slo", str(_spec(tmp_path)), "--out", str(out), "--duration", "60s"]
    proc = _start(args, tmpdir=tmp_path / "tmp")
    _wait_for(lambda: load_running_for(out, 1), proc, "1 s of load")
    prometheus = _child_named(proc.pid, "prometheus")
    assert prometheus is not None, "the managed Prometheus should run"
    args = Path(f"/proc/{prometheus}/cmdline").read_bytes().decode().split("\0")
    config = next(a.split("=", 1)[1] for a in args if a.startswith("--config.file="))
    folder = Path(config).parent
    assert folder.name.startswith(f"slocheck-prom-{proc.pid}-"), folder
    assert folder.parent == tmp_path / "tmp", folder
    children = children_of(proc.pid)
    proc.kill()
    proc.communicate(timeout=STOP_GUARD_S)
    assert all_gone({prometheus}, timeout=15) == set(), "Prometheus outlived slocheck"
    assert all_gone(children) == set(), "a child process outlived slocheck"
    assert folder in remove_stale_folders(folder.parent) and not folder.exists()


def test_a_signal_between_two_capacity_steps_still_writes_the_search_s_reports(
    tmp_path: Path,
) -> None:
    """The search so far is the result: its report says interrupted after the steps it ran."""
    out, marker = tmp_path / "out", tmp_path / "paused"
    args = ["capacity", "--slo", str(_spec(tmp_path)), "--out", str(out)]
    args += ["--min-rate", "10", "--max-rate", "40", "--step-duration", "3s", "--warmup", "1s"]
    proc = _start(args, pause_at="step-done", marker=marker)
    _wait_for(Path(f"{marker}.step-done").exists, proc, "the end of the first step")
    proc.send_signal(signal.SIGTERM)
    output = _finish(proc)
    assert proc.returncode == 130, output
    report = json.loads((out / "report.json").read_text())
    assert report["verdict"] == "interrupted" and len(report["steps"]) == 1, report
    assert (out / "summary.md").exists() and (out / "report.html").exists()
    (step,) = (out / "steps").iterdir()
    assert all((step / name).exists() for name in REPORTS), list(step.iterdir())


CUT_SPEC = """version: 1
service: {model: classifier, faults: {latency: 20s}}
load: {users: 2, warmup: 0s, duration: 2s}
slos:
  - {name: availability, sli: availability, objective: 99%}
"""


def test_requests_still_in_flight_at_the_end_are_counted_as_cut(tmp_path: Path) -> None:
    # every answer takes 20 s: each of the 2 users has its first request in flight when the
    # 2 s load ends, and Locust's 5 s stop timeout kills both: counted, never judged
    code, report, output = run_spec(tmp_path, CUT_SPEC)
    assert report["client"]["cut"] == 2, output
    assert "2 requests were still in flight when the run ended and were cut" in output
    assert report["verdict"] != "pass" and code != 0, output  # nothing was answered
