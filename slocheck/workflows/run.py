"""``slocheck run``: the embedded stack (or your service and Prometheus), a real load, the
verdicts over exactly the load window, cross-checks, and every report."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from slocheck.errors import InfrastructureError, UsageError
from slocheck.evaluate import Window
from slocheck.evaluate.counters import Series
from slocheck.evaluate.counts import (
    answered_by_client,
    endpoints_of,
    requests_in,
    route_matches,
    server_metrics,
    unanswered_in,
)
from slocheck.evaluate.crosscheck import CrossCheck, CrossCheckInputs, cross_checks, first_scrape
from slocheck.load import LoadConfig, LoadResult, Progress, run_load, stopping, summarise
from slocheck.load.client_stats import client_stats
from slocheck.load.config import BUILTIN_SCENARIOS, in_flight_for
from slocheck.load.stats import count_between, merged
from slocheck.prom.client import HttpPromClient, PromClient, redact_url
from slocheck.prom.managed import ManagedPrometheus, start_prometheus
from slocheck.prom.scrape import ScrapeWaits
from slocheck.promql import Selector
from slocheck.results import Ending, RunResult
from slocheck.slofile import LoadedSpec, LoadSpec
from slocheck.slofile.kinds import KINDS
from slocheck.slofile.model import SloSpec, TargetSpec, TokenLength
from slocheck.slofile.presets import Preset
from slocheck.slofile.sources import LoadKind, named_preset
from slocheck.supervise import spawn
from slocheck.verdict import Verdict
from slocheck.workflows.client_slis import client_slis
from slocheck.workflows.endings import (
    Stage,
    Where,
    broken,
    client_stats_anyway,
    ended,
    load_text,
)
from slocheck.workflows.generate import write_rules
from slocheck.workflows.outdir import claimed
from slocheck.workflows.prechecks import (
    check_files,
    check_prometheus,
    metric_warnings,
    metrics_page,
    resolved,
    spec_base,
)
from slocheck.workflows.stack import (
    READY_TIMEOUT,
    EmbeddedService,
    loopback_target,
    ready_paths,
    wait_until_ready,
)
from slocheck.workflows.verify import client_for, verify

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
    expect_workers: int = 0  #: Locust workers (``slocheck worker``) the load runs on; 0: local
    master_bind: tuple[str, int] = ("*", 5557)  #: where the master listens for them
    workers_timeout: float = 60.0  #: how long it waits for them (exit 3 after)
    #: load the production rules (``slocheck generate``) into the managed Prometheus (or read
    #: the alerts of yours) and report the alerts that went pending or fired
    with_rules: bool = False
    arrival: str | None = None  #: overrides load.arrival (closed | open)

    @property
    def service_host(self) -> str:
        """Where the embedded service listens: on the master's bind address when workers on
        other machines must reach it, else on loopback."""
        host = self.master_bind[0]
        if self.expect_workers and host not in ("*", "0.0.0.0", "::", ""):
            return host
        return "127.0.0.1"


def load_config(
    spec: LoadSpec,
    options: RunOptions,
    host: str,
    models: str,
    *,
    target: TargetSpec | None = None,
    base: Path | None = None,
    slos: Sequence[SloSpec] = (),
) -> LoadConfig:
    """The load of a spec (its ``load:`` and ``target:`` API settings), with the command's
    overrides; files named in the spec are relative to its folder (``base``). An open loop
    given neither ``users`` nor ``max_in_flight`` gets enough requests in flight to keep
    sending through a stall of several times the largest latency threshold of ``slos``."""
    mix = {"classifier": "classify=1", "generator": "generate=1"}.get(
        models, "classify=9,generate=1"
    )

    def path(name: str | None) -> Path | None:
        return None if name is None else resolved(name, base)

    def tokens(t: TokenLength | None) -> tuple[float, float] | None:
        return None if t is None else (t.mean, t.stddev)

    t = target or TargetSpec()
    arrival = options.arrival or spec.arrival
    rate = options.rate or spec.rate
    users = options.users or spec.users
    max_in_flight = spec.max_in_flight
    thresholds = [s.threshold for s in slos if KINDS[s.sli].times_requests and s.threshold]
    told = options.users is not None or "users" in spec.model_fields_set
    if arrival == "open" and rate and max_in_flight is None and not told and thresholds:
        max_in_flight = in_flight_for(rate, max(thresholds), at_least=users)
    return LoadConfig(
        host=host,
        scenario=options.scenario
        or (spec.scenario if spec.scenario in BUILTIN_SCENARIOS else str(path(spec.scenario))),
        users=users,
        spawn_rate=spec.spawn_rate,
        duration=options.duration or spec.duration,
        warmup=spec.warmup if options.warmup is None else options.warmup,
        rate=rate,
        processes=options.processes,
        mix=mix,
        api=t.api,
        model=t.model,
        openai_endpoint=t.endpoint,
        stream=t.stream,
        prompts=path(spec.prompts),
        input_tokens=tokens(spec.input_tokens),
        output_tokens=tokens(spec.output_tokens),
        payload=path(spec.payload),
        http_method=t.method,
        http_path=t.path,
        seed=spec.seed,
        arrival=arrival,
        distribution=spec.distribution,
        max_in_flight=max_in_flight,
        workers=options.expect_workers,
        master_bind=options.master_bind,
        workers_timeout=options.workers_timeout,
    )


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

    def fetch(series: str | None, since: float) -> list[Series]:
        """The samples of one of the server's series (with the spec's selector) until the
        window's read; none when the server has no such series."""
        if series is None:
            return []
        return client.fetch_samples(_with_selector(series, sel), since, window.read_until)

    server_requests = fetch(metrics.requests, launched - 60)
    server_also_errors = fetch(metrics.also_errors if metrics.requests else None, launched - 60)
    server_buckets = fetch(metrics.buckets, window.start - 60)
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


def _with_selector(series: str, sel: str) -> str:
    """A series selector (``name{...}`` or ``{__name__=~...}``) with the spec's matchers."""
    return Selector.parse(series).with_base(sel).render()


def first_scrape_due(started: float, prom: ScrapeWaits) -> float:
    """When a Prometheus started at ``started`` scrapes a new target at the latest (Prometheus
    hands discovered targets to its scrape loop on a 5 s tick, then waits up to one interval)."""
    return started + DISCOVERY_TICK_S + prom.scrape_interval


def _start_after_first_scrape(
    load: LoadResult, client: PromClient, launched: float, job: str
) -> list[CrossCheck]:
    """Fetch the target's ``up`` samples; move the judged window's start to the first whole
    second after the first scrape when it came later than planned (see
    :func:`slocheck.evaluate.crosscheck.first_scrape`)."""
    ups = client.fetch_samples(f'up{{job="{job}"}}', launched - 60, max(load.stopped_at, launched))
    load.window_start, notes = first_scrape(
        ups, load.window_start, load.stopped_at, load.interrupted, job
    )
    return notes


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
    on_warning: Callable[[str], None] | None = None,
) -> RunResult:
    """Once the load has started, every ending returns a result to report (a stop signal at
    any moment, a later one only noted: :mod:`slocheck.load.stopping`; a load generator that
    dies or freezes; a dead Prometheus; a bug), :attr:`RunResult.ending` saying what happened.
    ``options.out_dir`` is the run's own while it runs (:func:`.outdir.claimed`). Before the
    load, :mod:`.prechecks` (exit 2 or 3 at once; ``on_warning``: an SLO's missing metric)."""
    with stopping.in_order(), claimed(options.out_dir):
        return _run(loaded, options, on_progress, Stage(on_phase), on_warning)


def _run(
    loaded: LoadedSpec,
    options: RunOptions,
    on_progress: Callable[[Progress], None] | None,
    phase: Stage,
    on_warning: Callable[[str], None] | None = None,
) -> RunResult:
    spec = loaded.spec
    out = options.out_dir
    target = options.target_url or (spec.target.url if spec.target else None)
    prom_url = options.prometheus_url or spec.prometheus.url
    if prom_url and not target:
        raise UsageError(
            "a Prometheus you run cannot scrape the embedded service: give "
            "--target-url (or target.url) with --prometheus-url"
        )
    check_files(loaded, options.scenario)
    yours = client_for(spec.prometheus, prom_url) if prom_url else None
    if yours is not None:
        phase(f"checking the Prometheus at {yours.shown_url}")
        check_prometheus(yours)  # exit 3 before anything starts
    load: LoadResult | None = None
    result: RunResult | None = None
    try:
        with contextlib.ExitStack() as stack:
            embedded = target is None
            service = (
                EmbeddedService(spec.service, out / "service.log", host=options.service_host)
                if embedded
                else None
            )
            target = service.url if service is not None else target
            assert target is not None
            if service is None:
                phase(f"waiting for {target} to answer")
                t = spec.target or TargetSpec()  # its url, maybe with a password, is target
                for path in ready_paths(t):
                    wait_until_ready(
                        target, path, t.ready_timeout if spec.target else READY_TIMEOUT
                    )
                for warning in metric_warnings(loaded, metrics_page(t, target), yours):
                    (on_warning or phase)(warning)
            managed = None
            if prom_url is None:
                phase("starting Prometheus")
                scraped = (spec.target.metrics_url if spec.target else None) or target
                rules = [write_rules(loaded, out)] if options.with_rules else []
                managed = start_prometheus(
                    [loopback_target(scraped, options.service_host)],
                    job=EMBEDDED_JOB,
                    scrape_interval=spec.prometheus.scrape_interval,
                    metrics_path=urlsplit(scraped).path or "/metrics"
                    if spec.target and spec.target.metrics_url
                    else "/metrics",
                    rule_files=rules,
                    launch=lambda args, log: spawn(args, log=log),  # ends when slocheck dies
                )
                stack.callback(managed.stop)
                prom_url = managed.url
                client: PromClient = HttpPromClient(prom_url)
            else:
                assert yours is not None
                client = yours
            prom_started = time.time()
            if service is not None:
                phase("starting the embedded service")
                service.launch()  # it starts while Locust does; waited for in hold()
                stack.callback(service.stop)
            elif managed is not None:
                # your service has counted requests before slocheck's Prometheus ever saw it:
                # the counts compare from a first scrape taken before any load (a series first
                # seen later is counted from 0, as one born during the load)
                phase("waiting for Prometheus' first scrape of the target")
                managed.wait_for_scrape_after(
                    prom_started, timeout=DISCOVERY_TICK_S + 5 * managed.scrape_interval + 10
                )
            cfg = load_config(
                spec.load,
                options,
                target,
                spec.service.model if embedded else "",
                target=spec.target,
                base=spec_base(loaded),
                slos=spec.slos,
            )

            def hold() -> float:
                """Locust starts meanwhile: the test starts once the embedded service is ready,
                and so that the warm-up overlaps Prometheus' discovery delay (the first scrape
                must still come before the judged window opens)."""
                if service is not None:
                    stack.enter_context(service)
                if managed is None:
                    return time.time()
                return first_scrape_due(prom_started, managed) - cfg.warmup

            phase(load_text(cfg), "the load")
            where = (redact_url(target), redact_url(prom_url), embedded, out, loaded)
            launched = time.time()
            load = run_load(cfg, out / "load", _watchdog(on_progress, managed), hold=hold)
            result = _judge(
                loaded,
                options,
                load,
                client=client,
                managed=managed,
                launched=launched,
                where=where,
                phase=phase,
            )
            phase.now = "stopping"
    except KeyboardInterrupt as e:
        if load is None:
            raise  # nothing ran yet: nothing to report
        if result is None:  # while judging: the load's own records are reported
            first = stopping.signal_name(e)
            result = broken(load, where, phase.now, signal=first)
        else:  # while stopping the stack: what was judged stays, marked interrupted
            result.verdict = Verdict.INTERRUPTED
            ending = result.ending or Ending(phase.now)
            if not ending.signals:
                ending = dataclasses.replace(ending, signals=(stopping.signal_name(e),))
            result.ending = ending
    return ended(result)


def _judge(
    loaded: LoadedSpec,
    options: RunOptions,
    load: LoadResult,
    *,
    client: PromClient,
    managed: ManagedPrometheus | None,
    launched: float,
    where: Where,
    phase: Stage,
) -> RunResult:
    """What the load did, judged: the final scrape, the SLOs over the window, the cross-checks.
    An error (a dead Prometheus, a bug) returns the client's records marked error; a stop
    signal propagates (KeyboardInterrupt) to :func:`_run`, which reports it."""
    spec = loaded.spec
    cfg = load.config
    try:
        if load.aborted is not None:
            phase.now = "the load"
            raise load.aborted
        phase("waiting for the final scrape", "waiting for the final scrape")
        stopping.pause_for_tests("final-scrape")
        notes: list[CrossCheck] = []
        if managed is not None:
            settle = managed.wait_for_scrape_after(load.stopped_at) - load.stopped_at
            notes = _start_after_first_scrape(load, client, launched, managed.job)
        else:
            settle = 2 * spec.prometheus.scrape_interval
            time.sleep(min(settle, 60))
        if load.stopped_at <= load.window_start:
            short: Verdict = Verdict.INTERRUPTED if load.interrupted else Verdict.INCONCLUSIVE
            return RunResult(short, None, load, [], *where, client_stats_anyway(load))
        window = Window(float(load.window_start), load.stopped_at, settle)
        phase("verifying", "verifying")
        stopping.pause_for_tests("verifying")
        unanswered = unanswered_in(load.snapshot.requests, load.window_start)
        kind: LoadKind = "open" if cfg.open_loop else "closed"
        measured = client_slis(spec, load.snapshot, window, kind)
        verified = verify(
            loaded,
            client,
            window,
            unanswered=unanswered,
            measured=measured,
            with_rules=options.with_rules,
            load=kind,
        )
        explicit = named_preset(spec)
        inputs = gather_cross_check_inputs(
            load,
            client,
            spec.prometheus.selector,
            launched,
            window,
            slos=spec.slos,
            preset=explicit,
        )
        checks = notes + cross_checks(inputs)
        stats = client_stats(load)
    except InfrastructureError as e:
        # the load ran: keep what the client measured, in a report marked error (exit 3),
        # or interrupted (exit 130) when a stop signal came first
        return broken(load, where, phase.now, error=str(e))
    except Exception as e:  # a bug: the load's records are still reported (exit 3)
        return broken(load, where, phase.now, error=f"internal error: {type(e).__name__}: {e}")
    verdict = run_verdict(
        verified.verdict,
        any(r.verdict == Verdict.FAIL for r in verified.results),
        checks,
        interrupted=load.interrupted,
    )
    return RunResult(verdict, verified, load, checks, *where, stats, alerts=verified.alerts)


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
