"""Canary analysis between two deployments in one Prometheus: the same window, two selectors.

The rule of ML services' guides: the canary fails when its error ratio is more than 5 points
above the baseline's, or its P95 more than 100 ms above (both configurable in ``regression:``).
Pure: the workflow (``slocheck.workflows.canary``) fetches each deployment's series first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from slocheck.evaluate import Window
from slocheck.evaluate.counters import Series, histogram_buckets, quantile, sum_deltas
from slocheck.evaluate.verdicts import status_of
from slocheck.slofile import RegressionSpec


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


def deployment(
    sel: str, requests: Sequence[Series], buckets: Sequence[Series], window: Window
) -> Deployment:
    """One deployment over ``window`` from its ``http_requests_total`` series and its latency
    histogram's bucket series (both fetched with its selector ``sel``)."""
    total = sum_deltas(requests, window.start, window.read_until).total
    errors = sum_deltas(
        [s for s in requests if (status_of(s.labels) or "").startswith("5")],
        window.start,
        window.read_until,
    ).total
    counted, _ = histogram_buckets(buckets, window.start, window.read_until)
    est = quantile(0.95, counted) if counted.has_inf else None
    return Deployment(sel, total, errors, est.interpolated if est else None)


def judge_canary(base: Deployment, can: Deployment, reg: RegressionSpec) -> CanaryResult:
    """Flag the canary by the rule of ``reg`` (``canary_error_points``, ``canary_p95_increase``)."""
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
