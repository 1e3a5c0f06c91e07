"""What the load generator measured over a run, as the reports show it: per request name over
the window and the whole run, the streaming figures (TTFT, inter-token latency, tokens/s), the
open loop's latencies and drops, and each load-generating process's share."""

from __future__ import annotations

from typing import Any

from slocheck.load import LoadResult, summarise
from slocheck.load.stats import count_between, merged


def client_stats(load: LoadResult) -> dict[str, Any]:
    snap = load.snapshot
    lo = load.window_start
    out: dict[str, Any] = {"window": {}, "whole_run": {}, "status": snap.status}
    for name, seconds in snap.requests.items():
        out["window"][name] = summarise(seconds, lo=lo).to_dict()
        out["whole_run"][name] = summarise(seconds).to_dict()
    for name, seconds in snap.metrics.items():
        out["window"][name] = summarise(seconds, lo=lo).to_dict()
    llm = llm_stats(load)
    if llm:
        out["llm"] = llm
    if load.config.open_loop:
        out["open_loop"] = open_loop_stats(load)
    generators = generator_stats(load)
    if generators:
        out["generators"] = generators
    return out


def generator_stats(load: LoadResult) -> list[dict[str, Any]]:
    """Per load-generating process (each worker, or each of ``--processes``), over the window:
    its requests and requests/s. Empty when one process sent the whole load."""
    snap, lo = load.snapshot, load.window_start
    if len(snap.by_process) < 2 and not load.config.workers:
        return []
    seconds = max(load.stopped_at - lo, 1e-9)
    out = []
    for name, per_second in sorted(snap.by_process.items()):
        n = count_between(per_second, lo)
        out.append({"name": name, "requests": n, "rps": n / seconds})
    return out


def open_loop_stats(load: LoadResult) -> dict[str, Any]:
    """An open-loop run, over the window: the latency from each request's intended send time
    (what its user saw) and from its actual send (the service's answer time), and the sends
    dropped because every user was busy for too long."""
    snap, lo = load.snapshot, load.window_start
    cfg = load.config
    intended = summarise(merged(snap.requests.values()), lo=lo)
    actual = summarise(snap.metrics.get("service_time", {}), lo=lo)
    out: dict[str, Any] = {
        "distribution": cfg.distribution,
        "max_in_flight": cfg.locust_users,
        "dropped": count_between(snap.counts.get("dropped", {}), lo),
        "sent": intended.count,
    }
    for key, s in (("intended_send", intended), ("actual_send", actual)):
        for p in ("50", "95", "99"):
            if p in s.percentiles_s:
                out[f"{key}_p{p}_s"] = s.percentiles_s[p]
    return out


def llm_stats(load: LoadResult) -> dict[str, float]:
    """Streaming APIs, over the window: TTFT, inter-token latency, per-request tokens/s (1 /
    time per output token) and output tokens/s in all; empty when nothing streamed."""
    snap, lo = load.snapshot, load.window_start
    seconds = max(load.stopped_at - lo, 1e-9)
    out: dict[str, float] = {}
    for key, table in (("ttft", "ttft"), ("itl", "itl")):
        s = summarise(snap.metrics.get(table, {}), lo=lo)
        for p in ("50", "95", "99"):
            if p in s.percentiles_s:
                out[f"{key}_p{p}_s"] = s.percentiles_s[p]
    tpot = summarise(snap.metrics.get("tpot", {}), lo=lo).percentiles_s.get("50")
    if tpot:
        out["tokens_per_s_per_request_p50"] = 1.0 / tpot
    tokens = count_between(snap.counts.get("output_tokens", {}), lo)
    if tokens:
        out["output_tokens"] = float(tokens)
        out["output_tokens_per_s"] = tokens / seconds
    return out
