"""The verdicts of the histogram SLIs (pure): a quantile judged by the bucket it is known to lie
in, and the share of requests within a threshold."""

from __future__ import annotations

import math
from typing import Any

from slocheck.evaluate.counters import Buckets, histogram_buckets, quantile
from slocheck.evaluate.intervals import min_samples_for_quantile, wilson_interval
from slocheck.evaluate.verdicts import (
    Builder,
    SliData,
    SloResult,
    pct,
    ratio_verdict,
    series_words,
)
from slocheck.slofile.model import UNIT_SECONDS
from slocheck.units import format_duration
from slocheck.verdict import Verdict


def _le(a: float, b: float) -> bool:
    """a <= b, with bucket bounds and thresholds that name the same number treated as equal."""
    return a <= b or math.isclose(a, b, rel_tol=1e-9)


def _le_text(bound: float) -> str:
    return '"+Inf"' if math.isinf(bound) else f'"{bound:g}"'


def monotone_tolerance(buckets: Buckets) -> float:
    """How far a bucket may fall short of one below it and be corrected as
    ``histogram_quantile`` does (buckets read a moment apart): 1 request, or 0.1% of the
    largest count."""
    return max(1.0, 1e-3 * max(buckets.counts, default=0.0))


def _observed(b: Builder, data: SliData, **kw: Any) -> Buckets | SloResult:
    """The window's buckets, bounds in seconds (``unit:``); or the ``no_data`` result when there
    is nothing to judge: no series, no observation, or no ``+Inf`` bucket."""
    series = list(data.series or [])
    if not series:
        return b.result(
            Verdict.NO_DATA, f"no series matched {series_words(data.query)} in the window", **kw
        )
    buckets, totals = histogram_buckets(series, b.window.start, b.window.read_until)
    buckets = buckets.scaled(UNIT_SECONDS[b.plan.unit])
    b.notes(totals)
    if buckets.shortfall > monotone_tolerance(buckets) and buckets.shortfall_at is not None:
        lower, upper = (_le_text(x) for x in buckets.shortfall_at)
        b.details.update({"check": "non_monotone_buckets", "query": data.query})
        return b.result(
            Verdict.ERROR,
            f"{data.query}: the bucket le={lower} counted {buckets.shortfall:,.0f} more "
            f"requests than le={upper} above it (cumulative buckets never fall): not one "
            "histogram (duplicate or mixed series, or a broken exporter?), so no quantile",
            **kw,
        )
    if buckets.total <= 0:
        return b.result(Verdict.NO_DATA, f"no observations in the window ({data.query})", **kw)
    if not buckets.has_inf:
        return b.result(
            Verdict.NO_DATA,
            f'{data.query} has no le="+Inf" bucket in the window: the '
            "slowest requests are not counted, so no quantile can be trusted",
            **kw,
        )
    return buckets


def judge_quantile(b: Builder, data: SliData) -> SloResult:
    slo = b.slo
    assert slo.percentile is not None and slo.threshold is not None
    kw: dict[str, Any] = {"unit": "seconds", "op": "<="}
    q, t = slo.percentile / 100, slo.threshold
    buckets = _observed(b, data, **kw)
    if isinstance(buckets, SloResult):
        return buckets
    n = buckets.total
    needed = slo.min_samples or min_samples_for_quantile(q)
    if (early := b.too_few(n, needed, "observations", **kw)) is not None:
        return early
    est = quantile(q, buckets)
    assert est is not None
    b.details.update(
        {"bucket_lower": est.lower, "bucket_upper": est.upper, "interpolated": est.interpolated}
    )
    kw.update(value=est.interpolated, samples=n)
    where = (
        f"P{slo.percentile:g} lies in ({format_duration(est.lower)}, {format_duration(est.upper)}]"
    )
    limit = format_duration(t)
    if _le(est.upper, t):
        return b.result(
            Verdict.PASS,
            f"{where}, at or below the threshold {limit} ({n:,.0f} observations)",
            **kw,
        )
    if _le(t, est.lower):
        return b.result(
            Verdict.FAIL, f"{where}, above the threshold {limit} ({n:,.0f} observations)", **kw
        )
    if slo.interpolate and math.isfinite(est.upper):
        ok = est.interpolated <= t
        return b.result(
            Verdict.PASS if ok else Verdict.FAIL,
            f"{where}; interpolated {format_duration(est.interpolated)} is "
            f"{'within' if ok else 'above'} the threshold {limit} (interpolate: true; "
            "the true value may differ)",
            **kw,
        )
    if math.isinf(est.upper):
        return b.result(
            Verdict.INCONCLUSIVE,
            f"{where}: above the largest finite bucket, which is "
            f"below the threshold {limit}; the histogram cannot tell",
            **kw,
        )
    return b.result(
        Verdict.INCONCLUSIVE,
        f"{where}, a bucket that contains the threshold {limit}: "
        "the histogram cannot tell; add a bucket bound at the threshold, or set "
        "interpolate: true",
        **kw,
    )


def judge_latency_ratio(b: Builder, data: SliData) -> SloResult:
    slo = b.slo
    assert slo.threshold is not None and slo.objective is not None
    buckets = _observed(b, data)
    if isinstance(buckets, SloResult):
        return buckets
    n = buckets.total
    if (early := b.too_few(n, slo.min_samples or 1, "observations")) is not None:
        return early
    sure, possible, exact = buckets.count_le(slo.threshold)
    noun = f"share of requests within {format_duration(slo.threshold)}"
    if exact:
        return ratio_verdict(
            b, sure, n, slo.objective, noun, value=sure / n, threshold=slo.objective
        )
    b.details.setdefault("notes", []).append(
        f"{format_duration(slo.threshold)} is not a bucket bound: the share lies between "
        f"{pct(sure / n)} and {pct(possible / n)}"
    )
    lo, _ = wilson_interval(sure, n)
    _, hi = wilson_interval(possible, n)
    b.details.update(
        {"interval95": [lo, hi], "good_at_least": sure, "good_at_most": possible, "total": n}
    )
    if lo >= slo.objective:
        verdict: Verdict = Verdict.PASS
    elif hi < slo.objective:
        verdict = Verdict.FAIL
    else:
        verdict = Verdict.INCONCLUSIVE
    return b.result(
        verdict,
        f"{noun} lies between {pct(sure / n)} and {pct(possible / n)} "
        f"(the threshold is not a bucket bound); 95% interval {pct(lo)} to {pct(hi)} "
        f"against the objective {pct(slo.objective)}",
        value=sure / n,
        samples=n,
        threshold=slo.objective,
    )
