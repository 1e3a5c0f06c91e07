"""``abort_on_fail``: the rule :func:`slocheck.load.run_load` asks of every live snapshot, and
what the run's result then says. The judgement (can the SLO still pass?) is
:func:`slocheck.evaluate.abort.budget_spent`; this wires it to the load's live counts."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from slocheck.evaluate.abort import budget_spent
from slocheck.evaluate.counts import failed_in
from slocheck.evaluate.crosscheck import CrossCheck
from slocheck.evaluate.details import CheckDetails
from slocheck.load.config import LoadConfig
from slocheck.load.runner import EarlyStop, StopWhen, window_start_of
from slocheck.load.stats import Snapshot
from slocheck.results import VerifyResult
from slocheck.slofile import Spec
from slocheck.verdict import Verdict


def abort_rule(
    spec: Spec, config: LoadConfig, launched: float, clock: Callable[[], float] = time.time
) -> StopWhen | None:
    """The early stop of the spec's ``abort_on_fail`` SLOs: once one can no longer pass, the
    load goes on for its ``abort_delay``, then stops. None when no SLO asks for it."""
    armed = [s for s in spec.slos if s.abort_on_fail]
    if not armed or not config.rate:
        return None
    planned = config.rate * config.duration
    spent_at: dict[str, float] = {}

    def stop_when(snap: Snapshot) -> EarlyStop | None:
        if "test_start" not in snap.marks:
            return None
        bad = failed_in(snap.requests, window_start_of(config, snap, launched))
        now = clock()
        for slo in armed:
            reason = budget_spent(slo, bad, planned)
            if reason is None:
                continue
            since = spent_at.setdefault(slo.name, now)
            if now - since >= slo.abort_delay:
                waited = f", {now - since:.1f} s after" if slo.abort_delay else ""
                said = f"{reason}; the load stopped early (abort_on_fail{waited})"
                return EarlyStop(said, slo.name, since, now)
        return None

    return stop_when


def with_early_stop(verified: VerifyResult, early: EarlyStop) -> tuple[VerifyResult, CrossCheck]:
    """The SLO that stopped the load fails (its error budget for the run is spent, whatever
    the shortened window's interval says), and a cross-check that keeps the run failed says
    why the load ended before its planned end."""
    results = [
        dataclasses.replace(
            r,
            verdict=Verdict.FAIL,
            gate=Verdict.FAIL,
            explanation=f"{r.explanation}; {early.reason}",
        )
        if r.name == early.by
        else r
        for r in verified.results
    ]
    details: CheckDetails = {}
    if early.since is not None and early.at is not None:
        details = {"budget_spent_at": early.since, "stop_asked_at": early.at}
    check = CrossCheck("stopped_early", False, early.reason, details, ceiling=Verdict.FAIL)
    return dataclasses.replace(verified, results=results, verdict=Verdict.FAIL), check
