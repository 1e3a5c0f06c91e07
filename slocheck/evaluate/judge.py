"""One SLO's verdict from what Prometheus answered (pure): picks the judge of its SLI."""

from __future__ import annotations

from collections.abc import Sequence

from slocheck.evaluate.answers import checked
from slocheck.evaluate.histograms import judge_latency_ratio, judge_quantile
from slocheck.evaluate.plan import SliPlan
from slocheck.evaluate.verdicts import (
    Builder,
    SliData,
    SloResult,
    Window,
    judge_promql,
    judge_ratio,
    judge_requests,
    judge_token_rate,
    judge_uptime,
)
from slocheck.slofile.model import SloSpec


def evaluate_slo(
    slo: SloSpec,
    plan: SliPlan,
    data: SliData,
    window: Window,
    *,
    accept_partial: bool = False,
    dedup_labels: Sequence[str] = (),
) -> SloResult:
    """Every answer is checked first (:mod:`slocheck.evaluate.answers`): partial, duplicated,
    unclean or absurd data is ``error`` or ``no_data``, never judged."""
    b = Builder(slo, plan, data, window)
    ready = checked(b, data, accept_partial=accept_partial, dedup_labels=dedup_labels)
    if isinstance(ready, SloResult):
        return ready
    data = ready
    if slo.sli == "availability" and slo.measurement == "uptime":
        return judge_uptime(b, data)
    if slo.sli in ("availability", "error_ratio", "throughput"):
        return judge_requests(b, data)
    if slo.sli in ("latency", "ttft", "inter_token_latency"):
        return judge_quantile(b, data)
    if slo.sli == "latency_ratio":
        return judge_latency_ratio(b, data)
    if slo.sli == "token_throughput":
        return judge_token_rate(b, data)
    if slo.sli == "ratio":
        return judge_ratio(b, data)
    return judge_promql(b, data)
