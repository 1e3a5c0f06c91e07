"""Stage 5: regressions. Pure statistics over run records (no I/O)."""

from slocheck.regress.compare import (
    DEFAULT_TOLERANCES,
    Comparison,
    MetricComparison,
    RunRecord,
    canary,
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
