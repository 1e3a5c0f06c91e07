"""Loaded into every Locust process (master and workers) by ``slocheck run``.

Records every request into per-second HDR histograms (exact counts, no rounding of Locust's
own percentiles), by request name, plus client-side measurements that are not requests (TTFT,
inter-token latency, time per output token) and per-second counts (tokens), and writes a
snapshot of them every second to ``$SLOCHECK_LOAD_DIR/client-<pid>.json`` (atomically), so the
parent process can show live progress, merge the processes, and still have data when a run is
interrupted. Runs inside Locust (gevent): it imports nothing of slocheck but this folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from typing import Any

import gevent
from hdrh.histogram import HdrHistogram
from locust import events

LOWEST_US, HIGHEST_US, DIGITS = 1, 3_600_000_000, 3  # 1 us to 1 h, 3 significant digits
OUT_DIR = os.environ.get("SLOCHECK_LOAD_DIR", "")


class _Second:
    """One second of one name. Once the second is over only its compressed histogram (tens of
    bytes) is kept: an open HDR histogram takes ~185 KB, and a soak lasts hours."""

    __slots__ = ("count", "encoded", "errors", "hist", "rejected", "unanswered")

    def __init__(self) -> None:
        self.count = 0
        self.errors = 0
        self.unanswered = 0  # no HTTP answer at all: connection refused or reset, timeout
        self.rejected = 0  # answered 4xx: the server refused the request, it did not fail it
        self.hist: HdrHistogram | None = HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)
        self.encoded = ""


class Recorder:
    def __init__(self) -> None:
        self.requests: dict[str, dict[int, _Second]] = {}
        self.metrics: dict[str, dict[int, _Second]] = {}
        self.status: dict[str, dict[str, int]] = {}
        self.counts: dict[str, dict[int, int]] = {}
        self.marks: dict[str, float] = {}
        self.done = False

    def request(self, name: str, seconds: float, ok: bool, status: str) -> None:
        slot = self._add(self.requests, name, seconds, ok)
        if not status.isdigit() or status == "0":
            slot.unanswered += 1
        elif status.startswith("4") and len(status) == 3:
            slot.rejected += 1
        counts = self.status.setdefault(name, {})
        counts[status] = counts.get(status, 0) + 1

    def metric(self, name: str, seconds: float) -> None:
        self._add(self.metrics, name, seconds, True)

    def count(self, name: str, n: int) -> None:
        """Add ``n`` to this second's count of ``name`` (``output_tokens``, ``input_tokens``)."""
        seconds = self.counts.setdefault(name, {})
        sec = int(time.time())
        seconds[sec] = seconds.get(sec, 0) + n

    @staticmethod
    def _add(table: dict[str, dict[int, _Second]], name: str, seconds: float, ok: bool) -> _Second:
        sec = int(time.time())
        slot = table.setdefault(name, {}).get(sec)
        if slot is None:
            slot = table[name][sec] = _Second()
        if slot.hist is None:  # the clock stepped back into a closed second
            slot.hist = HdrHistogram.decode(slot.encoded)
        slot.count += 1
        slot.errors += 0 if ok else 1
        slot.hist.record_value(min(max(round(seconds * 1e6), LOWEST_US), HIGHEST_US))
        return slot

    @staticmethod
    def _encode(table: dict[str, dict[int, _Second]]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        closed = int(time.time()) - 1  # requests are recorded in the second they complete
        for name, seconds in table.items():
            for sec, slot in seconds.items():
                if slot.hist is not None:
                    slot.encoded = slot.hist.encode().decode("ascii")
                    if sec < closed:
                        slot.hist = None
                out.setdefault(name, {})[str(sec)] = [
                    slot.count,
                    slot.errors,
                    slot.encoded,
                    slot.unanswered,
                    slot.rejected,
                ]
        return out

    def snapshot(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "written_at": time.time(),
            "done": self.done,
            "marks": self.marks,
            "requests": self._encode(self.requests),
            "metrics": self._encode(self.metrics),
            "status": self.status,
            "counts": {
                name: {str(sec): n for sec, n in seconds.items()}
                for name, seconds in self.counts.items()
            },
        }

    def dump(self) -> None:
        if not OUT_DIR:
            return
        path = os.path.join(OUT_DIR, f"client-{os.getpid()}.json")
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.snapshot(), f)
        os.replace(tmp, path)


RECORDER = Recorder()


def record_metric(name: str, seconds: float) -> None:
    """Record a client-side measurement that is not a request (``ttft``, ``itl``, ``tpot``)."""
    RECORDER.metric(name, seconds)


def record_count(name: str, n: int) -> None:
    """Count things per second (``output_tokens``, ``input_tokens``)."""
    RECORDER.count(name, n)


@events.request.add_listener
def _on_request(  # noqa: PLR0917 - the signature Locust calls
    request_type: str,
    name: str,
    response_time: float,
    response_length: int,
    exception: BaseException | None = None,
    response: Any = None,
    **_: Any,
) -> None:
    status = getattr(response, "status_code", None)
    label = str(status) if status else ("error" if exception else "0")
    RECORDER.request(name, response_time / 1000.0, exception is None, label)


@events.test_start.add_listener
def _on_test_start(**_: Any) -> None:
    RECORDER.marks.setdefault("test_start", time.time())


@events.spawning_complete.add_listener
def _on_spawned(user_count: int, **_: Any) -> None:
    RECORDER.marks.setdefault("spawning_complete", time.time())
    RECORDER.marks["peak_users"] = max(RECORDER.marks.get("peak_users", 0), user_count)


@events.test_stop.add_listener
def _on_test_stop(**_: Any) -> None:
    RECORDER.marks["test_stop"] = time.time()
    RECORDER.done = True
    RECORDER.dump()


@events.quitting.add_listener
def _on_quitting(**_: Any) -> None:
    RECORDER.done = True
    RECORDER.dump()


def _dump_every_second() -> None:
    while True:
        gevent.sleep(1.0)
        with contextlib.suppress(OSError):
            RECORDER.dump()


@events.init.add_listener
def _on_init(**_: Any) -> None:
    RECORDER.marks["init"] = time.time()
    gevent.spawn(_dump_every_second)


@events.init.add_listener
def _hold_until_started(environment: Any = None, **_: Any) -> None:
    """``SLOCHECK_START_FILE`` (set by ``slocheck run``): the test starts once that file exists,
    and no earlier than the unix time it holds. Locust is started before the service is ready
    and Prometheus' first scrape is due, so that its own start-up (imports, ~0.4 s) overlaps
    those waits; the ``test_start`` mark, and so the window, come after. Workers never wait:
    their master starts the test. The wait ends with slocheck, which stops Locust."""
    path = os.environ.get("SLOCHECK_START_FILE", "")
    options = getattr(environment, "parsed_options", None)
    if not path or getattr(options, "worker", False):
        return
    while True:
        try:
            with open(path) as f:
                start_at = float(f.read())
            break
        except (OSError, ValueError):
            gevent.sleep(0.01)
    gevent.sleep(max(0.0, start_at - time.time()))
