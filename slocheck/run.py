"""``slocheck run``: the embedded stack (or your service and Prometheus), a real load, the
verdicts over exactly the load window, cross-checks, and every report."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from slocheck.errors import InfrastructureError, PrometheusError, UsageError
from slocheck.evaluate import Window
from slocheck.evaluate.counters import histogram_buckets, quantile, sum_deltas
from slocheck.evaluate.plan import selector
from slocheck.load import LoadConfig, LoadResult, Progress, run_load, summarise
from slocheck.load.stats import merged
from slocheck.prom.client import HttpPromClient, PromClient, redact_url
from slocheck.prom.managed import start_prometheus
from slocheck.prom.scrape import ScrapeWaits
from slocheck.spec import LoadedSpec, LoadSpec
from slocheck.stack import READY_TIMEOUT, EmbeddedService, wait_until_ready
from slocheck.units import format_duration
from slocheck.verify import VerifyResult, client_for, verify

RunVerdict = Literal["pass", "warn", "fail", "inconclusive", "interrupted", "error"]
MIN_ACHIEVED = 0.9
EMBEDDED_JOB = "slocheck"
DISCOVERY_TICK_S = 5.0


@dataclass(frozen=True)
class RunOptions:
    out_dir: Path
    target_url: str | None = None
    prometheus_url: str | None = None
    users: int | None = None
    duration: float | None = None
    warmup: float | None = None
    rate: float | None = None
    scenario: str | None = None
    processes: int = 1


@dataclass
class CrossCheck:
    name: str
    ok: bool
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunResult:
    verdict: RunVerdict
    verify: VerifyResult | None
    load: LoadResult
    checks: list[CrossCheck]
    target_url: str
    prometheus_url: str
    embedded: bool
    out_dir: Path
    spec: LoadedSpec
    client: dict[str, Any] = field(default_factory=dict)
    error: str | None = None  # verdict "error": what broke after the load ran (exit 3)


def load_config(spec: LoadSpec, options: RunOptions, host: str, models: str) -> LoadConfig:
    mix = {"classifier": "classify=1", "generator": "generate=1"}.get(
        models, "classify=9,generate=1"
    )
    return LoadConfig(
        host=host,
        scenario=options.scenario or spec.scenario,
        users=options.users or spec.users,
        spawn_rate=spec.spawn_rate,
        duration=options.duration or spec.duration,
        warmup=spec.warmup if options.warmup is None else options.warmup,
        rate=options.rate or spec.rate,
        processes=options.processes,
        mix=mix,
    )


def _loopback_target(url: str) -> str:
    parts = urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise UsageError(
            f"the embedded Prometheus only scrapes services on this machine; give "
            f"--prometheus-url for {url}"
        )
    return f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


def client_stats(load: LoadResult) -> dict[str, Any]:
    snap = load.snapshot
    lo = load.window_start
    out: dict[str, Any] = {"window": {}, "whole_run": {}, "status": snap.status}
    for name, seconds in snap.requests.items():
        out["window"][name] = summarise(seconds, lo=lo).to_dict()
        out["whole_run"][name] = summarise(seconds).to_dict()
    for name, seconds in snap.metrics.items():
        out["window"][name] = summarise(seconds, lo=lo).to_dict()
    return out


def unanswered_in(load: LoadResult) -> int:
    """Requests of the judged window that got no HTTP answer (the service was down)."""
    lo = load.window_start
    return sum(
        slot.unanswered
        for seconds in load.snapshot.requests.values()
        for sec, slot in seconds.items()
        if sec >= lo
    )


def _server_counts(client: PromClient, sel: str, since: float, window: Window) -> dict[str, float]:
    series = client.fetch_samples(
        selector("http_requests_total", sel), since - 60, window.read_until
    )
    by_endpoint: dict[str, list[Any]] = {}
    for s in series:
        by_endpoint.setdefault(s.labels.get("endpoint", ""), []).append(s)
    return {ep: sum_deltas(ss, since, window.read_until).total for ep, ss in by_endpoint.items()}


def cross_checks(
    result_load: LoadResult, client: PromClient, sel: str, launched: float, window: Window
) -> list[CrossCheck]:
    checks = []
    snap = result_load.snapshot
    # 1. the requests the client saw answered vs what the server counted, over the whole run
    server = _server_counts(client, sel, launched, window)
    sent = {
        name: sum(
            n for code, n in snap.status.get(name, {}).items() if code.isdigit() and code != "0"
        )
        for name in snap.requests
    }
    compared = {ep: (sent.get(ep, 0), n) for ep, n in server.items() if ep in sent}
    if compared:
        diffs = {ep: s - c for ep, (c, s) in compared.items()}
        ok = all(d == 0 for d in diffs.values())
        text = ", ".join(
            f"{ep}: client {c:,.0f}, server {s:,.0f}" for ep, (c, s) in compared.items()
        )
        agree = f"client and server counts agree exactly ({text})"
        differ = (
            f"client and server counts differ ({text}): scrapes were lost, the selector "
            "is wrong, or something else sends traffic"
        )
        checks.append(
            CrossCheck("request_counts", ok, agree if ok else differ, {"compared": compared})
        )
    else:
        checks.append(
            CrossCheck(
                "request_counts",
                False,
                "no endpoint the client loaded is in "
                f"http_requests_total{{{sel}}}: is the selector right?",
                {},
            )
        )
    # 2. client P95 vs the server's P95 bucket, over the window, on the same endpoints
    buckets_series = client.fetch_samples(
        selector("http_request_duration_seconds_bucket", sel), window.start - 60, window.read_until
    )
    buckets, _ = histogram_buckets(buckets_series, window.start, window.read_until)
    server_p95 = quantile(0.95, buckets)
    endpoints = {s.labels.get("endpoint") for s in buckets_series}
    tables = [secs for name, secs in snap.requests.items() if name in endpoints]
    client_p95 = summarise(merged(tables), lo=window.start).percentiles_s.get("95")
    if server_p95 is not None and client_p95 is not None:
        inside = server_p95.lower <= client_p95 <= server_p95.upper
        where = f"({format_duration(server_p95.lower)}, {format_duration(server_p95.upper)}]"
        shown = format_duration(client_p95)
        message = (
            f"client P95 {shown} lies in the server's P95 bucket {where}"
            if inside
            else f"client P95 {shown} vs the server's P95 bucket {where}: the client also "
            "counts the network and its own queueing (it shares the CPU here)"
        )
        checks.append(
            CrossCheck(
                "p95_agreement",
                True,
                message,
                {
                    "client_p95_s": client_p95,
                    "server_lower_s": server_p95.lower,
                    "server_upper_s": server_p95.upper,
                    "within_bucket": inside,
                },
            )
        )
    # 3. achieved vs requested load: less than asked for is never a pass
    cfg = result_load.config
    seconds = max(result_load.stopped_at - result_load.window_start, 1e-9)
    in_window = sum(summarise(s, lo=result_load.window_start).count for s in snap.requests.values())
    achieved = in_window / seconds
    if cfg.rate:
        ok = achieved >= MIN_ACHIEVED * cfg.rate
        text = f"achieved {achieved:,.1f} of the requested {cfg.rate:g} requests/s"
    else:
        peak = int(snap.marks.get("peak_users", 0))
        ok = peak >= cfg.users
        text = f"{peak} of {cfg.users} users ran; {achieved:,.1f} requests/s"
    checks.append(
        CrossCheck(
            "achieved_load",
            ok,
            text
            + (
                ""
                if ok
                else f": below {MIN_ACHIEVED:.0%} of the load asked for, so the gate is "
                "inconclusive"
            ),
            {"achieved_rps": achieved, "requested_rps": cfg.rate, "requests_in_window": in_window},
        )
    )
    return checks


def first_scrape_due(started: float, prom: ScrapeWaits) -> float:
    """When a Prometheus started at ``started`` scrapes a new target at the latest (Prometheus
    hands discovered targets to its scrape loop on a 5 s tick, then waits up to one interval)."""
    return started + DISCOVERY_TICK_S + prom.scrape_interval


def _start_after_first_scrape(
    load: LoadResult, client: PromClient, launched: float, job: str
) -> list[CrossCheck]:
    """The window's counts start from a scrape at or before its start: when the first scrape
    came later than planned, the judged window starts at the first whole second after it."""
    ups = client.fetch_samples(f'up{{job="{job}"}}', launched - 60, max(load.stopped_at, launched))
    first = min((t for s in ups for t, _ in s.samples), default=None)
    if first is None and load.interrupted:  # stopped before any scrape: nothing to judge
        load.window_start = max(load.window_start, math.ceil(load.stopped_at))
        return []
    if first is None:
        raise PrometheusError(f"the managed Prometheus never scraped the target (job {job!r})")
    if first <= load.window_start:
        return []
    late = first - load.window_start
    load.window_start = math.ceil(first)
    return [
        CrossCheck(
            "first_scrape",
            True,
            f"Prometheus scraped the service first {late:.1f} s after the warm-up ended: the "
            "judged window starts at that scrape",
            {"first_scrape": first},
        )
    ]


def _watchdog(
    on_progress: Callable[[Progress], None] | None, prom: ScrapeWaits | None
) -> Callable[[Progress], None]:
    """Called every half second of the load: stop it at once when the managed Prometheus died
    (its window could never be judged)."""

    def watch(p: Progress) -> None:
        if prom is not None:
            prom.check_alive()
        if on_progress is not None:
            on_progress(p)

    return watch


def run(
    loaded: LoadedSpec,
    options: RunOptions,
    on_progress: Callable[[Progress], None] | None = None,
    on_phase: Callable[[str], None] | None = None,
) -> RunResult:
    spec = loaded.spec
    phase = on_phase or (lambda _msg: None)
    out = options.out_dir
    out.mkdir(parents=True, exist_ok=True)
    target = options.target_url or (spec.target.url if spec.target else None)
    prom_url = options.prometheus_url or spec.prometheus.url
    if prom_url and not target:
        raise UsageError(
            "a Prometheus you run cannot scrape the embedded service: give "
            "--target-url (or target.url) with --prometheus-url"
        )
    with contextlib.ExitStack() as stack:
        embedded = target is None
        service = EmbeddedService(spec.service, out / "service.log") if embedded else None
        target = service.url if service is not None else target
        assert target is not None
        if service is None:
            phase(f"waiting for {target} to answer")
            t = spec.target
            wait_until_ready(
                target, t.ready_path if t else None, t.ready_timeout if t else READY_TIMEOUT
            )
        managed = None
        if prom_url is None:
            phase("starting Prometheus")
            managed = start_prometheus(
                [_loopback_target(target)],
                job=EMBEDDED_JOB,
                scrape_interval=spec.prometheus.scrape_interval,
            )
            stack.callback(managed.stop)
            prom_url = managed.url
            client: PromClient = HttpPromClient(prom_url)
        else:
            client = client_for(spec.prometheus, prom_url)
        prom_started = time.time()
        if service is not None:
            phase("starting the embedded service")
            stack.enter_context(service)
        cfg = load_config(spec.load, options, target, spec.service.model if embedded else "")
        if managed is not None:
            # the warm-up overlaps Prometheus' discovery delay; the first scrape must still
            # come before the judged window opens
            time.sleep(max(0.0, first_scrape_due(prom_started, managed) - cfg.warmup - time.time()))
        phase(
            f"load: {cfg.scenario}, {cfg.users} users"
            + (f" at {cfg.rate:g} requests/s" if cfg.rate else "")
            + f", {format_duration(cfg.warmup)} warm-up + {format_duration(cfg.duration)}"
        )
        where = (redact_url(target), redact_url(prom_url), embedded, out, loaded)
        launched = time.time()
        load = run_load(cfg, out / "load", _watchdog(on_progress, managed))
        try:
            if load.aborted is not None:
                raise load.aborted
            phase("waiting for the final scrape")
            notes: list[CrossCheck] = []
            if managed is not None:
                settle = managed.wait_for_scrape_after(load.stopped_at) - load.stopped_at
                notes = _start_after_first_scrape(load, client, launched, managed.job)
            else:
                settle = 2 * spec.prometheus.scrape_interval
                time.sleep(min(settle, 60))
            if load.stopped_at <= load.window_start:
                short: RunVerdict = "interrupted" if load.interrupted else "inconclusive"
                return RunResult(short, None, load, [], *where, client_stats(load))
            window = Window(float(load.window_start), load.stopped_at, settle)
            phase("verifying")
            verified = verify(loaded, client, window, unanswered=unanswered_in(load))
            checks = notes + cross_checks(load, client, spec.prometheus.selector, launched, window)
        except InfrastructureError as e:
            # the load ran: keep what the client measured, in a report marked error (exit 3),
            # or interrupted (exit 130) when Ctrl-C came first
            broken: RunVerdict = "interrupted" if load.interrupted else "error"
            return RunResult(broken, None, load, [], *where, client_stats(load), error=str(e))
    verdict: RunVerdict = verified.verdict
    if load.interrupted:
        verdict = "interrupted"
    elif not all(c.ok for c in checks if c.name == "achieved_load"):
        # less load than asked for is never a pass; an SLO that plainly failed still fails
        real_fail = any(r.verdict == "fail" for r in verified.results)
        verdict = "fail" if real_fail else "inconclusive"
    return RunResult(verdict, verified, load, checks, *where, client_stats(load))
