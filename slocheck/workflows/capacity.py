"""``slocheck capacity``: the highest open-loop rate at which every critical SLO still holds.

Each step is a whole ``slocheck run`` of the spec (the embedded stack, or your service and
Prometheus) at one rate, open loop (``arrival: open``: latency from each request's due time,
late sends dropped and never a pass), judged by the same verifier with the same fail-closed
rules, its reports under ``steps/``. The search (:mod:`slocheck.evaluate.search`) doubles
the rate from ``min_rate`` until a step does not pass, then bisects, within ``budget``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from slocheck.errors import InfrastructureError, UsageError
from slocheck.evaluate.search import (
    Search,
    Step,
    StoppedBy,
    samples_needed,
    step_seconds,
    stopped_by,
)
from slocheck.evaluate.sweep import CurvePoint, step_folder
from slocheck.load import stopping
from slocheck.results import CapacityOptions, CapacityResult, RunResult
from slocheck.results.run_settings import RunOptions, SweepOptions, settings_in
from slocheck.slofile import LoadedSpec
from slocheck.verdict import Verdict
from slocheck.workflows.curve import curve_point, run_step

#: What a step costs beyond its warm-up and load when none has run yet (start-up, judging).
STEP_OVERHEAD_S = 10.0


def step_of(result: RunResult, rate: float, seconds: float) -> Step:
    """A run at one rate as a search step: what broke it when it did not pass, and its
    latencies from each request's due time (open loop)."""
    point = curve_point(result, rate)
    open_loop = result.client.open_loop if result.client is not None else None
    intended = open_loop.intended_send if open_loop is not None else None
    return Step(
        rate=rate,
        verdict=point.verdict,
        broken_by=point.broken_by,
        achieved_rps=point.achieved_rps,
        p95_s=intended.p95_s if intended is not None else None,
        p99_s=intended.p99_s if intended is not None else None,
        error_ratio=point.error_ratio,
        seconds=seconds,
    )


def step_options(
    loaded: LoadedSpec, rate: float, options: CapacityOptions | SweepOptions, out: Path
) -> RunOptions:
    """A step's run at one rate: the search's options of a run, open loop, ``step_duration``
    long (longer where the rate is too low to decide every SLO in it), with enough users in
    flight for a second of answers at that rate (fewer would drop sends on a healthy
    service)."""
    load = loaded.spec.load
    in_flight = max(load.max_in_flight or load.users, math.ceil(rate))
    return RunOptions(
        out_dir=out,
        **settings_in(options),
        arrival="open",
        rate=rate,
        duration=step_seconds(rate, options.step_duration, samples_needed(loaded.spec.slos)),
        max_in_flight=min(in_flight, 10_000),
    )


def first_step_seconds(loaded: LoadedSpec, options: CapacityOptions) -> tuple[float, float]:
    """What the first step takes (its warm-up and judged load) and, with the start-up and
    judging around it, the smallest budget in which it runs."""
    assert options.min_rate is not None
    warmup = loaded.spec.load.warmup if options.warmup is None else options.warmup
    load = step_seconds(options.min_rate, options.step_duration, samples_needed(loaded.spec.slos))
    return warmup + load, warmup + load + STEP_OVERHEAD_S


def check_budget(loaded: LoadedSpec, options: CapacityOptions) -> None:
    """A budget shorter than one step would decide nothing (no step run, "below the
    minimum"): a usage error (exit 2) naming the smallest budget that works."""
    step, smallest = first_step_seconds(loaded, options)
    if options.budget_s < smallest:
        raise UsageError(
            f"--budget {options.budget_s:g}s is shorter than one step: at "
            f"{options.min_rate:g} requests/s a step takes {step:g}s of warm-up and load, and "
            f"about {STEP_OVERHEAD_S:g}s more to start and judge; nothing would be measured",
            hint=f"give --budget {math.ceil(smallest)}s or more (a search takes several steps: "
            "the default is 10m), or a shorter --step-duration / --warmup",
        )


def capacity(
    loaded: LoadedSpec,
    options: CapacityOptions,
    on_step: Callable[[Step], None] | None = None,
    on_phase: Callable[[str], None] | None = None,
) -> CapacityResult:
    """The search; a UsageError before any step when the budget cannot hold one."""
    needed = samples_needed(loaded.spec.slos)
    if options.min_rate is None:  # the lowest rate at which one step decides every SLO
        options = replace(options, min_rate=float(math.ceil(1.25 * needed / options.step_duration)))
    assert options.min_rate is not None
    check_budget(loaded, options)
    search = Search(options.min_rate, options.max_rate, options.precision)
    phase = on_phase or (lambda _msg: None)
    started = time.time()
    steps: list[Step] = []
    runs: list[RunResult] = []
    curve: list[CurvePoint] = []

    def steps_until_stopped() -> tuple[StoppedBy, str | None]:
        while True:
            rate = search.next_rate(steps)
            if rate is None:
                return StoppedBy.PRECISION, None
            spent = time.time() - started
            per_step = (
                sum(s.seconds for s in steps) / len(steps)
                if steps
                else first_step_seconds(loaded, options)[1]
            )
            if spent + per_step > options.budget_s:
                return StoppedBy.BUDGET, None
            phase(f"step {len(steps) + 1}: {rate:g} requests/s")
            began = time.time()
            out = options.out_dir / "steps" / step_folder(len(steps) + 1, rate)
            try:
                result = run_step(loaded, step_options(loaded, rate, options, out), phase)
            except InfrastructureError as e:
                return StoppedBy.ERROR, str(e)
            runs.append(result)
            curve.append(curve_point(result, rate))
            step = step_of(result, rate, time.time() - began)
            steps.append(step)
            if on_step is not None:
                on_step(step)
            stopping.pause_for_tests("step-done")
            if result.verdict == Verdict.INTERRUPTED or stopping.received():
                return StoppedBy.INTERRUPTED, None
            if step.verdict == Verdict.ERROR:
                return StoppedBy.ERROR, result.error or "a step ended in error"

    try:
        ended, error = steps_until_stopped()
    except KeyboardInterrupt:  # a stop signal between two steps: the search so far is reported
        ended, error = StoppedBy.INTERRUPTED, None
    bracket = search.bracket(steps)
    return CapacityResult(
        loaded=loaded,
        options=options,
        steps=steps,
        runs=runs,
        bracket=bracket,
        started_at=started,
        finished_at=time.time(),
        stopped_by=stopped_by(ended, bracket),
        error=error,
        curve=curve,
    )
