"""The capacity search (pure): which rate to try next, and what the steps so far say.

Each step runs an open-loop load at one rate and is judged like a gate: it *passes* when every
critical SLO passes and the load was the load asked for; anything else (a missed SLO, a load
the service could not take, no data) is not a pass. The search:

1. **Bracketing**: from ``min_rate``, double the rate after every pass until a step does not
   pass or ``max_rate`` is reached (``max_rate`` is then tried as it is).
2. **Bisection** between the highest passing and the lowest failing rate, until the bracket is
   within ``precision`` of its lower end.
3. **Inconclusive steps are repeated once** (a blip of the machine should not end the search);
   inconclusive twice at one rate counts as not passing there, so the capacity stays below it.

The result is a bracket ``[lower, upper]``: the highest rate seen to pass and the lowest seen
not to (None: nothing failed up to ``max_rate``), with the SLO (or load check) that broke
first at ``upper``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from slocheck.evaluate.intervals import min_samples_for_quantile
from slocheck.slofile.model import SloSpec
from slocheck.verdict import Verdict


class StoppedBy(StrEnum):
    """Why the search ended; the value is what ``report.json`` writes as ``stopped_by``."""

    PRECISION = "precision"  # the bracket is within the precision
    MAX_RATE = "max_rate"  # every rate up to the maximum passed
    MIN_RATE_FAILED = "min_rate_failed"  # the minimum rate already did not pass
    BUDGET = "budget"  # the time budget ran out
    ERROR = "error"  # a step could not be judged (an infrastructure error)
    INTERRUPTED = "interrupted"  # a stop signal


@dataclass(frozen=True)
class Step:
    """One rate tried: its verdict and, when it did not pass, what broke it."""

    rate: float
    verdict: Verdict
    broken_by: list[str] = field(default_factory=list)
    achieved_rps: float | None = None
    p95_s: float | None = None
    p99_s: float | None = None
    error_ratio: float | None = None
    seconds: float = 0.0  # how long the step took, start-up and judging included

    @property
    def passed(self) -> bool:
        return self.verdict == Verdict.PASS


@dataclass(frozen=True)
class Bracket:
    lower: float | None  # the highest rate that passed; None: even min_rate did not
    upper: float | None  # the lowest rate that did not pass; None: none up to max_rate
    broken_by: list[str]  # what broke the step at ``upper``


@dataclass(frozen=True)
class Search:
    min_rate: float
    max_rate: float
    precision: float = 0.10  # stop when (upper - lower) / lower is at most this
    factor: float = 2.0  # bracketing grows the rate by this much a step

    def __post_init__(self) -> None:
        if not (0 < self.min_rate <= self.max_rate and math.isfinite(self.max_rate)):
            raise ValueError(
                f"expected 0 < min-rate <= max-rate, got {self.min_rate:g} and {self.max_rate:g}"
            )
        if not 0 < self.precision < 1:
            raise ValueError(f"the precision must lie in (0, 1), got {self.precision:g}")
        if not self.factor > 1:
            raise ValueError(f"the growth factor must be above 1, got {self.factor:g}")

    def settled(self, steps: Sequence[Step]) -> list[Step]:
        """One outcome per rate: a repeated inconclusive step counts once its repeat is in."""
        by_rate: dict[float, list[Step]] = {}
        for s in steps:
            by_rate.setdefault(s.rate, []).append(s)
        out = []
        for tries in by_rate.values():
            decided = [t for t in tries if t.verdict != Verdict.INCONCLUSIVE]
            if decided:
                out.append(decided[-1])
            elif len(tries) >= 2:
                out.append(tries[-1])  # inconclusive twice: not a pass
        return out

    def bracket(self, steps: Sequence[Step]) -> Bracket:
        settled = self.settled(steps)
        passed = [s.rate for s in settled if s.passed]
        failed = [s for s in settled if not s.passed]
        lower = max(passed) if passed else None
        above = [s for s in failed if lower is None or s.rate > lower]
        first = min(above, key=lambda s: s.rate) if above else None
        return Bracket(lower, first.rate if first else None, first.broken_by if first else [])

    def next_rate(self, steps: Sequence[Step]) -> float | None:
        """The rate to try next; None when the search is over."""
        if steps and steps[-1].verdict == Verdict.INCONCLUSIVE:
            last = steps[-1]
            if sum(1 for s in steps if s.rate == last.rate) < 2:
                return last.rate  # once more
        if any(s.verdict == Verdict.ERROR for s in steps):
            return None
        b = self.bracket(steps)
        if not steps:
            return self.min_rate
        if b.lower is None:
            return None  # the minimum already fails: nothing below it is searched
        if b.upper is None:
            if b.lower >= self.max_rate:
                return None  # every rate up to the maximum passed
            return min(b.lower * self.factor, self.max_rate)
        if (b.upper - b.lower) / b.lower <= self.precision:
            return None
        return round((b.lower + b.upper) / 2, 6)


def step_verdict(run: Verdict) -> Verdict:
    """A run's verdict as a step's: a warn passes (a warning SLO never holds the rate back),
    fail and inconclusive stay, anything else (error, interrupted) is an error."""
    if run in (Verdict.PASS, Verdict.WARN):
        return Verdict.PASS
    if run in (Verdict.FAIL, Verdict.INCONCLUSIVE):
        return Verdict(run)
    return Verdict.ERROR


def stopped_by(ended: StoppedBy, bracket: Bracket) -> StoppedBy:
    """Why the search ended, told apart: a search that ran out of rates to try (``precision``)
    ended because the minimum already failed, or because every rate up to the maximum passed,
    when its bracket says so."""
    if ended == StoppedBy.PRECISION:
        if bracket.lower is None:
            return StoppedBy.MIN_RATE_FAILED
        if bracket.upper is None:
            return StoppedBy.MAX_RATE
    return ended


def capacity_verdict(
    bracket: Bracket, ended: StoppedBy, *, error: str | None, require_rate: float | None
) -> Verdict:
    """``pass``: a capacity was found (at or above ``require_rate`` when given); ``fail``: the
    minimum already fails (or the capacity is below ``require_rate``); ``error`` (a step that
    could not be judged); ``interrupted``."""
    if error is not None:
        return Verdict.ERROR
    if ended == StoppedBy.INTERRUPTED:
        return Verdict.INTERRUPTED
    if bracket.lower is None:
        return Verdict.FAIL
    if require_rate is not None and bracket.lower < require_rate:
        return Verdict.FAIL
    return Verdict.PASS


def samples_needed(slos: Sequence[SloSpec], z: float = 1.96) -> int:
    """The observations a step needs for every SLO to be decidable on a healthy service: a
    percentile's ``min_samples`` (P99: 1,000), and for a ratio objective ``o`` the error-free
    requests whose Wilson interval clears it (``z^2 o / (1 - o)``: 99% needs 381)."""
    need = 1
    for slo in slos:
        if slo.min_samples:
            need = max(need, slo.min_samples)
        if slo.percentile is not None:
            need = max(need, min_samples_for_quantile(slo.percentile / 100))
        objective = slo.objective
        if slo.sli == "error_ratio" and slo.threshold is not None:
            objective = 1.0 - slo.threshold
        if objective is not None and 0 < objective < 1:
            need = max(need, math.ceil(z * z * objective / (1 - objective)))
    return need


def step_seconds(rate: float, step_duration: float, needed: int, margin: float = 1.25) -> float:
    """A step's judged load: ``step_duration``, or longer where the rate is too low to gather
    ``needed`` observations (with a margin) in it; whole seconds."""
    return float(math.ceil(max(step_duration, margin * needed / rate)))
