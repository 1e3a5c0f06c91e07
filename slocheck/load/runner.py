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
from typing import Any

from slocheck.errors import InfrastructureError, LoadGeneratorError, UsageError
from slocheck.load.distributed import gave_up_error, lost_error, write_config
from slocheck.load.locustfiles import bodies
from slocheck.load.scenarios import SCENARIOS
from slocheck.load.stats import Snapshot, read_snapshot

LOCUSTFILES = Path(__file__).parent / "locustfiles"
BUILTIN_SCENARIOS = SCENARIOS
GRACE_S = 30.0
START_FILE = "start-at"  # under the load's folder: when a held test starts (``run_load(hold=)``)
#: The user module of each built-in API, under ``locustfiles/``.
API_USERS = {
    "slocheck": "inference.py",
    "openai": "openai_user.py",
    "kserve-v2": "kserve_user.py",
    "http": "http_user.py",
}
OPENAI_ENDPOINTS = {"chat": "/v1/chat/completions", "completions": "/v1/completions"}
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
BODYLESS_METHODS = ("GET", "HEAD", "DELETE", "OPTIONS")
#: The spec field each LoadConfig field comes from, named in errors.
FIELDS = {
    "api": "target.api",
    "model": "target.model",
    "openai_endpoint": "target.endpoint",
    "prompts": "load.prompts",
    "input_tokens": "load.input_tokens",
    "output_tokens": "load.output_tokens",
    "payload": "load.payload",
    "http_method": "target.method",
    "http_path": "target.path",
}


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
    api: str = "slocheck"  # "slocheck" | "openai" | "kserve-v2" | "http"
    model: str | None = None  # openai: the "model" field; kserve-v2: /v2/models/{model}/infer
    openai_endpoint: str = "chat"  # "chat": /v1/chat/completions; "completions": /v1/completions
    stream: bool = True  # openai only
    prompts: Path | None = None  # openai: JSONL of {"prompt"} or {"messages"} (+ "max_tokens")
    input_tokens: tuple[float, float] | None = None  # synthetic prompts: (mean, stddev) in words
    output_tokens: tuple[float, float] | None = None  # max_tokens per request: (mean, stddev)
    payload: Path | None = None  # kserve-v2, http: a JSON file, or JSONL bodies sent in turn
    http_method: str = "POST"  # http only
    http_path: str = "/"  # http only
    seed: int = 0  # synthetic prompts and token lengths; poisson arrival gaps
    arrival: str = "closed"  # "closed": users paced by rate; "open": scheduled send times
    distribution: str = "constant"  # open: "constant" spacing or "poisson" (exponential gaps)
    max_in_flight: int | None = None  # open: the Locust users (requests in flight); None: users
    workers: int = 0  # Locust workers to wait for (``slocheck worker``); 0: none, local load
    master_bind: tuple[str, int] = ("*", 5557)  # where the master listens for its workers
    workers_timeout: float = 60.0  # how long the master waits for them before it gives up

    @property
    def total_seconds(self) -> float:
        return self.warmup + self.duration

    @property
    def open_loop(self) -> bool:
        return self.arrival == "open" and bool(self.rate)

    @property
    def load_processes(self) -> int:
        """The Locust processes that send the load: the workers, else ``processes``."""
        return self.workers or self.processes

    @property
    def locust_users(self) -> int:
        """The Locust users to run: with open arrival, the bound on requests in flight."""
        if self.open_loop and self.max_in_flight:
            return self.max_in_flight
        return self.users

    def pacing_env(self) -> dict[str, str]:
        """How the built-in users pace (``common.Paced``): per-user rate, or the open-loop
        schedule of each process (the total rate split evenly over the processes)."""
        if self.open_loop and self.rate:
            return {
                "SLOCHECK_ARRIVAL": "open",
                "SLOCHECK_OPEN_RATE": repr(self.rate / self.load_processes),
                "SLOCHECK_DISTRIBUTION": self.distribution,
                "SLOCHECK_RATE_PER_USER": "",
            }
        per_user = repr(self.rate / self.users) if self.rate else ""
        return {"SLOCHECK_ARRIVAL": "closed", "SLOCHECK_RATE_PER_USER": per_user}

    def locustfiles(self) -> list[Path]:
        """The files given to Locust; for a built-in scenario, the API's settings are checked
        here, so that a bad file is a clear error before Locust starts, not a crash inside it."""
        plugin = LOCUSTFILES / "load_plugin.py"
        self.check_arrival()
        self.check_workers()
        if self.scenario in BUILTIN_SCENARIOS:
            self.check_api()
            return [LOCUSTFILES / API_USERS[self.api], plugin, LOCUSTFILES / "shapes.py"]
        path = Path(self.scenario)
        if path.suffix != ".py" or not path.is_file():
            raise UsageError(
                f"load.scenario: {self.scenario!r} is neither a built-in scenario "
                f"({', '.join(BUILTIN_SCENARIOS)}) nor a locustfile (.py) that exists"
            )
        return [path, plugin]

    def check_workers(self) -> None:
        """Raise UsageError for a distributed setting that cannot work."""
        if self.workers < 0:
            raise UsageError(f"--expect-workers: expected 0 or more, got {self.workers}")
        if self.workers and self.processes > 1:
            raise UsageError(
                "--processes cannot be combined with --expect-workers: start one "
                "`slocheck worker` per core instead"
            )
        if self.workers and self.locust_users < self.workers:
            raise UsageError(
                f"load.users: {self.locust_users} users cannot keep {self.workers} workers busy "
                "(Locust gives each worker whole users): raise it to at least the workers"
            )
        host, port = self.master_bind
        if not host or not 0 < port < 65536:
            raise UsageError(f"--master-bind: expected HOST:PORT, got {host}:{port}")
        if not self.workers_timeout > 0:
            raise UsageError(
                f"--workers-timeout: expected a positive duration, got {self.workers_timeout:g}"
            )

    def distributed_args(self) -> list[str]:
        """Locust's master flags: wait for the workers, at most ``workers_timeout``."""
        if not self.workers:
            return []
        host, port = self.master_bind
        return [
            "--master",
            "--expect-workers",
            str(self.workers),
            "--expect-workers-max-wait",
            f"{self.workers_timeout:g}",
            "--master-bind-host",
            host,
            "--master-bind-port",
            str(port),
        ]

    def check_arrival(self) -> None:
        """Raise UsageError for an arrival setting that cannot work."""
        if self.arrival not in ("closed", "open"):
            raise UsageError(f"load.arrival: {self.arrival!r} is not one of closed, open")
        if self.distribution not in ("constant", "poisson"):
            raise UsageError(
                f"load.distribution: {self.distribution!r} is not one of constant, poisson"
            )
        if self.arrival == "open" and not self.rate:
            raise UsageError("load.arrival: open needs load.rate (requests/s in all)")

    def check_api(self) -> None:
        """Raise UsageError, naming the spec field, for any API setting that cannot work."""
        if self.api not in API_USERS:
            raise UsageError(f"{FIELDS['api']}: {self.api!r} is not one of {', '.join(API_USERS)}")
        if self.api == "openai":
            if self.openai_endpoint not in OPENAI_ENDPOINTS:
                raise UsageError(
                    f"{FIELDS['openai_endpoint']}: {self.openai_endpoint!r} is not one of "
                    f"{', '.join(OPENAI_ENDPOINTS)}"
                )
            if self.prompts is not None:
                _checked(FIELDS["prompts"], bodies.read_prompts, self.prompts)
            for name in ("input_tokens", "output_tokens"):
                value = getattr(self, name)
                if value is not None:
                    _checked(FIELDS[name], bodies.check_tokens, value)
        if self.api == "kserve-v2" and not self.model:
            raise UsageError(f"{FIELDS['model']}: the kserve-v2 API needs the model's name")
        if self.api == "http":
            if self.http_method not in HTTP_METHODS:
                raise UsageError(
                    f"{FIELDS['http_method']}: {self.http_method!r} is not one of "
                    f"{', '.join(HTTP_METHODS)}"
                )
            if not self.http_path.startswith("/"):
                raise UsageError(f"{FIELDS['http_path']}: {self.http_path!r} must start with /")
        if self.api in ("kserve-v2", "http"):
            if self.payload is not None:
                _checked(FIELDS["payload"], bodies.read_payload, self.payload)
            elif self.api == "kserve-v2" or self.http_method not in BODYLESS_METHODS:
                raise UsageError(
                    f"{FIELDS['payload']}: the {self.api} API needs a payload "
                    "(a JSON file, or a JSONL file of bodies sent in turn)"
                )

    def settings(self) -> dict[str, str]:
        """Every ``SLOCHECK_*`` setting the built-in users, shapes and plugin read."""
        return {
            "SLOCHECK_SCENARIO": self.scenario,
            "SLOCHECK_USERS": str(self.locust_users),
            "SLOCHECK_PROCESSES": str(self.load_processes),
            "SLOCHECK_SPAWN_RATE": str(self.spawn_rate or ""),
            "SLOCHECK_WARMUP": repr(self.warmup),
            "SLOCHECK_DURATION": repr(self.duration),
            **self.pacing_env(),
            "SLOCHECK_MIX": self.mix,
            "SLOCHECK_MAX_TOKENS": str(self.max_tokens),
            **self.api_env(),
        }

    def api_env(self) -> dict[str, str]:
        """The API settings, as the built-in users read them (``SLOCHECK_*``)."""
        return {
            "SLOCHECK_API": self.api,
            "SLOCHECK_MODEL": self.model or "",
            "SLOCHECK_OPENAI_ENDPOINT": self.openai_endpoint,
            "SLOCHECK_STREAM": "1" if self.stream else "0",
            "SLOCHECK_PROMPTS": str(self.prompts.resolve()) if self.prompts else "",
            "SLOCHECK_INPUT_TOKENS": bodies.encode_tokens(self.input_tokens),
            "SLOCHECK_OUTPUT_TOKENS": bodies.encode_tokens(self.output_tokens),
            "SLOCHECK_PAYLOAD": str(self.payload.resolve()) if self.payload else "",
            "SLOCHECK_HTTP_METHOD": self.http_method,
            "SLOCHECK_HTTP_PATH": self.http_path,
            "SLOCHECK_SEED": str(self.seed),
        }


def _checked(field_name: str, check: Callable[[Any], object], value: Any) -> None:
    try:
        check(value)
    except ValueError as e:
        raise UsageError(f"{field_name}: {e}") from None


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
    config: LoadConfig,
    workdir: Path,
    on_progress: Callable[[Progress], None] | None = None,
    *,
    hold: Callable[[], float] | None = None,
) -> LoadResult:
    """Run the load to its end. Ctrl-C (KeyboardInterrupt) stops Locust and returns what was
    recorded, marked interrupted; so does an InfrastructureError raised by ``on_progress`` (a
    watchdog: Prometheus died), marked aborted. A Locust that dies or overruns raises
    LoadGeneratorError. With ``hold``, Locust starts at once but holds its test until ``hold()``
    (called meanwhile: it waits for what must come first) returns, and until the unix time it
    returns: Locust's own start-up overlaps those waits; an error it raises stops Locust."""
    workdir.mkdir(parents=True, exist_ok=True)
    for stale in [*workdir.glob("client-*.json*"), workdir / START_FILE]:  # a previous run's
        stale.unlink(missing_ok=True)
    locustfiles = config.locustfiles()
    settings = config.settings()
    if config.workers:  # the workers download the files: the run's settings travel first
        locustfiles.insert(0, write_config(workdir, settings))
    files = ",".join(str(p) for p in locustfiles)
    env = {
        **os.environ,
        "SLOCHECK_LOAD_DIR": str(workdir),
        "PYTHONUNBUFFERED": "1",
        **settings,
        # the master's own: workers never hold (their master starts the test)
        "SLOCHECK_START_FILE": str(workdir / START_FILE) if hold is not None else "",
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
            str(config.locust_users),
            "-r",
            str(config.spawn_rate or config.locust_users),
            "-t",
            f"{math.ceil(config.total_seconds)}s",
        ]
    if config.processes > 1:
        args += ["--processes", str(config.processes)]
    args += config.distributed_args()
    log = workdir / "locust.log"
    launched = time.time()
    proc = spawn(args, env=env, log=log)
    interrupted = False
    aborted: InfrastructureError | None = None
    waits = config.workers_timeout if config.workers else 0.0
    begins = launched
    try:
        if hold is not None:
            begins = max(hold(), time.time())
            _write_start(workdir / START_FILE, begins)
        deadline = (
            time.monotonic() + (begins - time.time()) + config.total_seconds + GRACE_S + waits
        )
        while proc.poll() is None:
            if time.monotonic() > deadline:
                raise LoadGeneratorError(
                    f"the load generator overran its {config.total_seconds:g} s by {GRACE_S:g} s"
                )
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(0.5)  # the loop ends as soon as Locust exits, not up to 0.5 s later
            if on_progress is None and not config.workers:
                continue
            live = read_snapshot(workdir)
            lost = lost_error(live.workers_lost, live.marks.get("test_start", begins))
            if lost is not None:  # a worker's share of the load is gone: stop now
                aborted = lost
                break
            if on_progress is not None:
                try:
                    on_progress(progress_of(live, begins, config))
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
    if aborted is None and not interrupted and config.workers:
        gave_up = gave_up_error(
            tail, config.workers, snap.workers_ready, config.master_bind, config.workers_timeout
        )
        if gave_up is not None:
            raise gave_up
        aborted = lost_error(snap.workers_lost, snap.marks.get("test_start", launched))
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
