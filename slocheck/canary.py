"""Canary analysis between two deployments in one Prometheus: the same window, two selectors.

The rule of ML services' guides: the canary fails when its error ratio is more than 5 points
above the baseline's, or its P95 more than 100 ms above (both configurable in ``regression:``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from slocheck.evaluate import Window
from slocheck.evaluate.counters import histogram_buckets, quantile, sum_deltas
from slocheck.evaluate.plan import selector
from slocheck.evaluate.verdicts import status_of
from slocheck.prom.client import PromClient
from slocheck.spec import Spec
from slocheck.verify import lookback


@dataclass(frozen=True)
class Deployment:
    selector: str
    requests: float
    errors: float
    p95_s: float | None

    @property
    def error_ratio(self) -> float | None:
        return self.errors / self.requests if self.requests else None


@dataclass(frozen=True)
class CanaryResult:
    baseline: Deployment
    canary: Deployment
    flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        return bool(self.flags)


def measure(client: PromClient, spec: Spec, sel: str, window: Window) -> Deployment:
    back = lookback(spec.prometheus.scrape_interval)
    series = client.fetch_samples(
        selector("http_requests_total", sel), window.start - back, window.read_until
    )
    total = sum_deltas(series, window.start, window.read_until).total

    errors = sum_deltas(
        [s for s in series if (status_of(s.labels) or "").startswith("5")],
        window.start,
        window.read_until,
    ).total
    buckets, _ = histogram_buckets(
        client.fetch_samples(
            selector("http_request_duration_seconds_bucket", sel),
            window.start - back,
            window.read_until,
        ),
        window.start,
        window.read_until,
    )
    est = quantile(0.95, buckets) if buckets.has_inf else None
    return Deployment(sel, total, errors, est.interpolated if est else None)


def canary_analysis(
    client: PromClient, spec: Spec, window: Window, baseline_selector: str, canary_selector: str
) -> CanaryResult:
    base = measure(client, spec, baseline_selector, window)
    can = measure(client, spec, canary_selector, window)
    reg = spec.regression
    flags, notes = [], []
    if base.error_ratio is None or can.error_ratio is None:
        flags.append(
            "no requests counted for "
            + ("the baseline" if base.error_ratio is None else "the canary")
            + ": cannot clear the canary"
        )
    else:
        up = can.error_ratio - base.error_ratio
        if up > reg.canary_error_points:
            flags.append(
                f"error ratio {can.error_ratio:.2%} vs {base.error_ratio:.2%}: up "
                f"{up * 100:.2f} points (limit {reg.canary_error_points * 100:g})"
            )
    if base.p95_s is None or can.p95_s is None:
        notes.append("no latency histogram for one of the deployments: P95 not compared")
    else:
        up_s = can.p95_s - base.p95_s
        if up_s > reg.canary_p95_increase:
            flags.append(
                f"P95 {can.p95_s * 1000:.1f} ms vs {base.p95_s * 1000:.1f} ms: up "
                f"{up_s * 1000:.1f} ms (limit {reg.canary_p95_increase * 1000:g} ms)"
            )
    return CanaryResult(base, can, flags, notes)
