"""What a load is: the settings of one Locust run (``LoadConfig``), checked before Locust
starts, and the ``SLOCHECK_*`` settings the built-in users, shapes and plugin read."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slocheck.errors import UsageError
from slocheck.load.locustfiles import bodies
from slocheck.load.locustfiles.arrivals import DISTRIBUTIONS, peak_rate, replay_rate
from slocheck.load.locustfiles.datasets import read_dataset
from slocheck.load.locustfiles.tokenizer import PromptTokenizer
from slocheck.load.locustfiles.traces import read_trace
from slocheck.load.scenarios import SCENARIOS

LOCUSTFILES = Path(__file__).parent / "locustfiles"
BUILTIN_SCENARIOS = SCENARIOS
#: The user module of each built-in API, under ``locustfiles/``.
API_USERS = {
    "slocheck": "inference.py",
    "openai": "openai_user.py",
    "kserve-v2": "kserve_user.py",
    "http": "http_user.py",
}
OPENAI_ENDPOINTS = {"chat": "/v1/chat/completions", "completions": "/v1/completions"}
SAMPLES = ("sequential", "random")
TURNS = ("one", "all")
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
BODYLESS_METHODS = ("GET", "HEAD", "DELETE", "OPTIONS")
#: The spec field each LoadConfig field comes from, named in errors.
FIELDS = {
    "api": "target.api",
    "model": "target.model",
    "openai_endpoint": "target.endpoint",
    "prompts": "load.prompts",
    "trace": "load.trace",
    "tokenizer": "load.tokenizer",
    "sample": "load.sample",
    "turns": "load.turns",
    "input_tokens": "load.input_tokens",
    "output_tokens": "load.output_tokens",
    "payload": "load.payload",
    "http_method": "target.method",
    "http_path": "target.path",
}


#: An open loop's default bound on requests in flight keeps sending through a stall of this
#: many latency thresholds: ``rate * STALL_THRESHOLDS * threshold`` slots.
STALL_THRESHOLDS = 5
MAX_IN_FLIGHT = 10_000


def in_flight_for(rate: float, threshold_s: float, at_least: int) -> int:
    """The requests in flight an open loop at ``rate`` needs so that a service that stalls for
    several times the latency threshold still gets every send on time: the queue it builds
    is then measured (from each request's intended send), not dropped."""
    slots = math.ceil(rate * STALL_THRESHOLDS * threshold_s)
    return min(MAX_IN_FLIGHT, max(at_least, slots))


@dataclass(frozen=True)
class TraceRates:
    """What replaying a trace asks for: the requests/s due in the judged window (the rate the
    achieved load is held to) and the most due in any one second (the burst the requests in
    flight must absorb)."""

    window: float
    peak: float


def trace_rates(path: Path, speedup: float, warmup: float, duration: float) -> TraceRates:
    """The rates of replaying the trace at ``path`` ``speedup`` times faster in a run of
    ``warmup`` then ``duration`` seconds; UsageError when none of its requests falls in the
    judged window."""
    try:
        rows = read_trace(path)
    except ValueError as e:
        raise UsageError(f"{FIELDS['trace']}: {e}") from None
    window = replay_rate(rows, speedup, warmup, warmup + duration)
    if window <= 0:
        raise UsageError(
            f"{FIELDS['trace']}: none of its {len(rows):,} requests is due in the judged window "
            f"({warmup:g} s to {warmup + duration:g} s after the start, speedup {speedup:g}); "
            "shorten load.warmup or raise load.speedup"
        )
    return TraceRates(window, peak_rate(rows, speedup))


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
    prompts: Path | None = None  # openai: a JSONL dataset (locustfiles/datasets.py)
    sample: str = "sequential"  # the dataset's lines in order, or "random" (seeded)
    turns: str = "one"  # "one" request a line, or "all" its turns as a conversation
    think_time: float = 0.0  # seconds between a conversation's turns
    input_tokens: bodies.Lengths | None = None  # synthetic prompts' lengths, in words
    output_tokens: bodies.Lengths | None = None  # max_tokens per request
    prefix: tuple[int, int] | None = None  # shared system prompts: (count, tokens each)
    tokenizer: Path | None = None  # the model's tokenizer.json: exact prompt lengths, counted
    payload: Path | None = None  # kserve-v2, http: a JSON file, or JSONL bodies sent in turn
    http_method: str = "POST"  # http only
    http_path: str = "/"  # http only
    seed: int = 0  # synthetic prompts and token lengths; poisson arrival gaps
    arrival: str = "closed"  # "closed": users paced by rate; "open": scheduled send times
    distribution: str = "constant"  # open: "constant" spacing, "poisson" or "gamma" gaps
    burstiness: float = 1.0  # gamma: the gaps' shape (1: Poisson; below 1: burstier)
    trace: Path | None = None  # open: a trace's requests at their timestamps (traces.py)
    speedup: float = 1.0  # trace: its timestamps divided by this
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
                "SLOCHECK_BURSTINESS": repr(self.burstiness),
                "SLOCHECK_TRACE": str(self.trace.resolve()) if self.trace else "",
                "SLOCHECK_SPEEDUP": repr(self.speedup),
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
        if self.distribution not in DISTRIBUTIONS:
            raise UsageError(
                f"load.distribution: {self.distribution!r} is not one of {', '.join(DISTRIBUTIONS)}"
            )
        if not (self.burstiness > 0 and math.isfinite(self.burstiness)):
            raise UsageError(f"load.burstiness: expected a number above 0, got {self.burstiness!r}")
        if self.arrival == "open" and not self.rate:
            raise UsageError("load.arrival: open needs load.rate (requests/s in all)")
        if self.trace is not None:
            if self.arrival != "open" or self.api != "openai":
                raise UsageError(
                    f"{FIELDS['trace']}: a trace is replayed open loop by the openai API's "
                    "users (arrival: open, target.api: openai)"
                )
            if not (self.speedup > 0 and math.isfinite(self.speedup)):
                raise UsageError(f"load.speedup: expected a number above 0, got {self.speedup!r}")
            _checked(FIELDS["trace"], read_trace, self.trace)

    def check_api(self) -> None:
        """Raise UsageError, naming the spec field, for any API setting that cannot work."""
        if self.api not in API_USERS:
            raise UsageError(f"{FIELDS['api']}: {self.api!r} is not one of {', '.join(API_USERS)}")
        if self.api == "openai":
            self._check_openai()
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

    def _check_openai(self) -> None:
        """The OpenAI user's endpoint, dataset and token lengths."""
        if self.openai_endpoint not in OPENAI_ENDPOINTS:
            raise UsageError(
                f"{FIELDS['openai_endpoint']}: {self.openai_endpoint!r} is not one of "
                f"{', '.join(OPENAI_ENDPOINTS)}"
            )
        if self.prompts is not None:
            _checked(FIELDS["prompts"], read_dataset, self.prompts)
        if self.tokenizer is not None:
            _checked(FIELDS["tokenizer"], PromptTokenizer.from_file, self.tokenizer)
        if self.sample not in SAMPLES:
            raise UsageError(f"{FIELDS['sample']}: {self.sample!r} is not one of {SAMPLES}")
        if self.turns not in TURNS:
            raise UsageError(f"{FIELDS['turns']}: {self.turns!r} is not one of {TURNS}")

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
            "SLOCHECK_SAMPLE": self.sample,
            "SLOCHECK_TURNS": self.turns,
            "SLOCHECK_THINK_TIME": repr(self.think_time),
            "SLOCHECK_INPUT_TOKENS": bodies.encode_lengths(self.input_tokens),
            "SLOCHECK_OUTPUT_TOKENS": bodies.encode_lengths(self.output_tokens),
            "SLOCHECK_PREFIX": "" if self.prefix is None else "{},{}".format(*self.prefix),
            "SLOCHECK_TOKENIZER": str(self.tokenizer.resolve()) if self.tokenizer else "",
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
