"""One SLO's verdict from what Prometheus answered (pure): picks the judge of its SLI."""

from __future__ import annotations

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
from slocheck.spec.model import SloSpec


def evaluate_slo(slo: SloSpec, plan: SliPlan, data: SliData, window: Window) -> SloResult:
    b = Builder(slo, plan, data, window)
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
