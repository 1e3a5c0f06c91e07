"""The steps of ``capacity`` and the loads of ``sweep``: each a whole run with its own reports
(:func:`run_step`), and a point of the latency-throughput curve, read from the run's client
statistics and verdicts (:func:`curve_point`)."""

from __future__ import annotations

from collections.abc import Callable

from slocheck.evaluate.search import step_verdict
from slocheck.evaluate.sweep import CurvePoint
from slocheck.load import stopping, summarise
from slocheck.load.stats import merged
from slocheck.report.gate import write_run_reports
from slocheck.results import RunResult
from slocheck.results.run_settings import RunOptions
from slocheck.slofile import LoadedSpec
from slocheck.verdict import Verdict
from slocheck.workflows.run import run


def run_step(loaded: LoadedSpec, options: RunOptions, phase: Callable[[str], None]) -> RunResult:
    """One step: a whole ``slocheck run`` (its phases indented under the step's), then its own
    reports under ``options.out_dir``; a stop signal meanwhile waits for them (and ends the
    search or sweep after this step). An :class:`InfrastructureError` passes through."""
    result = run(loaded, options, on_phase=lambda msg: phase(f"  {msg}"))
    with stopping.deferred():
        write_run_reports(result)  # report.json, junit.xml, summary, HTML, the requests
    return result


def broken_by(result: RunResult) -> list[str]:
    """The critical SLOs a run missed and the cross-checks that failed; [] when it passed."""
    if step_verdict(result.verdict) == Verdict.PASS:
        return []
    broken = []
    if result.verify is not None:
        broken = [
            r.name
            for r in result.verify.results
            if not r.verdict.passed and r.severity == "critical"
        ]
    return broken + [c.name for c in result.checks if not c.ok]


def achieved_rps(result: RunResult) -> float | None:
    """The requests/s the run achieved over its window, as its ``achieved_load`` check saw."""
    found = next(
        (c.details.get("achieved_rps") for c in result.checks if c.name == "achieved_load"), None
    )
    return float(found) if isinstance(found, (int, float)) else None


def curve_point(result: RunResult, at: float) -> CurvePoint:
    """The run at load ``at`` as a point of the curve. Latency is end to end from each
    request's due time in an open loop (what its user saw), else from its send; the stream
    and goodput measures where the run has them."""
    load = result.load
    requests = summarise(merged(load.snapshot.requests.values()), lo=load.window_start)
    client = result.client
    open_loop = client.open_loop if client is not None else None
    llm = client.llm if client is not None else None
    latency = open_loop.intended_send.p95_s if open_loop and open_loop.intended_send else None
    goodput = None
    if result.verify is not None:
        goodput = next((r.value for r in result.verify.results if r.sli == "goodput"), None)
    return CurvePoint(
        at=at,
        verdict=step_verdict(result.verdict),
        broken_by=broken_by(result),
        requests=requests.count,
        achieved_rps=achieved_rps(result),
        latency_p95_s=latency if open_loop else requests.percentile(95),
        ttft_p95_s=llm.ttft.p95_s if llm and llm.ttft else None,
        itl_p95_s=llm.itl.p95_s if llm and llm.itl else None,
        goodput=goodput,
        output_tokens_per_s=llm.output_tokens_per_s if llm else None,
        error_ratio=requests.errors / requests.count if requests.count else None,
    )
