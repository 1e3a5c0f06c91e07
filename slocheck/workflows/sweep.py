"""``slocheck sweep``: the latency-throughput curve at given loads.

Each load is a whole ``slocheck run`` of the spec (the embedded stack, or your service and
Prometheus), judged by the same verifier with the same fail-closed rules, its reports under
``steps/``: at each of ``--rates`` an open loop (latency from each request's due time, late
sends dropped and never a pass), or at each of ``--concurrency`` a closed loop of that many
users. The curve's point of each is :func:`slocheck.workflows.curve.curve_point`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from slocheck.errors import InfrastructureError
from slocheck.evaluate.sweep import Axis, CurvePoint, step_folder
from slocheck.load import stopping
from slocheck.results import RunResult
from slocheck.results.run_settings import RunOptions, SweepOptions, settings_in
from slocheck.results.sweep_result import SweepResult
from slocheck.slofile import LoadedSpec
from slocheck.verdict import Verdict
from slocheck.workflows.capacity import step_options
from slocheck.workflows.curve import curve_point, run_step


def point_options(loaded: LoadedSpec, at: float, options: SweepOptions, out: Path) -> RunOptions:
    """The run of one load: open loop at a rate (as a capacity step: long enough to decide
    every SLO, enough users in flight), or a closed loop of ``at`` users for
    ``step_duration`` (its rate is the service's to set: too few requests is inconclusive)."""
    if options.rates:
        return step_options(loaded, at, options, out)
    return RunOptions(
        out_dir=out,
        **settings_in(options),
        arrival="closed",
        users=int(at),
        duration=options.step_duration,
    )


def sweep(
    loaded: LoadedSpec,
    options: SweepOptions,
    on_point: Callable[[CurvePoint], None] | None = None,
    on_phase: Callable[[str], None] | None = None,
) -> SweepResult:
    """Run every load in order; a stop signal or a run that cannot be judged ends the sweep
    with what it has (its reports say so)."""
    phase = on_phase or (lambda _msg: None)
    loads = [float(x) for x in (options.rates or options.concurrency)]
    axis = Axis.RATE if options.rates else Axis.CONCURRENCY
    unit = "requests/s" if options.rates else "users"
    started = time.time()
    points: list[CurvePoint] = []
    runs: list[RunResult] = []
    error: str | None = None
    interrupted = False
    try:
        for n, at in enumerate(loads, 1):
            phase(f"load {n} of {len(loads)}: {at:g} {unit}")
            out = options.out_dir / "steps" / step_folder(n, at, axis)
            try:
                result = run_step(loaded, point_options(loaded, at, options, out), phase)
            except InfrastructureError as e:
                error = str(e)
                break
            runs.append(result)
            point = curve_point(result, at)
            points.append(point)
            if on_point is not None:
                on_point(point)
            if result.verdict == Verdict.INTERRUPTED or stopping.received():
                interrupted = True
                break
            if point.verdict == Verdict.ERROR:
                error = result.error or "a load ended in error"
                break
    except KeyboardInterrupt:  # a stop signal between two loads: the curve so far is reported
        interrupted = True
    return SweepResult(
        loaded=loaded,
        options=options,
        points=points,
        runs=runs,
        started_at=started,
        finished_at=time.time(),
        interrupted=interrupted,
        error=error,
    )
