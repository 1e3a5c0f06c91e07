"""Stop signals (SIGINT, SIGTERM) that end a run in order.

The first raises KeyboardInterrupt (its argument: the signal's name), which stops whatever the
run was doing; every later one is only noted: the run is already ending, and it still stops its
children and writes every report before it exits (with 130). Without this a second Ctrl-C landed
in the middle of the stop and the reports were lost. ``SIGKILL`` remains the way to abandon them.

Also the test hook :func:`pause_for_tests`, which holds a run at a named stage so that a test
can signal it there, whatever the machine's speed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

STOPS = (signal.SIGINT, signal.SIGTERM)
#: Test-only: ``SLOCHECK_TEST_PAUSE_AT`` (stage names, comma-separated) and
#: ``SLOCHECK_TEST_PAUSE_FILE`` (a path; the marker of stage S is ``PATH.S``).
PAUSE_AT = "SLOCHECK_TEST_PAUSE_AT"
PAUSE_FILE = "SLOCHECK_TEST_PAUSE_FILE"
PAUSE_LIMIT_S = 120.0  # a hang guard: a paused run goes on after this long

_received: list[str] = []
_deferring = [0]  # > 0 inside deferred(): even the first signal is only noted


def _stop(signum: int, _frame: object) -> None:
    name = signal.Signals(signum).name
    _received.append(name)
    if len(_received) == 1 and not _deferring[0]:
        raise KeyboardInterrupt(name)
    with contextlib.suppress(OSError):  # async-signal-safe: no print, no buffered I/O
        os.write(2, f"slocheck: {name}: noted, stopping once the reports are written\n".encode())


def install() -> None:
    """SIGINT and SIGTERM end the run in order (see the module's text), from now on. Both,
    explicitly: a shell starts background jobs with SIGINT ignored, and CI runners cancel with
    SIGTERM. Only in the main thread (elsewhere Python cannot set handlers)."""
    if threading.current_thread() is not threading.main_thread():
        return
    _received.clear()  # a new command: none received yet
    for sig in STOPS:
        signal.signal(sig, _stop)


def installed() -> bool:
    return all(signal.getsignal(sig) is _stop for sig in STOPS)


@contextlib.contextmanager
def in_order() -> Iterator[None]:
    """While the block runs, a stop signal that already raises KeyboardInterrupt (Python's
    Ctrl-C, a caller's SIGTERM handler) ends it in order: once, the later ones noted. Signals
    left to their default (SIGTERM outside the CLI) or ignored stay so. No-op outside the main
    thread and where :func:`install` already ran."""
    if threading.current_thread() is not threading.main_thread() or installed():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in STOPS}
    _received.clear()
    for sig, handler in previous.items():
        if callable(handler):
            signal.signal(sig, _stop)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            if callable(handler):
                signal.signal(sig, handler)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """While the block runs (the reports being written), even a first stop signal is only
    noted: see :func:`received` afterwards."""
    _deferring[0] += 1
    try:
        yield
    finally:
        _deferring[0] -= 1


def received() -> list[str]:
    """The stop signals received since :func:`install` (or :func:`in_order`), in order."""
    return list(_received)


def signal_name(e: KeyboardInterrupt) -> str:
    """The signal that raised ``e``: its name, or SIGINT for Python's own Ctrl-C."""
    return str(e.args[0]) if e.args and str(e.args[0]).startswith("SIG") else "SIGINT"


def pause_for_tests(stage: str) -> None:
    """Tests only: when ``SLOCHECK_TEST_PAUSE_AT`` names ``stage``, write the marker file
    ``$SLOCHECK_TEST_PAUSE_FILE.<stage>`` and wait there until a stop signal arrives (the
    first raises KeyboardInterrupt here; a later one is noted and the run goes on), at most
    :data:`PAUSE_LIMIT_S`. Never set outside the test suite."""
    stages = os.environ.get(PAUSE_AT, "")
    if not stages or stage not in stages.split(","):
        return
    seen = len(_received)
    marker = os.environ.get(PAUSE_FILE)
    if marker:
        Path(f"{marker}.{stage}").write_text(stage)
    deadline = time.monotonic() + PAUSE_LIMIT_S
    while len(_received) == seen and time.monotonic() < deadline:
        time.sleep(0.05)
