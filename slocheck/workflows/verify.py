"""``slocheck verify``: judge a spec's SLOs over exactly one window of Prometheus data.

Wires stages: spec (already loaded) -> prom (fetch) -> evaluate (verdicts). Returns a
:class:`~slocheck.results.VerifyResult`; the CLI prints it and picks the exit code.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from slocheck.errors import UsageError
from slocheck.evaluate import (
    SliData,
    SliPlan,
    SloResult,
    Window,
    evaluate_slo,
    overall,
    plan,
    render,
)
from slocheck.evaluate.alerts import alerts_seen
from slocheck.evaluate.client_side import ClientSli, judge_client, stricter, with_ignored_failures
from slocheck.evaluate.counters import Series
from slocheck.evaluate.plan import empty_numerator_warning
from slocheck.evaluate.slices import slice_windows, with_slices
from slocheck.prom.client import HttpPromClient, PromClient, redact_url, warnings_of
from slocheck.promql import duration as promql_duration
from slocheck.results import VerifyResult
from slocheck.slofile import LoadedSpec, PrometheusSpec
from slocheck.slofile.model import SloSpec
from slocheck.slofile.sources import LoadKind, named_preset, preset_of, source_of
from slocheck.verdict import Verdict

#: At least this much history before the window is fetched, to find each counter's value at
#: the window's start (Prometheus' own default look-back is 5 minutes).
MIN_LOOKBACK = 60.0
#: How far before the window the alerts are read: one that went pending then counts too.
DISCOVERY_LOOKBACK_S = 60.0


def lookback(scrape_interval: float) -> float:
    return max(MIN_LOOKBACK, 10 * scrape_interval)


def client_for(prom: PrometheusSpec, url: str | None = None) -> HttpPromClient:
    """The real client for a spec's ``prometheus:`` block (``url`` overrides it)."""
    target = url or prom.url
    if not target:
        raise UsageError("no Prometheus URL: give --prometheus-url or prometheus.url in the spec")
    return HttpPromClient(
        target,
        headers=prom.headers,
        bearer_token_env=prom.bearer_token_env,
        basic_auth_env=prom.basic_auth_env,
        tls_verify=prom.tls_verify,
        timeout=prom.timeout,
        retries=prom.retries,
    )


def check_window(window: Window, now: float | None = None) -> None:
    if window.settle < 0:
        raise UsageError("the window's settle time cannot be negative")
    if window.start < 0:
        raise UsageError("the window starts before 1970")
    if window.end <= window.start:
        raise UsageError(
            f"the window is empty: end ({window.end:.3f}) is not after start ({window.start:.3f})"
        )
    if window.end > (now or time.time()) + 5:
        raise UsageError("the window ends in the future: its data does not exist yet")


def _server_result(
    slo: SloSpec,
    p: SliPlan,
    client: PromClient,
    window: Window,
    *,
    back: float,
    unanswered: int,
    prom: PrometheusSpec,
) -> SloResult:
    warned: list[str] = []  # what every answer warned of: it travels to the verdict
    if p.fetch is not None:
        series = client.fetch_samples(p.fetch, window.start - back, window.read_until)
        warned += warnings_of(series)
        fetched = [p.fetch]
        if not series and p.fallback_fetch is not None:  # an older server's name
            series = client.fetch_samples(p.fallback_fetch, window.start - back, window.read_until)
            warned += warnings_of(series)
            fetched = [p.fallback_fetch]

        def also(selector: str | None) -> list[Series] | None:
            if selector is None:
                return None
            fetched.append(selector)
            answer = client.fetch_samples(selector, window.start - back, window.read_until)
            warned.extend(warnings_of(answer))
            return answer

        total, errors = also(p.fetch_total), also(p.fetch_errors)
        span = promql_duration(window.read_until - window.start + back)
        data = SliData(
            series=series,
            total_series=total,
            error_series=errors,
            query=" and ".join(f"{f}[{span}] @ {window.read_until:.3f}" for f in fetched),
            unanswered=unanswered,
            warnings=warned,
        )
    else:
        query = render(p.promql, window.seconds)
        values = client.instant(query, window.end)
        data = SliData(
            values=values, query=f"{query} @ {window.end:.3f}", warnings=warnings_of(values)
        )
    return evaluate_slo(
        slo, p, data, window, accept_partial=prom.accept_partial, dedup_labels=prom.dedup_labels
    )


@dataclass(frozen=True)
class ClientMeasures:
    """What slocheck's load generator measured of a window (``slocheck run``): the requests
    that got no HTTP answer, what it measured per SLO name (``source: client | both``), and
    ``of``, the same of any part of the window (a slice, ``slice:``)."""

    unanswered: int = 0
    slis: Mapping[str, ClientSli] = field(default_factory=dict)
    of: Callable[[Window], ClientMeasures] | None = None


def verify(
    loaded: LoadedSpec,
    client: PromClient,
    window: Window,
    *,
    only: Sequence[str] | None = None,
    measured: ClientMeasures | None = None,
    with_rules: bool = False,
    load: LoadKind = None,
) -> VerifyResult:
    """Evaluate every SLO of ``loaded`` (or those named in ``only``) over ``window``.
    ``measured``: what the load generator measured (``slocheck run`` knows; see
    :class:`ClientMeasures`); without it the SLOs judged from the client are ``no_data``.
    ``with_rules``: also read the alerts of the rules ``slocheck generate`` writes (loaded
    into that Prometheus) that went pending or fired. ``load``: slocheck sent the window's load
    (closed or open loop): the SLOs that count failures are judged from both sides unless the
    spec says otherwise (see :func:`slocheck.slofile.sources.source_of`)."""
    check_window(window)
    spec = loaded.spec
    preset = preset_of(spec)
    explicit = named_preset(spec)
    back = lookback(spec.prometheus.scrape_interval)
    results = []
    warnings: list[str] = []

    def judged(slo: SloSpec, w: Window, unanswered: int, seen: ClientSli | None) -> SloResult:
        """One SLO over one window: the server's verdict, the client's, or the stricter."""
        source = source_of(slo, preset, load)
        result = None
        if source != "client":
            p = plan(slo, spec.prometheus.selector, explicit)
            result = _server_result(
                slo, p, client, w, back=back, unanswered=unanswered, prom=spec.prometheus
            )
            if source == "server" and seen is not None:
                result = with_ignored_failures(slo, result, seen)
        if source != "server":
            mine = judge_client(slo, plan(slo, "", client=True), seen, w)
            result = mine if result is None else stricter(result, mine)
        assert result is not None
        return result

    seen = measured or ClientMeasures()
    slices_seen: dict[tuple[float, float], ClientMeasures] = {}

    def of_slice(w: Window) -> ClientMeasures:
        """What the client measured of a slice, once for every SLO sliced alike."""
        key = (w.start, w.end)
        if key not in slices_seen:
            slices_seen[key] = seen.of(w) if seen.of is not None else ClientMeasures()
        return slices_seen[key]

    for slo in spec.slos:
        if only and slo.name not in only:
            continue
        result = judged(slo, window, seen.unanswered, seen.slis.get(slo.name))
        if slo.slice is not None:
            parts = []
            for w in slice_windows(window, slo.slice):
                part = of_slice(w)
                parts.append((w, judged(slo, w, part.unanswered, part.slis.get(slo.name))))
            result = with_slices(slo, result, parts)
        trap = empty_numerator_warning(slo.query) if slo.query else None
        if trap and result.verdict == Verdict.NO_DATA:
            warnings.append(f"{slo.name}: {trap}")
        lag = result.details.get("newest_sample_lag_seconds")
        if isinstance(lag, (int, float)) and lag > 3 * spec.prometheus.scrape_interval + 1:
            warnings.append(
                f"{slo.name}: the newest sample is {lag:.1f} s older than the window's "
                "end; the last scrapes may be missing"
            )
        results.append(result)
    alerts = None
    if with_rules:
        back_to = window.start - DISCOVERY_LOOKBACK_S
        alerts = alerts_seen(
            client.fetch_samples("ALERTS", back_to, window.read_until),
            window,
            spec.prometheus.scrape_interval,
        )
    return VerifyResult(
        spec_path=loaded.path,
        spec_sha256=loaded.sha256,
        prometheus_url=redact_url(getattr(client, "url", "")),
        window=window,
        results=results,
        verdict=overall(results),
        warnings=warnings,
        alerts=alerts,
    )
