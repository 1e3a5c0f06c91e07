"""The latency-throughput curve (pure): one point per load a sweep (or a capacity search) ran,
the highest load that met every SLO, what a million output tokens cost there, and the sweep's
verdict.

A point is a whole run judged like a gate: it *meets its SLOs* when the run passed (every
critical SLO, every cross-check, the load asked for). The measures are the client's, over
the run's window: the serving benchmarks' curve (TTFT P95, inter-token P95, end-to-end P95,
goodput attainment, output tokens/s) against the offered load.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from slocheck.verdict import Verdict

#: The measures of a point, in the order the CSV and the reports give them, with their unit.
MEASURES: dict[str, str] = {
    "achieved_rps": "requests/s",
    "latency_p95_s": "s",
    "ttft_p95_s": "s",
    "itl_p95_s": "s",
    "goodput": "share",
    "output_tokens_per_s": "tokens/s",
    "error_ratio": "share",
}


class Axis(StrEnum):
    """What a sweep varies: the open-loop rate, or the closed loop's concurrent users."""

    RATE = "rate"  # requests/s offered, open loop
    CONCURRENCY = "concurrency"  # users, each waiting for its answer


def step_folder(n: int, at: float, axis: Axis = Axis.RATE) -> str:
    """The folder of the ``n``-th load (from 1) of a search or sweep under ``steps/``:
    ``03-40rps``, ``02-16users``."""
    return f"{n:02d}-{at:g}{'rps' if axis == Axis.RATE else 'users'}"


@dataclass(frozen=True)
class CurvePoint:
    """One load the curve ran: its setting (``at``, on the sweep's :class:`Axis`), its run's
    verdict, what broke it, and the measures (None: not measured, e.g. TTFT of a
    non-streaming API, goodput without a goodput SLO)."""

    at: float
    verdict: Verdict
    broken_by: list[str] = field(default_factory=list)
    requests: int = 0
    achieved_rps: float | None = None
    latency_p95_s: float | None = None
    ttft_p95_s: float | None = None
    itl_p95_s: float | None = None
    goodput: float | None = None  #: the goodput SLO's attainment (the share of good requests)
    output_tokens_per_s: float | None = None
    error_ratio: float | None = None

    @property
    def met(self) -> bool:
        return self.verdict == Verdict.PASS

    def measure(self, name: str) -> float | None:
        """The measure ``name`` (:data:`MEASURES`)."""
        if name not in MEASURES:
            raise KeyError(name)
        value: float | None = getattr(self, name)
        return value


def best(points: Sequence[CurvePoint]) -> CurvePoint | None:
    """The highest load that met every SLO; None when none did."""
    met = [p for p in points if p.met]
    return max(met, key=lambda p: p.at) if met else None


def cost_per_million_tokens(per_hour: float, tokens_per_s: float | None) -> float | None:
    """What a million output tokens cost at ``tokens_per_s`` on hardware at ``per_hour``;
    None when nothing was produced (no figure beats a made-up one)."""
    if tokens_per_s is None or not tokens_per_s > 0 or not math.isfinite(tokens_per_s):
        return None
    return per_hour / (tokens_per_s * 3600.0) * 1_000_000


def sweep_verdict(
    points: Sequence[CurvePoint], *, planned: int, error: str | None, interrupted: bool
) -> Verdict:
    """``pass``: every planned load ran and at least one met every SLO; ``fail``: all ran and
    none did; ``error``: a load could not be judged; ``interrupted``: a stop signal ended it
    (a sweep cut short is never a pass)."""
    if error is not None:
        return Verdict.ERROR
    if interrupted or len(points) < planned:
        return Verdict.INTERRUPTED
    return Verdict.PASS if best(points) is not None else Verdict.FAIL
