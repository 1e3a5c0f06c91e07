"""One SLO's verdict from what Prometheus answered (pure): the judge of its kind's family
(:data:`JUDGES`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

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
    GOODPUT,
    LATENCY_RATIO,
    PROMQL,
    QUANTILE,
    RATIO,
    REQUESTS,
    SliKind,
    kind,
    register,
)
from slocheck.slofile.model import SloSpec
from slocheck.verdict import Verdict


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


def _judge_client_only(b: Builder, data: SliData) -> SloResult:
    """A kind only the load generator measures (goodput) never reaches Prometheus' judges
    (:func:`slocheck.slofile.sources.source_problem` refuses another source)."""
    return b.result(
        Verdict.ERROR, f"sli {b.slo.sli} is judged from the load generator's records only"
    )


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
    GOODPUT: _judge_client_only,
}


@contextmanager
def kind_added(new: SliKind, judge: Judge | None = None) -> Iterator[SliKind]:
    """``new`` is an SLI kind while the block runs (a plug-in's, a test's toy): one record and
    the judge of its family (None: a built-in family's). Its series are read by the planner its
    record names (``SliKind.series``: :data:`slocheck.evaluate.plan.PLANNERS`)."""
    if (judge is None) != (new.family in JUDGES):
        raise ValueError(
            f"family {new.family} already has a judge"
            if judge is not None
            else f"family {new.family} has no judge: give one"
        )
    with register(new):
        if judge is not None:
            JUDGES[new.family] = judge
        try:
            yield new
        finally:
            if judge is not None:
                del JUDGES[new.family]
