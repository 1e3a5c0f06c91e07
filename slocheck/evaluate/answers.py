"""What is checked in every answer before it is judged (pure).

The client has already made sure that Prometheus said ``success`` and answered the kind of
result that was asked (:func:`slocheck.prom.client.read_answer`). Here, per SLO:

* ``warnings`` (a partial response: a store, shard or replica did not answer) make it ``error``
  unless the spec says ``prometheus.accept_partial: true``;
* duplicate series (the same labels twice, or once per replica) are never summed: ``error``
  naming the fix, unless ``prometheus.dedup_labels`` says which labels tell replicas apart (then
  one replica's series is kept);
* a series with samples in the window but not one clean (finite, not negative) is ``no_data``;
* counts beyond 2**53, where a float stops counting by one, are ``error``;
* a ``promql`` SLI that evaluates to NaN or +-Inf is ``no_data``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from slocheck.evaluate.counters import Series, Totals, labels_text, sum_deltas
from slocheck.evaluate.verdicts import Builder, SliData, SloResult
from slocheck.verdict import Verdict

#: The labels Thanos and Prometheus HA pairs conventionally tell replicas apart by.
REPLICA_LABELS = ("replica", "prometheus_replica")
#: Past this a float64 cannot count by one: increments are no longer exact.
EXACT_COUNT = 2.0**53


def _fail(b: Builder, verdict: Verdict, check: str, why: str, data: SliData) -> SloResult:
    """The verdict of a failed check, with the query and the check in ``details``. Its gate
    never passes, whatever ``on_no_data`` says: the data is there, and cannot be trusted."""
    b.details["check"] = check
    b.details["query"] = data.query
    kw: dict[str, Any] = {}
    if b.slo.sli == "promql":
        kw = {"unit": "number", "op": b.slo.op}
    result = b.result(verdict, why, **kw)
    if result.gate == Verdict.PASS:
        gate = Verdict.WARN if b.slo.severity == "warning" else Verdict.FAIL
        return replace(result, gate=gate)
    return result


def partial(b: Builder, data: SliData, accept: bool) -> SloResult | None:
    """``error`` for an answer that carried warnings, unless they are accepted (then noted)."""
    if not data.warnings:
        return None
    warnings = list(dict.fromkeys(data.warnings))
    b.details["warnings"] = warnings
    shown = "; ".join(warnings[:3])
    if accept:
        b.details.setdefault("notes", []).append(
            f"judged a partial answer (prometheus.accept_partial: true): {shown}"
        )
        return None
    return _fail(
        b,
        Verdict.ERROR,
        "partial_response",
        f"Prometheus answered with warnings ({shown}): a partial answer may leave out "
        "the very series that count (the errors), so it is not judged; fix the store that "
        "did not answer, or set prometheus.accept_partial: true to judge partial answers",
        data,
    )


def _most_samples(s: Series) -> tuple[int, list[tuple[str, str]]]:
    return len(s.samples), sorted(s.labels.items())


def dedup(series: Sequence[Series], dedup_labels: Sequence[str]) -> tuple[list[Series], str]:
    """``series`` with the replicas ``dedup_labels`` name merged (of the series alike but for
    those labels, the one with the most samples is kept); and what is still duplicated, in
    words ("" when nothing): series alike but for a replica label, or such a label with several
    values."""
    out = list(series)
    if dedup_labels:
        groups: dict[tuple[tuple[str, str], ...], list[Series]] = {}
        for s in series:
            key = tuple(sorted((k, v) for k, v in s.labels.items() if k not in dedup_labels))
            groups.setdefault(key, []).append(s)
        out = [max(g, key=_most_samples) for g in groups.values()]
    names = [n for n in REPLICA_LABELS if n not in dedup_labels]
    seen: dict[tuple[tuple[str, str], ...], list[Series]] = {}
    for s in out:
        key = tuple(sorted((k, v) for k, v in s.labels.items() if k not in names))
        seen.setdefault(key, []).append(s)
    twice = [(dict(k), g) for k, g in seen.items() if len(g) > 1]
    if twice:
        labels, group = twice[0]
        per = [
            f"{n}={', '.join(sorted({s.labels[n] for s in group if n in s.labels}))}"
            for n in names
            if any(n in s.labels for s in group)
        ]
        how = f"once per replica ({'; '.join(per)})" if per else "the same series twice"
        more = f"; and {len(twice) - 1} more such group(s)" if len(twice) > 1 else ""
        return out, f"{len(group)} series with the labels {labels_text(labels)}: {how}{more}"
    for name in names:
        values = sorted({s.labels[name] for s in out if name in s.labels})
        if len(values) > 1:
            return out, f"series from several replicas ({name}={', '.join(values[:4])})"
    return out, ""


def deduplicated(b: Builder, data: SliData, dedup_labels: Sequence[str]) -> SliData | SloResult:
    """``data`` with every list of series deduplicated; ``error`` when duplicates remain."""
    merged: dict[str, list[Series] | None] = {}
    for field in ("series", "total_series", "error_series"):
        series = getattr(data, field)
        if series is None:
            merged[field] = None
            continue
        kept, problem = dedup(series, dedup_labels)
        if problem:
            return _fail(
                b,
                Verdict.ERROR,
                "duplicate_series",
                f"{data.query} answered {problem}: an undeduplicated Thanos, or a Prometheus "
                "HA pair behind one URL? Duplicates are never summed. Set "
                "prometheus.dedup_labels: [replica] (the labels that tell replicas apart) to "
                "keep one replica's series, or query a deduplicating endpoint (Thanos Query "
                "with --query.replica-label)",
                data,
            )
        if len(kept) < len(series):
            b.details.setdefault("notes", []).append(
                f"{len(series) - len(kept)} replica series dropped "
                f"(prometheus.dedup_labels: {', '.join(dedup_labels)})"
            )
        merged[field] = kept
    return replace(data, **merged)  # type: ignore[arg-type]


def clean_samples(b: Builder, data: SliData) -> SloResult | None:
    """``no_data`` when a series has no clean sample in the window; ``error`` for counts beyond
    2**53."""
    for series in (data.series, data.total_series, data.error_series):
        if not series:
            continue
        totals: Totals = sum_deltas(series, b.window.start, b.window.read_until)
        if totals.unusable:
            b.details.setdefault("notes", []).extend(totals.notes)
            b.details["unusable_series"] = totals.unusable
            return _fail(
                b,
                Verdict.NO_DATA,
                "unclean_samples",
                f"{len(totals.unusable)} series of {data.query} have no clean sample in the "
                f"window (only NaN, infinite or negative values), e.g. {totals.unusable[0]}: "
                "what they counted is unknown, so no verdict",
                data,
            )
        if totals.largest > EXACT_COUNT:
            b.details["largest_sample"] = totals.largest
            return _fail(
                b,
                Verdict.ERROR,
                "magnitude",
                f"{data.query} holds values up to {totals.largest:.3g}, beyond 2**53 "
                f"({EXACT_COUNT:,.0f}) where a float no longer counts by one: its increases "
                "are not exact, so no verdict (a corrupt or mis-scaled counter?)",
                data,
            )
    return None


def finite_value(b: Builder, data: SliData) -> SloResult | None:
    """``no_data`` for a ``promql`` SLI whose one value is NaN or +-Inf."""
    values = list(data.values or [])
    if len(values) != 1 or math.isfinite(values[0]):
        return None
    v = values[0]
    shown = "NaN" if math.isnan(v) else ("+Inf" if v > 0 else "-Inf")
    b.details["returned"] = shown
    why = "0/0: nothing was counted" if math.isnan(v) else "a division by zero?"
    return _fail(
        b,
        Verdict.NO_DATA,
        "non_finite",
        f"the query returned {shown} ({why}); a value that is not finite is never "
        f"judged: {data.query}",
        data,
    )


def checked(
    b: Builder, data: SliData, *, accept_partial: bool, dedup_labels: Sequence[str]
) -> SliData | SloResult:
    """``data`` ready to be judged, or the verdict of the first check it fails."""
    if (early := partial(b, data, accept_partial)) is not None:
        return early
    if b.slo.sli == "promql":
        return finite_value(b, data) or data
    data_or_result = deduplicated(b, data, dedup_labels)
    if isinstance(data_or_result, SloResult):
        return data_or_result
    return clean_samples(b, data_or_result) or data_or_result
