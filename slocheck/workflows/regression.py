"""The regression step of ``slocheck run --history/--compare-to``: store the run in the
history and compare it with its baseline (``slocheck.regress``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from slocheck.regress import Comparison, RunRecord, compare
from slocheck.slofile import RegressionSpec
from slocheck.store import HISTORY_ENV, history_location
from slocheck.store.history import History


def regression_step(
    record: RunRecord,
    *,
    history: str | None,
    compare_to: str | None,
    regression: RegressionSpec,
    any_fingerprint: bool = False,
    on_skip: Callable[[str], None] | None = None,
) -> Comparison | None:
    """Store the run (``--history``) and compare it (``--compare-to``); a history row that
    cannot be read is skipped, with a warning to ``on_skip``."""
    history = history or os.environ.get(HISTORY_ENV) or None  # $SLOCHECK_HISTORY: as --history
    if history is None and compare_to is None:
        return None
    with History(history_location(history), on_skip=on_skip) as store:
        comparison = (
            compare_in_history(store, compare_to, [record], regression, any_fingerprint)
            if compare_to
            else None
        )
        store.add(record)
    return comparison


def compare_in_history(
    store: History,
    compare_to: str,
    current: Sequence[RunRecord],
    regression: RegressionSpec,
    any_fingerprint: bool = False,
) -> Comparison:
    """``current`` (one run or several, pooled) against the baseline ``compare_to`` names in
    ``store`` (never the current runs themselves), with the spec's tolerances and noise."""
    baseline = store.baseline(compare_to, current, any_fingerprint, flag="--compare-to")
    return compare(current, baseline, regression.tolerances(), noise=regression.noise)
