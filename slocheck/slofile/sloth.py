"""Read a Sloth spec (``version: prometheus/v1``) into slocheck's model. Pure; errors name
file, line and field. Sloth's period is not in the spec (``sloth generate --default-slo-period``,
30 days by default): it becomes ``period: 30d``. What maps and what is refused:
docs/openslo-sloth.md."""

from __future__ import annotations

import difflib
from decimal import InvalidOperation
from typing import Any

from slocheck.slofile.alerts import problem
from slocheck.slofile.imported import Imported, objective_of, settings_of
from slocheck.slofile.lines import Lines, PathT, format_path
from slocheck.slofile.mapping import Candidate, Origins, map_candidates

VERSION = "prometheus/v1"
PERIOD = 30 * 86400.0
_TOP = ("version", "service", "labels", "slo_plugins", "slos")
_SLO = ("name", "objective", "description", "labels", "sli", "alerting", "plugins")
_ALERTING = ("name", "labels", "annotations", "page_alert", "ticket_alert")


def is_sloth(doc: Any) -> bool:
    return isinstance(doc, dict) and str(doc.get("version", "")).startswith("prometheus/")


def _keys(value: Any, allowed: tuple[str, ...], path: PathT, lines: Lines) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise lines.error(path, "expected a mapping")
    for key in value:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else None
            raise lines.error((*path, str(key)), "unknown field", hint=hint)
    return value


def _no_plugins(value: Any, path: PathT, lines: Lines) -> None:
    if isinstance(value, dict) and value.get("chain"):
        raise lines.error(
            (*path, "chain"),
            "Sloth plugins run Go code slocheck does not have: they cannot be judged",
        )


def _strings(
    value: Any, path: PathT, lines: Lines, dropped: list[str] | None = None
) -> dict[str, str]:
    """Sloth's ``labels:`` / ``annotations:``: a mapping of strings (Go's map[string]string)
    whose names a Prometheus alert can carry; with ``dropped`` (the spec's and the SLO's
    labels, which the alerts only inherit), the others are left out and told there."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise lines.error(path, "expected a mapping of names to strings")
    out = {}
    for key, v in value.items():
        if not isinstance(key, str) or not isinstance(v, str):
            raise lines.error((*path, str(key)), "expected a string (quote it)")
        why = problem(key, "annotation" if path[-1] == "annotations" else "label")
        if why and dropped is not None:
            dropped.append(f"{format_path((*path, key))}: not on the alerts: {why}")
        elif why:
            raise lines.error((*path, key), why)
        else:
            out[key] = v
    return out


def alerts_of(
    slo: dict[str, Any], at: PathT, labels: dict[str, str], lines: Lines
) -> dict[str, Any] | None:
    """Sloth's ``alerting:`` as the SLO's ``alerts:``. Sloth's alerts carry the spec's and the
    SLO's ``labels`` (from the recorded series), then ``alerting.labels``, then the page's or
    ticket's own, each over the one before (internal/storage/io/sloth.go, MergeLabels); its
    annotations are ``alerting.annotations`` then the page's or ticket's."""
    value = slo.get("alerting")
    if value is None:
        return {"page": {"labels": labels}, "ticket": {"labels": labels}} if labels else None
    path: PathT = (*at, "alerting")
    alerting = _keys(value, _ALERTING, path, lines)
    common = {**labels, **_strings(alerting.get("labels"), (*path, "labels"), lines)}
    notes = _strings(alerting.get("annotations"), (*path, "annotations"), lines)
    out: dict[str, Any] = {}
    for sev in ("page", "ticket"):
        one_at: PathT = (*path, f"{sev}_alert")
        one = _keys(
            alerting.get(f"{sev}_alert") or {}, ("disable", "labels", "annotations"), one_at, lines
        )
        disable = one.get("disable", False)
        if not isinstance(disable, bool):
            raise lines.error((*one_at, "disable"), "expected true or false")
        out[sev] = {
            "labels": {**common, **_strings(one.get("labels"), (*one_at, "labels"), lines)},
            "annotations": {
                **notes,
                **_strings(one.get("annotations"), (*one_at, "annotations"), lines),
            },
            "disable": disable,
        }
    return out


def _query(sli: dict[str, Any], path: PathT, lines: Lines) -> str:
    value = sli.get(str(path[-1]))
    if not isinstance(value, str) or not value.strip():
        raise lines.error(path, "expected a PromQL query (a string)")
    return value


def _candidate(
    slo: Any, i: int, lines: Lines, labels: dict[str, str], dropped: list[str]
) -> Candidate:
    at: PathT = ("slos", i)
    slo = _keys(slo, _SLO, at, lines)
    labels = {**labels, **_strings(slo.get("labels"), (*at, "labels"), lines, dropped)}
    name = slo.get("name")
    if not isinstance(name, str) or not name:
        raise lines.error((*at, "name"), "field required")
    _no_plugins(slo.get("plugins"), (*at, "plugins"), lines)
    objective = slo.get("objective")
    if isinstance(objective, bool) or not isinstance(objective, (int, float)):
        raise lines.error((*at, "objective"), "expected a percentage like 99.9")
    try:
        share = objective_of(None, objective)
    except (ValueError, InvalidOperation) as e:
        raise lines.error((*at, "objective"), str(e)) from None
    where = {"": (lines, (*at, "name")), "objective": (lines, (*at, "objective"))}
    description = slo.get("description")
    c = Candidate(
        name=name,
        kind="ratio",
        objective=share,
        where=where,
        description=str(description) if description else None,
        alerts=alerts_of(slo, at, labels, lines),
    )
    where["alerts"] = (
        lines,
        next(((*at, k) for k in ("alerting", "labels") if k in slo), ("labels",)),
    )
    sli = _keys(slo.get("sli"), ("events", "raw", "plugin"), (*at, "sli"), lines)
    if len(sli) != 1:
        raise lines.error((*at, "sli"), "needs exactly one of events:, raw: or plugin:")
    if "plugin" in sli:
        raise lines.error(
            (*at, "sli", "plugin"),
            "SLI plugins run Go code slocheck does not have: they cannot be judged",
        )
    if "raw" in sli:
        raw = _keys(sli["raw"], ("error_ratio_query",), (*at, "sli", "raw"), lines)
        q_at: PathT = (*at, "sli", "raw", "error_ratio_query")
        c.kind, c.query, c.raw_type = "raw", _query(raw, q_at, lines), "failure"
        where["query"] = (lines, q_at)
        return c
    events = _keys(sli["events"], ("error_query", "total_query"), (*at, "sli", "events"), lines)
    bad_at: PathT = (*at, "sli", "events", "error_query")
    total_at: PathT = (*at, "sli", "events", "total_query")
    c.bad, c.total = _query(events, bad_at, lines), _query(events, total_at, lines)
    where |= {
        "bad": (lines, bad_at),
        "query": (lines, bad_at),
        "total": (lines, total_at),
        "good": (lines, bad_at),
    }
    return c


def from_sloth(data: dict[str, Any], lines: Lines, file: str) -> Imported:
    """The spec data of a Sloth ``prometheus/v1`` spec, and where each field came from."""
    _keys(data, _TOP, (), lines)
    if data.get("version") != VERSION:
        raise lines.error(("version",), f"expected {VERSION}, got {data.get('version')!r}")
    service = data.get("service")
    if not isinstance(service, str) or not service:
        raise lines.error(("service",), "field required")
    _no_plugins(data.get("slo_plugins"), ("slo_plugins",), lines)
    slos = data.get("slos")
    if not isinstance(slos, list) or not slos:
        raise lines.error(("slos",), "expected a list of at least one SLO")
    dropped: list[str] = []
    labels = _strings(data.get("labels"), ("labels",), lines, dropped)
    candidates = [_candidate(slo, i, lines, labels, dropped) for i, slo in enumerate(slos)]
    origins = Origins(file, {"": (lines, ()), "service": (lines, ("service",))})
    entries, selector, notes = map_candidates(candidates, origins)
    notes += dropped
    out = settings_of({}, service, selector, entries, origins)
    out["period"] = PERIOD
    return Imported(data=out, locator=origins, notes=notes, format="sloth")
