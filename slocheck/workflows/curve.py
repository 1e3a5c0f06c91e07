"""A run as a point of the latency-throughput curve: what ``capacity``'s steps and ``sweep``'s
loads each measured, read from the run's client statistics and verdicts."""

from __future__ import annotations

from slocheck.evaluate.search import step_verdict
from slocheck.evaluate.sweep import CurvePoint
from slocheck.load import summarise
from slocheck.load.stats import merged
from slocheck.results import RunResult
from slocheck.verdict import Verdict


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
