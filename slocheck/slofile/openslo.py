"""Read an OpenSLO v1 document (``apiVersion: openslo/v1``; a stream of ``Service``, ``SLO``,
``SLI`` and ``DataSource`` objects) into slocheck's model. Pure; errors name file, line and
field. What maps and what is refused: docs/openslo-sloth.md."""

from __future__ import annotations

import re
from decimal import InvalidOperation
from typing import Any

import yaml

from slocheck.errors import SpecError
from slocheck.slofile.imported import Imported, objective_of, settings_of
from slocheck.slofile.lines import Lines, PathT
from slocheck.slofile.mapping import EXTRA_FIELDS, OPS, Candidate, Origins, map_candidates
from slocheck.slofile.openslo_alerts import alerts_of

API_VERSION = "openslo/v1"
KINDS = (
    "SLO",
    "Service",
    "SLI",
    "DataSource",
    "AlertPolicy",
    "AlertCondition",
    "AlertNotificationTarget",
)
SLO_ANNOTATION = "slocheck.dev/slo"
SETTINGS_ANNOTATION = "slocheck.dev/settings"
_SHORTHAND = re.compile(r"^([0-9]+)([mhdwMQY])$")


def is_openslo(doc: Any) -> bool:
    return isinstance(doc, dict) and ("apiVersion" in doc or "kind" in doc)


class _Doc:
    """One object of the stream, with its lines."""

    def __init__(self, data: dict[str, Any], lines: Lines) -> None:
        self.data = data
        self.lines = lines
        self.kind = str(data.get("kind"))
        meta = data.get("metadata")
        self.name = str(meta.get("name")) if isinstance(meta, dict) and meta.get("name") else ""

    def get(
        self, path: PathT, kind: type | tuple[type, ...] | None = None, required: bool = False
    ) -> Any:
        value: Any = self.data
        for part in path:
            found = isinstance(value, dict) and part in value
            if found or (isinstance(value, list) and isinstance(part, int) and part < len(value)):
                value = value[part]
            else:
                if required:
                    raise self.error(path, "field required")
                return None
        if kind is not None and value is not None and not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            want = {"dict": "a mapping", "list": "a list", "str": "a string"}.get(names, names)
            raise self.error(path, f"expected {want}, got {type(value).__name__}")
        if required and value is None:
            raise self.error(path, "field required")
        return value

    def error(self, path: PathT, message: str, hint: str | None = None) -> SpecError:
        return self.lines.error(path, message, hint=hint)


def _query(doc: _Doc, path: PathT, sources: dict[str, str]) -> str:
    """The PromQL of a ``metricSource`` at ``path``; refused unless it is Prometheus'."""
    source = doc.get((*path, "metricSource"), dict, required=True)
    kind = source.get("type")
    ref = source.get("metricSourceRef")
    if kind is None and ref is not None:
        kind = sources.get(str(ref))
        if kind is None:
            raise doc.error(
                (*path, "metricSource", "metricSourceRef"),
                f"no DataSource named {ref!r} in this file",
            )
    if str(kind).lower() != "prometheus":
        raise doc.error(
            (*path, "metricSource", "type"),
            f"slocheck reads Prometheus only, got {kind!r}",
            hint="metricSource.type: Prometheus (or a DataSource of that type)",
        )
    query = doc.get((*path, "metricSource", "spec", "query"), str, required=True)
    return str(query)


def _period(doc: _Doc) -> float | None:
    windows = doc.get(("spec", "timeWindow"), list)
    if not windows:
        return None
    if len(windows) != 1:
        raise doc.error(("spec", "timeWindow"), "expected exactly one time window")
    duration = doc.get(("spec", "timeWindow", 0, "duration"), str, required=True)
    m = _SHORTHAND.match(duration)
    if m is None:
        raise doc.error(
            ("spec", "timeWindow", 0, "duration"),
            f"expected a duration shorthand like 28d or 4w, got {duration!r}",
        )
    if m.group(2) in "MQY":
        raise doc.error(
            ("spec", "timeWindow", 0, "duration"),
            f"{duration}: calendar months, quarters and years have no fixed length",
            hint="write the period in days or weeks (30d, 4w)",
        )
    return int(m.group(1)) * {"m": 60, "h": 3600, "d": 86400, "w": 604800}[m.group(2)]


def _annotation(doc: _Doc, key: str, allowed: frozenset[str]) -> tuple[dict[str, Any], PathT]:
    path: PathT = ("metadata", "annotations", key)
    text = doc.get(path, str)
    if text is None:
        return {}, path
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        raise doc.error(
            path, "expected a YAML mapping in a string, like '{severity: warning}'"
        ) from None
    if not isinstance(value, dict):
        raise doc.error(path, "expected a YAML mapping in a string, like '{severity: warning}'")
    unknown = sorted(set(map(str, value)) - allowed)
    if unknown:
        raise doc.error(path, f"{unknown[0]}: not a setting here; expected {sorted(allowed)}")
    return value, path


def _indicator(doc: _Doc, slis: dict[str, _Doc]) -> tuple[_Doc, PathT]:
    """The SLI's document and the path of its ``spec`` (inline or by ``indicatorRef``)."""
    inline = doc.get(("spec", "indicator"), dict)
    ref = doc.get(("spec", "indicatorRef"), str)
    if (inline is None) == (ref is None):
        raise doc.error(("spec",), "needs exactly one of indicator: or indicatorRef:")
    if ref is not None:
        if ref not in slis:
            raise doc.error(("spec", "indicatorRef"), f"no SLI named {ref!r} in this file")
        return slis[ref], ("spec",)
    assert inline is not None
    return doc, ("spec", "indicator", "spec") if "spec" in inline else ("spec", "indicator")


def _candidates(doc: _Doc, slis: dict[str, _Doc], sources: dict[str, str]) -> list[Candidate]:
    method = doc.get(("spec", "budgetingMethod"), str) or "Occurrences"
    if method != "Occurrences":
        raise doc.error(
            ("spec", "budgetingMethod"),
            f"{method}: slocheck judges the events of a load window (Occurrences); time "
            "slices have no meaning over one short window",
        )
    if doc.get(("spec", "objectives", 0, "indicator")) or doc.get(
        ("spec", "objectives", 0, "indicatorRef")
    ):
        raise doc.error(("spec", "objectives", 0), "composite SLOs are not supported")
    sli_doc, at = _indicator(doc, slis)
    ratio = sli_doc.get((*at, "ratioMetric"), dict)
    threshold = sli_doc.get((*at, "thresholdMetric"), dict)
    if (ratio is None) == (threshold is None):
        raise sli_doc.error(at, "needs exactly one of ratioMetric: or thresholdMetric:")
    objectives = doc.get(("spec", "objectives"), list, required=True)
    if not objectives:
        raise doc.error(("spec", "objectives"), "needs at least one objective")
    if threshold is not None and len(objectives) > 1:
        raise doc.error(("spec", "objectives"), "a thresholdMetric takes one objective")
    extra, extra_at = _annotation(doc, SLO_ANNOTATION, EXTRA_FIELDS)
    if extra.get("sli", "error_ratio") != "error_ratio":
        raise doc.error(extra_at, "sli: only error_ratio may be named here")
    out = []
    for i, objective in enumerate(objectives):
        obj: PathT = ("spec", "objectives", i)
        if not isinstance(objective, dict):
            raise doc.error(obj, "expected a mapping")
        for key in ("timeSliceTarget", "timeSliceWindow", "compositeWeight"):
            if key in objective:
                raise doc.error((*obj, key), "time slices and composites are not supported")
        written = "target" if "target" in objective else "targetPercent"
        where = {"": (doc.lines, ("metadata", "name")), "objective": (doc.lines, (*obj, written))}
        where |= {key: (doc.lines, extra_at) for key in extra}
        c = Candidate(
            name=_objective_name(doc.name, objective, i, len(objectives)),
            kind="ratio",
            objective=_target(doc, obj),
            where=where,
            description=doc.get(("spec", "description"), str),
            extra=dict(extra),
        )
        if ratio is not None:
            _ratio_fields(c, sli_doc, (*at, "ratioMetric"), sources)
        else:
            _threshold_fields(c, doc, obj, (sli_doc, (*at, "thresholdMetric")), sources)
        out.append(c)
    return out


def _objective_name(slo: str, objective: dict[str, Any], i: int, count: int) -> str:
    """The SLO's name; with several objectives, each gets its display name (or index) after."""
    if count == 1:
        return slo
    label = str(objective.get("displayName") or i)
    return f"{slo}-{re.sub(r'[^A-Za-z0-9]+', '-', label).strip('-').lower()}"


def _threshold_fields(
    c: Candidate, doc: _Doc, obj: PathT, metric: tuple[_Doc, PathT], sources: dict[str, str]
) -> None:
    """A thresholdMetric objective: the query (in the SLI document at ``metric``), the op and
    the value (in the objective ``obj`` of the SLO document)."""
    sli_doc, at = metric
    c.kind = "threshold"
    c.query = _query(sli_doc, at, sources)
    c.where["query"] = (sli_doc.lines, (*at, "metricSource", "spec", "query"))
    c.op = doc.get((*obj, "op"), str, required=True)
    if c.op not in OPS:
        raise doc.error((*obj, "op"), f"expected one of {', '.join(OPS)}, got {c.op!r}")
    c.value = float(doc.get((*obj, "value"), (int, float), required=True))
    c.where |= {"op": (doc.lines, (*obj, "op")), "value": (doc.lines, (*obj, "value"))}


def _target(doc: _Doc, obj: PathT) -> float:
    target = doc.get((*obj, "target"), (int, float))
    percent = doc.get((*obj, "targetPercent"), (int, float))
    if (target is None) == (percent is None):
        raise doc.error(obj, "needs exactly one of target: (0 to 1) or targetPercent: (0 to 100)")
    try:
        return objective_of(target, percent)
    except (ValueError, InvalidOperation) as e:
        raise doc.error(
            (*obj, "target" if target is not None else "targetPercent"), str(e)
        ) from None


def _ratio_fields(c: Candidate, doc: _Doc, at: PathT, sources: dict[str, str]) -> None:
    metric = doc.get(at, dict)
    c.counter = bool(metric.get("counter", True))
    if "raw" in metric:
        c.kind = "raw"
        c.query = _query(doc, (*at, "raw"), sources)
        raw_type = doc.get((*at, "rawType"), str, required=True)
        if raw_type not in ("success", "failure"):
            raise doc.error((*at, "rawType"), f"expected success or failure, got {raw_type!r}")
        c.raw_type = "success" if raw_type == "success" else "failure"
        c.where["query"] = (doc.lines, (*at, "raw"))
        return
    if ("good" in metric) == ("bad" in metric):
        raise doc.error(at, "needs exactly one of good: or bad:, beside total:")
    which = "good" if "good" in metric else "bad"
    setattr(c, which, _query(doc, (*at, which), sources))
    c.total = _query(doc, (*at, "total"), sources)
    for key in (which, "total"):
        c.where[key] = (doc.lines, (*at, key, "metricSource", "spec", "query"))
    c.where["query"] = c.where[which]


def _documents(docs: list[tuple[Any, Lines]]) -> list[_Doc]:
    """Each document of the stream, checked to be an OpenSLO v1 object of a kind we read."""
    objs: list[_Doc] = []
    for data, lines in docs:
        if not isinstance(data, dict):
            raise lines.error((), "expected an OpenSLO object (apiVersion, kind, metadata, spec)")
        doc = _Doc(data, lines)
        if data.get("apiVersion") != API_VERSION:
            raise doc.error(
                ("apiVersion",),
                f"expected {API_VERSION}, got {data.get('apiVersion')!r}",
                hint="v1alpha and v2 are not read",
            )
        if doc.kind not in KINDS:
            raise doc.error(("kind",), f"expected one of {', '.join(KINDS)}, got {doc.kind!r}")
        if not doc.name:
            raise doc.error(("metadata", "name"), "field required")
        objs.append(doc)
    return objs


def _service_name(slos: list[_Doc], services: list[_Doc]) -> str:
    """The one service the file describes, named by every SLO."""
    if len(services) > 1:
        raise services[1].error(("kind",), "one file describes one service")
    named = {str(d.get(("spec", "service"), str, required=True)) for d in slos}
    name = services[0].name if services else sorted(named)[0]
    for d in slos:
        if d.get(("spec", "service")) != name:
            raise d.error(("spec", "service"), f"expected the service {name!r} of this file")
    return name


def _one_period(slos: list[_Doc]) -> tuple[Any, tuple[Lines, PathT] | None]:
    """The period every SLO of the file shares (None when none says it), and where it is."""
    period, period_at = None, None
    for d in slos:
        p = _period(d)
        if p is not None and period is not None and p != period:
            raise d.error(
                ("spec", "timeWindow", 0, "duration"), "every SLO of one file has the same period"
            )
        if p is not None and period is None:
            period, period_at = p, (d.lines, ("spec", "timeWindow", 0, "duration"))
    return period, period_at


def _service_settings(services: list[_Doc], top: dict[str, tuple[Lines, PathT]]) -> dict[str, Any]:
    """The slocheck settings annotated on the Service (none without one); ``top`` learns
    where each came from."""
    if not services:
        return {}
    settings, at = _annotation(
        services[0],
        SETTINGS_ANNOTATION,
        frozenset({"service", "target", "prometheus", "load", "regression", "cost", "history"}),
    )
    top |= {k: (services[0].lines, at) for k in settings}
    top.setdefault("service", (services[0].lines, ("metadata", "name")))
    return settings


def from_openslo(docs: list[tuple[Any, Lines]], file: str) -> Imported:
    """The spec data of an OpenSLO v1 stream, and where each field came from."""
    objs = _documents(docs)
    slis = {d.name: d for d in objs if d.kind == "SLI"}
    sources = {d.name: str(d.get(("spec", "type")) or "") for d in objs if d.kind == "DataSource"}
    services = [d for d in objs if d.kind == "Service"]
    slos = [d for d in objs if d.kind == "SLO"]
    if not slos:
        if objs:
            raise objs[0].error(("kind",), "no kind: SLO in this file")
        raise SpecError("an empty document", file=file)
    name = _service_name(slos, services)
    period, period_at = _one_period(slos)
    objs_by = {k: {d.name: d for d in objs if d.kind == k} for k in KINDS if k.startswith("Alert")}
    alert_notes: list[str] = []
    used: set[str] = set()
    candidates = []
    for d in slos:
        alerts = alerts_of(d, objs_by, alert_notes, used)
        for c in _candidates(d, slis, sources):
            if alerts is not None:
                c.alerts = alerts
                c.where["alerts"] = (d.lines, ("spec", "alertPolicies"))
            candidates.append(c)
    top: dict[str, tuple[Lines, PathT]] = {"": (slos[0].lines, ("metadata", "name"))}
    settings = _service_settings(services, top)
    if period_at is not None:
        top["period"] = period_at
    origins = Origins(file, top)
    entries, selector, notes = map_candidates(candidates, origins)
    data = settings_of(settings, name, selector, entries, origins)
    if period is not None:
        data["period"] = period
    notes += alert_notes
    unused = sorted(set(objs_by["AlertPolicy"]) - used)
    if unused:
        notes.append(f"AlertPolicy {unused[0]}: no SLO of this file names it: not read")
    return Imported(data=data, locator=origins, notes=notes, format="openslo")
