"""The regression record of a run: what the history stores of a :class:`RunResult` (window
latencies, TTFT, counts), its configuration fingerprint, and the commit it ran on."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import time

from slocheck.load.stats import merged, new_histogram
from slocheck.regress import RunRecord
from slocheck.results import CapacityResult, RunResult
from slocheck.units import redact_urls


def git_sha() -> str | None:
    for var in ("SLOCHECK_GIT_SHA", "GITHUB_SHA", "CI_COMMIT_SHA"):
        if os.environ.get(var):
            return os.environ[var]
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def fingerprint(result: RunResult) -> str:
    """What must be equal for two runs to be comparable: the spec (its SLOs, load, Prometheus
    and service settings, but not ``service.faults``, which stand for the build under test),
    the load shape, the target and the host."""
    cfg = result.load.config
    spec = result.loaded.spec.model_dump(mode="json", exclude={"service": {"faults"}})
    facts = {
        "spec": hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest(),
        "scenario": cfg.scenario,
        "users": cfg.users,
        "rate": cfg.rate,
        "duration": cfg.duration,
        "warmup": cfg.warmup,
        "processes": cfg.processes,
        "mix": cfg.mix,
        "target": "embedded" if result.embedded else result.target_url,
        "host": {"cpus": os.cpu_count(), "machine": platform.machine()},
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:16]


def record_of(result: RunResult, run_id: str | None = None) -> RunRecord:
    """The regression record of a run: window latencies (all requests), TTFT, counts."""
    snap, lo = result.load.snapshot, result.load.window_start
    table = merged(snap.requests.values())
    latency = new_histogram()
    per_second: list[int] = []
    requests = errors = 0
    for sec in sorted(table):
        if sec < lo:
            continue
        slot = table[sec]
        slot.add_to(latency)
        requests += slot.count
        errors += slot.errors
        per_second.append(slot.count)
    if per_second:
        per_second = per_second[:-1] or per_second  # the last second is partial
    ttft = new_histogram()
    for sec, slot in snap.metrics.get("ttft", {}).items():
        if sec >= lo:
            slot.add_to(ttft)
    created = time.time()
    labels = {k: v for k, v in (("git_sha", git_sha()), ("spec", result.loaded.path)) if v}
    return RunRecord(
        run_id=run_id or time.strftime("%Y%m%dT%H%M%S", time.gmtime(created)) + f"-{os.getpid()}",
        created_at=created,
        fingerprint=fingerprint(result),
        latency_hdr=latency.encode().decode() if latency.get_total_count() else None,
        ttft_hdr=ttft.encode().decode() if ttft.get_total_count() else None,
        requests=requests,
        errors=errors,
        per_second=per_second,
        verdict=result.verdict,
        labels=labels,
    )


def capacity_record(result: CapacityResult, run_id: str | None = None) -> RunRecord:
    """What the history keeps of a capacity search: its bracket, under a fingerprint of the
    spec (``service.faults`` aside, as for runs) and the search's settings, so that only
    searches made alike are compared."""
    o = result.options
    spec = result.loaded.spec.model_dump(mode="json", exclude={"service": {"faults"}})
    facts = {
        "kind": "capacity",
        "spec": hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest(),
        "search": [o.min_rate, o.max_rate, o.step_duration, o.warmup, o.precision, o.processes],
        "target": redact_urls(o.target_url) if o.target_url else "embedded",
        "host": {"cpus": os.cpu_count(), "machine": platform.machine()},
    }
    created = time.time()
    labels = {k: v for k, v in (("git_sha", git_sha()), ("spec", result.loaded.path)) if v}
    return RunRecord(
        run_id=run_id or time.strftime("%Y%m%dT%H%M%S", time.gmtime(created)) + f"-{os.getpid()}",
        created_at=created,
        fingerprint=hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:16],
        latency_hdr=None,
        ttft_hdr=None,
        requests=0,
        errors=0,
        per_second=[],
        verdict=result.verdict,
        labels={**labels, "kind": "capacity"},
        capacity_lower=result.bracket.lower,
        capacity_upper=result.bracket.upper,
    )
