"""The options of a run over its spec: the load (:func:`load_config`), the one place where
:class:`~slocheck.results.run_settings.RunOptions` meet the spec's ``load:`` and ``target:``,
and where the spec's file names are resolved."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from slocheck.errors import UsageError
from slocheck.load.config import BUILTIN_SCENARIOS, LoadConfig, in_flight_for, trace_rates
from slocheck.load.locustfiles.bodies import Lengths
from slocheck.results.run_settings import RunOptions
from slocheck.slofile import LoadedSpec
from slocheck.slofile.kinds import KINDS
from slocheck.slofile.model import LoadSpec, SloSpec, TargetSpec, TokenLength

__all__ = ["load_config", "resolved", "spec_base"]


def load_config(
    loaded: LoadedSpec, options: RunOptions, host: str, *, embedded: bool = False
) -> LoadConfig:
    """The load of a spec (its ``load:`` and ``target:`` API settings) against ``host``, with
    the options' overrides (:meth:`RunOptions.load_overrides`); files named in the spec are
    relative to its folder, ``options.scenario`` to the current one. ``embedded``: the
    embedded service, whose model decides the request mix."""
    spec, base = loaded.spec, spec_base(loaded)
    models = spec.service.model if embedded else ""
    load = spec.load.model_copy(update=options.load_overrides())
    builtin = load.scenario in BUILTIN_SCENARIOS
    return LoadConfig(
        host=host,
        scenario=options.scenario
        or (load.scenario if builtin else str(resolved(load.scenario, base))),
        **_pace(load, spec.slos, base),
        **_requests(load, spec.target or TargetSpec(), base),
        spawn_rate=load.spawn_rate,
        processes=options.processes,
        mix={"classifier": "classify=1", "generator": "generate=1"}.get(
            models, "classify=9,generate=1"
        ),
        seed=load.seed,
        distribution=load.distribution,
        burstiness=load.burstiness,
        workers=options.expect_workers,
        master_bind=options.master_bind,
        workers_timeout=options.workers_timeout,
    )


def _requests(load: LoadSpec, t: TargetSpec, base: Path | None) -> dict[str, Any]:
    """What each request is: the target's API, and the prompts, token lengths or payloads
    of the spec's ``load:`` (files relative to ``base``)."""

    def path(name: str | None) -> Path | None:
        return None if name is None else resolved(name, base)

    def tokens(length: TokenLength | None) -> Lengths | None:
        if length is None:
            return None
        return Lengths(
            length.mean or 0.0, length.stddev, length.distribution, length.min, length.max
        )

    return {
        "api": t.api,
        "model": t.model,
        "openai_endpoint": t.endpoint,
        "stream": t.stream,
        "prompts": path(load.prompts),
        "sample": load.sample,
        "turns": load.turns,
        "think_time": load.think_time,
        "input_tokens": tokens(load.input_tokens),
        "output_tokens": tokens(load.output_tokens),
        "prefix": None if load.prefix is None else (load.prefix.count, load.prefix.tokens),
        "tokenizer": path(load.tokenizer),
        "payload": path(load.payload),
        "http_method": t.method,
        "http_path": t.path,
    }


def _pace(load: LoadSpec, slos: Sequence[SloSpec], base: Path | None) -> dict[str, Any]:
    """How many users, how fast, how long: an open loop given neither ``users`` nor
    ``max_in_flight`` gets enough requests in flight to keep sending through a stall of
    several times the largest latency threshold of ``slos`` (a trace: at its busiest second).
    A trace's rate is the one it asks for in the judged window."""
    max_in_flight, rate, busiest = load.max_in_flight, load.rate, load.rate
    trace = None if load.trace is None else resolved(load.trace, base)
    if trace is not None and load.rate is not None:  # the spec cannot say both: an option did
        raise UsageError("--rate: the trace sets the rate (its times); load.speedup scales it")
    if trace is not None:
        rates = trace_rates(trace, load.speedup, load.warmup, load.duration)
        rate, busiest = rates.window, rates.peak
    thresholds = [s.threshold for s in slos if KINDS[s.sli].times_requests and s.threshold]
    told = "users" in load.model_fields_set
    if load.arrival == "open" and busiest and max_in_flight is None and not told and thresholds:
        max_in_flight = in_flight_for(busiest, max(thresholds), at_least=load.users)
    return {
        "users": load.users,
        "rate": rate,
        "trace": trace,
        "speedup": load.speedup,
        "duration": load.duration,
        "warmup": load.warmup,
        "arrival": load.arrival,
        "max_in_flight": max_in_flight,
    }


def spec_base(loaded: LoadedSpec) -> Path | None:
    """The folder the spec's file names are relative to (None for a spec with no file)."""
    return Path(loaded.path).parent if loaded.path and loaded.path != "<spec>" else None


def resolved(name: str, base: Path | None) -> Path:
    """``name`` (``~`` expanded) against ``base`` unless absolute."""
    p = Path(name).expanduser()
    return p if p.is_absolute() or base is None else base / p
