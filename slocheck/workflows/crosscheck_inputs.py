"""What the cross-checks of ``slocheck run`` judge, gathered after the load: the server's
series (those the spec's SLOs count requests and latency in) fetched from Prometheus, and the
client's tables read (:class:`~slocheck.evaluate.crosscheck.CrossCheckInputs`; the judgement
is :func:`slocheck.evaluate.crosscheck.cross_checks`)."""

from __future__ import annotations

from collections.abc import Sequence

from slocheck.evaluate import Window
from slocheck.evaluate.counters import Series
from slocheck.evaluate.counts import (
    ServerMetrics,
    answered_by_client,
    endpoints_of,
    requests_in,
    route_matches,
    server_metrics,
)
from slocheck.evaluate.crosscheck import CrossCheckInputs
from slocheck.load import LoadResult, summarise
from slocheck.load.stats import count_between, merged
from slocheck.prom.client import PromClient
from slocheck.promql import Selector
from slocheck.slofile.model import SloSpec
from slocheck.slofile.presets import Preset


def gather_cross_check_inputs(
    load: LoadResult,
    client: PromClient,
    sel: str,
    launched: float,
    window: Window,
    *,
    slos: Sequence[SloSpec] = (),
    preset: Preset | None = None,
) -> CrossCheckInputs:
    """Fetch the server's series (those the spec's SLOs count requests and latency in) and read
    the client's tables that the cross-checks judge."""
    snap = load.snapshot
    metrics = server_metrics(slos, preset)
    server_requests, server_also_errors, server_buckets = _server_series(
        client, metrics, sel, launched, window
    )
    endpoints = endpoints_of(server_buckets, metrics.route_label)
    tables = [
        secs
        for name, secs in snap.requests.items()
        if endpoints is None or any(ep and route_matches(ep, name) for ep in endpoints)
    ]
    cfg = load.config
    return CrossCheckInputs(
        selector=sel,
        launched=launched,
        window=window,
        client_answered=answered_by_client(snap.status, snap.requests),
        client_failed=snap.failed,
        server_requests=server_requests,
        server_also_errors=server_also_errors,
        server_buckets=server_buckets,
        # open loop: the server times the request from its actual send, as service_time does
        client_p95_s=summarise(
            snap.metrics.get("service_time", {}) if cfg.open_loop else merged(tables),
            lo=window.start,
        ).percentiles_s.get("95"),
        requests_in_window=requests_in(snap.requests, load.window_start),
        load_seconds=load.stopped_at - load.window_start,
        requested_rate=cfg.rate,
        requested_users=cfg.users,
        peak_users=int(snap.marks.get("peak_users", 0)),
        metrics=metrics,
        dropped_in_window=(
            count_between(snap.counts.get("dropped", {}), load.window_start)
            if cfg.open_loop
            else None
        ),
    )


def _server_series(
    client: PromClient, metrics: ServerMetrics, sel: str, launched: float, window: Window
) -> tuple[list[Series], list[Series], list[Series]]:
    """The server's requests, its other errors' counter and its latency buckets (each with
    the spec's selector) until the window's read; none of a series the server does not have."""

    def fetch(series: str | None, since: float) -> list[Series]:
        if series is None:
            return []
        return client.fetch_samples(_with_selector(series, sel), since, window.read_until)

    return (
        fetch(metrics.requests, launched - 60),
        fetch(metrics.also_errors if metrics.requests else None, launched - 60),
        fetch(metrics.buckets, window.start - 60),
    )


def _with_selector(series: str, sel: str) -> str:
    """A series selector (``name{...}`` or ``{__name__=~...}``) with the spec's matchers."""
    return Selector.parse(series).with_base(sel).render()
