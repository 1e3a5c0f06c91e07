"""Exact counts over a window from raw samples (pure).

Why not ``increase()``: Prometheus extrapolates ``increase(x[W])`` towards the window's edges
from the first and last samples inside it, so counts come out fractional and skewed (and a series
born inside the window is under-counted). We fetch the raw samples instead and compute, per
series, ``value(end) - value(start)``, where ``value(start)`` is the last sample at or before the
window's start (within the look-back), or 0 for a series born inside the window, and where a
counter reset (a drop) restarts from 0, as Prometheus' own ``increase()`` assumes.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

Sample = tuple[float, float]  # (unix seconds, value)


@dataclass(frozen=True)
class Series:
    labels: Mapping[str, str]
    samples: Sequence[Sample]


@dataclass
class CounterDelta:
    """The increase of one series over the window, and what was odd about it."""

    value: float
    resets: int = 0
    born_in_window: bool = False
    dropped_samples: int = 0
    last_sample_at: float | None = None


@dataclass
class Totals:
    """Increases summed over many series, with what was noticed on the way."""

    total: float = 0.0
    series: int = 0
    resets: int = 0
    born_in_window: int = 0
    dropped_samples: int = 0
    last_sample_at: float | None = None
    notes: list[str] = field(default_factory=list)
    # series with samples in the window but not one clean (finite, not negative): unjudgeable
    unusable: list[str] = field(default_factory=list)
    largest: float = 0.0  # the largest clean sample seen

    def add(self, d: CounterDelta) -> None:
        self.total += d.value
        self.series += 1
        self.resets += d.resets
        self.born_in_window += int(d.born_in_window)
        self.dropped_samples += d.dropped_samples
        if d.last_sample_at is not None:
            self.last_sample_at = max(self.last_sample_at or d.last_sample_at, d.last_sample_at)


def _clean(t: float, v: float) -> bool:
    return math.isfinite(v) and math.isfinite(t) and v >= 0


def labels_text(labels: Mapping[str, str]) -> str:
    """``{a="1", b="2"}``, as PromQL writes a series."""
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def counter_delta(samples: Sequence[Sample], start: float, end: float) -> CounterDelta | None:
    """Increase of one counter over ``(start, end]``; None when it has no clean sample in the
    window (NaN, infinite and negative samples are dropped and counted)."""
    clean = [(t, v) for t, v in samples if _clean(t, v)]
    dropped = len(samples) - len(clean)
    clean.sort()
    before = [v for t, v in clean if t <= start]
    inside = [(t, v) for t, v in clean if start < t <= end]
    if not inside:
        return None
    born = not before
    prev = before[-1] if before else 0.0
    total = 0.0
    resets = 0
    for _, v in inside:
        if v < prev:  # reset: the counter restarted from 0
            resets += 1
            total += v
        else:
            total += v - prev
        prev = v
    return CounterDelta(total, resets, born, dropped, inside[-1][0])


def account(out: Totals, s: Series, start: float, end: float) -> CounterDelta | None:
    """Add one series' increase to ``out``; what was not clean in it is counted either way,
    and a series with samples in the window but no clean one is named in ``out.unusable``."""
    d = counter_delta(s.samples, start, end)
    out.largest = max([out.largest, *(v for t, v in s.samples if _clean(t, v))])
    if d is not None:
        out.add(d)
        return d
    out.dropped_samples += sum(1 for t, v in s.samples if not _clean(t, v))
    if any(start < t <= end for t, _ in s.samples if not math.isnan(t)):
        out.unusable.append(labels_text(s.labels))
    return None


def _dropped_notes(out: Totals) -> None:
    if out.dropped_samples:
        out.notes.append(f"{out.dropped_samples} NaN, infinite or negative sample(s) ignored")
    if out.unusable:
        shown = ", ".join(out.unusable[:3]) + (" ..." if len(out.unusable) > 3 else "")
        out.notes.append(
            f"{len(out.unusable)} series with no clean sample in the window (only NaN, "
            f"infinite or negative values): {shown}"
        )


def sum_deltas(series: Iterable[Series], start: float, end: float) -> Totals:
    out = Totals()
    for s in series:
        account(out, s, start, end)
    if out.resets:
        out.notes.append(
            f"{out.resets} counter reset(s) in the window (a restart?): counted from 0"
        )
    _dropped_notes(out)
    return out


@dataclass(frozen=True)
class Buckets:
    """Cumulative bucket counts over the window: ``counts[i]`` requests took <= ``bounds[i]``."""

    bounds: tuple[float, ...]
    counts: tuple[float, ...]
    monotonic_fixed: bool = False
    # the most a bucket counted less than one below it (before correcting), and between which
    # two bounds (as the le labels read: not scaled)
    shortfall: float = 0.0
    shortfall_at: tuple[float, float] | None = None

    @property
    def total(self) -> float:
        return self.counts[-1] if self.counts else 0.0

    @property
    def has_inf(self) -> bool:
        return bool(self.bounds) and math.isinf(self.bounds[-1])

    def scaled(self, factor: float) -> Buckets:
        """The same counts with every bound times ``factor`` (a histogram in ms read in s)."""
        if factor == 1.0:
            return self
        return Buckets(
            tuple(b * factor for b in self.bounds),
            self.counts,
            self.monotonic_fixed,
            self.shortfall,
            self.shortfall_at,
        )

    def count_le(self, threshold: float) -> tuple[float, float, bool]:
        """(requests surely <= threshold, requests possibly <= threshold, threshold is a bound)."""
        low = 0.0
        for b, c in zip(self.bounds, self.counts, strict=True):
            if math.isclose(b, threshold, rel_tol=1e-9):
                return c, c, True
            if b < threshold:
                low = c
            else:
                return low, c, False
        return low, self.total, False


def histogram_buckets(series: Iterable[Series], start: float, end: float) -> tuple[Buckets, Totals]:
    """Sum the ``_bucket`` series by ``le`` over the window."""
    by_le: dict[float, float] = defaultdict(float)
    totals = Totals()
    for s in series:
        le = s.labels.get("le")
        if le is None:
            continue
        try:
            bound = float(le)
        except ValueError:
            totals.notes.append(f"ignored a bucket with le={le!r}")
            continue
        if math.isnan(bound):
            continue
        d = account(totals, s, start, end)
        if d is None:
            continue
        by_le[bound] += d.value
    _dropped_notes(totals)
    bounds = tuple(sorted(by_le))
    counts = [by_le[b] for b in bounds]
    fixed = False
    shortfall, at = 0.0, None
    top = bounds[0] if bounds else 0.0  # the bucket that counted the most so far
    for i in range(1, len(counts)):  # buckets scraped a moment apart can disagree: keep monotonic
        if counts[i] < counts[i - 1]:
            if counts[i - 1] - counts[i] > shortfall:
                shortfall, at = counts[i - 1] - counts[i], (top, bounds[i])
            counts[i] = counts[i - 1]
            fixed = True
        else:
            top = bounds[i]
    if fixed:
        totals.notes.append(
            "bucket counts were not monotonic; corrected as histogram_quantile does"
        )
    if bounds and not math.isinf(bounds[-1]):
        totals.notes.append('no le="+Inf" bucket: the total is the largest bucket\'s count')
    return Buckets(bounds, tuple(counts), fixed, shortfall, at), totals


@dataclass(frozen=True)
class Quantile:
    """The q-quantile lies in ``(lower, upper]``; ``interpolated`` is histogram_quantile's guess."""

    q: float
    lower: float
    upper: float
    interpolated: float
    rank: float


def quantile(q: float, buckets: Buckets) -> Quantile | None:
    """None when there is no observation."""
    total = buckets.total
    if total <= 0 or not buckets.bounds:
        return None
    rank = q * total
    lower, below = 0.0, 0.0  # as histogram_quantile: the first bucket starts at 0
    for i, (b, c) in enumerate(zip(buckets.bounds, buckets.counts, strict=True)):
        if c >= rank:
            if math.isinf(b):  # like histogram_quantile: report the largest finite bound
                return Quantile(q, lower, math.inf, lower, rank)
            if i == 0 and b <= 0:
                return Quantile(q, b, b, b, rank)
            in_bucket = c - below
            frac = (rank - below) / in_bucket if in_bucket > 0 else 1.0
            return Quantile(q, lower, b, lower + (b - lower) * frac, rank)
        lower, below = b, c
    return None
