"""What the client and the server counted, side by side (pure): the server's series the
cross-checks read (:class:`ServerMetrics`), its requests and errors per route, the route
labels and templates that match the client's request names, and the client's answered and
failed requests. :mod:`slocheck.evaluate.crosscheck` judges them."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from slocheck.evaluate.counters import Series, sum_deltas
from slocheck.evaluate.plan import plan
from slocheck.evaluate.verdicts import status_of
from slocheck.promql import selector
from slocheck.slofile.kinds import REQUESTS, kind
from slocheck.slofile.model import UNIT_SECONDS, SloSpec
from slocheck.slofile.presets import PRESETS, Preset


class SecondCounts(Protocol):
    """One second of one request name as the client recorded it (``load.stats.SecondStats``)."""

    count: int
    unanswered: int
    errors: int
    rejected: int


#: Per request name, per whole second: the client's counts.
ClientTables = Mapping[str, Mapping[int, SecondCounts]]


def unanswered_in(requests: ClientTables, lo: float, hi: float = math.inf) -> int:
    """Requests from second ``lo`` on (to second ``hi``, included) that got no HTTP answer
    (the service was down)."""
    return sum(
        slot.unanswered
        for seconds in requests.values()
        for sec, slot in seconds.items()
        if lo <= sec <= hi
    )


def failed_in(requests: ClientTables, lo: float) -> int:
    """Requests from second ``lo`` on that failed by the service's fault (5xx, broken streams,
    no answer; a 4xx the client caused is not the service's failure)."""
    return sum(
        slot.errors - slot.rejected
        for seconds in requests.values()
        for sec, slot in seconds.items()
        if sec >= lo
    )


def requests_in(requests: ClientTables, lo: float) -> int:
    """Requests the client sent from second ``lo`` on, all names together."""
    return sum(
        slot.count for seconds in requests.values() for sec, slot in seconds.items() if sec >= lo
    )


def answered(code: str) -> bool:
    """Whether a status label of the client's is an HTTP answer (``0``, ``error``: none)."""
    return code.isdigit() and code != "0"


def answered_by_client(
    status: Mapping[str, Mapping[str, int]], names: Iterable[str]
) -> dict[str, int]:
    """Per request name: the requests answered with an HTTP status (code ``0``: no answer)."""
    return {
        name: sum(n for code, n in status.get(name, {}).items() if answered(code)) for name in names
    }


def failed_by_client(
    failed: Mapping[str, Mapping[str, int]], names: Iterable[str]
) -> dict[str, dict[str, int]]:
    """Per request name: the requests answered that the client saw fail by the service's
    fault, by status (``200``: a stream that carried an error or broke)."""
    return {
        name: {code: n for code, n in failed.get(name, {}).items() if answered(code) and n}
        for name in names
    }


#: The labels that name a request's route, by instrumentation: slocheck serve (``endpoint``),
#: prometheus-fastapi-instrumentator (``handler``), OpenTelemetry (``http_route``), others.
ENDPOINT_LABELS = ("endpoint", "handler", "http_route", "route", "path")
REQUESTS_METRIC = "http_requests_total"
BUCKETS_METRIC = "http_request_duration_seconds_bucket"


@dataclass(frozen=True)
class ServerMetrics:
    """Which of the server's series the cross-checks read: the spec's own, when it names them.
    ``None``: the server has no such series (its SLIs are judged from the client)."""

    requests: str | None = REQUESTS_METRIC  #: a counter of answered requests
    buckets: str | None = BUCKETS_METRIC  #: a latency histogram's ``_bucket`` series
    bucket_seconds: float = 1.0  #: seconds per unit of its bounds (``unit: ms``: 0.001)
    #: the label naming the route; "": the server has none (totals are compared); None: the
    #: first of :data:`ENDPOINT_LABELS` the series carry
    route_label: str | None = None
    #: how the request counter's series tell a server error: a label and a regex its values
    #: match in full; None: a status label (status, code, ...) starting with 5
    error_label: str | None = None
    error_values: str = "5.."
    #: a counter of more failures, of requests ``requests`` counted as answered well (vLLM:
    #: the engine's ``finished_reason="error"`` of streams already answered 200)
    also_errors: str | None = None


def server_metrics(slos: Iterable[SloSpec], preset: Preset | None = None) -> ServerMetrics:
    """The series of the spec's first request-counting SLO and first latency-histogram SLO (a
    spec that sets ``metric:`` has told which series count its requests), else the preset's
    (the reference service's names without one)."""
    slos = list(slos)
    counting = next(
        (s for s in slos if kind(s.sli).family == REQUESTS and s.measurement != "uptime"), None
    )
    timing = next((s for s in slos if kind(s.sli).times_requests), None)
    p = preset or PRESETS["slocheck"]
    counter = None
    if counting is not None and (counting.metric or preset is None):
        counted = plan(counting, "")
        requests: str | None = counted.fetch
        label, values = counted.error_label, counted.error_values
    else:
        counter = p.requests if preset is not None else None
        requests = p.requests.series if p.requests else None
        label = counter.error_label if counter else None
        values = counter.error_values if counter else "5.."
    if timing is not None and (timing.metric or preset is None):
        timing_plan = plan(timing, "")
        buckets, unit = timing_plan.fetch, timing_plan.unit
    elif p.latency is not None:
        buckets = selector(p.latency.metric + "_bucket", "", p.latency.matchers)
        unit = p.latency.unit
    else:
        buckets, unit = None, "s"
    return ServerMetrics(
        requests=requests or REQUESTS_METRIC if preset is None else requests,
        error_label=label,
        error_values=values,
        also_errors=counter.also_errors if counter is not None else None,
        buckets=buckets or BUCKETS_METRIC if preset is None else buckets,
        bucket_seconds=UNIT_SECONDS[unit],
        route_label=(p.route_label or "") if preset is not None else None,
    )


ALL = "all requests"


def endpoint_label(series: Sequence[Series], known: str | None = None) -> str:
    """``known`` when given, else the first of :data:`ENDPOINT_LABELS` that the series carry
    (``endpoint`` when none). ``""``: no route label."""
    if known is not None:
        return known
    present = {name for s in series for name in s.labels}
    return next((name for name in ENDPOINT_LABELS if name in present), "endpoint")


def server_counts(
    series: Sequence[Series], since: float, until: float, label: str | None = None
) -> dict[str, float]:
    """Per route (see :func:`endpoint_label`): the increase of the requests counter over
    ``[since, until]``; with no route label, one total under :data:`ALL`."""
    label = endpoint_label(series, label)
    by_endpoint: dict[str, list[Series]] = {}
    for s in series:
        by_endpoint.setdefault(s.labels.get(label, "") if label else ALL, []).append(s)
    return {ep: sum_deltas(ss, since, until).total for ep, ss in by_endpoint.items()}


def server_errors(
    series: Sequence[Series],
    since: float,
    until: float,
    metrics: ServerMetrics,
    also: Sequence[Series] = (),
) -> dict[str, float]:
    """Like :func:`server_counts`, the server's errors: the series its error label marks, by
    route; the ``also_errors`` counter (which names no route) under :data:`ALL`."""
    if metrics.error_label is None:
        errors = [s for s in series if (status_of(s.labels) or "").startswith("5")]
    else:
        label, values = metrics.error_label, metrics.error_values
        errors = [s for s in series if re.fullmatch(values, s.labels.get(label, "\x00"))]
    if also:
        total = sum_deltas(errors, since, until).total if errors else 0.0
        return {ALL: total + sum_deltas(also, since, until).total}
    routes = server_counts(series, since, until, metrics.route_label)
    counted = server_counts(errors, since, until, endpoint_label(series, metrics.route_label))
    return {route: counted.get(route, 0.0) for route in routes}


def endpoints_of(series: Sequence[Series], label: str | None = None) -> set[str | None] | None:
    """The route labels of ``series``: the client's names to compare with them; None when the
    server has no route label (every name compares)."""
    label = endpoint_label(series, label)
    if not label or not any(label in s.labels for s in series):
        return None
    return {s.labels.get(label) for s in series}


_PLACEHOLDER = re.compile(r"\{[^{}/]*\}")


def route_matches(route: str, name: str) -> bool:
    """Whether the client's request ``name`` (a path) is the server's ``route``: the same
    text, or the route's template (``/v2/models/{model_name}/infer``, as MLServer and FastAPI
    label their requests) with each placeholder standing for one path segment."""
    if route == name:
        return True
    if "{" not in route:
        return False
    parts = _PLACEHOLDER.split(route)
    pattern = "[^/]+".join(re.escape(p) for p in parts)
    return re.fullmatch(pattern, name) is not None
