"""Regressions. Pure statistics over run records and deployments' series (no I/O)."""

from slocheck.regress.canary import canary
from slocheck.regress.compare import (
    DEFAULT_TOLERANCES,
    Comparison,
    MetricComparison,
    RunRecord,
    compare,
    to_dict,
)

__all__ = [
    "DEFAULT_TOLERANCES",
    "Comparison",
    "MetricComparison",
    "RunRecord",
    "canary",
    "compare",
    "to_dict",
]
