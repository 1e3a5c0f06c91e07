"""``slocheck run``: the embedded stack (or your service and Prometheus), a real load, the
verdicts over exactly the load window, cross-checks, and every report."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from slocheck.errors import UsageError
from slocheck.evaluate import Window
from slocheck.evaluate.counters import histogram_buckets, quantile, sum_deltas
from slocheck.evaluate.plan import selector
from slocheck.load import LoadConfig, LoadResult, Progress, run_load, summarise
from slocheck.load.stats import merged
from slocheck.prom.client import HttpPromClient, PromClient
from slocheck.prom.managed import start_prometheus
from slocheck.spec import LoadedSpec, LoadSpec
from slocheck.stack import EmbeddedService
from slocheck.units import format_duration
from slocheck.verify import VerifyResult, client_for, verify

RunVerdict = Literal["pass", "warn", "fail", "inconclusive", "interrupted"]
MIN_ACHIEVED = 0.9
EMBEDDED_JOB = "slocheck"


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
        if target is None:
            phase("starting the embedded service")
            target = stack.enter_context(EmbeddedService(spec.service, out / "service.log")).url
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
            managed.wait_for_scrape_after(time.time())  # every series is seen at 0 first
            client: PromClient = HttpPromClient(prom_url)
        else:
            client = client_for(spec.prometheus, prom_url)
        cfg = load_config(spec.load, options, target, spec.service.model if embedded else "")
        phase(
            f"load: {cfg.scenario}, {cfg.users} users"
            + (f" at {cfg.rate:g} requests/s" if cfg.rate else "")
            + f", {format_duration(cfg.warmup)} warm-up + {format_duration(cfg.duration)}"
        )
        launched = time.time()
        load = run_load(cfg, out / "load", on_progress)
        phase("waiting for the final scrape")
        if managed is not None:
            settle = managed.wait_for_scrape_after(load.stopped_at) - load.stopped_at
        else:
            settle = 2 * spec.prometheus.scrape_interval
            time.sleep(min(settle, 60))
        stats = client_stats(load)
        if load.stopped_at <= load.window_start:
            return RunResult(
                "interrupted" if load.interrupted else "inconclusive",
                None,
                load,
                [],
                target,
                prom_url,
                embedded,
                out,
                loaded,
                stats,
            )
        window = Window(float(load.window_start), load.stopped_at, settle)
        phase("verifying")
        verified = verify(loaded, client, window)
        checks = cross_checks(load, client, spec.prometheus.selector, launched, window)
    verdict: RunVerdict = verified.verdict
    if load.interrupted:
        verdict = "interrupted"
    elif not all(c.ok for c in checks if c.name == "achieved_load"):
        # less load than asked for is never a pass; an SLO that plainly failed still fails
        real_fail = any(r.verdict == "fail" for r in verified.results)
        verdict = "fail" if real_fail else "inconclusive"
    return RunResult(
        verdict, verified, load, checks, target, prom_url, embedded, out, loaded, stats
    )
