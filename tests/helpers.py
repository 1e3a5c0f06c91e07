"""Helpers shared by the tests: free ports, a real ``slocheck serve`` process, metric parsing."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

#: Every metric family of the reference service's contract (GPU families aside).
#: How long a test waits for a slocheck that was told to stop (a signal) to write its reports and
#: exit: a hang guard, not a measure of speed. Generous, as the suite's workers share 2 cores.
STOP_GUARD_S = 240

FAMILIES = {
    "http_requests",
    "http_request_duration_seconds",
    "http_requests_in_flight",
    "ml_inference_duration_seconds",
    "ml_batch_size",
    "ml_queue_depth",
    "ml_predictions",
    "ml_errors",
    "ml_time_to_first_token_seconds",
    "ml_inter_token_latency_seconds",
    "ml_generated_tokens",
    "ml_model_info",
}
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def parse_metrics(text: str) -> Samples:
    """Every sample as {(name, sorted labels): value}."""
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def sample(samples: Samples, name: str, **labels: str) -> float:
    """The value of one sample; KeyError when absent."""
    return samples[(name, tuple(sorted(labels.items())))]


def family_names(text: str) -> set[str]:
    return {f.name for f in text_string_to_metric_families(text)}


class ServerProcess:
    """``python -m slocheck serve`` on a free loopback port, stopped on exit."""

    def __init__(
        self, *args: str, log_path: Path | None = None, ready_timeout: float = 60.0
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = ["--port", str(self.port), *args]
        self.log_path = log_path
        self.ready_timeout = ready_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.ready_after: float | None = None

    def start(self, wait_ready: bool = True) -> ServerProcess:
        log = open(self.log_path, "wb") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "slocheck", "serve", *self.args],
            stdout=log,
            stderr=subprocess.STDOUT if self.log_path else subprocess.DEVNULL,
            env=env,
        )
        if wait_ready:
            self.wait_ready()
            self.ready_after = time.monotonic() - started
        return self

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.proc.returncode} before ready: {self.log_text()}"
                )
            try:
                if httpx.get(self.url + "/health/ready", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"server not ready in {self.ready_timeout}s: {self.log_text()}")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path else ""

    def metrics(self) -> str:
        return httpx.get(self.url + "/metrics", timeout=5.0).text

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_cli(args: Sequence[str], timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "slocheck", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_spec(tmp_path: Path, spec: str, timeout: float = 600.0) -> tuple[int, dict[str, Any], str]:
    """``slocheck run`` of ``spec`` (written to ``tmp_path/slos.yaml``): its exit code, its
    ``report.json`` (empty when none was written) and what it printed."""
    path = tmp_path / "slos.yaml"
    path.write_text(spec)
    out = tmp_path / "out"
    result = run_cli(["run", "--slo", str(path), "--out", str(out)], timeout=timeout)
    report = json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else {}
    return result.returncode, report, result.stdout + result.stderr


def children_of(pid: int) -> set[int]:
    """The pids whose parent is ``pid``."""
    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.add(int(stat.parent.name))
    return out


def still_running(pids: set[int]) -> set[int]:
    """Those of ``pids`` that still run (zombies excluded), or whose process group still has a
    member (Locust's forked workers live in the group of the process slocheck started)."""
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            if state != "Z":
                alive.add(pid)
                continue
        except OSError:
            pass
        try:
            os.killpg(pid, 0)
            alive.add(pid)
        except ProcessLookupError:
            pass
        except PermissionError:
            alive.add(pid)
    return alive


def all_gone(pids: set[int], timeout: float = 30.0) -> set[int]:
    """Wait until none of ``pids`` runs (see :func:`still_running`); the ones left at the
    deadline. A condition, not a sleep: a busy machine reaps children late, never wrongly."""
    deadline = time.monotonic() + timeout
    left = still_running(pids)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = still_running(left)
    return left


def start_cli(args: Sequence[str]) -> subprocess.Popen[bytes]:
    """``python -m slocheck ARGS`` in the background, stdout and stderr together."""
    return subprocess.Popen(
        [sys.executable, "-m", "slocheck", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def load_running_for(out: Path, seconds: float) -> bool:
    """Whether the load of a ``slocheck run --out OUT`` has been running ``seconds`` already."""
    snaps = list((out / "load").glob("client-*.json")) if (out / "load").exists() else []
    try:
        data = json.loads(snaps[0].read_text() or "{}") if snaps else {}
    except (OSError, ValueError):
        return False
    started = data.get("marks", {}).get("test_start")
    return started is not None and started < time.time() - seconds
