"""Prometheus recording and alerting rules from an SLO spec (pure).

Per ratio SLO (availability, error ratio, ``ratio``, ``latency_ratio``): its error ratio over
the usual windows and the SLO period, its objective and error budget, the budget remaining, and
the multi-window, multi-burn-rate alerts of the SRE workbook (page: 14.4x over 1h and 5m, or 6x
over 6h and 30m; ticket: 3x over 1d and 2h, or 1x over 3d and 6h). Per threshold SLO (latency
percentiles, TTFT, inter-token latency, ``promql``): its value over 5m, alerted on when it stays
past the threshold for 5 minutes. Per service: down (``up == 0`` for 1m) and no traffic (no
request in 5m, for 10m). See docs/slo-as-code.md for the maths.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from slocheck.evaluate.plan import sum_increase
from slocheck.promql import Matcher, duration, selector
from slocheck.rules.objectives import Objective, objectives, over, requests_total, up_selector
from slocheck.slofile.alerts import Severity, annotations_of, disabled, labels_of
from slocheck.slofile.model import Spec

#: The windows every ratio SLO's error ratio is recorded over: (PromQL, seconds).
WINDOWS: tuple[tuple[str, float], ...] = (
    ("5m", 300),
    ("30m", 1800),
    ("1h", 3600),
    ("2h", 7200),
    ("6h", 21600),
    ("1d", 86400),
    ("3d", 259200),
)
BURN_ALERT = "ErrorBudgetBurn"  #: the suffix of each ratio SLO's alert
THRESHOLD_ALERT = "ThresholdBreached"  #: the suffix of each threshold SLO's alert
DOWN_ALERT = "ServiceDown"
NO_TRAFFIC_ALERT = "NoTraffic"
THRESHOLD_FOR = "5m"


@dataclass(frozen=True)
class Burn:
    """One window pair of a burn-rate alert: bad when the error ratio over both windows is
    above ``factor`` times the budget."""

    long: str
    short: str
    factor: float


#: The SRE workbook's pairs, by the severity they route to.
BURNS: dict[Severity, tuple[Burn, ...]] = {
    "page": (Burn("1h", "5m", 14.4), Burn("6h", "30m", 6.0)),
    "ticket": (Burn("1d", "2h", 3.0), Burn("3d", "6h", 1.0)),
}


def error_ratio_record(window: str) -> str:
    return f"slo:sli_error:ratio_rate{window}"


def slo_labels(o: Objective, spec: Spec) -> dict[str, str]:
    return {"slo": o.name, "sli": o.sli, "service": spec.service.name}


def recorded(record: str, o: Objective, service: str) -> str:
    """The recorded series of one SLO (of one service: two services may name SLOs alike)."""
    return selector(record, Matcher.of("service", "=", service), Matcher.of("slo", "=", o.name))


def alert_name(o: Objective, suffix: str) -> str:
    """A Prometheus alert name of the SLO's own: ``p95-latency`` -> ``P95LatencyAboveThreshold``
    (per SLO, so that each can be routed, silenced and tested alone)."""
    words = re.split(r"[^A-Za-z0-9]+", o.name)
    camel = "".join(w[:1].upper() + w[1:] for w in words if w)
    if not camel or camel[0].isdigit():
        camel = "Slo" + camel
    return camel + suffix


def _num(x: float) -> str:
    return f"{x:.12g}"


def burn_expr(o: Objective, severity: Severity, service: str) -> str:
    assert o.budget is not None
    parts = []
    for b in BURNS[severity]:
        bound = f"({_num(b.factor)} * {_num(o.budget)})"
        parts.append(
            f"(\n  {recorded(error_ratio_record(b.long), o, service)} > {bound}\n"
            f"  and\n  {recorded(error_ratio_record(b.short), o, service)} > {bound}\n)"
        )
    return "\nor\n".join(parts)


def _percent(x: float) -> str:
    return f"{x * 100:.6g}%"


def burn_annotations(o: Objective, spec: Spec, severity: Severity, period: str) -> dict[str, str]:
    assert o.budget is not None and o.objective is not None
    pairs = " or ".join(
        f"over {b.long} and {b.short} above {_num(b.factor)}x" for b in BURNS[severity]
    )
    fast = BURNS[severity][0].factor
    days = spec.period / 86400 / fast
    return {
        "summary": f"{spec.service.name}: SLO {o.name} is burning its error budget ({severity})",
        "description": f"The error ratio of {o.name} ({o.sli}, objective "
        f"{_percent(o.objective)}, budget {_percent(o.budget)} over {period}) is {pairs} the "
        f"budget: at {_num(fast)}x the whole budget is spent in {days:.3g} days.",
    }


def ratio_rules(o: Objective, spec: Spec, period: str) -> tuple[list[dict[str, Any]], ...]:
    """The recording rules and the two burn-rate alerts of one ratio SLO."""
    assert o.error_ratio is not None and o.budget is not None and o.objective is not None
    labels = slo_labels(o, spec)
    svc = spec.service.name
    records: list[dict[str, Any]] = [
        {"record": error_ratio_record(w), "expr": over(o.error_ratio, w, s), "labels": labels}
        for w, s in WINDOWS
    ]
    records += [
        {"record": "slo:objective:ratio", "expr": f"vector({_num(o.objective)})", "labels": labels},
        {"record": "slo:error_budget:ratio", "expr": f"vector({_num(o.budget)})", "labels": labels},
        {
            "record": error_ratio_record(period),
            # the period's ratio as the mean of its 5m ratios (as Sloth does): a query over
            # 28 days of raw samples at every evaluation would cost too much
            "expr": f"avg_over_time({recorded(error_ratio_record('5m'), o, svc)}[{period}])",
            "labels": labels,
        },
        {
            "record": "slo:error_budget_remaining:ratio",
            "expr": f"1 - ({recorded(error_ratio_record(period), o, svc)} / "
            f"{recorded('slo:error_budget:ratio', o, svc)})",
            "labels": labels,
        },
    ]
    alerts = [
        {
            "alert": alert_name(o, BURN_ALERT),
            "expr": burn_expr(o, severity, svc),
            "labels": burn_labels(o, spec, severity),
            "annotations": annotations_of(
                burn_annotations(o, spec, severity, period), o.alerts, severity
            ),
        }
        for severity in burn_severities(o)
    ]
    return records, alerts


def burn_severities(o: Objective) -> list[Severity]:
    """The burn alerts of a ratio SLO: page and ticket, less those the user disabled."""
    return [sev for sev in BURNS if not disabled(o.alerts, sev)]


def burn_labels(o: Objective, spec: Spec, severity: Severity) -> dict[str, str]:
    """The labels of a ratio SLO's page or ticket alert: slocheck's, the user's over them."""
    own = {"severity": severity, "slo_severity": o.severity, **slo_labels(o, spec)}
    return labels_of(own, o.alerts, severity)


def threshold_severity(o: Objective) -> Severity:
    return "page" if o.severity == "critical" else "ticket"


def threshold_rules(o: Objective, spec: Spec) -> tuple[list[dict[str, Any]], ...]:
    """The value over 5m of one threshold SLO, and its alert."""
    assert o.query is not None and o.threshold is not None and o.bad_op is not None
    labels = slo_labels(o, spec)
    record = "slo:sli_value:rate5m"
    what = f"P{o.percentile:g} " if o.percentile else ""
    records = [{"record": record, "expr": over(o.query, "5m", 300), "labels": labels}]
    sev = threshold_severity(o)
    own = {"severity": sev, "slo_severity": o.severity, **labels}
    alerts = [
        {
            "alert": alert_name(o, THRESHOLD_ALERT),
            "expr": f"{recorded(record, o, spec.service.name)} {o.bad_op} {_num(o.threshold)}",
            "for": THRESHOLD_FOR,
            "labels": labels_of(own, o.alerts, sev),
            "annotations": annotations_of(
                {
                    "summary": f"{spec.service.name}: SLO {o.name} is missed",
                    "description": f"{what}{o.sli} of {o.name} over 5m has been {o.bad_op} "
                    f"{_num(o.threshold)} for {THRESHOLD_FOR}.",
                },
                o.alerts,
                sev,
            ),
        }
    ]
    return records, [] if disabled(o.alerts, sev) else alerts


def service_alerts(spec: Spec) -> list[dict[str, Any]]:
    """The guides' service alerts: the target is down, or serves no request."""
    name = spec.service.name
    alerts: list[dict[str, Any]] = [
        {
            "alert": DOWN_ALERT,
            "expr": f"{up_selector(spec)} == 0",
            "for": "1m",
            "labels": {"severity": "page", "service": name},
            "annotations": {
                "summary": f"{name} is down",
                "description": f"Prometheus has failed to scrape {name} for 1 minute.",
            },
        }
    ]
    total = requests_total(spec)
    if total is not None:
        alerts.append(
            {
                "alert": NO_TRAFFIC_ALERT,
                "expr": f"{over(sum_increase(total), '5m', 300)} == 0",
                "for": "10m",
                "labels": {"severity": "ticket", "service": name},
                "annotations": {
                    "summary": f"{name} serves no requests",
                    "description": f"{name} has answered no request for 10 minutes.",
                },
            }
        )
    return alerts


@dataclass(frozen=True)
class RuleSet:
    groups: list[dict[str, Any]]
    objectives: list[Objective]
    skipped: list[tuple[str, str]]  # (SLO, why it has no rule)

    def to_yaml(self) -> str:
        return dump_yaml({"groups": self.groups})


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None  # multi-line PromQL stays readable
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_NoAliases.add_representer(str, _str)


def dump_yaml(data: Any) -> str:
    """YAML as people write rule files: no anchors, multi-line expressions as blocks."""
    return yaml.dump(data, Dumper=_NoAliases, sort_keys=False, width=100, allow_unicode=True)


def rule_set(spec: Spec) -> RuleSet:
    kept, skipped = objectives(spec)
    period = duration(spec.period, largest="d")
    name = spec.service.name
    groups = []
    for o in kept:
        # one group per SLO, recordings first: a group evaluates its rules in order, so its
        # alerts read the ratios recorded at the same evaluation
        r, a = ratio_rules(o, spec, period) if o.kind == "ratio" else threshold_rules(o, spec)
        groups.append({"name": f"slocheck:{name}:{o.name}", "rules": r + a})
    groups.append({"name": f"slocheck:{name}:service", "rules": service_alerts(spec)})
    return RuleSet(groups, kept, [(s.name, s.why) for s in skipped])
