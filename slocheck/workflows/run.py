"""``slocheck run``: the embedded stack (or your service and Prometheus), a real load, the
verdicts over exactly the load window, cross-checks, and every report."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from slocheck.errors import InfrastructureError, UsageError
from slocheck.evaluate import Window
from slocheck.evaluate.crosscheck import (
    CrossCheck,
    cross_checks,
    first_scrape,
    run_verdict,
)
from slocheck.evaluate.tokens import max_tokens_honoured, prompt_lengths_agree
from slocheck.load import LoadConfig, LoadResult, Progress, run_load, stopping
from slocheck.load.client_stats import client_stats
from slocheck.load.config import LOCUSTFILES
from slocheck.prom.client import HttpPromClient, PromClient, redact_url
from slocheck.prom.managed import ManagedPrometheus, start_prometheus
from slocheck.prom.scrape import ScrapeWaits
from slocheck.results import Ending, RunResult, VerifyResult
from slocheck.results.load_settings import load_config
from slocheck.results.run_settings import RunOptions
from slocheck.slofile import LoadedSpec
from slocheck.slofile.model import TargetSpec
from slocheck.slofile.sources import LoadKind, named_preset
from slocheck.supervise import spawn
from slocheck.verdict import Verdict
from slocheck.workflows.abort import abort_rule, with_early_stop
from slocheck.workflows.client_slis import client_measures
from slocheck.workflows.crosscheck_inputs import gather_cross_check_inputs
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
    check_locustfile_path,
    check_prometheus,
    metric_warnings,
    metrics_page,
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

__all__ = ["RunOptions", "load_config", "run"]  # load_config: the options over the spec


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
    """The gate of ``slocheck run``: start the stack (the embedded service, or wait for
    yours; a managed Prometheus, or yours), configure the load and say what it will be, run
    it, verify the SLOs over exactly its window, cross-check what the client and the server
    counted, and return the result (the reports are the caller's).

    Before the load, :mod:`.prechecks` (exit 2 or 3 at once; ``on_warning``: an SLO's missing
    metric). Once the load has started, every ending returns a result to report (a stop
    signal at any moment, a later one only noted: :mod:`slocheck.load.stopping`; a load
    generator that dies or freezes; a dead Prometheus; a bug), :attr:`RunResult.ending` saying
    what happened. ``options.out_dir`` is the run's own while it runs (:func:`.outdir.claimed`);
    ``on_progress`` is called every half second of the load, ``on_phase`` at each step."""
    with stopping.in_order(), claimed(options.out_dir):
        return _run(_Run(loaded, options, Stage(on_phase), on_progress, on_warning))


@dataclass(frozen=True)
class _Run:
    """What every step of one run reads: the spec, the options and the callbacks."""

    loaded: LoadedSpec
    options: RunOptions
    phase: Stage
    on_progress: Callable[[Progress], None] | None = None
    on_warning: Callable[[str], None] | None = None


@dataclass
class _Stack:
    """What :func:`_start_stack` started: the target (the embedded service's, or yours), the
    Prometheus the verdicts read (the managed one, or yours) and when it started."""

    target: str
    client: PromClient
    prom_url: str
    service: EmbeddedService | None = None
    managed: ManagedPrometheus | None = None
    prom_started: float = 0.0

    @property
    def embedded(self) -> bool:
        return self.service is not None


def _run(r: _Run) -> RunResult:
    """The steps, and a result for every ending once the load has started."""
    yours = _check_before(r.loaded, r.options, r.phase)
    load: LoadResult | None = None
    result: RunResult | None = None
    where: Where | None = None
    try:
        with contextlib.ExitStack() as resources:
            started = _start_stack(r, yours, resources)
            cfg = _configure_load(r.loaded, r.options, started)
            r.phase(load_text(cfg), "the load")  # the progress sentence: what the load will be
            where = _where(r.loaded, r.options, started)
            launched = time.time()
            load = run_load(
                cfg,
                _load_dir(r.options),
                _watchdog(r.on_progress, started.managed),
                hold=_hold(started, cfg, resources),
                stop_when=abort_rule(r.loaded.spec, cfg, launched),
            )
            result = _judge(r, load, started, launched, where)
            r.phase.now = "stopping"
    except KeyboardInterrupt as e:
        if load is None or where is None:
            raise  # nothing ran yet: nothing to report
        result = _interrupted(load, result, where, r.phase, e)
    assert result is not None
    return ended(result)


def _load_dir(options: RunOptions) -> Path:
    """Where the load writes (Locust's log, the client snapshots, the workers' config file)."""
    return options.out_dir / "load"


def _check_before(loaded: LoadedSpec, options: RunOptions, phase: Stage) -> HttpPromClient | None:
    """The checks before anything starts (exit 2 or 3 at once): the spec's files, a target for
    a Prometheus of yours, your Prometheus answering. Returns your Prometheus' client."""
    spec = loaded.spec
    target = options.target_url or (spec.target.url if spec.target else None)
    prom_url = options.prometheus_url or spec.prometheus.url
    if prom_url and not target:
        raise UsageError(
            "a Prometheus you run cannot scrape the embedded service: give "
            "--target-url (or target.url) with --prometheus-url"
        )
    check_files(loaded, options.scenario)
    if options.expect_workers:  # the workers' config file is written there, for Locust's -f
        check_locustfile_path("--out", _load_dir(options))
    check_locustfile_path("slocheck's own locustfiles (where it is installed)", LOCUSTFILES)
    yours = client_for(spec.prometheus, prom_url) if prom_url else None
    if yours is not None:
        phase(f"checking the Prometheus at {yours.shown_url}")
        check_prometheus(yours)  # exit 3 before anything starts
    return yours


def _start_stack(r: _Run, yours: HttpPromClient | None, resources: contextlib.ExitStack) -> _Stack:
    """Step 1: the target (the embedded service, created here and launched below; or yours,
    waited for), the Prometheus (managed, or yours), then the service's launch (or, for your
    service and the managed Prometheus, the first scrape before any load)."""
    spec, options, phase = r.loaded.spec, r.options, r.phase
    target = options.target_url or (spec.target.url if spec.target else None)
    service = None
    if target is None:
        service = EmbeddedService(
            spec.service, options.out_dir / "service.log", host=options.service_host
        )
        target = service.url
    else:
        _wait_for_yours(r, target, yours)
    started = _start_prometheus(r, target, yours, resources)
    started.service = service
    if service is not None:
        phase("starting the embedded service")
        service.launch()  # it starts while Locust does; waited for in _hold()
        resources.callback(service.stop)
    elif started.managed is not None:
        # your service has counted requests before slocheck's Prometheus ever saw it: the
        # counts compare from a first scrape taken before any load (a series first seen later
        # is counted from 0, as one born during the load)
        phase("waiting for Prometheus' first scrape of the target")
        started.managed.wait_for_scrape_after(
            started.prom_started,
            timeout=DISCOVERY_TICK_S + 5 * started.managed.scrape_interval + 10,
        )
    return started


def _wait_for_yours(r: _Run, target: str, yours: HttpPromClient | None) -> None:
    """Your service: wait until it answers; warn of an SLO whose metric it does not have."""
    spec = r.loaded.spec
    r.phase(f"waiting for {target} to answer")
    t = spec.target or TargetSpec()  # its url, maybe with a password, is target
    for path in ready_paths(t):
        wait_until_ready(target, path, t.ready_timeout if spec.target else READY_TIMEOUT)
    for warning in metric_warnings(r.loaded, metrics_page(t, target), yours):
        (r.on_warning or r.phase)(warning)


def _start_prometheus(
    r: _Run, target: str, yours: HttpPromClient | None, resources: contextlib.ExitStack
) -> _Stack:
    """Yours when given, else a managed Prometheus scraping the target (with the production
    rules when ``with_rules``), stopped when the run ends."""
    loaded, options = r.loaded, r.options
    spec = loaded.spec
    if yours is not None:
        prom_url = options.prometheus_url or spec.prometheus.url
        assert prom_url is not None
        return _Stack(target, yours, prom_url, prom_started=time.time())
    r.phase("starting Prometheus")
    scraped = (spec.target.metrics_url if spec.target else None) or target
    own_path = spec.target is not None and spec.target.metrics_url
    managed = start_prometheus(
        [loopback_target(scraped, options.service_host)],
        job=EMBEDDED_JOB,
        scrape_interval=spec.prometheus.scrape_interval,
        metrics_path=urlsplit(scraped).path or "/metrics" if own_path else "/metrics",
        rule_files=[write_rules(loaded, options.out_dir)] if options.with_rules else [],
        launch=lambda args, log: spawn(args, log=log),  # ends when slocheck dies
    )
    resources.callback(managed.stop)
    client = HttpPromClient(managed.url)
    return _Stack(target, client, managed.url, managed=managed, prom_started=time.time())


def _configure_load(loaded: LoadedSpec, options: RunOptions, started: _Stack) -> LoadConfig:
    """Step 2: the load of the spec with the options' overrides, against the target."""
    return load_config(loaded, options, started.target, embedded=started.embedded)


def _where(loaded: LoadedSpec, options: RunOptions, started: _Stack) -> Where:
    return Where(
        target_url=redact_url(started.target),
        prometheus_url=redact_url(started.prom_url),
        embedded=started.embedded,
        out_dir=options.out_dir,
        spec=loaded,
    )


def _hold(started: _Stack, cfg: LoadConfig, resources: contextlib.ExitStack) -> Callable[[], float]:
    """When the test starts (Locust starts meanwhile): once the embedded service is ready,
    and so that the warm-up overlaps Prometheus' discovery delay (the first scrape must still
    come before the judged window opens)."""

    def hold() -> float:
        if started.service is not None:
            resources.enter_context(started.service)
        if started.managed is None:
            return time.time()
        return first_scrape_due(started.prom_started, started.managed) - cfg.warmup

    return hold


def _interrupted(
    load: LoadResult, result: RunResult | None, where: Where, phase: Stage, e: KeyboardInterrupt
) -> RunResult:
    """A stop signal after the load started: while judging, the load's own records are
    reported; while stopping the stack, what was judged stays, marked interrupted."""
    if result is None:
        return broken(load, where, phase.now, signal=stopping.signal_name(e))
    result.verdict = Verdict.INTERRUPTED
    ending = result.ending or Ending(phase.now)
    if not ending.signals:
        ending = dataclasses.replace(ending, signals=(stopping.signal_name(e),))
    result.ending = ending
    return result


def _judge(r: _Run, load: LoadResult, started: _Stack, launched: float, where: Where) -> RunResult:
    """Steps 4 to 6, what the load did, judged: the final scrape, the SLOs over the window,
    the cross-checks. An error (a dead Prometheus, a bug) returns the client's records marked
    error; a stop signal propagates (KeyboardInterrupt) to :func:`_run`, which reports it."""
    phase = r.phase
    try:
        if load.aborted is not None:
            phase.now = "the load"
            raise load.aborted
        window, notes = _final_scrape(r, load, started, launched)
        if window is None:
            short = Verdict.INTERRUPTED if load.interrupted else Verdict.INCONCLUSIVE
            return where.result(short, load, client=client_stats_anyway(load))
        verified = _verify(r, load, started.client, window)
        checks = notes + _cross_check(r.loaded, load, started.client, launched, window)
        if load.stopped_early is not None:
            verified, stopped = with_early_stop(verified, load.stopped_early)
            checks.append(stopped)
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
    return where.result(
        verdict, load, verify=verified, checks=checks, client=stats, alerts=verified.alerts
    )


def _final_scrape(
    r: _Run, load: LoadResult, started: _Stack, launched: float
) -> tuple[Window | None, list[CrossCheck]]:
    """Wait for the scrape after the load; the judged window (None when none ran) and the
    note of a first scrape that came late (the window then starts after it)."""
    r.phase("waiting for the final scrape", "waiting for the final scrape")
    stopping.pause_for_tests("final-scrape")
    notes: list[CrossCheck] = []
    managed = started.managed
    if managed is not None:
        settle = managed.wait_for_scrape_after(load.stopped_at) - load.stopped_at
        notes = _start_after_first_scrape(load, started.client, launched, managed.job)
    else:
        settle = 2 * r.loaded.spec.prometheus.scrape_interval
        time.sleep(min(settle, 60))
    if load.stopped_at <= load.window_start:
        return None, notes
    return Window(float(load.window_start), load.stopped_at, settle), notes


def _verify(r: _Run, load: LoadResult, client: PromClient, window: Window) -> VerifyResult:
    """Step 5: every SLO over the window, judged from the server's series and, for the SLIs
    that count failures, from what the client measured too."""
    r.phase("verifying", "verifying")
    stopping.pause_for_tests("verifying")
    kind: LoadKind = "open" if load.config.open_loop else "closed"
    measured = client_measures(
        r.loaded.spec, load.snapshot, load.records, kind, window, load.window_start
    )
    return verify(
        r.loaded,
        client,
        window,
        measured=measured,
        with_rules=r.options.with_rules,
        load=kind,
    )


def _cross_check(
    loaded: LoadedSpec, load: LoadResult, client: PromClient, launched: float, window: Window
) -> list[CrossCheck]:
    """Step 6: what the client and the server counted, compared; the load as asked for; the
    answers' lengths against the max_tokens their requests asked for, and the prompts' against
    the client's tokenizer."""
    spec = loaded.spec
    explicit = named_preset(spec)
    inputs = gather_cross_check_inputs(
        load, client, spec.prometheus.selector, launched, window, slos=spec.slos, preset=explicit
    )
    tokens = [max_tokens_honoured(load.records), prompt_lengths_agree(load.records)]
    return cross_checks(inputs) + [check for check in tokens if check is not None]
