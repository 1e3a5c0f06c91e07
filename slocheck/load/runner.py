"""Run Locust in its own process (gevent's patching never reaches slocheck), headless, bounded
in time, and read back what its processes recorded."""

from __future__ import annotations

import contextlib
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from slocheck.errors import InfrastructureError, LoadGeneratorError
from slocheck.load.config import (
    API_USERS,
    BUILTIN_SCENARIOS,
    FIELDS,
    LOCUSTFILES,
    LoadConfig,
)
from slocheck.load.distributed import gave_up_error, lost_error, write_config
from slocheck.load.request_log import PATTERN, read_records
from slocheck.load.stats import Snapshot, read_snapshot
from slocheck.load.stopping import pause_for_tests, signal_name
from slocheck.request_record import RecordError, RequestRecord
from slocheck.supervise import spawn, stop_group

#: What was importable from here before ``LoadConfig`` moved to ``load.config``.
__all__ = [
    "API_USERS",
    "BUILTIN_SCENARIOS",
    "FIELDS",
    "GRACE_S",
    "LOCUSTFILES",
    "LoadConfig",
    "LoadResult",
    "Progress",
    "run_load",
]

GRACE_S = 30.0
START_FILE = "start-at"  # under the load's folder: when a held test starts (``run_load(hold=)``)


@dataclass
class Progress:
    elapsed: float
    remaining: float
    requests: int
    errors: int
    rps: float
    p95_s: float | None
    users: int


@dataclass(frozen=True)
class EarlyStop:
    """``stop_when`` said the load can end now: why, and the SLO whose rule it was."""

    reason: str
    by: str | None = None
    #: when the rule first held (unix seconds), and when it said stop (after its delay)
    since: float | None = None
    at: float | None = None


#: Asked of every live snapshot of a load (about twice a second): whether it should end now.
StopWhen = Callable[[Snapshot], EarlyStop | None]


@dataclass
class LoadResult:
    config: LoadConfig
    snapshot: Snapshot
    launched_at: float
    stopped_at: float
    window_start: float
    returncode: int | None
    interrupted: bool = False
    #: the stop signal that interrupted the load (SIGINT, SIGTERM), when ``interrupted``
    stopped_by: str | None = None
    aborted: InfrastructureError | None = None  # raised by on_progress: the run must stop
    #: why the run stopped the load early by its own rule (``stop_when``: an SLO that can no
    #: longer pass); the window then ends there, and nothing went wrong
    stopped_early: EarlyStop | None = None
    log_tail: str = ""
    notes: list[str] = field(default_factory=list)
    #: every request the load generator saw end, in send order (``requests.jsonl.gz``)
    records: list[RequestRecord] = field(default_factory=list)


def _write_start(path: Path, start_at: float) -> None:
    """The held test's start (unix time), written atomically: the plugin polls for the file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(repr(start_at))
    os.replace(tmp, path)


def progress_of(snap: Snapshot, launched: float, config: LoadConfig) -> Progress:
    from slocheck.load.stats import merged, summarise

    now = time.time()
    elapsed = now - launched
    table = merged(snap.requests.values())
    total = sum(s.count for s in table.values())
    errors = sum(s.errors for s in table.values())
    recent = summarise(table, lo=math.floor(now) - 5, hi=math.floor(now))
    p95 = recent.percentile(95)
    return Progress(
        elapsed=elapsed,
        remaining=max(0.0, config.total_seconds - elapsed),
        requests=total,
        errors=errors,
        rps=recent.count / 5.0,
        p95_s=p95,
        users=int(snap.marks.get("peak_users", 0)),
    )


def run_load(
    config: LoadConfig,
    workdir: Path,
    on_progress: Callable[[Progress], None] | None = None,
    *,
    hold: Callable[[], float] | None = None,
    stop_when: StopWhen | None = None,
) -> LoadResult:
    """Run the load to its end. Ctrl-C (KeyboardInterrupt, SIGTERM under the CLI) stops Locust
    and returns what was recorded, marked interrupted (a stop signal during the stop too); so
    does an InfrastructureError raised by ``on_progress`` (a watchdog: Prometheus died), and a
    Locust that dies mid-run or overruns its time by :data:`GRACE_S` (frozen), marked aborted.
    A Locust that recorded nothing raises LoadGeneratorError. With ``hold``, Locust starts at
    once but holds its test until ``hold()`` (called meanwhile: it waits for what must come
    first) returns, and until the unix time it returns: Locust's own start-up overlaps those
    waits; an error it raises stops Locust. ``stop_when`` ends the load early when it gives a
    reason (``LoadResult.stopped_early``)."""
    workdir.mkdir(parents=True, exist_ok=True)
    # a previous run's
    for stale in [*workdir.glob("client-*.json*"), *workdir.glob(PATTERN), workdir / START_FILE]:
        stale.unlink(missing_ok=True)
    log = workdir / "locust.log"
    launched = time.time()
    proc = spawn(_locust_args(config, workdir), env=_locust_env(config, workdir, hold), log=log)
    stopped_by: str | None = None
    aborted: InfrastructureError | None = None
    stopped_early: EarlyStop | None = None
    try:
        begins = launched
        if hold is not None:
            begins = max(hold(), time.time())
            _write_start(workdir / START_FILE, begins)
        ended = _watch(proc, config, workdir, begins, on_progress, stop_when)
        if isinstance(ended, EarlyStop):
            stopped_early = ended
        else:
            aborted = ended
    except KeyboardInterrupt as e:
        stopped_by = signal_name(e)
        pause_for_tests("load-stopping")
    finally:
        stopped_by = _stop_locust(proc) or stopped_by
    stopped = time.time()
    try:
        tail, snap = _records(log, workdir)
    except KeyboardInterrupt as e:  # the first stop signal came just now: read it all again
        stopped_by = stopped_by or signal_name(e)
        tail, snap = _records(log, workdir)
    interrupted = stopped_by is not None
    if aborted is None and not interrupted and stopped_early is None:
        aborted = _ended_badly(config, proc, tail, snap, launched)
    records, unreadable = _request_records(workdir)
    aborted = aborted or unreadable
    return LoadResult(
        config=config,
        snapshot=snap,
        launched_at=launched,
        stopped_at=snap.marks.get("test_stop", stopped),
        window_start=window_start_of(config, snap, launched),
        returncode=proc.returncode,
        interrupted=interrupted,
        stopped_by=stopped_by,
        aborted=aborted,
        stopped_early=stopped_early,
        log_tail=tail,
        records=records,
    )


def _locust_env(
    config: LoadConfig, workdir: Path, hold: Callable[[], float] | None
) -> dict[str, str]:
    """Locust's environment: the run's settings, where to write, and the target."""
    return {
        **os.environ,
        "SLOCHECK_LOAD_DIR": str(workdir),
        "PYTHONUNBUFFERED": "1",
        **config.settings(),
        # the master's own: workers never hold (their master starts the test)
        "SLOCHECK_START_FILE": str(workdir / START_FILE) if hold is not None else "",
        # the target by environment, never on the command line: its URL may hold a password,
        # which `ps` would show to every user of the machine
        "LOCUST_HOST": config.host,
    }


def _locust_args(config: LoadConfig, workdir: Path) -> list[str]:
    """Locust's command line (the locustfiles; the users and time of a locustfile of yours)."""
    locustfiles = config.locustfiles()
    if config.workers:  # the workers download the files: the run's settings travel first
        locustfiles.insert(0, write_config(workdir, config.settings()))
    args = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        ",".join(str(p) for p in locustfiles),
        "--headless",
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--exit-code-on-error",
        "0",
        "--stop-timeout",
        "5",
    ]
    if config.scenario not in BUILTIN_SCENARIOS:
        args += [
            "-u",
            str(config.locust_users),
            "-r",
            str(config.spawn_rate or config.locust_users),
            "-t",
            f"{math.ceil(config.total_seconds)}s",
        ]
    if config.processes > 1:
        args += ["--processes", str(config.processes)]
    return args + config.distributed_args()


def _watch(
    proc: subprocess.Popen[bytes],
    config: LoadConfig,
    workdir: Path,
    begins: float,
    on_progress: Callable[[Progress], None] | None,
    stop_when: StopWhen | None = None,
) -> InfrastructureError | EarlyStop | None:
    """Wait for Locust to exit; what stopped it early: an overrun (frozen or hung: its records
    still count), a lost worker, the error ``on_progress`` raised (a watchdog), or the reason
    ``stop_when`` gave."""
    waits = config.workers_timeout if config.workers else 0.0
    deadline = time.monotonic() + (begins - time.time()) + config.total_seconds + GRACE_S + waits
    while proc.poll() is None:
        if time.monotonic() > deadline:
            return LoadGeneratorError(
                f"the load generator overran its {config.total_seconds:g} s by "
                f"{GRACE_S:g} s (it stopped answering); stopped it"
            )
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(0.5)  # the loop ends as soon as Locust exits, not up to 0.5 s later
        if on_progress is None and not config.workers and stop_when is None:
            continue
        live = read_snapshot(workdir)
        if stop_when is not None and (early := stop_when(live)) is not None:
            return early
        lost = lost_error(live.workers_lost, live.marks.get("test_start", begins))
        if lost is not None:  # a worker's share of the load is gone: stop now
            return lost
        if on_progress is not None:
            try:
                on_progress(progress_of(live, begins, config))
            except InfrastructureError as e:
                return e
    return None


def _records(log: Path, workdir: Path) -> tuple[str, Snapshot]:
    """The end of Locust's log and what the load recorded."""
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    return tail, read_snapshot(workdir)


def _request_records(workdir: Path) -> tuple[list[RequestRecord], InfrastructureError | None]:
    """The requests' records; an error (the run cannot be judged) when one cannot be read."""
    try:
        return read_records(workdir), None
    except (OSError, RecordError) as e:
        return [], LoadGeneratorError(f"the load generator's request records cannot be read: {e}")


def _ended_badly(
    config: LoadConfig,
    proc: subprocess.Popen[bytes],
    tail: str,
    snap: Snapshot,
    launched: float,
) -> InfrastructureError | None:
    """After a load that ran its course: workers that never came (raised), workers lost, a
    Locust that recorded nothing (raised) or died mid-run (its records still get reported)."""
    if config.workers:
        gave_up = gave_up_error(
            tail, config.workers, snap.workers_ready, config.master_bind, config.workers_timeout
        )
        if gave_up is not None:
            raise gave_up
        lost = lost_error(snap.workers_lost, snap.marks.get("test_start", launched))
        if lost is not None:
            return lost
    if snap.processes == 0:
        how = f"exited with {proc.returncode}" if proc.returncode else "recorded nothing"
        raise LoadGeneratorError(f"the load generator {how}: {tail[-1500:]}")
    if proc.returncode not in (0, None):
        return LoadGeneratorError(
            f"the load generator exited with {proc.returncode}: {tail[-1500:]}"
        )
    return None


def window_start_of(config: LoadConfig, snap: Snapshot, launched: float) -> int:
    """The judged window's first second: after the warm-up, and after every user spawned."""
    started = snap.marks.get("test_start", launched)
    window_start = math.ceil(started + config.warmup)
    if config.scenario in ("steady", "soak") and "spawning_complete" in snap.marks:
        window_start = max(window_start, math.ceil(snap.marks["spawning_complete"]))
    return window_start


def _stop_locust(proc: subprocess.Popen[bytes]) -> str | None:
    """Stop Locust (gracefully first: SIGINT makes it dump its final records); the name of a
    stop signal that came meanwhile, which interrupted the stop (the stop then goes on: later
    signals only get noted, see :mod:`slocheck.load.stopping`)."""
    try:
        stop_group(proc, first=signal.SIGINT)
    except KeyboardInterrupt as e:
        stop_group(proc, timeout=4.0)
        return signal_name(e)
    return None
