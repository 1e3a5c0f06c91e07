"""``slocheck convert --to openslo``: a spec (in any format slocheck reads) as an OpenSLO v1
stream, a ``Service`` and one ``SLO`` per slocheck SLO. Pure: the queries are the series the
verifier fetches (:func:`slocheck.evaluate.plan.plan`), so the file and the verdicts name the
same counters; reading the file back gives the same objectives (docs/openslo-sloth.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

from slocheck.evaluate.plan import SliPlan, le_matcher, plan
from slocheck.promql import Selector
from slocheck.slofile import LoadedSpec, SloSpec, Spec
from slocheck.slofile.kinds import QUANTILE, counts_failed_requests, kind
from slocheck.slofile.openslo import API_VERSION, SETTINGS_ANNOTATION, SLO_ANNOTATION
from slocheck.slofile.sources import named_preset, preset_of, source_of

#: The range of the rate in a threshold metric: OpenSLO evaluates it continuously; slocheck
#: replaces it with its window when it reads the file back.
RATE_WINDOW = "5m"
_OPS = {"<=": "lte", "<": "lt", ">=": "gte", ">": "gt"}


@dataclass(frozen=True)
class Converted:
    text: str
    #: SLOs that OpenSLO cannot express (left out, with why) and other remarks
    notes: list[str] = field(default_factory=list)


def _source(query: str) -> dict[str, Any]:
    return {"metricSource": {"type": "Prometheus", "spec": {"query": query}}}


def _share(value: float) -> float:
    return float(Decimal(repr(value)))


def _indicator(slo: SloSpec, p: SliPlan) -> tuple[dict[str, Any], dict[str, Any]] | str:
    """(the indicator's spec, the objective) or why OpenSLO cannot hold it."""
    if slo.sli == "availability" and slo.measurement == "uptime":
        return "uptime is the share of scrapes, not a ratio of events OpenSLO can count"
    if p.unit != "s":
        return f"its histogram's bounds are in {p.unit}; OpenSLO would need them in seconds"
    if counts_failed_requests(slo.sli):
        assert p.fetch is not None
        bad = Selector.parse(p.fetch).add(f'{p.error_label or "status"}=~"{p.error_values}"')
        ratio = {"counter": True, "bad": _source(bad.render()), "total": _source(p.fetch)}
        target = (slo.objective or 0.0) if slo.sli == "availability" else 1 - (slo.threshold or 0.0)
        return {"ratioMetric": ratio}, {"target": round(target, 12)}
    if slo.sli == "latency_ratio":
        assert p.fetch is not None
        fetched = Selector.parse(p.fetch)
        good = fetched.add(le_matcher(round(slo.threshold or 0.0, 9))).render()
        total = fetched.add('le="+Inf"').render()
        ratio = {"counter": True, "good": _source(good), "total": _source(total)}
        return {"ratioMetric": ratio}, {"target": slo.objective}
    if slo.sli == "ratio":
        assert p.fetch is not None and p.fetch_total is not None
        which = "good" if slo.good else "bad"
        ratio = {"counter": True, which: _source(p.fetch), "total": _source(p.fetch_total)}
        return {"ratioMetric": ratio}, {"target": slo.objective}
    if kind(slo.sli).family == QUANTILE:
        q = f"{(slo.percentile or 0) / 100:g}"
        query = f"histogram_quantile({q}, sum by (le) (rate({p.fetch}[{RATE_WINDOW}])))"
        return {"thresholdMetric": _source(query)}, {"op": "lte", "value": slo.threshold}
    if kind(slo.sli).rate_of is not None:
        query = f"sum(rate({p.fetch}[{RATE_WINDOW}]))"
        return {"thresholdMetric": _source(query)}, {"op": "gte", "value": slo.threshold}
    if slo.query is None or slo.op is None:  # a kind added beside the built-in ones
        return f"OpenSLO has no indicator for sli {slo.sli}"
    if slo.op not in _OPS:
        return f"OpenSLO has no operator {slo.op}"
    query = slo.query.replace("$window_seconds", "300").replace("$window", RATE_WINDOW)
    return {"thresholdMetric": _source(query)}, {"op": _OPS[slo.op], "value": slo.threshold}


def _extra(slo: SloSpec) -> dict[str, Any]:
    """What OpenSLO has no field for, for the ``slocheck.dev/slo`` annotation."""
    out: dict[str, Any] = {}
    if slo.sli == "error_ratio":
        out["sli"] = "error_ratio"
    if slo.severity != "critical":
        out["severity"] = slo.severity
    for name in ("on_no_data", "on_inconclusive"):
        if getattr(slo, name) != "fail":
            out[name] = getattr(slo, name)
    if slo.min_samples is not None:
        out["min_samples"] = slo.min_samples
    if slo.interpolate:
        out["interpolate"] = True
    if slo.alerts is not None:  # the labels of its alerts (from Sloth, say), read back as such
        out["alerts"] = slo.alerts.model_dump(exclude_defaults=True)
    return out


def _period(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{max(1, round(seconds / 60))}m"


def _settings(spec: Spec) -> dict[str, Any]:
    """The slocheck settings of the spec that are not defaults (the Service's annotation)."""
    out: dict[str, Any] = {}
    service = spec.service.model_dump(exclude_defaults=True, exclude={"name"})
    prometheus = spec.prometheus.model_dump(exclude_defaults=True, exclude={"selector", "preset"})
    blocks = {
        "service": service,
        "target": spec.target.model_dump(exclude_defaults=True) if spec.target else {},
        "prometheus": prometheus,
        "load": spec.load.model_dump(exclude_defaults=True),
        "regression": spec.regression.model_dump(exclude_defaults=True),
    }
    for name, block in blocks.items():
        for key in ("url", "metrics_url"):
            if isinstance(block.get(key), str):
                block[key] = _without_credentials(block[key])
        if block:
            out[name] = block
    return out


def _without_credentials(url: str) -> str:
    """``http://user:password@host:9090`` -> ``http://host:9090``: a converted spec carries no
    secret (the spec refuses one anyway; they go by environment variable name)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the settings annotation) as literal blocks."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def _dump(value: dict[str, Any]) -> str:
    return yaml.safe_dump(value, default_flow_style=None, sort_keys=False, width=1000).strip()


def to_openslo(loaded: LoadedSpec) -> Converted:
    """The spec as an OpenSLO v1 stream: a Service and one SLO per slocheck SLO."""
    spec = loaded.spec
    preset = preset_of(spec)
    explicit = named_preset(spec)
    name = spec.service.name
    service: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"description": f"converted by slocheck from {loaded.path}"},
    }
    settings = _settings(spec)
    if settings:
        text = _dump(settings)
        service["metadata"]["annotations"] = {SETTINGS_ANNOTATION: text + "\n" * ("\n" in text)}
    docs = [service]
    notes: list[str] = []
    if spec.prometheus.preset:
        notes.append(
            f"prometheus.preset {spec.prometheus.preset}: written as the preset's metric names"
        )
    for slo in spec.slos:
        source = source_of(slo, preset)
        if source == "client":
            notes.append(f"{slo.name}: left out: judged from the load generator, not Prometheus")
            continue
        if source == "both":
            notes.append(f"{slo.name}: only its server side (Prometheus) is written")
        mapped = _indicator(slo, plan(slo, spec.prometheus.selector, explicit))
        if isinstance(mapped, str):
            notes.append(f"{slo.name}: left out: {mapped}")
            continue
        indicator, objective = mapped
        if "thresholdMetric" in indicator:
            objective["target"] = 0.99  # required by OpenSLO; slocheck does not use it
        metadata: dict[str, Any] = {"name": slo.name}
        extra = _extra(slo)
        if extra:
            metadata["annotations"] = {SLO_ANNOTATION: _dump(extra)}
        body: dict[str, Any] = {"service": name}
        if slo.description:
            body["description"] = slo.description
        body |= {
            "budgetingMethod": "Occurrences",
            "timeWindow": [{"duration": _period(spec.period), "isRolling": True}],
            "indicator": {"metadata": {"name": f"{slo.name}-sli"}, "spec": indicator},
            "objectives": [objective],
        }
        docs.append({"apiVersion": API_VERSION, "kind": "SLO", "metadata": metadata, "spec": body})
    header = [f"# OpenSLO v1, written by slocheck convert from {loaded.path}"]
    header += [f"# {note}" for note in notes]
    text = yaml.dump_all(docs, Dumper=_Dumper, sort_keys=False, width=1000, allow_unicode=True)
    return Converted("\n".join(header) + "\n" + text, notes)
