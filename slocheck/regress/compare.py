"""Is tonight's run slower than the baseline? Pure statistics over run records.

For each metric: the relative change (percentage points for the error ratio) with a 95%
confidence interval, and a verdict against a tolerance:

* latency percentiles (p50, p95, p99, TTFT p95): bootstrap of the client-side HDR histograms
  (the requests are resampled from the recorded distribution), plus a Mann-Whitney U test of the
  two latency distributions; a regression also needs that shift to be significant (p < 0.01);
* throughput: bootstrap of the per-second request counts;
* error ratio: Newcombe's interval for a difference of two proportions (Wilson scores).

The current side may be one run or several (``slocheck bench --repeat N --compare-to``), pooled
like the baseline. The between-run spread, measured from both sides' runs when there are three
or more (``median:N``), is added to the interval as ``1.96 * cv * sqrt(1/m + 1/n)`` for m current
and n baseline runs: a noisy machine widens it instead of raising false alarms, and more runs on
either side narrow it again.

``regressed`` when the whole interval is beyond the tolerance; ``improved`` when it is beyond the
tolerance the other way; ``unchanged`` when it stays within; ``inconclusive`` otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from hdrh.histogram import HdrHistogram

from slocheck.evaluate.intervals import wilson_interval
from slocheck.verdict import Change, Verdict

#: Tolerances: relative for latencies and throughput, percentage points for the error ratio.
DEFAULT_TOLERANCES: dict[str, float] = {
    "p50_latency": 0.10,
    "p95_latency": 0.10,
    "p99_latency": 0.20,
    "ttft_p95": 0.10,
    "throughput": 0.05,
    "error_ratio": 0.01,
    "capacity": 0.10,
}
LATENCY_METRICS = {"p50_latency": 50.0, "p95_latency": 95.0, "p99_latency": 99.0}
MWU_ALPHA = 0.01
MAX_MWU_SAMPLES = 20_000


@dataclass(frozen=True)
class RunRecord:
    """What a comparison needs of one run (from a report or the history)."""

    run_id: str
    created_at: float
    fingerprint: str
    latency_hdr: str | None  # encoded HDR histogram (microseconds), window requests
    ttft_hdr: str | None
    requests: int
    errors: int
    per_second: Sequence[int]  # requests completed in each second of the window
    verdict: str = ""
    labels: dict[str, str] = field(default_factory=dict)  # git_sha, service_version, ...
    #: ``slocheck capacity``: the bracket found (the highest passing, the lowest failing rate)
    capacity_lower: float | None = None
    capacity_upper: float | None = None

    @property
    def error_ratio(self) -> float:
        return self.errors / self.requests if self.requests else math.nan

    @property
    def throughput(self) -> float:
        return float(np.mean(self.per_second)) if len(self.per_second) else math.nan


@dataclass(frozen=True)
class MetricComparison:
    metric: str
    baseline: float
    current: float
    change: float  # relative (latency, throughput) or points (error ratio)
    ci_low: float
    ci_high: float
    tolerance: float
    verdict: Change
    unit: str
    p_value: float | None = None
    explanation: str = ""


@dataclass(frozen=True)
class Comparison:
    verdict: Change
    current: str  # the current run's id; several runs: their ids joined by ","
    baseline: list[str]
    metrics: list[MetricComparison]
    notes: list[str] = field(default_factory=list)


def decode_hdr(encoded: str | None) -> HdrHistogram | None:
    """A run record's encoded HDR histogram (None when the run has none)."""
    return HdrHistogram.decode(encoded) if encoded else None


def pooled_hdr(encoded: Sequence[str | None]) -> HdrHistogram | None:
    """The runs' histograms added into one (None when none has one)."""
    hists = [h for h in (decode_hdr(e) for e in encoded) if h is not None]
    if not hists:
        return None
    out = hists[0]
    for h in hists[1:]:
        out.add(h)
    return out


def _values_counts(h: HdrHistogram) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Every recorded value (the highest of its bucket, in seconds) and its count, in order:
    what ``get_recorded_iterator`` yields, computed from the counts array at once (the
    iterator costs a Python object per bucket: ~40 ms a histogram against ~0.3 ms)."""
    counts = np.ctypeslib.as_array(h.counts)[: h.counts_len].astype(np.int64)
    index = np.nonzero(counts)[0]
    half, magnitude = h.sub_bucket_half_count, h.sub_bucket_half_count_magnitude
    bucket = (index >> magnitude) - 1
    sub = (index & (half - 1)) + half
    first = bucket < 0  # the first bucket holds the whole sub-bucket range
    sub = np.where(first, sub - half, sub)
    bucket = np.where(first, 0, bucket)
    shift = bucket + h.unit_magnitude
    highest = (sub << shift) + (np.int64(1) << shift) - 1
    return highest / 1e6, counts[index]


def _boot_quantiles(
    h: HdrHistogram, q: float, resamples: int, rng: np.random.Generator
) -> tuple[float, npt.NDArray[np.float64]]:
    """The q-quantile of ``h`` and its bootstrap distribution. A resample's q-quantile is the
    order statistic of rank k = ceil(q n) of n draws from ``h``, whose distribution is exactly
    that of F^-1(U) with U ~ Beta(k, n - k + 1) (F: ``h``'s CDF): one draw each, instead of a
    multinomial over every bucket."""
    values, counts = _values_counts(h)
    n = int(counts.sum())
    cum = np.cumsum(counts)
    point = float(values[np.searchsorted(cum, q * n)])
    k = min(max(math.ceil(q * n - 1e-9), 1), n)
    u = rng.beta(k, n - k + 1, size=resamples)
    idx = np.searchsorted(cum / n, u, side="left")
    return point, values[np.minimum(idx, len(values) - 1)]


def _expand(h: HdrHistogram, rng: np.random.Generator) -> npt.NDArray[np.float64]:
    values, counts = _values_counts(h)
    n = int(counts.sum())
    if n > MAX_MWU_SAMPLES:
        counts = rng.multinomial(MAX_MWU_SAMPLES, counts / n)
    return np.repeat(values, counts)


#: Between-run coefficient of variation assumed when the baseline has fewer than 3 runs to
#: measure it from: runs on shared machines differ by more than their own samples show.
DEFAULT_NOISE = 0.05
MIN_MEASURED_NOISE = 0.01


def _between_runs(groups: Sequence[Sequence[float]], floor: float) -> float:
    """Robust coefficient of variation between runs of one configuration: each run's relative
    deviation from its own side's median (so a real change between the sides is not counted
    as noise), over every side with 2 or more runs; 1.4826 x the median absolute deviation
    (one stalled run does not blow it up), scaled by sqrt(N / (N - sides)) for the medians
    fitted. ``floor`` when fewer than 3 runs show a spread."""
    residuals: list[float] = []
    sides = 0
    for values in groups:
        arr = np.asarray([v for v in values if math.isfinite(v)], dtype=np.float64)
        centre = float(np.median(arr)) if len(arr) >= 2 else 0.0
        if centre == 0:
            continue  # one run shows no spread
        residuals.extend((arr - centre) / abs(centre))
        sides += 1
    n = len(residuals)
    if n < 3:
        return floor
    mad_cv = float(1.4826 * np.median(np.abs(residuals))) * math.sqrt(n / (n - sides))
    return max(mad_cv, MIN_MEASURED_NOISE)  # five nearly equal runs do not prove zero noise


def _widen(
    lo: float, hi: float, centre: float, cv: float, *, runs: tuple[int, int]
) -> tuple[float, float]:
    """``[lo, hi]`` widened by the between-run noise ``cv`` of ``runs`` = (m current, n
    baseline) runs."""
    n_current, n_baseline = (max(n, 1) for n in runs)
    if cv <= 0:
        return lo, hi
    extra = 1.96 * cv * math.sqrt(1 / n_current + 1 / n_baseline)
    return centre - math.hypot(centre - lo, extra), centre + math.hypot(hi - centre, extra)


def _verdict(lo: float, hi: float, tol: float, higher_is_better: bool) -> Change:
    if higher_is_better:
        lo, hi = -hi, -lo
    if lo > tol:
        return Change.REGRESSED
    if hi < -tol:
        return Change.IMPROVED
    if hi <= tol:
        return Change.UNCHANGED
    return Change.INCONCLUSIVE


def _pct(x: float) -> str:
    return f"{x * 100:+.1f}%"


def _shift_p(cur: HdrHistogram, base: HdrHistogram, rng: np.random.Generator) -> float:
    """One-sided Mann-Whitney U: is ``cur`` stochastically greater (slower) than ``base``?"""
    from scipy.stats import mannwhitneyu

    return float(mannwhitneyu(_expand(cur, rng), _expand(base, rng), alternative="greater").pvalue)


@dataclass(frozen=True)
class _Resampling:
    """How every interval of one comparison is drawn: ``resamples`` bootstrap draws from
    ``rng``, widened by the run-to-run ``noise`` where it cannot be measured."""

    resamples: int
    rng: np.random.Generator
    noise: float


def _latency(
    name: str,
    q: float,
    hists: tuple[HdrHistogram, HdrHistogram],
    *,
    per_run: tuple[list[float], list[float]],
    tol: float,
    p: float,
    boot: _Resampling,
) -> MetricComparison:
    cur, base = hists
    c_point, c_boot = _boot_quantiles(cur, q, boot.resamples, boot.rng)
    b_point, b_boot = _boot_quantiles(base, q, boot.resamples, boot.rng)
    ratios = c_boot / np.maximum(b_boot, 1e-12) - 1
    change = c_point / b_point - 1 if b_point > 0 else math.inf
    lo, hi = (float(x) for x in np.percentile(ratios, [2.5, 97.5]))
    cur_runs, base_runs = per_run
    cv = _between_runs(per_run, boot.noise)
    lo, hi = _widen(lo, hi, change, cv, runs=(len(cur_runs), len(base_runs)))
    verdict = _verdict(lo, hi, tol, higher_is_better=False)
    note = ""
    if verdict == Change.REGRESSED and p >= MWU_ALPHA:
        verdict, note = Change.INCONCLUSIVE, f"; but Mann-Whitney U finds no shift (p={p:.3g})"
    text = (
        f"{name} {b_point * 1000:.2f} ms -> {c_point * 1000:.2f} ms ({_pct(change)}, 95% CI "
        f"{_pct(lo)} to {_pct(hi)}; tolerance {_pct(tol)}){note}"
    )
    return MetricComparison(
        name, b_point, c_point, change, lo, hi, tol, verdict, "seconds", p, text
    )


def _throughput(
    cur: Sequence[RunRecord],
    base: Sequence[RunRecord],
    tol: float,
    boot: _Resampling,
) -> MetricComparison:
    resamples, rng = boot.resamples, boot.rng
    c = np.concatenate([np.asarray(r.per_second, dtype=np.float64) for r in cur])
    b = np.concatenate([np.asarray(r.per_second, dtype=np.float64) for r in base])
    c_boot = rng.choice(c, size=(resamples, len(c))).mean(axis=1)
    b_boot = rng.choice(b, size=(resamples, len(b))).mean(axis=1)
    change = c.mean() / b.mean() - 1
    lo, hi = (float(x) for x in np.percentile(c_boot / b_boot - 1, [2.5, 97.5]))
    cv = _between_runs([[r.throughput for r in cur], [r.throughput for r in base]], boot.noise)
    lo, hi = _widen(lo, hi, change, cv, runs=(len(cur), len(base)))
    verdict = _verdict(lo, hi, tol, higher_is_better=True)
    text = (
        f"throughput {b.mean():,.1f} -> {c.mean():,.1f} requests/s ({_pct(change)}, 95% CI "
        f"{_pct(lo)} to {_pct(hi)}; tolerance {_pct(-tol)})"
    )
    return MetricComparison(
        "throughput",
        float(b.mean()),
        float(c.mean()),
        float(change),
        lo,
        hi,
        tol,
        verdict,
        "requests/s",
        None,
        text,
    )


def _error_ratio(
    cur: Sequence[RunRecord], base: Sequence[RunRecord], tol: float
) -> MetricComparison:
    n1, e1 = sum(r.requests for r in cur), sum(r.errors for r in cur)
    n2, e2 = sum(r.requests for r in base), sum(r.errors for r in base)
    p1, p2 = e1 / n1, e2 / n2
    l1, u1 = wilson_interval(e1, n1)
    l2, u2 = wilson_interval(e2, n2)
    d = p1 - p2  # Newcombe's hybrid score interval for p1 - p2
    lo = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    hi = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    verdict = _verdict(lo, hi, tol, higher_is_better=False)
    text = (
        f"error ratio {p2 * 100:.3f}% -> {p1 * 100:.3f}% ({d * 100:+.3f} points, 95% CI "
        f"{lo * 100:+.3f} to {hi * 100:+.3f}; tolerance +{tol * 100:g} points)"
    )
    return MetricComparison("error_ratio", p2, p1, d, lo, hi, tol, verdict, "points", None, text)


def _bracket(runs: Sequence[RunRecord]) -> tuple[float, float]:
    """The median lower and upper capacity of ``runs`` (an open bracket's upper is its lower)."""
    lowers = [r.capacity_lower for r in runs if r.capacity_lower is not None]
    uppers = [r.capacity_upper or r.capacity_lower for r in runs if r.capacity_lower is not None]
    return float(np.median(lowers)), float(np.median(uppers))


def capacity_change(
    cur: RunRecord | Sequence[RunRecord], base: Sequence[RunRecord], tol: float
) -> MetricComparison:
    """A capacity against the median of the baseline's. Each capacity is a bracket (it lies at
    or above its lower and below its upper rate), so the change is an interval: from the
    current lower over the baseline upper to the current upper over the baseline lower; it is
    a regression only when even the most favourable reading lost more than the tolerance."""
    b_lo, b_hi = _bracket(base)
    c_lo, c_hi = _bracket([cur] if isinstance(cur, RunRecord) else cur)
    change = c_lo / b_lo - 1
    lo, hi = c_lo / b_hi - 1, c_hi / b_lo - 1
    verdict = _verdict(lo, hi, tol, higher_is_better=True)
    text = (
        f"capacity {b_lo:g} -> {c_lo:g} requests/s ({_pct(change)}; from the brackets "
        f"{_pct(lo)} to {_pct(hi)}; tolerance {_pct(-tol)})"
    )
    return MetricComparison(
        "capacity", b_lo, c_lo, change, lo, hi, tol, verdict, "requests/s", None, text
    )


def _histograms(runs: Sequence[RunRecord], attr: str) -> list[HdrHistogram]:
    return [h for h in (decode_hdr(getattr(r, attr)) for r in runs) if h is not None]


def _at(hists: Sequence[HdrHistogram], pct: float) -> list[float]:
    """Each histogram's ``pct`` percentile, in seconds."""
    return [h.get_value_at_percentile(pct) / 1e6 for h in hists]


def both_recorded(a: HdrHistogram | None, b: HdrHistogram | None) -> bool:
    """Both histograms exist and hold a value."""
    return a is not None and b is not None and a.get_total_count() > 0 and b.get_total_count() > 0


def _latency_metrics(
    group: Sequence[RunRecord],
    baseline: Sequence[RunRecord],
    tol: dict[str, float],
    boot: _Resampling,
) -> list[MetricComparison] | None:
    """The client latency percentiles, pooled; None when a side has no histogram."""
    cur_lat = pooled_hdr([r.latency_hdr for r in group])
    base_lat = pooled_hdr([r.latency_hdr for r in baseline])
    if not both_recorded(cur_lat, base_lat):
        return None
    assert cur_lat is not None and base_lat is not None
    p = _shift_p(cur_lat, base_lat, boot.rng)
    cur_runs = _histograms(group, "latency_hdr")
    base_runs = _histograms(baseline, "latency_hdr")
    return [
        _latency(
            name,
            pct / 100,
            (cur_lat, base_lat),
            per_run=(_at(cur_runs, pct), _at(base_runs, pct)),
            tol=tol[name],
            p=p,
            boot=boot,
        )
        for name, pct in LATENCY_METRICS.items()
    ]


def _ttft_metric(
    group: Sequence[RunRecord], baseline: Sequence[RunRecord], tol: float, boot: _Resampling
) -> list[MetricComparison]:
    """The streams' P95 time to first token, pooled, when both sides recorded it."""
    cur_ttft = pooled_hdr([r.ttft_hdr for r in group])
    base_ttft = pooled_hdr([r.ttft_hdr for r in baseline])
    if not both_recorded(cur_ttft, base_ttft):
        return []
    assert cur_ttft is not None and base_ttft is not None
    per_run = (
        _at(_histograms(group, "ttft_hdr"), 95),
        _at(_histograms(baseline, "ttft_hdr"), 95),
    )
    return [
        _latency(
            "ttft_p95",
            0.95,
            (cur_ttft, base_ttft),
            per_run=per_run,
            tol=tol,
            p=_shift_p(cur_ttft, base_ttft, boot.rng),
            boot=boot,
        )
    ]


def compare(
    current: RunRecord | Sequence[RunRecord],
    baseline: Sequence[RunRecord],
    tolerances: dict[str, float] | None = None,
    *,
    resamples: int = 1000,
    seed: int = 0,
    noise: float = DEFAULT_NOISE,
) -> Comparison:
    """Compare ``current`` (one run, or several pooled) with the pooled ``baseline`` runs."""
    tol = {**DEFAULT_TOLERANCES, **(tolerances or {})}
    group = [current] if isinstance(current, RunRecord) else list(current)
    if not group:
        raise ValueError("compare: no current run")
    current_id = ",".join(r.run_id for r in group)
    if not baseline:
        return Comparison(
            Change.NO_BASELINE,
            current_id,
            [],
            [],
            ["no baseline run with the same fingerprint: nothing to compare with"],
        )
    short = [r.run_id for r in group if r.verdict == Verdict.INCONCLUSIVE]
    if short:
        return Comparison(
            Change.INCONCLUSIVE,
            current_id,
            [r.run_id for r in baseline],
            [],
            [
                f"the current run {', '.join(short)} did not get the load it asked for (its "
                "verdict is inconclusive): it cannot show a regression"
            ],
        )
    rng = np.random.default_rng(seed)
    metrics: list[MetricComparison] = []
    notes: list[str] = []
    if len(baseline) < 3 and noise > 0:
        notes.append(
            f"{len(baseline)} baseline run(s): the run-to-run noise cannot be measured, "
            f"so {noise:.0%} is assumed (regression.noise); a baseline of 3 runs or more "
            "(median:N) measures it"
        )
    boot = _Resampling(resamples, rng, noise)
    latency = _latency_metrics(group, baseline, tol, boot)
    if latency is None:
        notes.append("no client latency histograms in one of the runs")
    metrics += latency or []
    metrics += _ttft_metric(group, baseline, tol["ttft_p95"], boot)
    if all(len(r.per_second) >= 2 for r in group) and sum(len(r.per_second) for r in baseline) >= 2:
        metrics.append(_throughput(group, baseline, tol["throughput"], boot))
    if all(r.requests for r in group) and all(r.requests for r in baseline):
        metrics.append(_error_ratio(group, baseline, tol["error_ratio"]))
    if all(r.capacity_lower is not None for r in group) and all(r.capacity_lower for r in baseline):
        metrics.append(capacity_change(group, baseline, tol["capacity"]))
    verdicts = {m.verdict for m in metrics}
    overall = (
        Change.REGRESSED
        if Change.REGRESSED in verdicts
        else Change.INCONCLUSIVE
        if Change.INCONCLUSIVE in verdicts or not metrics
        else Change.IMPROVED
        if Change.IMPROVED in verdicts
        else Change.UNCHANGED
    )
    return Comparison(overall, current_id, [r.run_id for r in baseline], metrics, notes)


def to_dict(c: Comparison) -> dict[str, Any]:
    return {
        "verdict": c.verdict,
        "current": c.current,
        "baseline": c.baseline,
        "notes": c.notes,
        "metrics": [m.__dict__ for m in c.metrics],
    }
