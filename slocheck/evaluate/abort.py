"""When a run can stop early (``abort_on_fail: true`` on an SLO): as soon as the SLO can no
longer pass, whatever the rest of the run does. Pure.

For availability and the error ratio, counted exactly from the load generator: with ``bad``
failures seen in the window so far and at most ``planned`` requests in the whole window (its
rate times its length, and a tenth more), the best the run can still do is every remaining
request answered well: ``planned - bad`` good of ``planned``. When even that share's 95%
interval does not clear the objective (the rule every ratio verdict uses), the error budget of
the run is spent and the SLO fails whatever follows: GPU time is not spent on a build that
already failed.
"""

from __future__ import annotations

import math

from slocheck.evaluate.intervals import wilson_interval
from slocheck.slofile.model import SloSpec

#: The requests a window may hold beyond its plan (a rate is kept on average, not exactly).
PLAN_MARGIN = 1.1


def good_share_needed(slo: SloSpec) -> float:
    """The share of good requests the SLO asks for: its objective, or 1 - its error ratio."""
    if slo.sli == "error_ratio":
        return 1.0 - (slo.threshold or 0.0)
    assert slo.objective is not None
    return slo.objective


def budget_spent(slo: SloSpec, bad: int, planned: float) -> str | None:
    """Why ``slo`` can no longer pass after ``bad`` failures, or None while it still can."""
    most = math.ceil(planned * PLAN_MARGIN)
    if bad <= 0 or most <= 0:
        return None
    best = max(most - bad, 0)
    need = good_share_needed(slo)
    if wilson_interval(best, most)[0] >= need:
        return None
    allowed = _allowed(need, most)
    return (
        f"SLO {slo.name} can no longer pass: {bad:,} requests failed, and even if each of the "
        f"at most {most:,} requests of the window answered well, at most {allowed:,} failures "
        f"keep {need:.4g} of them good within the interval"
    )


def _allowed(need: float, most: int) -> int:
    """The most failures of ``most`` requests that still let the share clear ``need``."""
    lo, hi = 0, most
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if wilson_interval(most - mid, most)[0] >= need:
            lo = mid
        else:
            hi = mid - 1
    return lo
