"""Figures of issue 27's LLM-workload features, measured with real runs of the embedded service.

    .venv/bin/python benchmarks/llm_workloads.py abort [--repeat 3]    # ~1 minute a run
    .venv/bin/python benchmarks/llm_workloads.py collapse              # ~80 s
    .venv/bin/python benchmarks/llm_workloads.py trace [--repeat 3]    # ~35 s a run

``abort``: a service failing a fifth of its requests, ``abort_on_fail`` with ``abort_delay: 2s``
on availability 99% at 20 requests/s for a planned 60 s. From ``requests.jsonl.gz`` it finds
when the budget was really spent (the failure, in the window, after which even a perfect rest
could not pass: the same rule, counted from the records) and from ``report.json`` when the
load stopped (Locust's ``test_stop``): stop - spent is what the issue bounds by ``abort_delay``
plus one second.

``collapse``: the issue's 60 s open-loop run at 20 requests/s whose service stalls for 10 s in
the middle, judged on the share within 500 ms (75%), whole and by 10 s slices.

``trace``: a 200-request trace (Poisson arrivals at 8 requests/s, one burst of 10 at one
instant, Mooncake's JSONL format) replayed on the embedded default's OpenAI API; from
``requests.jsonl.gz``, how late each send went out (actual send less the trace's time), over
every request of the run, and what the report counted late (over 10 ms, in the window).

Results: benchmarks/results/llm_workloads.md (and .json).
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import random
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from slocheck.evaluate.abort import budget_spent
from slocheck.slofile.model import SloSpec

ROOT = Path(__file__).parents[1]
RESULTS = ROOT / "benchmarks" / "results"

ABORT = """\
version: 1
service: {model: classifier, faults: {error_rate: 20%, seed: 3}}
prometheus: {selector: 'job="slocheck", endpoint="/v1/classify"', scrape_interval: 1s}
load: {users: 4, rate: 20, duration: 60s, warmup: 2s}
slos:
  - {name: availability, sli: availability, objective: 99%, abort_on_fail: true,
     abort_delay: 2s}
"""
COLLAPSE = """\
version: 1
service:
  model: classifier
  faults: {stall_every: 40s, stall_for: 10s}   # one stall, 40 s to 50 s after the start
prometheus: {selector: 'job="slocheck", endpoint="/v1/classify"', scrape_interval: 1s}
load: {arrival: open, rate: 20, max_in_flight: 300, duration: 60s, warmup: 2s}
slos:
  - {name: fast-whole, sli: latency_ratio, threshold: 500ms, objective: 75%}
  - {name: fast-sliced, sli: latency_ratio, threshold: 500ms, objective: 75%, slice: 10s}
"""


TRACE = """\
version: 1
target: {api: openai}
load: {trace: trace.jsonl, warmup: 2s, duration: 25s}
slos:  # decidable on ~185 requests: the figures here are the send times
  - {name: answered, sli: availability, objective: 95%}
"""


def _trace(path: Path) -> int:
    """Write the 200-request trace; its requests."""
    rng = random.Random(27)
    stamps: list[float] = []
    t = 0.0
    while len(stamps) < 190:
        t += rng.expovariate(8.0)
        stamps.append(t)
    stamps += [stamps[100]] * 10  # a burst: ten requests at one instant
    lines = [
        json.dumps(
            {
                "timestamp": round(ms * 1000),
                "input_length": rng.randint(16, 128),
                "output_length": rng.randint(8, 32),
            }
        )
        for ms in sorted(stamps)
    ]
    path.write_text("\n".join(lines) + "\n")
    return len(lines)


def _run(spec: str, out: Path) -> tuple[int, dict[str, Any], list[dict[str, Any]]]:
    path = out.parent / "slos.yaml"
    path.write_text(spec)
    done = subprocess.run(
        [sys.executable, "-m", "slocheck", "run", "--slo", str(path), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    report = json.loads((out / "report.json").read_text())
    with gzip.open(out / "requests.jsonl.gz", "rt") as f:
        records = [json.loads(line) for line in f]
    return done.returncode, report, records


def _unix(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def abort_once() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as d:
        code, report, records = _run(ABORT, Path(d) / "out")
    slo = SloSpec.model_validate(
        {"name": "availability", "sli": "availability", "objective": "99%"}
    )
    start = _unix(report["load"]["window_start"])
    stopped = _unix(report["load"]["stopped_at"])
    failed = sorted(r["end"] for r in records if not r["ok"] and int(r["end"]) >= start)
    planned = 20 * 60
    spent = next(
        (t for k, t in enumerate(failed, 1) if budget_spent(slo, k, planned) is not None), None
    )
    check = next(c for c in report["cross_checks"] if c["name"] == "stopped_early")
    return {
        "exit": code,
        "requests": len(records),
        "spent_at": spent,
        "seen_spent_at": check["details"]["budget_spent_at"],
        "stop_asked_at": check["details"]["stop_asked_at"],
        "stopped_at": stopped,
        "stop_after_spent_s": None if spent is None else round(stopped - spent, 3),
        "seen_after_spent_s": None
        if spent is None
        else round(check["details"]["budget_spent_at"] - spent, 3),
    }


def collapse() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as d:
        code, report, _ = _run(COLLAPSE, Path(d) / "out")
    slos = {s["name"]: s for s in report["slos"]}
    return {
        "exit": code,
        "whole": [slos["fast-whole"]["verdict"], slos["fast-whole"]["value"]],
        "sliced": [slos["fast-sliced"]["verdict"], slos["fast-sliced"]["value"]],
        "slices": [
            [
                round(s["start"] - slos["fast-sliced"]["details"]["slices"][0]["start"]),
                s["verdict"],
                s["value"],
                s["samples"],
            ]
            for s in slos["fast-sliced"]["details"]["slices"]
        ],
    }


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def trace_once() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as d:
        requests = _trace(Path(d) / "trace.jsonl")
        code, report, records = _run(TRACE, Path(d) / "out")
    late = [max(0.0, r["sent"] - r["intended"]) for r in records]
    o = report["client"]["open_loop"]
    return {
        "exit": code,
        "trace_requests": requests,
        "sent": len(records),
        "dropped": o["dropped"],
        "lateness_p50_ms": round(_quantile(late, 0.50) * 1000, 3),
        "lateness_p99_ms": round(_quantile(late, 0.99) * 1000, 3),
        "lateness_max_ms": round(max(late) * 1000, 3),
        "over_10ms": sum(1 for x in late if x > 0.010),
        "reported_late_in_window": o["late_sends"],
        "reported_p99_ms": round(o["send_lateness_p99_s"] * 1000, 3),
    }


WHAT = {"abort": abort_once, "collapse": collapse, "trace": trace_once}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=list(WHAT))
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    runs = [WHAT[args.what]() for _ in range(args.repeat)]
    print(json.dumps(runs, indent=1))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"llm_workloads_{args.what}.json").write_text(json.dumps(runs, indent=1) + "\n")


if __name__ == "__main__":
    main()
