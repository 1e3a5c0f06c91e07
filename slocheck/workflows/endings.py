"""What a run says of its phases (:class:`Stage`, :func:`load_text`), and how it ends when it
does not run out: the stage it was in, the stop signals it received,
the error that broke it; and its result then, with the client's own records kept."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slocheck.evaluate.crosscheck import CrossCheck
from slocheck.load import ClientStats, LoadConfig, LoadResult, stopping
from slocheck.load.client_stats import client_stats
from slocheck.results import Ending, RunResult, VerifyResult
from slocheck.slofile import LoadedSpec
from slocheck.units import format_duration
from slocheck.verdict import Verdict


class Stage:
    """What the run is doing (the phase it announced last), for the report of an ending."""

    def __init__(self, on_phase: Callable[[str], None] | None) -> None:
        self.on_phase = on_phase
        self.now = "the start-up"

    def __call__(self, text: str, stage: str | None = None) -> None:
        self.now = stage or self.now
        if self.on_phase is not None:
            self.on_phase(text)


@dataclass(frozen=True)
class Where:
    """Where a run ran (the target and the Prometheus as shown: never a password), and its
    spec and reports folder: what every result of the run holds, whatever its verdict."""

    target_url: str
    prometheus_url: str
    embedded: bool
    out_dir: Path
    spec: LoadedSpec

    def result(
        self,
        verdict: Verdict,
        load: LoadResult,
        *,
        verify: VerifyResult | None = None,
        checks: list[CrossCheck] | None = None,
        client: ClientStats | None = None,
        **more: Any,
    ) -> RunResult:
        """The run's result, built from named fields."""
        return RunResult(
            verdict=verdict,
            verify=verify,
            load=load,
            checks=checks or [],
            target_url=self.target_url,
            prometheus_url=self.prometheus_url,
            embedded=self.embedded,
            out_dir=self.out_dir,
            loaded=self.spec,
            client=client,
            **more,
        )


def broken(
    load: LoadResult,
    where: Where,
    stage: str,
    *,
    signal: str | None = None,
    error: str | None = None,
) -> RunResult:
    """The result of a run whose SLOs could not be judged: the client's records kept, marked
    interrupted (exit 130) when a stop signal came first, else error (exit 3)."""
    first = signal or load.stopped_by
    verdict: Verdict = Verdict.INTERRUPTED if first else Verdict.ERROR
    if load.interrupted:
        stage = "the load"
    ending = Ending(stage, (first,) if first else (), error=error)
    stats = client_stats_anyway(load)
    return where.result(verdict, load, client=stats, error=error, ending=ending)


def client_stats_anyway(load: LoadResult) -> ClientStats:
    try:
        return client_stats(load)
    except KeyboardInterrupt:  # the first stop signal came just now: a later one is noted
        return client_stats(load)


def ended(result: RunResult) -> RunResult:
    """``result`` with every stop signal this run received (a second one, noted during the
    stop, among them) in its ending; a load interrupted in its window names it."""
    received = tuple(stopping.received())
    ending = result.ending
    if ending is None and result.load.interrupted:
        ending = Ending("the load", (result.load.stopped_by or "SIGINT",))
    if ending is not None:
        signals = received if ending.signals and len(received) > len(ending.signals) else None
        result.ending = dataclasses.replace(
            ending, signals=signals or ending.signals, judged=result.verify is not None
        )
    return result


def _open_loop_text(cfg: LoadConfig) -> str:
    """How an open loop sends: at a rate with a distribution, or replaying a trace."""
    if cfg.trace is None:
        return f"open loop at {cfg.rate:g} requests/s ({cfg.distribution})"
    faster = f" {cfg.speedup:g}x faster" if cfg.speedup != 1 else ""
    return f"open loop replaying {cfg.trace.name}{faster} ({cfg.rate:.3g} requests/s in the window)"


def load_text(cfg: LoadConfig) -> str:
    return (
        f"load: {cfg.scenario}, "
        + (
            f"{_open_loop_text(cfg)}, at most {cfg.locust_users} in flight"
            if cfg.open_loop
            else f"{cfg.users} users" + (f" at {cfg.rate:g} requests/s" if cfg.rate else "")
        )
        + f", {format_duration(cfg.warmup)} warm-up + {format_duration(cfg.duration)}"
        + (
            f", on {cfg.workers} Locust workers (waiting up to "
            f"{format_duration(cfg.workers_timeout)} for them on port {cfg.master_bind[1]})"
            if cfg.workers
            else ""
        )
    )
