"""Child processes: how slocheck starts, waits for and stops the programs it runs (Locust and
its workers, Prometheus, the embedded ``slocheck serve``).

The one home of process supervision: :func:`spawn` (its own session, stopped by the kernel
when slocheck dies), :func:`stop_group` and :func:`stop_process` (a signal, then SIGKILL,
bounded), :func:`wait_ready` (a readiness probe, bounded, that notices a child gone),
:func:`exited` (the reason a child is gone), :class:`Lifecycle` (``with``: start, then stop)
and :func:`free_port` (where a child listens). The load adapter, the Prometheus adapter and
the embedded stack use it; it imports only the standard library, httpx (the probe) and
``errors``."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import TypeVar

import httpx

from slocheck.errors import InfrastructureError

__all__ = [
    "Lifecycle",
    "exited",
    "free_port",
    "spawn",
    "stop_group",
    "stop_process",
    "wait_ready",
]

_T = TypeVar("_T", bound="Lifecycle")
_PR_SET_PDEATHSIG = 1


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on now, for a child to listen on."""
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@contextlib.contextmanager
def _stop_signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM that arrive meanwhile are held, then delivered once the block is over.

    Forking with a ``preexec_fn`` runs Python's at-fork hooks (logging's among them); a signal
    handled there raises its KeyboardInterrupt inside the hook, where Python prints it as
    "Exception ignored" and drops it: a SIGTERM during start-up was lost and the run went on
    to exit 0. Held, it reaches slocheck's own handler in ordinary code instead."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []

    def hold(signum: int, _frame: object) -> None:
        caught.append(signum)

    stops = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, hold) for sig in stops}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        for signum in dict.fromkeys(caught):
            signal.raise_signal(signum)


def spawn(
    args: list[str],
    *,
    env: dict[str, str] | None = None,
    log: Path | None = None,
    detached: bool = True,
) -> subprocess.Popen[bytes]:
    """Start ``args``, its output (stdout and stderr) into ``log`` (or nowhere), no stdin.

    ``detached`` (the default): a child in its own session (Ctrl-C reaches slocheck only, which
    stops it in order, :func:`stop_group`), that the kernel stops (SIGTERM) if slocheck dies,
    even by SIGKILL. ``detached=False``: a plain child in slocheck's process group."""
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
    try:
        if not detached:
            return subprocess.Popen(
                args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
            )
        with _stop_signals_held():
            return subprocess.Popen(
                args,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
            )
    finally:
        if log:
            out.close()  # type: ignore[union-attr]


def stop_group(
    proc: subprocess.Popen[bytes], timeout: float = 10.0, first: signal.Signals = signal.SIGTERM
) -> None:
    """Signal the child's whole process group (Locust's forked workers too) with ``first``,
    then SIGTERM, then SIGKILL, each after ``timeout`` / 2 seconds. For a :func:`spawn`-ed
    (detached) child: its process group is its own."""
    for sig in dict.fromkeys((first, signal.SIGTERM)):
        if proc.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout / 2)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # stragglers of the group, if any
    if proc.poll() is None:
        proc.wait(5)


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM to the child alone, SIGKILL after ``timeout`` seconds; at once when a stop
    signal (KeyboardInterrupt) interrupts the wait, which then goes on up."""
    try:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def exited(
    proc: subprocess.Popen[bytes], when: str = "during start-up"
) -> Callable[[], str | None]:
    """For :func:`wait_ready`: why ``proc`` is gone (``"exited with 1 during start-up"``), or
    None while it runs."""

    def why() -> str | None:
        code = proc.poll()
        return None if code is None else f"exited with {code} {when}"

    return why


def wait_ready(
    probe: str,
    timeout: float,
    error: type[InfrastructureError],
    *,
    what: str,
    accept: Callable[[int], bool] = lambda status: 200 <= status < 300,
    exited: Callable[[], str | None] = lambda: None,
    every: float = 0.1,
    hint: str | None = None,
) -> None:
    """Poll ``GET probe`` every ``every`` seconds until ``accept(status)``. Raise ``error``
    (exit 3) when ``exited`` says why the process is gone, or after ``timeout`` seconds with
    the last probe's outcome. ``what`` names the server in the messages."""
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while True:
        if (why := exited()) is not None:
            raise error(f"{what} {why}")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise error(f"{what} at {probe} was not ready within {timeout:g} s ({last})", hint=hint)
        try:
            status = httpx.get(probe, timeout=min(2.0, max(remaining, 0.05))).status_code
            if accept(status):
                return
            last = f"the last probe answered {status}"
        except httpx.HTTPError as e:
            last = f"the last probe: {type(e).__name__}: {e}" if str(e) else type(e).__name__
        time.sleep(min(every, max(remaining, 0.0)))


class Lifecycle:
    """``with X(...) as x``: ``start()`` on entry, ``stop()`` on exit, errors and Ctrl-C."""

    def start(self: _T) -> _T:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self: _T) -> _T:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
