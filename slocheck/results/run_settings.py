"""The settings of a run: one declaration per option (its name, default, help text, bounds
and the spec field it overrides) that the command line, the pytest plugin, ``bench``,
``capacity`` and the Python API all build and check the same way.

:class:`RunOptions` is the model: each field that a caller may set is declared with
:func:`option`, which records its :class:`~.option_kinds.Kind` (what values it takes, with the
bounds of :mod:`slocheck.slofile.bounds`) and its help text. ``slocheck run``'s flags are
generated from these fields (``cli/flags.py``: ``--users`` for ``users``), the pytest plugin's
keyword arguments are their names, and building a :class:`RunOptions` checks every value given
(a UsageError naming the field otherwise), so the Python API is checked as the command line
is. :class:`CapacityOptions` and :class:`BenchOptions` declare the options of a run their
steps or runs take with :func:`same_as`: the same field, default, help and flag.

Here, in ``results/``, because the CLI and the pytest plugin (which never import each other)
both build it, and the capacity result holds its :class:`CapacityOptions`.
:func:`~slocheck.results.load_settings.load_config` is the one place where the options meet
the spec's ``load:``. Nothing here imports the spec's model: every ``slocheck`` process builds
the parser from these declarations."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slocheck.errors import UsageError
from slocheck.results.option_kinds import (
    Bind,
    Choice,
    Kind,
    Number,
    Scenario,
    Seconds,
    Switch,
    Url,
    Whole,
)
from slocheck.slofile.bounds import (
    MAX_DURATION_S,
    MAX_PROCESSES,
    MAX_RATE,
    MAX_USERS,
    MAX_WAIT_S,
    MAX_WARMUP_S,
    MAX_WORKERS,
    MIN_DURATION_S,
)

__all__ = [
    "MAX_SWEEP_POINTS",
    "SETTINGS",
    "BenchOptions",
    "CapacityOptions",
    "RunOptions",
    "Setting",
    "SweepOptions",
    "check_fields",
    "checked",
    "option",
    "same_as",
    "setting_names",
    "settings",
    "settings_in",
]


#: The most loads one sweep runs (each is a whole run).
MAX_SWEEP_POINTS = 64


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
    max_in_flight: int | None = option(
        None,
        Whole(1, MAX_USERS),
        f"overrides load.max_in_flight (open loop: the requests in flight at most; 1 to "
        f"{MAX_USERS})",
        overrides="max_in_flight",
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
        check_fields(self)

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


def same_as(name: str) -> Any:
    """A field of another options class (``CapacityOptions``, ``BenchOptions``) that is the
    run's option ``name``: the same default, kind and help text, hence the same flag."""
    [f] = [f for f in dataclasses.fields(RunOptions) if f.name == name]
    return field(default=f.default, metadata=f.metadata)


def check_fields(options: Any) -> None:
    """Check (and normalise) every field of the dataclass ``options`` that is an option of a
    run; a UsageError ``<class>: <name>: <what was expected>`` otherwise."""
    for f in dataclasses.fields(options):
        value = getattr(options, f.name)
        if f.name in SETTINGS and value is not None and value != f.default:
            object.__setattr__(options, f.name, checked(f.name, value, type(options).__name__))


def settings_in(options: Any) -> dict[str, Any]:
    """The options of a run that the dataclass instance ``options`` holds, by name."""
    return {name: getattr(options, name) for name in setting_names(type(options))}


def setting_names(cls: type) -> list[str]:
    """The fields of the dataclass ``cls`` that are options of a run (:func:`same_as`)."""
    return [f.name for f in dataclasses.fields(cls) if f.name in SETTINGS]


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


# -- the options of the commands that run runs ------------------------------------------------


@dataclass(frozen=True)
class CapacityOptions:
    """``slocheck capacity``'s search, and the options of a run each step runs with."""

    out_dir: Path
    min_rate: float | None = None  # None: the lowest rate one step decides every SLO at
    max_rate: float = 10_000.0
    budget_s: float = 600.0
    step_duration: float = 30.0
    warmup: float | None = same_as("warmup")  # None: the spec's
    precision: float = 0.10
    require_rate: float | None = None  # exit 0 only when the capacity reaches it
    target_url: str | None = same_as("target_url")
    prometheus_url: str | None = same_as("prometheus_url")
    processes: int = same_as("processes")

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True)
class SweepOptions:
    """``slocheck sweep``'s loads (open-loop ``rates`` or closed-loop ``concurrency``, one of
    them), how long each is judged, and the options of a run each point runs with."""

    out_dir: Path
    rates: tuple[float, ...] = ()
    concurrency: tuple[int, ...] = ()
    step_duration: float = 30.0
    warmup: float | None = same_as("warmup")  # None: the spec's
    target_url: str | None = same_as("target_url")
    prometheus_url: str | None = same_as("prometheus_url")
    processes: int = same_as("processes")

    def __post_init__(self) -> None:
        if bool(self.rates) == bool(self.concurrency):
            raise UsageError("sweep: give the rates or the concurrency to sweep, one of them")
        for name, values in (("rates", self.rates), ("concurrency", self.concurrency)):
            if len(values) > MAX_SWEEP_POINTS:
                raise UsageError(f"--{name}: at most {MAX_SWEEP_POINTS} loads, got {len(values)}")
            if list(values) != sorted(set(values)):
                raise UsageError(f"--{name}: expected increasing loads, each once")
        for rate in self.rates:
            checked("rate", rate, "--rates")
        for users in self.concurrency:
            checked("users", users, "--concurrency")
        check_fields(self)


@dataclass(frozen=True)
class BenchOptions:
    """``slocheck bench``'s repeats and comparison, and the options of a run each run takes."""

    repeat: int
    history: str
    out_dir: Path
    duration: float | None = same_as("duration")
    compare_to: str | None = None  # a baseline: median:M, last-pass, a run id, a report.json
    any_fingerprint: bool = False

    def __post_init__(self) -> None:
        check_fields(self)
