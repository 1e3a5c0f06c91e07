"""The cross-checks of ``slocheck run``: does what the client saw agree with what the server
counted, did the load come as asked, did Prometheus scrape from the start of the window?

Pure: plain numbers, label dicts and fetched samples in, :class:`CrossCheck` out. The workflow
(``slocheck.workflows.run``) fetches the series and reads the client's tables first.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from slocheck.errors import PrometheusError
from slocheck.evaluate.counters import Series, histogram_buckets, quantile, sum_deltas
from slocheck.evaluate.plan import plan, selector
from slocheck.evaluate.verdicts import Window
from slocheck.spec.model import UNIT_SECONDS, SloSpec
from slocheck.spec.presets import PRESETS, Preset
from slocheck.units import format_duration

#: Less than this share of the requested rate is never a pass (the gate is inconclusive).
MIN_ACHIEVED = 0.9


@dataclass
class CrossCheck:
    name: str
    ok: bool
    message: str
    details: dict[str, Any] = field(default_factory=dict)


class SecondCounts(Protocol):
    """One second of one request name as the client recorded it (``load.stats.SecondStats``)."""

    count: int
    unanswered: int


#: Per request name, per whole second: the client's counts.
ClientTables = Mapping[str, Mapping[int, SecondCounts]]


def unanswered_in(requests: ClientTables, lo: float) -> int:
    """Requests from second ``lo`` on that got no HTTP answer (the service was down)."""
    return sum(
        slot.unanswered
        for seconds in requests.values()
        for sec, slot in seconds.items()
        if sec >= lo
    )


def requests_in(requests: ClientTables, lo: float) -> int:
    """Requests the client sent from second ``lo`` on, all names together."""
    return sum(
        slot.count for seconds in requests.values() for sec, slot in seconds.items() if sec >= lo
    )


def answered_by_client(
    status: Mapping[str, Mapping[str, int]], names: Iterable[str]
) -> dict[str, int]:
    """Per request name: the requests answered with an HTTP status (code ``0``: no answer)."""
    return {
        name: sum(n for code, n in status.get(name, {}).items() if code.isdigit() and code != "0")
        for name in names
    }


#: The labels that name a request's route, by instrumentation: slocheck serve (``endpoint``),
#: prometheus-fastapi-instrumentator (``handler``), OpenTelemetry (``http_route``), others.
ENDPOINT_LABELS = ("endpoint", "handler", "http_route", "route", "path")
REQUESTS_METRIC = "http_requests_total"
REQUEST_SLIS = ("availability", "error_ratio", "throughput")
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


def server_metrics(slos: Iterable[SloSpec], preset: Preset | None = None) -> ServerMetrics:
    """The series of the spec's first request-counting SLO and first latency-histogram SLO (a
    spec that sets ``metric:`` has told which series count its requests), else the preset's
    (the reference service's names without one)."""
    slos = list(slos)
    counting = next((s for s in slos if s.sli in REQUEST_SLIS and s.measurement != "uptime"), None)
    timing = next((s for s in slos if s.sli in ("latency", "latency_ratio")), None)
    p = preset or PRESETS["slocheck"]
    if counting is not None and (counting.metric or preset is None):
        requests: str | None = plan(counting, "").fetch
    else:
        requests = p.requests.series if p.requests else None
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


def request_counts(
    sent: Mapping[str, int],
    server: Mapping[str, float],
    sel: str,
    metric: str = REQUESTS_METRIC,
) -> CrossCheck:
    """The requests the client saw answered vs what the server counted, per route; in all
    when the server has no route label (:data:`ALL`)."""
    if ALL in server:
        compared = {ALL: (sum(sent.values()), server[ALL])}
    else:
        compared = {}
        for ep, n in server.items():
            names = [name for name in sent if route_matches(ep, name)]
            if names:
                compared[ep] = (sum(sent[name] for name in names), n)
    if not compared:
        return CrossCheck(
            "request_counts",
            False,
            f"no endpoint the client loaded is in {metric}{{{sel}}} (by its "
            f"{' / '.join(ENDPOINT_LABELS)} label): is the selector right?",
            {},
        )
    diffs = {ep: s - c for ep, (c, s) in compared.items()}
    ok = all(d == 0 for d in diffs.values())
    text = ", ".join(f"{ep}: client {c:,.0f}, server {s:,.0f}" for ep, (c, s) in compared.items())
    agree = f"client and server counts agree exactly ({text})"
    differ = (
        f"client and server counts differ ({text}): scrapes were lost, the selector "
        "is wrong, or something else sends traffic"
    )
    return CrossCheck("request_counts", ok, agree if ok else differ, {"compared": compared})


def p95_agreement(
    buckets_series: Sequence[Series],
    window: Window,
    client_p95_s: float | None,
    bucket_seconds: float = 1.0,
) -> CrossCheck | None:
    """The client's P95 vs the server's P95 bucket over the window (informative: always ok);
    None when either side has no P95."""
    buckets, _ = histogram_buckets(buckets_series, window.start, window.read_until)
    buckets = buckets.scaled(bucket_seconds)
    server_p95 = quantile(0.95, buckets)
    if server_p95 is None or client_p95_s is None:
        return None
    inside = server_p95.lower <= client_p95_s <= server_p95.upper
    where = f"({format_duration(server_p95.lower)}, {format_duration(server_p95.upper)}]"
    shown = format_duration(client_p95_s)
    message = (
        f"client P95 {shown} lies in the server's P95 bucket {where}"
        if inside
        else f"client P95 {shown} vs the server's P95 bucket {where}: the client also "
        "counts the network and its own queueing (it shares the CPU here)"
    )
    return CrossCheck(
        "p95_agreement",
        True,
        message,
        {
            "client_p95_s": client_p95_s,
            "server_lower_s": server_p95.lower,
            "server_upper_s": server_p95.upper,
            "within_bucket": inside,
        },
    )


def achieved_load(
    requests_in_window: int,
    seconds: float,
    *,
    rate: float | None,
    users: int,
    peak_users: int,
) -> CrossCheck:
    """Achieved vs requested load: less than asked for is never a pass. With a ``rate``, the
    window's requests per second against it; without, the users that ran against ``users``."""
    achieved = requests_in_window / max(seconds, 1e-9)
    if rate:
        ok = achieved >= MIN_ACHIEVED * rate
        text = f"achieved {achieved:,.1f} of the requested {rate:g} requests/s"
    else:
        ok = peak_users >= users
        text = f"{peak_users} of {users} users ran; {achieved:,.1f} requests/s"
    if not ok:
        text += f": below {MIN_ACHIEVED:.0%} of the load asked for, so the gate is inconclusive"
    return CrossCheck(
        "achieved_load",
        ok,
        text,
        {"achieved_rps": achieved, "requested_rps": rate, "requests_in_window": requests_in_window},
    )


def dropped(dropped_in_window: int, sent_in_window: int) -> CrossCheck:
    """Open loop: sends dropped because every user (the in-flight bound) was busy for longer
    than the lateness bound. Load that was due and never sent was never measured, so any drop
    makes the gate inconclusive (never a pass)."""
    due = dropped_in_window + sent_in_window
    share = dropped_in_window / due if due else 0.0
    details = {"dropped": dropped_in_window, "sent": sent_in_window, "share": share}
    if dropped_in_window == 0:
        return CrossCheck("dropped", True, "no open-loop send was dropped", details)
    return CrossCheck(
        "dropped",
        False,
        f"{dropped_in_window:,} of {due:,} open-loop sends ({share:.1%}) were dropped: every "
        "user was busy (load.max_in_flight) for too long, so the gate is inconclusive",
        details,
    )


def first_scrape(
    ups: Sequence[Series], window_start: float, stopped_at: float, interrupted: bool, job: str
) -> tuple[float, list[CrossCheck]]:
    """The window's counts start from a scrape at or before its start: when the first scrape
    (the earliest sample of ``up{job=...}``) came later than planned, the judged window starts
    at the first whole second after it. Returns the window's start and the note to show."""
    first = min((t for s in ups for t, _ in s.samples), default=None)
    if first is None and interrupted:  # stopped before any scrape: nothing to judge
        return max(window_start, math.ceil(stopped_at)), []
    if first is None:
        raise PrometheusError(f"the managed Prometheus never scraped the target (job {job!r})")
    if first <= window_start:
        return window_start, []
    late = first - window_start
    note = CrossCheck(
        "first_scrape",
        True,
        f"Prometheus scraped the service first {late:.1f} s after the warm-up ended: the "
        "judged window starts at that scrape",
        {"first_scrape": first},
    )
    return math.ceil(first), [note]


@dataclass(frozen=True)
class CrossCheckInputs:
    """What :func:`cross_checks` judges, gathered by the run beforehand."""

    selector: str  #: the spec's ``prometheus.selector``
    launched: float  #: when the load started; the counts compare from there
    window: Window  #: the judged window
    client_answered: Mapping[str, int]  #: per request name: answered requests, whole run
    server_requests: Sequence[Series]  #: ``http_requests_total{selector}`` from launched - 60 s
    server_buckets: Sequence[Series]  #: the latency histogram's buckets from window start - 60 s
    client_p95_s: float | None  #: the client's P95 over the window, on the server's endpoints
    requests_in_window: int  #: the client's requests from the window's start on
    load_seconds: float  #: from the window's start to the load's stop
    requested_rate: float | None
    requested_users: int
    peak_users: int
    metrics: ServerMetrics = ServerMetrics()  #: the series the two server sides came from
    dropped_in_window: int | None = None  #: open loop: sends dropped from the window's start


def cross_checks(i: CrossCheckInputs) -> list[CrossCheck]:
    """Counts per endpoint, client vs server P95 (when both have one), achieved load."""
    m = i.metrics
    if m.requests is None:
        checks = [
            CrossCheck(
                "request_counts",
                True,
                "the server exports no request counter: nothing to compare the client's "
                "counts with (availability and throughput are judged from the client)",
            )
        ]
    else:
        counted = server_counts(i.server_requests, i.launched, i.window.read_until, m.route_label)
        checks = [request_counts(i.client_answered, counted, i.selector, m.requests)]
    p95 = p95_agreement(i.server_buckets, i.window, i.client_p95_s, i.metrics.bucket_seconds)
    if p95 is not None:
        checks.append(p95)
    checks.append(
        achieved_load(
            i.requests_in_window,
            i.load_seconds,
            rate=i.requested_rate,
            users=i.requested_users,
            peak_users=i.peak_users,
        )
    )
    if i.dropped_in_window is not None:
        checks.append(dropped(i.dropped_in_window, i.requests_in_window))
    return checks
