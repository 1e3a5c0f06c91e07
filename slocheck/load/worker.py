"""``slocheck worker``: one Locust worker process for a master that ``slocheck run
--expect-workers N`` started on another machine (or this one). It downloads the run's
locustfiles from the master (Locust's ``-f -``), loads the target as the master says, sends
what it recorded back to the master, and ends when the master's run ends."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from slocheck.supervise import spawn, stop_group

#: A bound on a worker's whole life: it serves one run, then its master tells it to quit.
WORKER_MAX_S = 6 * 3600.0


@dataclass(frozen=True)
class WorkerResult:
    """How a ``slocheck worker`` ended: Locust's exit code and the end of its log."""

    master: tuple[str, int]
    returncode: int
    log_tail: str
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.interrupted


def worker_args(master: tuple[str, int]) -> list[str]:
    host, port = master
    return [
        sys.executable,
        "-m",
        "locust",
        "--worker",
        "--master-host",
        host,
        "--master-port",
        str(port),
        "-f",
        "-",
        "--loglevel",
        "WARNING",
    ]


def run_worker(master: tuple[str, int], *, max_s: float = WORKER_MAX_S) -> WorkerResult:
    """One Locust worker of the master at ``master``, until the master's run ends (it tells
    its workers to quit), the worker cannot reach it (Locust gives up after 5 minutes), or
    ``max_s``. Ctrl-C and SIGTERM stop it (KeyboardInterrupt is caught: ``interrupted``)."""
    folder = Path(tempfile.mkdtemp(prefix="slocheck-worker-"))
    log = folder / "locust.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLOCHECK_")}
    # the downloaded locustfiles go here, not into a temporary folder another worker shares
    env.update({"SLOCHECK_WORKER": "1", "TMPDIR": str(folder), "PYTHONUNBUFFERED": "1"})
    interrupted = False
    proc = spawn(worker_args(master), env=env, log=log)
    deadline = time.monotonic() + max_s
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                proc.wait(0.5)
            except subprocess.TimeoutExpired:
                continue
    except KeyboardInterrupt:
        interrupted = True
    finally:
        stop_group(proc, first=signal.SIGINT)
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
    code = proc.returncode if proc.returncode is not None else -1
    if not interrupted and time.monotonic() >= deadline:
        tail += f"\nslocheck worker: stopped after its {max_s:g} s limit"
        code = code or 1
    return WorkerResult(master=master, returncode=code, log_tail=tail, interrupted=interrupted)
