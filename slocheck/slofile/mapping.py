"""What OpenSLO and Sloth SLOs become in slocheck's model (pure): the indicator's queries are
matched against the shapes slocheck counts exactly (:mod:`slocheck.slofile.promql_shapes`) and
mapped to a built-in SLI (``availability``, ``latency``, ``latency_ratio``, ``throughput``, ...)
or ``ratio`` over the same counters; any other query is kept as ``sli: promql``. The label
matchers that every recognised query shares become ``prometheus.selector``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from slocheck.errors import SpecError
from slocheck.promql import Matcher, Selector
from slocheck.slofile.kinds import QUANTILE, find, kind, kinds_of
from slocheck.slofile.lines import Lines, PathT, format_path
from slocheck.slofile.promql_shapes import (
    counter_of,
    le_bound,
    quantile_of,
    rate_of,
    slow_of,
    to_slocheck_window,
)

#: OpenSLO's comparison operators -> slocheck's.
OPS: dict[str, str] = {"lte": "<=", "lt": "<", "gte": ">=", "gt": ">"}
#: Fields an annotation (``slocheck.dev/slo``) may add to an imported SLO.
EXTRA_FIELDS = frozenset(
    {"severity", "on_no_data", "on_inconclusive", "min_samples", "interpolate", "sli", "alerts"}
)
_ERRORS = Matcher("status", "=~", "5..")


@dataclass
class Candidate:
    """One imported SLO before mapping: its indicator's queries and its objective."""

    name: str
    kind: Literal["ratio", "threshold", "raw"]
    objective: float  # 0..1
    #: "" (the SLO itself), "good", "bad", "total", "query", "objective", ... -> where written
    where: dict[str, tuple[Lines, PathT]]
    good: str | None = None
    bad: str | None = None
    total: str | None = None
    counter: bool = True
    query: str | None = None  # threshold and raw
    op: str | None = None  # threshold: lte, lt, gte, gt
    value: float | None = None  # threshold
    raw_type: Literal["success", "failure"] = "failure"
    description: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # from the annotation
    alerts: dict[str, Any] | None = None  # the user's alert labels (spec.alerts.SloAlerts)


class Origins:
    """Where each field of the mapped spec came from: errors name the imported file's lines."""

    def __init__(self, file: str, top: dict[str, tuple[Lines, PathT]]) -> None:
        self.file = file
        self.top = top  # "period", "service", ... -> where it was written
        self.slos: list[Candidate] = []

    def written(self, path: PathT) -> PathT:
        return self._origin(path)[1]

    def _origin(self, path: PathT) -> tuple[Lines | None, PathT]:
        slo = path[1] if len(path) >= 2 and path[0] == "slos" else None
        if isinstance(slo, int) and slo < len(self.slos):
            c = self.slos[slo]
            key = str(path[2]) if len(path) > 2 else ""
            return c.where.get(key, c.where[""])
        if path and str(path[0]) in self.top:
            return self.top[str(path[0])]
        if "" in self.top:
            return self.top[""]
        return None, path

    def error(self, path: PathT, message: str, hint: str | None = None) -> SpecError:
        lines, where = self._origin(path)
        if len(path) > 2 and path[0] == "slos" and lines is not None:
            message = f"{format_path(path[2:])}: {message}"  # the slocheck field it became
        elif len(path) > 1 and path[0] != "slos":
            message = f"{format_path(path)}: {message}"  # a setting of an annotation
        return SpecError(
            message,
            file=self.file,
            line=lines.line(where) if lines else None,
            field=format_path(where) or None,
            hint=hint,
        )


def _plain(c: Candidate) -> dict[str, Selector | None]:
    return {
        k: counter_of(q) if q else None
        for k, q in (("good", c.good), ("bad", c.bad), ("total", c.total))
    }


def selectors_of(c: Candidate) -> list[Selector]:
    """The selectors of a candidate's recognised queries."""
    if c.kind == "ratio" and c.counter:
        found = [s for s in _plain(c).values() if s is not None]
        slow = slow_of(c.bad) if c.bad else None
        return found + (list(slow) if slow else [])
    if c.kind == "threshold" and c.query:  # only the shapes a built-in SLI is made of
        q = quantile_of(c.query) if c.op == "lte" else None
        r = rate_of(c.query) if c.op == "gte" else None
        return [q[1]] if q else [r] if r else []
    return []


def common_selector(candidates: list[Candidate]) -> tuple[Matcher, ...]:
    """The matchers every recognised query has (never ``le``), in the order first written."""
    found = [s.matchers for c in candidates for s in selectors_of(c)]
    if not found:
        return ()
    shared = frozenset.intersection(*(frozenset(m) for m in found))
    return tuple(m for m in found[0] if m in shared and m.label != "le")


def _metric_field(out: dict[str, Any], sli: str, metric: str) -> None:
    known = find(sli)
    if known is None or metric != known.default_metric:
        out["metric"] = metric


def _seconds_histogram(name: str) -> str | None:
    """``x_seconds_bucket`` / ``x_seconds_count`` -> ``x_seconds``; other units: None (the
    bounds' unit is not known, so the query is kept as it is)."""
    for suffix in ("_bucket", "_count"):
        if name.endswith(suffix) and name.removesuffix(suffix).endswith("_seconds"):
            return name.removesuffix(suffix)
    return None


def _latency_ratio(
    good: Selector, total: Selector, common: frozenset[Matcher], objective: float
) -> dict[str, Any] | None:
    """``H_bucket{M, le="B"}`` over ``H_count{M}`` (or ``le="+Inf"``) -> ``latency_ratio``."""
    base = _seconds_histogram(good.metric)
    bound = le_bound(good.label("le"))
    if base is None or bound is None or _seconds_histogram(total.metric) != base:
        return None
    if not good.metric.endswith("_bucket"):
        return None
    if total.metric.endswith("_bucket") and le_bound(total.label("le")) != float("inf"):
        return None
    if {frozenset(s.without("le").matchers) for s in (good, total)} != {common}:
        return None
    out: dict[str, Any] = {"sli": "latency_ratio", "threshold": bound, "objective": objective}
    _metric_field(out, "latency_ratio", base)
    return out


def _ratio(c: Candidate, common: frozenset[Matcher]) -> tuple[dict[str, Any], str | None]:
    plain = _plain(c)
    good, bad, total = plain["good"], plain["bad"], plain["total"]
    slow = slow_of(c.bad) if c.bad and bad is None else None
    if slow and total is not None:  # Sloth's latency SLO: (count - fast) / count
        good, bad = slow[1], None
        if slow[0].metric != total.metric or set(slow[0].matchers) != set(total.matchers):
            good = None
    if c.counter and total is not None and (good or bad) and not (good and bad):
        if good is not None:
            mapped = _latency_ratio(good, total, common, c.objective)
            if mapped:
                return mapped, None
        if (
            bad is not None
            and bad.metric == total.metric
            and set(bad.matchers) == set(total.matchers) | {_ERRORS}
            and frozenset(total.matchers) == common
        ):
            out: dict[str, Any] = {"sli": "availability", "objective": c.objective}
            _metric_field(out, "availability", total.metric)
            if c.extra.get("sli") == "error_ratio":
                out = {**out, "sli": "error_ratio", "threshold": round(1 - c.objective, 12)}
                del out["objective"]
            return out, None
        out = {"sli": "ratio", "objective": c.objective, "total": total.dropping(common).render()}
        out["good" if good is not None else "bad"] = (
            (good or bad or total).dropping(common).render()
        )
        return out, None
    return _ratio_promql(c), (
        f"{c.name}: judged as sli promql, a plain comparison of the value Prometheus computes "
        "(no exact counts, no confidence interval): its queries are not counters slocheck "
        "recognises (docs/openslo-sloth.md)"
    )


def _ratio_promql(c: Candidate) -> dict[str, Any]:
    total = to_slocheck_window(c.total or "")
    if c.good:
        query = f"({to_slocheck_window(c.good)}) / ({total})"
    else:
        query = f"1 - (({to_slocheck_window(c.bad or '')}) or vector(0)) / ({total})"
    return {"sli": "promql", "query": query, "op": ">=", "threshold": c.objective}


def _threshold(c: Candidate, common: frozenset[Matcher]) -> tuple[dict[str, Any], str | None]:
    assert c.query is not None and c.op is not None and c.value is not None
    quantile = quantile_of(c.query)
    base = _seconds_histogram(quantile[1].metric) if quantile else None
    if quantile and base and c.op == "lte" and frozenset(quantile[1].matchers) == common:
        # which histogram's quantile: the kind whose default metric it is
        sli = next((n for n in kinds_of(QUANTILE) if kind(n).default_metric == base), "latency")
        out: dict[str, Any] = {
            "sli": sli,
            "percentile": round(quantile[0] * 100, 9),
            "threshold": c.value,
        }
        _metric_field(out, sli, base)
        return out, None
    counter = rate_of(c.query)
    if counter and c.op == "gte" and frozenset(counter.matchers) == common:
        sli = (
            "token_throughput"
            if counter.metric == kind("token_throughput").default_metric
            else ("throughput")
        )
        out = {"sli": sli, "threshold": c.value}
        _metric_field(out, sli, counter.metric)
        return out, None
    out = {
        "sli": "promql",
        "query": to_slocheck_window(c.query),
        "op": OPS[c.op],
        "threshold": c.value,
    }
    return out, (
        f"{c.name}: judged as sli promql, a plain comparison of the value Prometheus computes "
        "over the window: the query is not a quantile or rate slocheck recognises"
    )


def map_candidates(
    candidates: list[Candidate], origins: Origins
) -> tuple[list[dict[str, Any]], str, list[str]]:
    """The SLO entries of the mapped spec, its ``prometheus.selector`` and the notes."""
    order = common_selector(candidates)
    common = frozenset(order)
    entries: list[dict[str, Any]] = []
    notes: list[str] = []
    for c in candidates:
        if c.kind == "ratio":
            body, note = _ratio(c, common)
        elif c.kind == "threshold":
            body, note = _threshold(c, common)
            notes.append(
                f"{c.name}: the objective's target ({c.objective:g}) is not used: slocheck "
                "judges the query's one value over the window"
            )
        else:
            q = to_slocheck_window(c.query or "")
            body = {
                "sli": "promql",
                "query": q if c.raw_type == "success" else f"1 - ({q})",
                "op": ">=",
                "threshold": c.objective,
            }
            note = None
        if note:
            notes.append(note)
        if c.extra.get("sli") not in (None, body["sli"]):
            lines, at = c.where.get("sli", c.where[""])
            raise lines.error(
                at,
                f"sli {c.extra['sli']} needs a bad/total ratio of the requests counter with "
                f"{_ERRORS.render()} (it maps to sli {body['sli']})",
            )
        entry: dict[str, Any] = {"name": c.name, **body}
        if c.description:
            entry["description"] = c.description
        if c.alerts and "alerts" in c.extra:
            lines, at = c.where["alerts"]
            raise lines.error(
                at, "alert settings twice: in alertPolicies and in the slocheck.dev/slo annotation"
            )
        if c.alerts:
            entry["alerts"] = c.alerts
        extra = {k: v for k, v in c.extra.items() if k != "sli"}
        entry.update(extra)
        for key in body:  # errors in a mapped field point at what it came from
            c.where.setdefault(key, c.where.get(_SOURCE_OF.get(key, ""), c.where[""]))
        entries.append(entry)
        origins.slos.append(c)
    return entries, Selector("", order).inside(), notes


#: The candidate's field each mapped field is read from (for error locations).
_SOURCE_OF: dict[str, str] = {
    "objective": "objective",
    "threshold": "value",
    "percentile": "query",
    "metric": "query",
    "query": "query",
    "total": "total",
    "good": "good",
    "bad": "bad",
    "op": "op",
}
