"""``slocheck run`` under faults, with real processes: a Prometheus killed mid-run, a target that
crashes mid-run, a wrong selector, a target that never becomes ready. None may pass, hang or
leave a process behind."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import (
    STOP_GUARD_S,
    all_gone,
    children_of,
    free_port,
    load_running_for,
    run_cli,
    start_cli,
)

pytestmark = pytest.mark.skipif(
    shutil.which("prometheus") is None, reason="needs the prometheus binary (scripts/setup.sh)"
)
SLOS = """
slos:
  - {name: availability, sli: availability, objective: 99%}
  - {name: p95-latency, sli: latency, percentile: 95, threshold: 1s}
"""


def spec(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "slos.yaml"
    path.write_text("version: 1\n" + text + SLOS)
    return path


def report_of(out: Path) -> dict[str, Any]:
    path = out / "report.json"
    assert path.exists(), "no report.json written"
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def slo(report: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in report["slos"] if s["name"] == name)
    return found


def _child_named(pid: int, name: str) -> int | None:
    """The child of ``pid`` whose program (or ``python -m`` module) is ``name``."""
    for child in children_of(pid):
        try:
            args = Path(f"/proc/{child}/cmdline").read_bytes().decode().split("\0")
        except OSError:
            continue
        if any(a == name or a.endswith("/" + name) for a in args):
            return child
    return None


@dataclass
class Killed:
    out: Path
    output: str
    returncode: int | None
    children: set[int]


def _kill_mid_run(tmp_path: Path, name: str, after_s: float) -> Killed:
    """Start a 60 s ``slocheck run``, SIGKILL its child ``name`` once the load has run
    ``after_s`` seconds, and wait for slocheck to end."""
    out = tmp_path / "out"
    path = spec(tmp_path, "service: {model: classifier}\nload: {users: 4, rate: 40}\n")
    proc = start_cli(
        ["run", "--slo", str(path), "--out", str(out), "--duration", "60s", "--warmup", "1s"]
    )
    children: set[int] = set()
    victim = None
    deadline = time.monotonic() + 120  # a hang guard; the loop ends on the condition
    while time.monotonic() < deadline:
        children |= children_of(proc.pid)
        victim = victim or _child_named(proc.pid, name)
        if victim and load_running_for(out, after_s):
            break
        time.sleep(0.3)
    assert victim is not None, f"{name} should be running"
    assert load_running_for(out, after_s), f"the load should have run {after_s} s"
    subprocess.run(["kill", "-9", str(victim)], check=True)
    output = proc.communicate(timeout=STOP_GUARD_S)[0].decode(errors="replace")
    return Killed(out, output, proc.returncode, children)


def load_seconds(report: dict[str, Any]) -> float:
    """How long the load ran, by the report's own clock."""
    from datetime import datetime

    load = report["load"]
    launched, stopped = (datetime.fromisoformat(load[k]) for k in ("launched_at", "stopped_at"))
    return (stopped - launched).total_seconds()


def test_prometheus_killed_mid_run_exits_3_with_a_partial_report(tmp_path: Path) -> None:
    k = _kill_mid_run(tmp_path, "prometheus", after_s=4)
    assert k.returncode == 3, k.output
    assert "Prometheus" in k.output and "exited with -9" in k.output, k.output
    out = k.out
    report = report_of(out)
    # the load stopped when Prometheus died instead of running its planned 61 s: the kill came
    # once the load had run 4 s, whatever the machine's speed, and left no reason to go on
    assert load_seconds(report) < 61 - 4, "the 60 s load must not run to its end"
    assert report["verdict"] == "error"
    assert "exited with -9" in report["error"]
    assert report["client"]["whole_run"]["/v1/classify"]["count"] > 0, "client data kept"
    assert "could not be judged" in (out / "summary.md").read_text()
    assert "could not be judged" in (out / "report.html").read_text()
    assert all_gone(k.children) == set(), "a child process outlived slocheck"


def test_a_target_crashing_mid_run_fails_availability_without_hanging(tmp_path: Path) -> None:
    # 40 requests/s: the service exits when request 201 arrives, 5 s into the load, inside the
    # judged window (1 s warm-up + 12 s). The counts hold at any speed: a slow machine sends
    # fewer requests in the warm-up (so more of the 200 served ones lie in the window), and
    # once the service is gone every paced request is refused at once, ~280 of them; more
    # than 50 unless Locust sends less than a fifth of its rate. run_cli's timeout is the
    # hang guard.
    path = spec(
        tmp_path,
        "service: {model: classifier, faults: {crash_after: 200}}\nload: {users: 4, rate: 40}\n",
    )
    out = tmp_path / "out"
    result = run_cli(
        ["run", "--slo", str(path), "--out", str(out), "--duration", "12s", "--warmup", "1s"],
        timeout=180,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    report = report_of(out)
    availability = slo(report, "availability")
    assert availability["verdict"] == "fail"
    # judged from both sides (slocheck sent the load): the server's side counts the requests
    # that got no answer as failed, since it could not count them
    server = availability["details"]["server"]
    assert server["verdict"] == "fail" and availability["details"]["client"]["verdict"] == "fail"
    lost = server["details"]["unanswered"]
    assert lost > 50, availability
    assert "got no answer at all" in availability["explanation"]
    good = server["details"]["good"]
    # served in the window: the 200 less those of the warm-up (the window starts at the first
    # whole second after it: up to 2 s, 80 requests, and a few of pacing jitter) and those after
    # the service's last scrape (up to one 1 s interval's, 40 and a few)
    assert 200 - 84 - 44 <= good <= 200 and server["samples"] == good + lost
    # answered requests: the server's count misses those served after its last scrape (when
    # the crash came before the next scrape), so it is at most the client's, never more
    counts = next(c for c in report["cross_checks"] if c["name"] == "request_counts")
    for client_n, server_n in counts["details"]["compared"].values():
        assert client_n >= server_n >= good
    assert (out / "service.log").exists()


def test_a_wrong_selector_is_no_data_not_a_pass(tmp_path: Path) -> None:
    path = spec(tmp_path, "prometheus: {selector: 'job=\"no-such-job\"'}\nload: {users: 2}\n")
    out = tmp_path / "out"
    result = run_cli(
        # 6 s: a judged window remains even when the first scrape comes seconds late
        ["run", "--slo", str(path), "--out", str(out), "--duration", "6s", "--warmup", "1s"],
        timeout=180,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    report = report_of(out)
    assert {s["verdict"] for s in report["slos"]} == {"no_data"}
    assert all("no series matched" in s["explanation"] for s in report["slos"])
    counts = next(c for c in report["cross_checks"] if c["name"] == "request_counts")
    assert counts["ok"] is False and "selector" in counts["message"]


def test_a_target_that_never_answers_exits_3_within_its_timeout(tmp_path: Path) -> None:
    from slocheck.prom import ManagedPrometheus

    # a port that accepts connections (the kernel's backlog) but never answers a request
    with socket.socket() as silent, ManagedPrometheus() as prom:  # a real one: its check passes
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        path = spec(
            tmp_path,
            f"target: {{url: '{url}', ready_path: /health/ready, ready_timeout: 3s}}\n"
            f"prometheus: {{url: '{prom.url}'}}\n",
        )
        started = time.monotonic()
        result = run_cli(["run", "--slo", str(path), "--out", str(tmp_path / "out")], timeout=120)
        took = time.monotonic() - started
    assert result.returncode == 3, result.stdout + result.stderr
    assert took >= 3  # it waited out its timeout (no upper bound here: run_cli's is the guard)
    assert f"{url}/health/ready was not ready within 3 s" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_target_nobody_listens_on_exits_3(tmp_path: Path) -> None:
    from slocheck.prom import ManagedPrometheus

    url = f"http://127.0.0.1:{free_port()}"
    path = spec(tmp_path, f"target: {{url: '{url}', ready_timeout: 2s}}\n")
    with ManagedPrometheus() as prom:  # a real one: the run's check of it passes
        result = run_cli(
            [
                "run",
                "--slo",
                str(path),
                "--out",
                str(tmp_path / "out"),
                "--prometheus-url",
                prom.url,
            ],
            timeout=60,
        )
    assert result.returncode == 3, result.stdout + result.stderr
    assert "not ready within 2 s" in result.stderr and "ConnectError" in result.stderr


@pytest.mark.parametrize("started", [1, 2, 3], ids=["prometheus", "service", "locust"])
def test_sigterm_during_start_up_leaves_nothing(tmp_path: Path, started: int) -> None:
    """SIGTERM once the first ``started`` children run (Prometheus, the service, Locust)."""
    proc = start_cli(["run", "--slo", str(spec(tmp_path, "")), "--out", str(tmp_path / "out")])
    children: set[int] = set()
    deadline = time.monotonic() + 120  # a hang guard; the loop ends on the condition
    while time.monotonic() < deadline and len(children) < started:
        children |= children_of(proc.pid)
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    output = proc.communicate(timeout=STOP_GUARD_S)[0].decode(errors="replace")
    assert proc.returncode == 130, output
    assert len(children) >= started and all_gone(children) == set()


def test_secrets_never_reach_a_report_a_log_or_the_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bearer token (from the environment) and a password in the Prometheus URL (on the
    command line: the spec refuses one): sent, but not in any file slocheck or its children
    wrote, nor on its stdout or stderr."""
    from slocheck.prom import ManagedPrometheus
    from tests.helpers import ServerProcess

    token, password = "tok-5ecret-9f3a", "pa55-5ecret-77b1"
    monkeypatch.setenv("PROM_TOKEN", token)
    with (
        ServerProcess("--model", "classifier") as server,
        ManagedPrometheus([f"127.0.0.1:{server.port}"], job="svc") as prom,
    ):
        prom.wait_for_scrape_after(time.time(), timeout=60)  # a hang guard
        authed = prom.url.replace("http://", f"http://gate:{password}@")
        path = spec(
            tmp_path,
            f"target: {{url: '{server.url}'}}\n"
            "prometheus: {bearer_token_env: PROM_TOKEN, "
            'selector: \'job="svc", endpoint="/v1/classify"\'}\n'
            "load: {users: 2}\n",
        )
        out = tmp_path / "out"
        result = run_cli(
            [
                "run",
                "--slo",
                str(path),
                "--out",
                str(out),
                "--duration",
                "3s",
                "--warmup",
                "1s",
                "--history",
                str(tmp_path / "history.sqlite"),
                "--prometheus-url",
                authed,
            ],
            timeout=120,
        )
        verify = run_cli(
            [
                *("verify", "--slo", str(path), "--start", "now-1m"),
                *("--json", str(tmp_path / "v.json"), "--prometheus-url", authed),
            ]
        )
    assert result.returncode in (0, 1), result.stdout + result.stderr  # judged, either way
    assert verify.returncode in (0, 1), verify.stdout + verify.stderr
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "slos.yaml"]
    names = {p.name for p in written}
    assert {"report.json", "report.html", "summary.md", "junit.xml", "locust.log"} <= names
    assert "history.sqlite" in names and "v.json" in names
    for text in (result.stdout, result.stderr, verify.stdout, verify.stderr):
        assert token not in text and password not in text
    for p in written:
        data = p.read_bytes()
        assert token.encode() not in data and password.encode() not in data, p
    report = report_of(out)
    assert report["config"]["prometheus_url"] == prom.url.replace("http://", "http://***@")


def test_an_embedded_service_not_ready_in_time_is_exit_3_and_stopped(tmp_path: Path) -> None:
    import os

    from slocheck.errors import ExitCode, ServiceStartError
    from slocheck.slofile.model import ServiceSpec
    from slocheck.workflows.stack import EmbeddedService

    before = children_of(os.getpid())
    # 10 ms: far less than the Python start-up and imports alone (the service is ready in
    # ~0.25 s here), so the deadline always passes first
    service = EmbeddedService(ServiceSpec(), tmp_path / "service.log", ready_timeout=0.01)
    started = time.monotonic()
    with pytest.raises(ServiceStartError, match=r"was not ready within 0.01 s") as raised:
        service.start()
    assert time.monotonic() - started < 60  # a hang guard: the timeout, then a bounded stop
    assert raised.value.exit_code == ExitCode.INFRASTRUCTURE
    assert all_gone(children_of(os.getpid()) - before) == set()


def test_the_load_generator_dying_mid_run_exits_3_with_a_partial_report(tmp_path: Path) -> None:
    k = _kill_mid_run(tmp_path, "locust", after_s=3)
    assert k.returncode == 3, k.output
    assert "the load generator exited with -9" in k.output
    report = report_of(k.out)
    assert load_seconds(report) < 61 - 3, "the run must end with its load generator"
    assert report["verdict"] == "error" and "load generator" in report["error"]
    assert report["client"]["whole_run"]["/v1/classify"]["count"] > 0, "client data kept"
    assert all_gone(k.children) == set(), "a child process outlived slocheck"
