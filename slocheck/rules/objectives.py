"""What each SLO of a spec becomes in production rules (pure): an error ratio with an error
budget, alerted on by burn rate; a threshold, alerted on when crossed; or nothing (an SLI the
server has no series for, or a gate-only SLI such as throughput).

Every query is the verifier's own (:func:`slocheck.evaluate.plan.plan`), with its ``$window``
left for the rules to fill in, so that the gate, the rules and the dashboard never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from slocheck.evaluate.plan import WINDOW, plan
from slocheck.promql import Selector, parse_matchers
from slocheck.slofile.alerts import SloAlerts
from slocheck.slofile.kinds import LATENCY_RATIO, QUANTILE, RATIO, REQUESTS, kind
from slocheck.slofile.model import SloSpec, Spec
from slocheck.slofile.sources import named_preset, preset_of, source_of

Kind = Literal["ratio", "threshold"]
#: The label names an ``up`` series can carry from a selector (the others are the target's).
UP_LABELS = ("job", "instance", "namespace", "pod", "service")
_NEGATED = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}


@dataclass(frozen=True)
class Objective:
    """One SLO as the rules see it.

    ``ratio``: ``error_ratio`` is the share of bad events over ``$window`` and ``budget`` the
    share the objective allows (``1 - objective``). ``threshold``: ``query`` over ``$window``
    is bad when ``query bad_op threshold`` (in seconds for latencies)."""

    name: str
    sli: str
    kind: Kind
    severity: str  # the SLO's own: critical or warning
    objective: float | None = None  # ratio: the good share aimed at
    budget: float | None = None  # ratio: 1 - objective
    error_ratio: str | None = None  # ratio: PromQL with $window
    query: str | None = None  # threshold: PromQL with $window (and $window_seconds)
    bad_op: str | None = None  # threshold: the comparison that means "the SLO is missed"
    threshold: float | None = None
    percentile: float | None = None
    description: str = ""
    alerts: SloAlerts | None = None  # the user's labels and annotations on its alerts


@dataclass(frozen=True)
class Skipped:
    name: str
    why: str


def up_selector(spec: Spec) -> str:
    """``up`` with those of the spec's matchers that an ``up`` series can carry."""
    kept = [m for m in parse_matchers(spec.prometheus.selector) if m.label in UP_LABELS]
    return Selector("up", tuple(kept)).canonical().render()


def objective_of(slo: SloSpec, spec: Spec) -> Objective | Skipped:
    """What the rules make of one SLO."""
    preset = preset_of(spec)
    if kind(slo.sli).rate_of is not None:  # a quiet night is not an incident
        return Skipped(slo.name, f"{slo.sli} is a gate's check, not a production alert")
    if source_of(slo, preset) == "client":
        return Skipped(
            slo.name,
            "judged from the load generator: the server has no series for it in production",
        )
    explicit = named_preset(spec)
    sel = spec.prometheus.selector
    base: dict[str, Any] = {
        "name": slo.name,
        "sli": slo.sli,
        "severity": slo.severity,
        "description": slo.description or "",
        "alerts": slo.alerts,
    }
    if slo.sli == "availability" and slo.measurement == "uptime":
        good = plan(slo, sel, explicit).promql  # per target: the rules judge them all together
        return _ratio(base, slo.objective, f"1 - avg({good})")
    if slo.sli == "availability":
        as_errors = slo.model_copy(update={"sli": "error_ratio"})
        return _ratio(base, slo.objective, plan(as_errors, sel, explicit).promql)
    if slo.sli == "error_ratio":
        budget = slo.threshold or 0.0
        return _ratio(base, 1.0 - budget, plan(slo, sel, explicit).promql)
    if kind(slo.sli).family in (RATIO, LATENCY_RATIO):
        good = plan(slo, sel, explicit).promql  # the good share, as the verifier computes it
        return _ratio(base, slo.objective, f"1 - ({good})")
    p = plan(slo, sel, explicit)
    if kind(slo.sli).family == QUANTILE:
        return Objective(
            **base,
            kind="threshold",
            query=p.promql,
            bad_op=">",
            threshold=slo.threshold,
            percentile=slo.percentile,
        )
    if slo.sli != "promql" or slo.op is None:  # a kind added beside the built-in ones
        return Skipped(slo.name, f"sli {slo.sli} has no production rule")
    return Objective(
        **base, kind="threshold", query=p.promql, bad_op=_NEGATED[slo.op], threshold=slo.threshold
    )


def _ratio(base: dict[str, Any], objective: float | None, error_ratio: str) -> Objective:
    good = objective if objective is not None else 0.0
    return Objective(
        **base,
        kind="ratio",
        objective=good,
        budget=round(1.0 - good, 12),
        error_ratio=error_ratio,
    )


def objectives(spec: Spec) -> tuple[list[Objective], list[Skipped]]:
    kept: list[Objective] = []
    skipped: list[Skipped] = []
    for slo in spec.slos:
        o = objective_of(slo, spec)
        (kept if isinstance(o, Objective) else skipped).append(o)  # type: ignore[arg-type]
    return kept, skipped


def over(query: str, window: str, seconds: float) -> str:
    """``query`` over a PromQL window (``5m``) of ``seconds``."""
    return query.replace("$window_seconds", f"{seconds:g}").replace(WINDOW, window)


def requests_total(spec: Spec) -> str | None:
    """The selector of all requests the spec's request SLIs count (for the no-traffic alert)."""
    explicit = named_preset(spec)
    for slo in spec.slos:
        if kind(slo.sli).family == REQUESTS and slo.measurement != "uptime":
            if source_of(slo, preset_of(spec)) == "client":
                continue
            fetch = plan(slo, spec.prometheus.selector, explicit).fetch
            if fetch:
                return fetch
    return None
