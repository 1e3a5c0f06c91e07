"""Child processes (slocheck.supervise): started in their own session and stopped by the kernel
when slocheck dies, stopped in order (a signal, then SIGKILL) with their whole group, waited for
until ready (and not a moment longer once they are gone). Every wait here is on a condition
(a line in a log, a process gone), never on the clock."""

from __future__ import annotations

import http.server
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from slocheck.errors import PrometheusError, ServiceStartError
from slocheck.supervise import (
    Lifecycle,
    _stop_signals_held,
    exited,
    free_port,
    spawn,
    stop_group,
    stop_process,
    wait_ready,
)
from tests.helpers import all_gone

PY = sys.executable
#: The bound on a wait for a condition: never reached on a sound machine, however slow.
PATIENCE_S = 60.0
IGNORES_STOPS = (
    "import signal, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
    "print('ready', flush=True)\n"
    "time.sleep(600)\n"
)
SLEEPS = "import time; print('ready', flush=True); time.sleep(600)"


def _line(log: Path) -> str:
    """The first line of ``log`` once the child has written one."""
    deadline = time.monotonic() + PATIENCE_S
    while time.monotonic() < deadline:
        text = log.read_text() if log.exists() else ""
        if "\n" in text:
            return text.split("\n", 1)[0]
        time.sleep(0.02)
    raise AssertionError(f"nothing in {log} within {PATIENCE_S:g} s")


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[bytes]]]:
    """What a test started; killed at its end whatever happened."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(PATIENCE_S)


def test_a_spawned_child_has_its_own_session_and_dies_with_slocheck(
    tmp_path: Path, children: list[subprocess.Popen[bytes]]
) -> None:
    log = tmp_path / "child.log"
    code = (
        "import ctypes, os, signal\n"
        "sig = ctypes.c_int()\n"
        "ctypes.CDLL('libc.so.6').prctl(2, ctypes.byref(sig))  # PR_GET_PDEATHSIG\n"
        "print(os.getsid(0) == os.getpid(), sig.value, os.environ['ASKED'], flush=True)\n"
    )
    proc = spawn([PY, "-c", code], env={**os.environ, "ASKED": "yes"}, log=log)
    children.append(proc)
    assert proc.wait(PATIENCE_S) == 0
    assert _line(log) == f"True {int(signal.SIGTERM)} yes"


def test_a_plain_child_stays_in_slocheck_s_session(
    tmp_path: Path, children: list[subprocess.Popen[bytes]]
) -> None:
    log = tmp_path / "child.log"
    code = (
        "import ctypes, os\n"
        "sig = ctypes.c_int()\n"
        "ctypes.CDLL('libc.so.6').prctl(2, ctypes.byref(sig))\n"
        "print(os.getsid(0), os.getpgrp(), sig.value, flush=True)\n"
    )
    proc = spawn([PY, "-c", code], log=log, detached=False)
    children.append(proc)
    assert proc.wait(PATIENCE_S) == 0
    assert _line(log) == f"{os.getsid(0)} {os.getpgrp()} 0"


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is Linux's")
def test_the_kernel_stops_the_child_when_slocheck_is_killed(
    children: list[subprocess.Popen[bytes]],
) -> None:
    """SIGKILL leaves slocheck no chance to stop anything: the parent-death signal does."""
    code = (
        "import sys, time\n"
        "from slocheck.supervise import spawn\n"
        f"child = spawn([sys.executable, '-c', {SLEEPS!r}])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen([PY, "-c", code], stdout=subprocess.PIPE)
    children.append(parent)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait(PATIENCE_S)
    assert all_gone({child}, timeout=PATIENCE_S) == set()


def test_stopping_a_group_stops_its_grandchildren(
    tmp_path: Path, children: list[subprocess.Popen[bytes]]
) -> None:
    log = tmp_path / "sh.log"
    proc = spawn(["sh", "-c", "sleep 600 & echo $!; wait"], log=log)
    children.append(proc)
    grandchild = int(_line(log))
    stop_group(proc)
    assert proc.returncode is not None
    assert all_gone({grandchild, proc.pid}, timeout=PATIENCE_S) == set()


def test_a_group_that_ignores_the_stop_signals_is_killed(
    tmp_path: Path, children: list[subprocess.Popen[bytes]]
) -> None:
    log = tmp_path / "stubborn.log"
    proc = spawn([PY, "-c", IGNORES_STOPS], log=log)
    children.append(proc)
    assert _line(log) == "ready"  # its handlers are in place
    stop_group(proc, timeout=0.2, first=signal.SIGINT)
    assert proc.returncode == -signal.SIGKILL


def test_stopping_a_process_sends_sigterm_then_sigkill(
    tmp_path: Path, children: list[subprocess.Popen[bytes]]
) -> None:
    polite = spawn([PY, "-c", SLEEPS], log=tmp_path / "polite.log", detached=False)
    stubborn = spawn([PY, "-c", IGNORES_STOPS], log=tmp_path / "stubborn.log", detached=False)
    children += [polite, stubborn]
    assert _line(tmp_path / "polite.log") == _line(tmp_path / "stubborn.log") == "ready"
    stop_process(polite)
    stop_process(stubborn, timeout=0.1)
    assert (polite.returncode, stubborn.returncode) == (-signal.SIGTERM, -signal.SIGKILL)
    stop_process(polite)  # gone already: nothing to do


def test_exited_says_why_a_child_is_gone(children: list[subprocess.Popen[bytes]]) -> None:
    running = spawn([PY, "-c", SLEEPS])
    failed = spawn([PY, "-c", "raise SystemExit(3)"])
    children += [running, failed]
    failed.wait(PATIENCE_S)
    assert exited(running)() is None
    assert exited(failed)() == "exited with 3 during start-up"
    assert exited(failed, "mid-run")() == "exited with 3 mid-run"


class _Answers(http.server.BaseHTTPRequestHandler):
    statuses: ClassVar[list[int]] = [200]
    asked: ClassVar[int] = 0

    def do_GET(self) -> None:
        cls = type(self)
        status = cls.statuses[min(cls.asked, len(cls.statuses) - 1)]
        cls.asked += 1
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, type[_Answers]]]:
    handler = type("Answers", (_Answers,), {"statuses": [200], "asked": 0})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/ready", handler
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_waiting_until_the_probe_answers_2xx(server: tuple[str, type[_Answers]]) -> None:
    url, answers = server
    answers.statuses = [503, 503, 204]
    wait_ready(url, PATIENCE_S, ServiceStartError, what="the service", every=0.01)
    assert answers.asked == 3


def test_what_counts_as_ready_is_the_caller_s(server: tuple[str, type[_Answers]]) -> None:
    url, answers = server
    answers.statuses = [404]
    wait_ready(url, PATIENCE_S, ServiceStartError, what="the service", accept=lambda s: True)
    assert answers.asked == 1


def test_a_child_gone_ends_the_wait_at_once_with_why() -> None:
    url = f"http://127.0.0.1:{free_port()}/-/ready"
    with pytest.raises(PrometheusError) as raised:
        wait_ready(
            url,
            3600.0,
            PrometheusError,
            what="prometheus",
            exited=lambda: "exited with 1 during start-up",
        )
    assert raised.value.message == "prometheus exited with 1 during start-up"


def test_a_wait_that_runs_out_names_the_probe_the_bound_and_the_hint() -> None:
    url = f"http://127.0.0.1:{free_port()}/health/ready"  # nothing listens there
    with pytest.raises(ServiceStartError) as raised:
        wait_ready(url, 0.2, ServiceStartError, what="the target service", hint="is it up?")
    assert raised.value.message.startswith(
        f"the target service at {url} was not ready within 0.2 s ("
    )
    assert raised.value.hint == "is it up?"


def test_a_lifecycle_stops_on_errors_too() -> None:
    calls: list[str] = []

    class Thing(Lifecycle):
        def start(self) -> Thing:
            calls.append("start")
            return self

        def stop(self) -> None:
            calls.append("stop")

    with Thing() as thing:
        assert isinstance(thing, Thing) and calls == ["start"]
    with pytest.raises(KeyboardInterrupt), Thing():
        raise KeyboardInterrupt
    assert calls == ["start", "stop", "start", "stop"]


def test_a_free_port_is_one_a_child_can_listen_on() -> None:
    import socket

    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_a_stop_signal_during_a_spawn_is_held_then_delivered() -> None:
    """A SIGTERM that lands while a child is forked is not lost in Python's at-fork hooks: it
    reaches the handler once the child exists."""
    seen: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, _frame: seen.append(signum))
    try:
        with _stop_signals_held():
            signal.raise_signal(signal.SIGTERM)
            assert seen == []  # held
        assert seen == [signal.SIGTERM]  # delivered once, after the block
        assert signal.getsignal(signal.SIGTERM) is not None
    finally:
        signal.signal(signal.SIGTERM, previous)
