"""What every built-in user shares: pacing (closed or open loop) and reading a server-sent
event stream.

Closed loop (``SLOCHECK_ARRIVAL`` unset or ``closed``): ``SLOCHECK_RATE_PER_USER`` paces each
user at a fixed rate (``constant_throughput``) from a random phase, so that users spawned
together do not fire in bursts; without it, each user sends its next request as soon as it has
an answer.

Open loop (``SLOCHECK_ARRIVAL=open``): one schedule of intended send times per process
(``SLOCHECK_OPEN_RATE`` requests/s, ``SLOCHECK_DISTRIBUTION`` constant, poisson or gamma
with ``SLOCHECK_BURSTINESS``, or the requests of the trace ``SLOCHECK_TRACE`` at their
timestamps divided by ``SLOCHECK_SPEEDUP``; see ``arrivals.py``) from the test's start to its
end; a free user takes the next time, sleeps until
it and sends. The users are the bound on requests in flight. A request sent late (all users were
busy) is recorded with its latency from the intended time, and its plain latency from the actual
send goes to the metric ``service_time``; intended times more than ``MAX_LATENESS_S`` late are
counted as ``dropped`` and never sent. A locustfile opts in by deriving its users from ``Paced``
and sending one request per task through ``self.client``.
"""

from __future__ import annotations

import itertools
import os
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gevent
from locust import FastHttpUser, constant, constant_throughput

from slocheck.load.locustfiles.arrivals import (
    MAX_LATENESS_S,
    Schedule,
    TraceSchedule,
    intended_latency,
)
from slocheck.load.locustfiles.bodies import read_payload
from slocheck.load.locustfiles.plugin import (
    RECORDER,
    measured,
    record_count,
    record_metric,
    with_measured,
)
from slocheck.load.locustfiles.traces import TraceRow, read_trace

RATE = float(os.environ.get("SLOCHECK_RATE_PER_USER", "0") or 0)
OPEN_RATE = float(os.environ.get("SLOCHECK_OPEN_RATE", "0") or 0)  # requests/s of this process
OPEN = os.environ.get("SLOCHECK_ARRIVAL", "closed") == "open" and OPEN_RATE > 0
DISTRIBUTION = os.environ.get("SLOCHECK_DISTRIBUTION", "constant") or "constant"
BURSTINESS = float(os.environ.get("SLOCHECK_BURSTINESS", "1") or 1)
MAX_LATENESS = float(os.environ.get("SLOCHECK_MAX_LATENESS", "") or MAX_LATENESS_S)
TRACE = os.environ.get("SLOCHECK_TRACE", "")  # a trace to replay (traces.py): open loop
SPEEDUP = float(os.environ.get("SLOCHECK_SPEEDUP", "1") or 1)
_CLOSED_WAIT = constant_throughput(RATE) if RATE > 0 else constant(0)
_SCHEDULE: list[Schedule | TraceSchedule] = []  # this process's, made at its first send


def schedule(index: int = 0) -> Schedule | TraceSchedule:
    """This process's schedule: from the test's start to its end (warm-up + duration). Made
    lazily, after Locust's ``--processes`` fork, so every process has its own; with several
    processes the seed mixes in the pid, so that their Poisson gaps are independent, and a
    trace is shared out by the process's ``index`` (Locust's worker index)."""
    if not _SCHEDULE:
        now = time.time()
        start = RECORDER.marks.get("test_start", now)
        total = float(os.environ.get("SLOCHECK_WARMUP", "0") or 0) + float(
            os.environ.get("SLOCHECK_DURATION", "0") or 0
        )
        processes = int(os.environ.get("SLOCHECK_PROCESSES", "1") or 1)
        seed = int(os.environ.get("SLOCHECK_SEED", "0") or 0)
        if processes > 1:
            seed = seed * 1_000_003 + os.getpid()
        end = start + total if total > 0 else now + 3600.0
        if TRACE:
            rows = read_trace(Path(TRACE))
            _SCHEDULE.append(TraceSchedule(rows, start, end, SPEEDUP, index % processes, processes))
        else:
            _SCHEDULE.append(Schedule(OPEN_RATE, start, end, DISTRIBUTION, seed, BURSTINESS))
    return _SCHEDULE[0]


def count_cut() -> None:
    """A request the end of the run killed in flight (Locust's stop timeout ran out): it has
    no answer and no record; it is counted (``cut``), never judged."""
    record_count("cut", 1)


class _CorrectedEvent:
    """The ``request`` event as one user's client fires it: the first request after an
    open-loop send time is recorded from that time (coordinated omission corrected), its
    actual-send latency as ``service_time``."""

    def __init__(self, event: Any, user: Paced) -> None:
        self._event = event
        self._user = user

    def fire(self, **kwargs: Any) -> Any:
        due = self._user.sent_due
        if due is not None:
            self._user.sent_due = None
            intended, sent = due
            service_s = float(kwargs.get("response_time") or 0) / 1000.0
            record_metric("service_time", service_s)
            kwargs["response_time"] = intended_latency(intended, sent, service_s) * 1000.0
            context = kwargs.get("context")
            found = measured(context)
            found.intended = intended
            kwargs["context"] = with_measured(context, found)
        return self._event.fire(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._event, name)


class Paced(FastHttpUser):
    abstract = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.intended: float | None = None  # the send time this user took, not yet used
        self.trace_row: TraceRow | None = None  # a trace's request due then (trace replay)
        self.sent_due: tuple[float, float] | None = None  # (intended, actual) of the last send
        client: Any = self.client
        send = client.request

        def request(*a: Any, **kw: Any) -> Any:
            if OPEN and self.intended is not None:
                self.sent_due = (self.intended, time.time())
                self.intended = None
            try:
                return send(*a, **kw)
            except gevent.GreenletExit:  # killed in flight by the end of the run
                count_cut()
                raise

        client.request = request
        if OPEN:
            client.request_event = _CorrectedEvent(client.request_event, self)

    def wait_time(self) -> float:
        return self.open_wait() if OPEN else float(_CLOSED_WAIT(self))

    def open_wait(self) -> float:
        """Take the next intended send time (dropping those too late) and return how long to
        sleep until it. After the schedule's end, sleep until Locust stops the run: no request
        is ever sent off the schedule."""
        now = time.time()
        plan = schedule(getattr(self.environment.runner, "worker_index", 0) or 0)
        intended, dropped = plan.take(now, MAX_LATENESS)
        if dropped:
            record_count("dropped", dropped)
        self.intended = intended
        self.trace_row = plan.row if isinstance(plan, TraceSchedule) else None
        if intended is None:
            return 3600.0
        return max(0.0, intended - now)

    def on_start(self) -> None:
        if OPEN:
            gevent.sleep(self.open_wait())
        elif RATE > 0:  # a random phase: users spawned together must not fire together
            gevent.sleep(random.uniform(0, 1.0 / RATE))


def stream_lines(response: Any) -> Iterator[bytes]:
    """The lines of a streamed body, without their ``\\n`` or ``\\r\\n``.

    SSE lines may end in a bare ``\\n``; geventhttpclient's ``readline()`` splits on ``\\r\\n``
    only, so the raw response is read with ``readline(b"\\n")``."""
    raw = getattr(response, "_response", None)
    while True:
        line = raw.readline(b"\n") if raw is not None else response.readline()
        if not line:
            return
        yield line.rstrip(b"\r\n")


class Payload:
    """The bodies of ``SLOCHECK_PAYLOAD``, handed out in turn (one turn per process)."""

    def __init__(self, bodies: list[bytes]) -> None:
        self.bodies = bodies
        self._turn = itertools.count()

    @classmethod
    def from_env(cls) -> Payload:
        path = os.environ.get("SLOCHECK_PAYLOAD", "")
        return cls(read_payload(Path(path)) if path else [])

    def next(self) -> bytes | None:
        if not self.bodies:
            return None
        return self.bodies[next(self._turn) % len(self.bodies)]
