"""The settings of a run: one declaration per option (its name, default, help text and bounds)
that the command line, the pytest plugin, ``bench``, ``capacity`` and the Python API all build
and check the same way.

:class:`RunOptions` is the model: each field that a caller may set is declared with
:func:`option`, which records its :class:`Kind` (what values it takes, with the bounds of
:mod:`slocheck.slofile.bounds`) and its help text. ``slocheck run``'s flags are generated from
these fields (``cli/flags.py``; ``--users`` for ``users``), the pytest plugin's keyword
arguments are their names, and building a :class:`RunOptions` checks every value given
(a UsageError naming the field otherwise), so the Python API is checked as the command line is.

Here, below the workflows, because the CLI and the pytest plugin (which never import each
other) both build it, and :class:`~slocheck.results.CapacityOptions` (held by the capacity
result) is made of the same options."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slocheck.errors import UsageError
from slocheck.load.config import BUILTIN_SCENARIOS, LoadConfig, in_flight_for
from slocheck.slofile.bounds import (
    MAX_DURATION_S,
    MAX_PROCESSES,
    MAX_RATE,
    MAX_USERS,
    MAX_WAIT_S,
    MAX_WARMUP_S,
    MAX_WORKERS,
    MIN_DURATION_S,
    http_url,
)
from slocheck.slofile.model import LoadSpec, SloSpec, TargetSpec, TokenLength
from slocheck.units import parse_duration, printable

__all__ = [
    "Bind",
    "Choice",
    "Kind",
    "Number",
    "RunOptions",
    "Scenario",
    "Seconds",
    "Setting",
    "Switch",
    "Url",
    "Whole",
    "checked",
    "listen_address",
    "load_config",
    "option",
    "resolved",
    "settings",
]


# -- what an option takes ---------------------------------------------------------------------


class Kind:
    """What values an option takes. :meth:`check` takes a Python value (the plugin's keyword
    arguments, the Python API) and returns it normalised, or raises ValueError saying what was
    expected; the command line parses the same kinds from text (``cli/flags.py``)."""

    def check(self, value: Any) -> Any:
        raise NotImplementedError


def _plain(number: float) -> str:
    return f"{number:.0f}" if float(number).is_integer() else f"{number:g}"


@dataclass(frozen=True)
class Whole(Kind):
    """A whole number from ``low`` to ``high``."""

    low: int
    high: int

    def check(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(self._expected(value))
        if not self.low <= value <= self.high:
            raise ValueError(self._expected(value))
        return value

    def _expected(self, value: Any) -> str:
        return f"expected a whole number from {self.low} to {self.high}, got {value!r:.40}"


@dataclass(frozen=True)
class Number(Kind):
    """A finite number from ``low`` (excluded when ``above``) to ``high``."""

    low: float
    high: float
    above: bool = False

    def check(self, value: Any) -> float:
        ok = not isinstance(value, bool) and isinstance(value, (int, float))
        if ok:
            low_ok = value > self.low if self.above else value >= self.low
            ok = low_ok and value <= self.high  # NaN fails this too
        if not ok or not math.isfinite(float(value)):
            start = "above" if self.above else "from"
            raise ValueError(
                f"expected a number {start} {_plain(self.low)} to {_plain(self.high)}, "
                f"got {value!r:.40}"
            )
        return float(value)


@dataclass(frozen=True)
class Seconds(Kind):
    """A duration (``"8s"``, ``"5m"`` or seconds) from ``low`` (excluded when ``above``) to
    ``high``, in seconds."""

    low: float
    high: float
    above: bool = False

    def check(self, value: Any) -> float:
        seconds = parse_duration(value)  # its ValueError says what a duration looks like
        too_low = seconds <= self.low if self.above else seconds < self.low
        if too_low or seconds > self.high:
            start = "above" if self.above else "from"
            raise ValueError(
                f"expected a duration {start} {self.low:g} s to {self.high:g} s, got {seconds:g} s"
            )
        return seconds


@dataclass(frozen=True)
class Text(Kind):
    """A string."""

    def check(self, value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(f"expected a string, got {value!r:.40}")
        return value


@dataclass(frozen=True)
class Url(Text):
    """An http(s) URL; one with a password is accepted (redacted wherever it is shown)."""

    def check(self, value: Any) -> str:
        return http_url(super().check(value))


@dataclass(frozen=True)
class Choice(Text):
    """One of ``choices``."""

    choices: tuple[str, ...] = ()

    def check(self, value: Any) -> str:
        if value not in self.choices:
            raise ValueError(f"expected {' or '.join(self.choices)}, got {value!r:.40}")
        return str(value)


@dataclass(frozen=True)
class Scenario(Text):
    """A built-in scenario, or a locustfile (``.py``) that exists (from the current folder)."""

    def check(self, value: Any) -> str:
        from slocheck.load.scenarios import SCENARIOS

        text = super().check(value)
        if text not in SCENARIOS and not (text.endswith(".py") and Path(text).is_file()):
            raise ValueError(
                f"expected {', '.join(SCENARIOS)} or a locustfile (.py) that exists, "
                f"got {printable(text)!r:.80}"
            )
        return text


@dataclass(frozen=True)
class Switch(Kind):
    """On or off (a flag on the command line)."""

    def check(self, value: Any) -> bool:
        return bool(value)


@dataclass(frozen=True)
class Bind(Kind):
    """``HOST:PORT`` to listen on (``*`` or an address of this machine), or a ``(host,
    port)`` pair."""

    flag: str = "--master-bind"

    def check(self, value: Any) -> tuple[str, int]:
        if isinstance(value, tuple) and len(value) == 2:
            host, port = value
            if isinstance(host, str) and isinstance(port, int) and not isinstance(port, bool):
                return listen_address(f"{host}:{port}" if ":" not in host else f"[{host}]:{port}")
        if not isinstance(value, str):
            raise ValueError(f"expected HOST:PORT, got {value!r:.40}")
        return listen_address(value, self.flag)


def listen_address(text: str, flag: str = "--master-bind") -> tuple[str, int]:
    """``HOST:PORT`` to listen on, ``*`` or an address of this machine, checked here (a host
    that does not resolve, or is not this machine's, is this option's error, not a resolver's
    sentence later); ValueError otherwise."""
    import socket

    from slocheck.load.distributed import parse_master

    try:
        host, port = parse_master(text, flag)
    except UsageError as e:
        raise ValueError(e.message.removeprefix(f"{flag}: ")) from None
    if host in ("*", "0.0.0.0", "::"):
        return host, port
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        family, _, _, _, address = infos[0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((address[0], 0))  # a port of its own: only the address is checked
    except (OSError, UnicodeError, IndexError) as e:
        reason = getattr(e, "strerror", None) or str(e) or type(e).__name__
        raise ValueError(
            f"cannot listen on {host!r:.60} ({reason}): give * or an address of this "
            "machine, like 0.0.0.0:5557 or 10.0.0.5:5557"
        ) from None
    return host, port


# -- the options ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """One option of a run: its field (the plugin's keyword), its kind, its help text, its
    default; the command line's flag is the name with dashes."""

    name: str
    kind: Kind
    help: str
    default: Any = None
    metavar: str | None = None
    #: the field of the spec's ``load:`` this option overrides when given
    overrides: str | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


def option(
    default: Any,
    kind: Kind,
    help: str,
    *,
    metavar: str | None = None,
    overrides: str | None = None,
) -> Any:
    """A field of :class:`RunOptions` that callers set: its default, kind and help text, and
    the field of the spec's ``load:`` it overrides when given (``overrides``)."""
    meta = {"kind": kind, "help": help, "metavar": metavar, "overrides": overrides}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class RunOptions:
    """How one run goes beyond its spec: where its reports go (``out_dir``), and the options
    below, each overriding the spec's field when given (None: the spec's). Every value given
    is checked as the command line checks its flag (UsageError naming the field)."""

    out_dir: Path
    target_url: str | None = option(
        None, Url(), "your service (default: target.url, else embedded)", metavar="URL"
    )
    prometheus_url: str | None = option(
        None, Url(), "your Prometheus (default: prometheus.url, else managed)", metavar="URL"
    )
    scenario: str | None = option(
        None, Scenario(), "overrides load.scenario: steady, ramp, spike, step, soak or a locustfile"
    )
    users: int | None = option(
        None, Whole(1, MAX_USERS), f"overrides load.users (1 to {MAX_USERS})", overrides="users"
    )
    rate: float | None = option(
        None,
        Number(0, MAX_RATE, above=True),
        f"overrides load.rate (requests/s in all, at most {MAX_RATE:g})",
        overrides="rate",
    )
    duration: float | None = option(
        None,
        Seconds(MIN_DURATION_S, MAX_DURATION_S),
        "overrides load.duration (30s; 1s to 7d)",
        overrides="duration",
    )
    warmup: float | None = option(
        None, Seconds(0, MAX_WARMUP_S), "overrides load.warmup (5s; 0s to 1d)", overrides="warmup"
    )
    arrival: str | None = option(
        None,
        Choice(choices=("closed", "open")),
        "overrides load.arrival: open sends on a fixed schedule at --rate whatever the "
        "answers do (--users bounds the requests in flight)",
        overrides="arrival",
    )
    processes: int = option(
        1,
        Whole(1, MAX_PROCESSES),
        f"Locust processes (more load from more cores; default 1, at most {MAX_PROCESSES})",
    )
    #: Locust workers (``slocheck worker``) the load runs on; 0: local
    expect_workers: int = option(
        0,
        Whole(0, MAX_WORKERS),
        "run the load on N Locust workers (`slocheck worker --master HOST:PORT` on each "
        "load machine): waits for them, merges their histograms (default 0: load from here)",
        metavar="N",
    )
    #: where the master listens for them
    master_bind: tuple[str, int] = option(
        ("*", 5557),
        Bind(),
        "where the master listens for its workers (default *:5557); a HOST address also "
        "makes the embedded service listen there, for workers on other machines",
        metavar="HOST:PORT",
    )
    #: how long it waits for them (exit 3 after)
    workers_timeout: float = option(
        60.0,
        Seconds(0, MAX_WAIT_S, above=True),
        "how long to wait for the workers before giving up with exit 3 (default 60s, at most 1h)",
    )
    #: load the production rules (``slocheck generate``) into the managed Prometheus (or read
    #: the alerts of yours) and report the alerts that went pending or fired
    with_rules: bool = option(
        False,
        Switch(),
        "load the production rules `slocheck generate` writes into the managed Prometheus "
        "(or read the alerts of yours) and report the alerts that went pending or fired",
    )

    def __post_init__(self) -> None:
        for s in SETTINGS.values():
            value = getattr(self, s.name)
            if value is not None and value != s.default:
                object.__setattr__(self, s.name, checked(s.name, value, "RunOptions"))

    def load_overrides(self) -> dict[str, Any]:
        """The fields of the spec's ``load:`` these options override: ``{"users": 8}``."""
        return {
            s.overrides: getattr(self, s.name)
            for s in SETTINGS.values()
            if s.overrides is not None and getattr(self, s.name) is not None
        }

    @property
    def service_host(self) -> str:
        """Where the embedded service listens: on the master's bind address when workers on
        other machines must reach it, else on loopback."""
        host = self.master_bind[0]
        if self.expect_workers and host not in ("*", "0.0.0.0", "::", ""):
            return host
        return "127.0.0.1"


#: Every option a caller may set, by name, in the order ``--help`` lists them.
SETTINGS: dict[str, Setting] = {
    f.name: Setting(
        f.name,
        f.metadata["kind"],
        f.metadata["help"],
        f.default,
        f.metadata["metavar"],
        f.metadata["overrides"],
    )
    for f in dataclasses.fields(RunOptions)
    if "kind" in f.metadata
}


def checked(name: str, value: Any, where: str) -> Any:
    """``value`` of the option ``name``, checked and normalised (durations in seconds); a
    UsageError ``<where>: <name>: <what was expected>`` otherwise."""
    try:
        return SETTINGS[name].kind.check(value)
    except ValueError as e:
        raise UsageError(f"{where}: {name}: {e}") from None


def settings(values: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The options in ``values``, each checked; None values are dropped (not given); an
    unknown name is a UsageError listing the options."""
    out: dict[str, Any] = {}
    for name, given in values.items():
        if name not in SETTINGS:
            raise UsageError(
                f"{where}: unknown override {name!r}", hint=f"one of {', '.join(SETTINGS)}"
            )
        if given is not None:
            out[name] = checked(name, given, where)
    return out


# -- the options over the spec: the load ------------------------------------------------------

#: SLIs whose threshold is a request's latency: they size an open loop's requests in flight.
LATENCY_SLIS = ("latency", "latency_ratio")


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
    """The load of a spec (its ``load:`` and ``target:`` API settings), with the options'
    overrides (:meth:`RunOptions.load_overrides`); files named in the spec are relative to its
    folder (``base``), ``options.scenario`` to the current one."""

    def path(name: str | None) -> Path | None:
        return None if name is None else resolved(name, base)

    def tokens(t: TokenLength | None) -> tuple[float, float] | None:
        return None if t is None else (t.mean, t.stddev)

    t = target or TargetSpec()
    load = spec.model_copy(update=options.load_overrides())
    builtin = load.scenario in BUILTIN_SCENARIOS
    return LoadConfig(
        host=host,
        scenario=options.scenario or (load.scenario if builtin else str(path(load.scenario))),
        **_pace(load, slos),
        spawn_rate=load.spawn_rate,
        processes=options.processes,
        mix={"classifier": "classify=1", "generator": "generate=1"}.get(
            models, "classify=9,generate=1"
        ),
        api=t.api,
        model=t.model,
        openai_endpoint=t.endpoint,
        stream=t.stream,
        prompts=path(load.prompts),
        input_tokens=tokens(load.input_tokens),
        output_tokens=tokens(load.output_tokens),
        payload=path(load.payload),
        http_method=t.method,
        http_path=t.path,
        seed=load.seed,
        distribution=load.distribution,
        workers=options.expect_workers,
        master_bind=options.master_bind,
        workers_timeout=options.workers_timeout,
    )


def _pace(load: LoadSpec, slos: Sequence[SloSpec]) -> dict[str, Any]:
    """How many users, how fast, how long: an open loop given neither ``users`` nor
    ``max_in_flight`` gets enough requests in flight to keep sending through a stall of
    several times the largest latency threshold of ``slos``."""
    max_in_flight = load.max_in_flight
    thresholds = [s.threshold for s in slos if s.sli in LATENCY_SLIS and s.threshold]
    told = "users" in load.model_fields_set
    if load.arrival == "open" and load.rate and max_in_flight is None and not told and thresholds:
        max_in_flight = in_flight_for(load.rate, max(thresholds), at_least=load.users)
    return {
        "users": load.users,
        "rate": load.rate,
        "duration": load.duration,
        "warmup": load.warmup,
        "arrival": load.arrival,
        "max_in_flight": max_in_flight,
    }


def resolved(name: str, base: Path | None) -> Path:
    """``name`` (``~`` expanded) against ``base`` unless absolute."""
    p = Path(name).expanduser()
    return p if p.is_absolute() or base is None else base / p
