"""The cross-checks of ``slocheck run``: does what the client saw agree with what the server
counted, did the load come as asked, did Prometheus scrape from the start of the window?

Pure: plain numbers, label dicts and fetched samples in, :class:`CrossCheck` out. The workflow
(``slocheck.workflows.run``) fetches the series and reads the client's tables first.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from slocheck.errors import PrometheusError
from slocheck.evaluate.counters import Series, histogram_buckets, quantile
from slocheck.evaluate.counts import (
    ALL,
    ENDPOINT_LABELS,
    REQUESTS_METRIC,
    ServerMetrics,
    failed_by_client,
    route_matches,
    server_counts,
    server_errors,
)
from slocheck.evaluate.details import CheckDetails
from slocheck.evaluate.verdicts import Window
from slocheck.units import format_duration
from slocheck.verdict import Verdict

#: Less than this share of the requested rate is never a pass (the gate is inconclusive).
MIN_ACHIEVED = 0.9


#: What a failed cross-check makes of the run (its ``ceiling``): ``fail``, or ``inconclusive``
#: (never a pass; a run whose SLO failed still fails).
CEILINGS = frozenset({Verdict.FAIL, Verdict.INCONCLUSIVE})


@dataclass
class CrossCheck:
    name: str
    ok: bool
    message: str
    details: CheckDetails = field(default_factory=CheckDetails)
    #: when not ok: the best verdict the run can still have (every cross-check that does not
    #: hold keeps the run from passing; ``fail`` when it shows failures the server missed)
    ceiling: Verdict = Verdict.INCONCLUSIVE


def _matched(route: str, names: Iterable[str]) -> list[str]:
    """The client's request names that the server's ``route`` counts (every one under
    :data:`ALL`, a server without a route label)."""
    return [name for name in names if route == ALL or route_matches(route, name)]


def _compare(
    client: Mapping[str, float], server: Mapping[str, float]
) -> dict[str, tuple[float, float]]:
    """Per route of the server's (or :data:`ALL`): the client's figure for the request names
    that route matches, and the server's."""
    if ALL in server:
        return {ALL: (sum(client.values()), server[ALL])}
    compared = {}
    for ep, n in server.items():
        if names := _matched(ep, client):
            compared[ep] = (sum(client[name] for name in names), n)
    return compared


def status_class(code: str) -> str:
    """A status as an error is reported: ``200 (stream failed)``, ``503``, ..."""
    return f"{code} (stream failed)" if code.startswith("2") else code


def _by_status(failed: Mapping[str, Mapping[str, int]], names: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for name in names:
        for code, n in failed.get(name, {}).items():
            out[status_class(code)] = out.get(status_class(code), 0) + n
    return dict(sorted(out.items()))


def _statuses(by_status: Mapping[str, int]) -> str:
    return ", ".join(f"{code}: {n:,}" for code, n in by_status.items())


#: Why the server counted fewer requests than the client saw answered, likeliest first.
FEWER_CAUSES = (
    "the server does not count some refusals or streamed failures",
    "scrapes were lost",
    "the selector matches only part of the service's series",
)
#: Why the server counted fewer errors than the client saw failures.
UNCOUNTED_CAUSES = (
    FEWER_CAUSES[0],
    "its error label does not mark them (error_values)",
    "the selector misses the series that count them",
)
#: Why it counted more requests.
MORE_CAUSES = (
    "something else sends traffic to the service",
    "the selector matches more than this service",
    "the server counts some requests twice",
)


def _causes(causes: Sequence[str]) -> str:
    return "; ".join(f"({i}) {c}" for i, c in enumerate(causes, 1))


def request_counts(
    sent: Mapping[str, int],
    server: Mapping[str, float],
    sel: str,
    metric: str = REQUESTS_METRIC,
    *,
    failed: Mapping[str, Mapping[str, int]] | None = None,
    server_failed: Mapping[str, float] | None = None,
) -> CrossCheck:
    """The requests the client saw answered vs what the server counted, per route; in all
    when the server has no route label (:data:`ALL`). A disagreement is never a pass: the
    run fails when the client saw more requests fail than the server counted as errors (the
    server's metrics undercount failures, they never overcount them), else it is
    inconclusive. ``failed``: per request name, the failures the client saw, by status;
    ``server_failed``: the server's errors, by route (see :func:`server_errors`)."""
    compared = _compare(sent, server)
    if not compared:
        return CrossCheck(
            "request_counts",
            False,
            f"no endpoint the client loaded is in {metric}{{{sel}}} (by its "
            f"{' / '.join(ENDPOINT_LABELS)} label): is the selector right?",
            {},
        )
    diffs = {ep: s - c for ep, (c, s) in compared.items()}
    text = ", ".join(f"{ep}: client {c:,.0f}, server {s:,.0f}" for ep, (c, s) in compared.items())
    details: CheckDetails = {"compared": compared}
    if all(d == 0 for d in diffs.values()):
        return CrossCheck(
            "request_counts", True, f"client and server counts agree exactly ({text})", details
        )
    loaded = {name for ep in compared for name in _matched(ep, sent)}
    seen = _by_status(failed or {}, loaded)
    client_failed = sum(seen.values())
    counted = sum((server_failed or {}).get(ep, 0.0) for ep in compared)
    shortfall = round(client_failed - counted)
    details |= {"client_failed": seen, "server_failed": counted, "uncounted": max(shortfall, 0)}
    if shortfall > 0 and any(d < 0 for d in diffs.values()):
        return CrossCheck(
            "request_counts",
            False,
            f"client and server counts differ ({text}): the server did not count "
            f"{shortfall:,} requests the client saw fail ({_statuses(seen)}; the server "
            f"counted {counted:,.0f} errors), so the run fails. Likely causes, in order: "
            + _causes(FEWER_CAUSES),
            details,
            ceiling=Verdict.FAIL,
        )
    causes = FEWER_CAUSES if any(d < 0 for d in diffs.values()) else MORE_CAUSES
    return CrossCheck(
        "request_counts",
        False,
        f"client and server counts differ ({text}), so the run is inconclusive. Likely "
        "causes, in order: " + _causes(causes),
        details,
        ceiling=Verdict.INCONCLUSIVE,
    )


def error_counts(
    failed: Mapping[str, Mapping[str, int]],
    server_failed: Mapping[str, float],
    metric: str = REQUESTS_METRIC,
) -> CrossCheck:
    """The failures the client saw answered vs the errors the server counted, per route (in
    all without a route label). Not ok when the server counted fewer: it does not see some
    failures (a status fixed before a stream failed, a refusal before its counter), so the
    run fails, whatever the SLOs that judged the client's count too (``source: both``)
    said: the server's metrics, which production alerts read, miss these failures."""
    compared = _compare({n: float(sum(c.values())) for n, c in failed.items()}, server_failed)
    if not compared:
        return CrossCheck(
            "error_counts",
            True,
            f"no endpoint the client loaded is in {metric}'s errors: nothing to compare",
        )
    rows = []
    short = 0.0
    for ep, (c, s) in compared.items():
        seen = _by_status(failed, _matched(ep, failed))
        short += max(c - s, 0.0)
        by_status = f" ({_statuses(seen)})" if seen else ""
        rows.append(f"{ep}: client {c:,.0f}{by_status}, server {s:,.0f}")
    text = "; ".join(rows)
    details: CheckDetails = {"compared": compared, "uncounted": round(short)}
    if short <= 0:
        return CrossCheck(
            "error_counts",
            True,
            f"the server counted every failure the client saw ({text})",
            details,
        )
    return CrossCheck(
        "error_counts",
        False,
        f"the server did not count {short:,.0f} requests the client saw fail ({text}), so "
        "the run fails: its metrics cannot be trusted to see these failures. Likely causes, "
        "in order: " + _causes(UNCOUNTED_CAUSES),
        details,
        ceiling=Verdict.FAIL,
    )


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
    details: CheckDetails = {"dropped": dropped_in_window, "sent": sent_in_window, "share": share}
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
    #: the series the two server sides came from
    metrics: ServerMetrics = field(default_factory=ServerMetrics)
    dropped_in_window: int | None = None  #: open loop: sends dropped from the window's start
    #: per request name, by status: answered requests the client saw fail, whole run
    client_failed: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    #: the ``also_errors`` counter's samples (see :class:`ServerMetrics`), from launched - 60 s
    server_also_errors: Sequence[Series] = ()


def cross_checks(i: CrossCheckInputs) -> list[CrossCheck]:
    """Counts and errors per endpoint, client vs server P95 (when both have one), achieved
    load, dropped open-loop sends."""
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
        since, until = i.launched, i.window.read_until
        counted = server_counts(i.server_requests, since, until, m.route_label)
        errors = server_errors(i.server_requests, since, until, m, i.server_also_errors)
        failed = failed_by_client(i.client_failed, i.client_answered)
        checks = [
            request_counts(
                i.client_answered,
                counted,
                i.selector,
                m.requests,
                failed=failed,
                server_failed=errors,
            ),
            error_counts(failed, errors, m.requests),
        ]
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


def run_verdict(
    verified: Verdict, any_slo_failed: bool, checks: Sequence[CrossCheck], *, interrupted: bool
) -> Verdict:
    """The run's verdict from the SLOs' and the cross-checks': a cross-check that does not
    hold keeps the run from passing (its ``ceiling``: inconclusive at best, as for less load
    than asked for, dropped open-loop sends, counts that disagree), and fails it when it
    shows failures the server did not count; an SLO that plainly failed still fails."""
    if interrupted:
        return Verdict.INTERRUPTED
    ceilings = {c.ceiling for c in checks if not c.ok}
    if Verdict.FAIL in ceilings:
        return Verdict.FAIL
    if Verdict.INCONCLUSIVE in ceilings:
        return Verdict.FAIL if any_slo_failed else Verdict.INCONCLUSIVE
    return verified
