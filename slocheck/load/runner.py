"""Run Locust in its own process (gevent's patching never reaches slocheck), headless, bounded
in time, and read back what its processes recorded."""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from slocheck.errors import InfrastructureError, LoadGeneratorError, UsageError
from slocheck.load.scenarios import SCENARIOS
from slocheck.load.stats import Snapshot, read_snapshot

LOCUSTFILES = Path(__file__).parent / "locustfiles"
BUILTIN_SCENARIOS = SCENARIOS
GRACE_S = 30.0


@dataclass(frozen=True)
class LoadConfig:
    host: str
    scenario: str = "steady"  # a built-in shape, or the path of a locustfile
    users: int = 16
    spawn_rate: float | None = None
    duration: float = 30.0
    warmup: float = 5.0
    rate: float | None = None  # requests/s in all (fixed-rate users); None: closed loop
    processes: int = 1
    mix: str = "classify=1"
    max_tokens: int = 16

    @property
    def total_seconds(self) -> float:
        return self.warmup + self.duration

    def locustfiles(self) -> list[Path]:
        plugin = LOCUSTFILES / "load_plugin.py"
        if self.scenario in BUILTIN_SCENARIOS:
            return [LOCUSTFILES / "inference.py", plugin, LOCUSTFILES / "shapes.py"]
        path = Path(self.scenario)
        if path.suffix != ".py" or not path.is_file():
            raise UsageError(
                f"load.scenario: {self.scenario!r} is neither a built-in scenario "
                f"({', '.join(BUILTIN_SCENARIOS)}) nor a locustfile (.py) that exists"
            )
        return [path, plugin]


@dataclass
class Progress:
    elapsed: float
    remaining: float
    requests: int
    errors: int
    rps: float
    p95_s: float | None
    users: int


@dataclass
class LoadResult:
    config: LoadConfig
    snapshot: Snapshot
    launched_at: float
    stopped_at: float
    window_start: float
    returncode: int | None
    interrupted: bool = False
    aborted: InfrastructureError | None = None  # raised by on_progress: the run must stop
    log_tail: str = ""
    notes: list[str] = field(default_factory=list)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@contextlib.contextmanager
def _stop_signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM that arrive meanwhile are held, then delivered once the block is over.

    Forking with a ``preexec_fn`` runs Python's at-fork hooks (logging's among them); a signal
    handled there raises its KeyboardInterrupt inside the hook, where Python prints it as
    "Exception ignored" and drops it: a SIGTERM during start-up was lost and the run went on
    to exit 0. Held, it reaches slocheck's own handler in ordinary code instead."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []

    def hold(signum: int, _frame: object) -> None:
        caught.append(signum)

    stops = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, hold) for sig in stops}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        for signum in dict.fromkeys(caught):
            signal.raise_signal(signum)


def spawn(
    args: list[str], *, env: dict[str, str] | None = None, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """A child in its own session (Ctrl-C reaches slocheck only, which stops it in order), that
    the kernel stops if slocheck dies."""
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
    try:
        with _stop_signals_held():
            return subprocess.Popen(
                args,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
            )
    finally:
        if log:
            out.close()  # type: ignore[union-attr]


def stop_group(
    proc: subprocess.Popen[bytes], timeout: float = 10.0, first: signal.Signals = signal.SIGTERM
) -> None:
    """Signal the child's whole process group (Locust's forked workers too) with ``first``,
    then SIGTERM, then SIGKILL, each after ``timeout`` / 2 seconds."""
    for sig in dict.fromkeys((first, signal.SIGTERM)):
        if proc.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout / 2)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # stragglers of the group, if any
    if proc.poll() is None:
        proc.wait(5)


def progress_of(snap: Snapshot, launched: float, config: LoadConfig) -> Progress:
    from slocheck.load.stats import merged, summarise

    now = time.time()
    elapsed = now - launched
    table = merged(snap.requests.values())
    total = sum(s.count for s in table.values())
    errors = sum(s.errors for s in table.values())
    recent = summarise(table, lo=math.floor(now) - 5, hi=math.floor(now))
    p95 = recent.percentiles_s.get("95")
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
    config: LoadConfig, workdir: Path, on_progress: Callable[[Progress], None] | None = None
) -> LoadResult:
    """Run the load to its end. Ctrl-C (KeyboardInterrupt) stops Locust and returns what was
    recorded, marked interrupted; so does an InfrastructureError raised by ``on_progress`` (a
    watchdog: Prometheus died), marked aborted. A Locust that dies or overruns raises
    LoadGeneratorError."""
    workdir.mkdir(parents=True, exist_ok=True)
    for stale in workdir.glob("client-*.json*"):  # a previous run into the same --out
        stale.unlink()
    files = ",".join(str(p) for p in config.locustfiles())
    env = {
        **os.environ,
        "SLOCHECK_LOAD_DIR": str(workdir),
        "PYTHONUNBUFFERED": "1",
        "SLOCHECK_SCENARIO": config.scenario,
        "SLOCHECK_USERS": str(config.users),
        "SLOCHECK_SPAWN_RATE": str(config.spawn_rate or ""),
        "SLOCHECK_WARMUP": repr(config.warmup),
        "SLOCHECK_DURATION": repr(config.duration),
        "SLOCHECK_RATE_PER_USER": repr(config.rate / config.users) if config.rate else "",
        "SLOCHECK_MIX": config.mix,
        "SLOCHECK_MAX_TOKENS": str(config.max_tokens),
    }
    args = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        files,
        "--headless",
        "--host",
        config.host,
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
            str(config.users),
            "-r",
            str(config.spawn_rate or config.users),
            "-t",
            f"{math.ceil(config.total_seconds)}s",
        ]
    if config.processes > 1:
        args += ["--processes", str(config.processes)]
    log = workdir / "locust.log"
    launched = time.time()
    proc = spawn(args, env=env, log=log)
    interrupted = False
    aborted: InfrastructureError | None = None
    deadline = time.monotonic() + config.total_seconds + GRACE_S
    try:
        while proc.poll() is None:
            if time.monotonic() > deadline:
                raise LoadGeneratorError(
                    f"the load generator overran its {config.total_seconds:g} s by {GRACE_S:g} s"
                )
            time.sleep(0.5)
            if on_progress is not None:
                try:
                    on_progress(progress_of(read_snapshot(workdir), launched, config))
                except InfrastructureError as e:
                    aborted = e
                    break
    except KeyboardInterrupt:
        interrupted = True
    finally:
        stop_group(proc, first=signal.SIGINT)  # Locust stops gracefully on SIGINT: final dump
    stopped = time.time()
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    snap = read_snapshot(workdir)
    if aborted is None and not interrupted:
        if snap.processes == 0:
            how = f"exited with {proc.returncode}" if proc.returncode else "recorded nothing"
            raise LoadGeneratorError(f"the load generator {how}: {tail[-1500:]}")
        if proc.returncode not in (0, None):  # died mid-run: its records still get reported
            aborted = LoadGeneratorError(
                f"the load generator exited with {proc.returncode}: {tail[-1500:]}"
            )
    started = snap.marks.get("test_start", launched)
    window_start = math.ceil(started + config.warmup)
    if config.scenario in ("steady", "soak") and "spawning_complete" in snap.marks:
        window_start = max(window_start, math.ceil(snap.marks["spawning_complete"]))
    return LoadResult(
        config=config,
        snapshot=snap,
        launched_at=launched,
        stopped_at=snap.marks.get("test_stop", stopped),
        window_start=window_start,
        returncode=proc.returncode,
        interrupted=interrupted,
        aborted=aborted,
        log_tail=tail,
    )
