"""Open-loop arrivals: the intended send times of one Locust process, and the lateness rule.

Pure (no Locust, no gevent), so that the maths can be tested without gevent's patching. An
open loop sends requests at times fixed in advance, whatever the answers do; a closed loop
(``constant_throughput``) waits for each answer first, so a stalled service silences its own
load and the requests real traffic would have sent are never measured (coordinated omission).

The rule that bounds the backlog: when a user is free and takes the next intended time, every
intended time more than ``max_lateness`` seconds in the past is DROPPED (counted, never sent),
because all users were busy (the in-flight bound was reached) for that long. Without the rule a
backlog grows without bound during a stall and is then fired in one burst, a load no real client
sends. A request less late than that is sent at once, its latency measured from its intended
time.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from slocheck.load.locustfiles.traces import TraceRow

#: The lateness past which an intended send is dropped: 1 s, long enough that the jitter of a
#: busy 2-core generator (tens of ms) never drops anything, short enough that a saturated
#: service sheds the backlog within a second instead of receiving it as a burst.
MAX_LATENESS_S = 1.0
DISTRIBUTIONS = ("constant", "poisson", "gamma")


def constant_times(rate: float, start: float, count: int) -> list[float]:
    """The first ``count`` intended times at a fixed spacing of ``1 / rate`` from ``start``."""
    return [start + k / rate for k in range(count)]


def take(
    schedule: Schedule | TraceSchedule, now: float, max_lateness: float = MAX_LATENESS_S
) -> tuple[float | None, int]:
    """The intended time a free user sends at next, and how many intended times it dropped on
    the way (those more than ``max_lateness`` behind ``now``). None: the schedule is over.
    Bounded: every step consumes one of the finitely many times before the schedule's end."""
    dropped = 0
    while True:
        t = schedule.next()
        if t is None or not is_dropped(t, now, max_lateness):
            return t, dropped
        dropped += 1


@dataclass
class Schedule:
    """The intended send times of one process: ``rate`` per second from ``start`` until
    ``end``, evenly spaced (``constant``), with exponential gaps (``poisson``, seeded), or with
    gamma gaps of shape ``burstiness`` and mean ``1 / rate`` (``gamma``, seeded: vLLM's
    ``--burstiness``; 1 is Poisson, below 1 burstier, above 1 steadier; the gaps' coefficient
    of variation is ``1 / sqrt(burstiness)``).

    Not thread-safe, and needs not be: under gevent, :meth:`take` never yields, so two users
    never take the same time."""

    rate: float
    start: float
    end: float
    distribution: str = "constant"
    seed: int = 0
    burstiness: float = 1.0
    _k: int = 0
    _next: float = field(init=False)
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        if not (self.rate > 0 and math.isfinite(self.rate)):
            raise ValueError(f"the rate must be a positive number, got {self.rate!r}")
        if self.distribution not in DISTRIBUTIONS:
            raise ValueError(f"unknown distribution {self.distribution!r}")
        if not (self.burstiness > 0 and math.isfinite(self.burstiness)):
            raise ValueError(f"the burstiness must be a positive number, got {self.burstiness!r}")
        self._rng = random.Random(self.seed)
        self._next = self.start

    def next(self) -> float | None:
        """The next intended time; None once the schedule has passed its end."""
        t = self._next
        if t >= self.end:
            return None
        self._k += 1
        if self.distribution == "constant":
            self._next = self.start + self._k / self.rate  # no drift from summed gaps
        elif self.distribution == "gamma":
            shape = self.burstiness
            self._next = t + self._rng.gammavariate(shape, 1.0 / (self.rate * shape))
        else:
            self._next = t + self._rng.expovariate(self.rate)
        return t

    def take(self, now: float, max_lateness: float = MAX_LATENESS_S) -> tuple[float | None, int]:
        return take(self, now, max_lateness)


@dataclass
class TraceSchedule:
    """A trace's requests as one process's intended send times: the trace's row ``k`` at
    ``start + at / speedup``, for the rows ``k`` with ``k % count == index`` (each of ``count``
    load processes replays its share, exactly), until ``end``. :attr:`row` is the request of
    the time :meth:`next` returned last (under gevent, read it before yielding)."""

    rows: Sequence[TraceRow]
    start: float
    end: float
    speedup: float = 1.0
    index: int = 0
    count: int = 1
    row: TraceRow | None = None
    _k: int = 0

    def __post_init__(self) -> None:
        if not (self.speedup > 0 and math.isfinite(self.speedup)):
            raise ValueError(f"the speedup must be a positive number, got {self.speedup!r}")
        if not 0 <= self.index < self.count:
            raise ValueError(f"process {self.index} of {self.count}: no such process")
        self._k = self.index

    def next(self) -> float | None:
        """The next intended time of this process's share; None once past the trace or ``end``."""
        if self._k >= len(self.rows):
            return None
        row = self.rows[self._k]
        t = self.start + row.at / self.speedup
        if t >= self.end:
            return None
        self._k += self.count
        self.row = row
        return t

    def take(self, now: float, max_lateness: float = MAX_LATENESS_S) -> tuple[float | None, int]:
        return take(self, now, max_lateness)


def replay_rate(rows: Sequence[TraceRow], speedup: float, lo: float, hi: float) -> float:
    """Requests per second a trace replayed at ``speedup`` sends between ``lo`` and ``hi``
    seconds after its start: the rate a run of that window asked for."""
    due = sum(1 for r in rows if lo <= r.at / speedup < hi)
    return due / (hi - lo) if hi > lo else 0.0


def peak_rate(rows: Sequence[TraceRow], speedup: float, within: float = 1.0) -> float:
    """The most requests the replay sends in any ``within`` seconds, per second: the
    burst the users (requests in flight) must absorb. Rows are in time order."""
    times = [r.at / speedup for r in rows]
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= within:
            lo += 1
        best = max(best, hi - lo + 1)
    return best / within


def is_dropped(intended: float, now: float, max_lateness: float = MAX_LATENESS_S) -> bool:
    """A send due at ``intended`` that no user could take until ``now`` is dropped when it is
    more than ``max_lateness`` late."""
    return now - intended > max_lateness


def intended_latency(intended: float, sent: float, service_s: float) -> float:
    """The latency a user of an open-loop service sees: from when the request was due, not from
    when a busy generator got round to sending it (coordinated omission corrected). Never less
    than the service time (a send a little early, by timer jitter, is not a faster answer)."""
    return service_s + max(0.0, sent - intended)
