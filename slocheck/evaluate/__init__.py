"""Numbers in, verdicts and cross-checks out. Pure: imports no I/O module."""

from slocheck.evaluate.counters import Buckets, Quantile, Series, counter_delta, quantile
from slocheck.evaluate.intervals import wilson_interval
from slocheck.evaluate.judge import evaluate_slo
from slocheck.evaluate.plan import SliPlan, plan, render
from slocheck.evaluate.verdicts import SliData, SloResult, Window, overall

__all__ = [
    "Buckets",
    "Quantile",
    "Series",
    "SliData",
    "SliPlan",
    "SloResult",
    "Window",
    "counter_delta",
    "evaluate_slo",
    "overall",
    "plan",
    "quantile",
    "render",
    "wilson_interval",
]
