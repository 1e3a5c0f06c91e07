"""What each SLI asks Prometheus for (pure).

Built-in SLIs fetch the *raw samples* of one series selector over the window plus a look-back
(``fetch``), and compute exact counts from them (see :mod:`slocheck.evaluate.counters`).
``promql`` is the equivalent classic query, shown in every report so that a user can paste it
into Grafana; for the ``promql`` SLI it is the user's query, and it is what runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from slocheck.promql import Selector, selector
from slocheck.promql import duration as promql_duration
from slocheck.slofile.kinds import LATENCY_RATIO, kind
from slocheck.slofile.model import UNIT_SECONDS, SloSpec
from slocheck.slofile.presets import PRESETS, Histogram, Preset
from slocheck.slofile.sources import preset_series

WINDOW = "$window"


@dataclass(frozen=True)
class SliPlan:
    fetch: str | None  # a series selector whose raw samples are fetched; None for promql
    promql: str  # with $window for the window's length
    fetch_total: str | None = None  # sli ratio: the selector of all requests
    # requests SLIs: a counter of more errors, of requests ``fetch`` counts as answered well
    fetch_errors: str | None = None
    # histogram SLIs: the buckets of the histogram's older name, read when ``fetch`` has none
    fallback_fetch: str | None = None
    # requests SLIs: the label that tells a server error, and a regex its values match in full;
    # None: any of status, code, status_code, http_response_status_code starting with 5
    error_label: str | None = None
    error_values: str = "5.."
    unit: str = "s"  # histogram SLIs: the unit of the bucket bounds
    client: bool = False  # judged from the load generator's measurements only


def _histogram_base(metric: str) -> str:
    return metric.removesuffix("_bucket")


def plan(
    slo: SloSpec, base_selector: str, preset: Preset | None = None, *, client: bool = False
) -> SliPlan:
    """The server-side plan of ``slo`` (its preset's series unless it names ``metric:``), made by
    the planner of its kind's series (:data:`PLANNERS`); ``client``: the plan of what the load
    generator measured instead."""
    k = kind(slo.sli)
    if client:
        if k.client_measure is None:
            raise ValueError(f"sli {slo.sli} is only measured by the server")
        return SliPlan(None, f"client: {k.client_measure}", client=True, unit="s")
    return PLANNERS[k.series](slo, base_selector, preset)


def _plan_requests(slo: SloSpec, sel: str, preset: Preset | None) -> SliPlan:
    """A request counter: availability (or uptime from ``up``), the error ratio, throughput."""
    if slo.sli == "availability" and slo.measurement == "uptime":
        up = slo.metric or "up"
        return SliPlan(selector(up, sel), f"avg_over_time({selector(up, sel)}[{WINDOW}])")
    return _requests_plan(slo, sel, preset if slo.metric is None else None)


def _plan_counter(slo: SloSpec, sel: str, preset: Preset | None) -> SliPlan:
    """The rate of a counter (generated tokens)."""
    named = preset_series(slo, preset or PRESETS["slocheck"])
    counter = slo.metric or (named if isinstance(named, str) else None) or slo.metric_name
    series = selector(counter, sel)
    return SliPlan(series, f"sum(increase({series}[{WINDOW}])) / $window_seconds")


def _plan_histogram(slo: SloSpec, sel: str, preset: Preset | None) -> SliPlan:
    """A histogram's quantile, or its share under the threshold (``latency_ratio``)."""
    found = None if slo.metric else preset_series(slo, preset or PRESETS["slocheck"])
    hist = found if isinstance(found, Histogram) else None
    metric = _histogram_base(slo.metric or (hist.metric if hist else slo.metric_name))
    unit = hist.unit if hist is not None and "unit" not in slo.model_fields_set else slo.unit
    extra = hist.matchers if hist is not None else ""
    primary = _histogram_plan(slo, selector(metric + "_bucket", sel, extra), unit)
    if hist is None or hist.fallback is None:
        return primary
    older = _histogram_plan(slo, selector(hist.fallback + "_bucket", sel, extra), unit)
    return replace(
        primary,
        promql=f"({primary.promql}) or ({older.promql})",
        fallback_fetch=older.fetch,
    )


def _plan_ratio(slo: SloSpec, sel: str, preset: Preset | None) -> SliPlan:
    """The user's counters of good (or bad) requests and of all of them."""
    assert slo.total is not None
    counted = Selector.parse(slo.good or slo.bad or "").with_base(sel).render()
    total = Selector.parse(slo.total).with_base(sel).render()
    # "or vector(0)": a counter of errors has no series until the first error
    share = f"(sum(increase({counted}[{WINDOW}])) or vector(0)) / sum(increase({total}[{WINDOW}]))"
    return SliPlan(counted, share if slo.good else f"1 - {share}", fetch_total=total)


def _plan_query(slo: SloSpec, sel: str, preset: Preset | None) -> SliPlan:
    """The user's PromQL: it is what runs."""
    assert slo.query is not None
    return SliPlan(None, slo.query)


def _plan_client(slo: SloSpec, sel: str, preset: Preset | None) -> SliPlan:
    """No series: the load generator's records of each request (``SliKind.client_only``)."""
    return SliPlan(None, f"client: {kind(slo.sli).client_measure}", client=True, unit="s")


#: The planner of each shape of series a kind reads (``SliKind.series``).
PLANNERS: dict[str, Callable[[SloSpec, str, Preset | None], SliPlan]] = {
    "requests": _plan_requests,
    "histogram": _plan_histogram,
    "counter": _plan_counter,
    "ratio": _plan_ratio,
    "query": _plan_query,
    "client": _plan_client,
}


def _requests_plan(slo: SloSpec, sel: str, preset: Preset | None) -> SliPlan:
    counter = preset.requests if preset is not None else None
    of = Selector.parse(counter.series) if counter else Selector(slo.metric_name)
    series = of.with_base(sel).render()
    label, values = (counter.error_label, counter.error_values) if counter else ("status", "5..")
    total = sum_increase(series)
    # "or vector(0)": a counter has no error series until the first error
    bad = Selector.parse(series).add(f'{label}=~"{values}"').render()
    errors = f"({sum_increase(bad)} or vector(0))"
    also = (
        Selector.parse(counter.also_errors).with_base(sel).render()
        if counter and counter.also_errors
        else None
    )
    if also is not None:
        errors = f"({errors} + ({sum_increase(also)} or vector(0)))"
    promql = {
        "availability": f"1 - ({errors} / {total})",
        "error_ratio": f"{errors} / {total}",
        "throughput": f"{total} / $window_seconds",
    }[slo.sli]
    if counter is None:
        return SliPlan(series, promql)
    return SliPlan(series, promql, error_label=label, error_values=values, fetch_errors=also)


def sum_increase(series: str) -> str:
    """``sum(increase(series[$window]))``; for a selector of several metric names
    (``{__name__=~"a_success|a_failure"}``) the sum of each name's, since ``increase()`` drops
    the names and two series left with the same labels are an error in Prometheus."""
    sel = Selector.parse(series)
    several = sel.alternatives()
    if several is None or sel.metric:
        return f"sum(increase({series}[{WINDOW}]))"
    rest = [m for m in sel.matchers if m is not several]
    names = several.value.split("|")
    # the errors' own name pattern: keep the names it matches
    also = next((m for m in rest if m.label == "__name__" and m.op in ("=", "=~")), None)
    if also is not None:
        names = [n for n in names if re.fullmatch(also.value, n)] or names[:1]
        rest.remove(also)
    each = [Selector(n, tuple(rest)).render() for n in names]
    return "(" + " + ".join(f"(sum(increase({e}[{WINDOW}])) or vector(0))" for e in each) + ")"


def _histogram_plan(slo: SloSpec, bucket: str, unit: str) -> SliPlan:
    scale = UNIT_SECONDS[unit]
    if kind(slo.sli).family == LATENCY_RATIO:
        bound = round((slo.threshold or 0.0) / scale, 9)  # the threshold in the metric's unit
        le = le_matcher(bound)
        inf = 'le="+Inf"'
        return SliPlan(
            bucket,
            f"sum(increase({Selector.parse(bucket).add(le).render()}[{WINDOW}])) / "
            f"sum(increase({Selector.parse(bucket).add(inf).render()}[{WINDOW}]))",
            unit=unit,
        )
    q = (slo.percentile or 0) / 100
    in_seconds = "" if scale == 1.0 else f" * {scale:g}"
    return SliPlan(
        bucket,
        f"histogram_quantile({q:g}, sum by (le) (increase({bucket}[{WINDOW}])))" + in_seconds,
        unit=unit,
    )


def le_matcher(bound: float) -> str:
    """The ``le`` label of a bucket bound as servers write it: Python's clients ``1.0`` and
    ``0.25``, prometheus-cpp (Triton) and Go ``1`` and ``0.25``; Prometheus 2 keeps it as
    written, so a whole number matches both spellings."""
    forms = dict.fromkeys((repr(float(bound)), f"{bound:.12g}"))
    if len(forms) == 1:
        return f'le="{next(iter(forms))}"'
    return "le=~" + '"' + "|".join(f.replace(".", "\\\\.") for f in forms) + '"'


def render(promql: str, window_seconds: float) -> str:
    return promql.replace("$window_seconds", f"{window_seconds:g}").replace(
        WINDOW, promql_duration(window_seconds)
    )


_ERROR_MATCHER = re.compile(
    r'[A-Za-z_][A-Za-z0-9_]*\s*(=~|=)\s*"[^"]*[45]xx|[A-Za-z_][A-Za-z0-9_]*\s*(=~|=)\s*"[45]'
)
_ERROR_METRIC = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*(error|fail)[A-Za-z0-9_:]*", re.IGNORECASE)


def _numerator(query: str) -> str | None:
    """The left operand of the first division (outside quotes, selectors and ranges): the text
    from the start of its bracketed group to the ``/``; None without a division."""
    opened: list[int] = []  # where each open "(" is
    inner, quoted = 0, False  # depth of {} and [], inside a "..."
    for i, ch in enumerate(query):
        if ch == '"' and (i == 0 or query[i - 1] != "\\"):
            quoted = not quoted
        elif quoted:
            continue
        elif ch in "[{":
            inner += 1
        elif ch in "]}":
            inner -= 1
        elif inner:
            continue
        elif ch == "(":
            opened.append(i)
        elif ch == ")" and opened:
            opened.pop()
        elif ch == "/":
            return query[opened[-1] + 1 if opened else 0 : i]
    return None


def empty_numerator_warning(query: str) -> str | None:
    """A ``promql`` ratio whose numerator counts only errors has no series until the first
    error: on a healthy service the division is an empty vector, judged ``no_data``. None when
    the query is not such a ratio, or guards its numerator with ``or vector(0)``."""
    numerator = _numerator(query)
    if numerator is None or re.search(r"\bor\b[^/]*vector\s*\(\s*0", numerator):
        return None
    if not (_ERROR_MATCHER.search(numerator) or _ERROR_METRIC.search(numerator)):
        return None
    return (
        f"the numerator {numerator.strip()!r} counts errors only: it has no series until "
        "the first error, so on a healthy service the ratio is empty (no_data); write it as "
        "(sum(...) or vector(0)), or use a built-in SLI"
    )
