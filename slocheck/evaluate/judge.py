"""One SLO's verdict from what Prometheus answered (pure): the judge of its kind's family
(:data:`JUDGES`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

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
from slocheck.slofile.kinds import (
    COUNTER_RATE,
    LATENCY_RATIO,
    PROMQL,
    QUANTILE,
    RATIO,
    REQUESTS,
    kind,
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
    return JUDGES[kind(slo.sli).family](b, data)


def _judge_requests(b: Builder, data: SliData) -> SloResult:
    """Counted requests; availability measured by uptime reads ``up`` instead."""
    if b.slo.sli == "availability" and b.slo.measurement == "uptime":
        return judge_uptime(b, data)
    return judge_requests(b, data)


#: A family's judge: the verdict of one SLO from its checked answers (``SliKind.family``).
Judge = Callable[[Builder, SliData], SloResult]
#: The judge of each family of kinds. A new kind names a family here (its own, with its judge
#: added, or a built-in one).
JUDGES: dict[str, Judge] = {
    REQUESTS: _judge_requests,
    QUANTILE: judge_quantile,
    LATENCY_RATIO: judge_latency_ratio,
    COUNTER_RATE: judge_token_rate,
    RATIO: judge_ratio,
    PROMQL: judge_promql,
}
