"""Does the nightly check decide? A/A and A/B through the real stack, at the settings the nightly
template recommends: each night ``slocheck bench --repeat N --compare-to median:M`` (N runs of
tonight's build, pooled, against the last M runs of earlier nights).

1. ``--baseline-runs`` (M) runs of configuration A: the first nights' history;
2. then ``--pairs`` times: a night of A (N runs) and a night of B (N runs), in alternating order
   (ABBA, so that a drift of the machine does not always favour one side), each compared with
   the last M runs of A before it; then A's night joins the history (B's never does: it stands
   for a build that would be reverted). A's ``regressed`` verdicts are false alarms, its
   ``unchanged`` verdicts the nights the check decided; B's ``regressed`` verdicts are
   detections.

A and B run the embedded classifier with a fixed model time injected (``faults.latency``, which
holds the model worker, as inference does); B's is longer by what raises A's median latency by
``--slowdown`` (10%), calibrated from two runs; the slowdown actually reached (B's median P50
over A's) is reported beside the verdicts. The tolerances are the nightly template's:
p50 +5%, p95 +10%, p99 +20%.

    .venv/bin/python benchmarks/regression_detection.py   # about 35 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram

from slocheck.regress import Comparison, RunRecord, compare
from slocheck.slofile import LoadedSpec, parse_spec
from slocheck.store.run_record import record_of
from slocheck.workflows.run import RunOptions, run

SPEC = """\
version: 1
service:
  name: regression-bench
  model: classifier
  max_batch_wait_ms: 0.5
  faults: {{latency: {latency_ms}ms}}
prometheus: {{selector: 'job="slocheck", endpoint="/v1/classify"'}}
load: {{arrival: open, rate: {rate}, max_in_flight: {users}, duration: {duration}s, warmup: 2s}}
slos:
  - {{name: availability, sli: availability, objective: 99%}}
regression: {{p50_latency: +5%, p95_latency: +10%, p99_latency: +20%}}
"""


def spec(latency_ms: float, args: argparse.Namespace) -> LoadedSpec:
    return parse_spec(
        SPEC.format(
            latency_ms=round(latency_ms, 3),
            rate=args.rate,
            users=args.users,
            duration=args.duration,
        ),
        "regression-bench.yaml",
    )


def one_run(loaded: LoadedSpec, out: Path) -> RunRecord:
    return record_of(run(loaded, RunOptions(out_dir=out)))


def p50(r: RunRecord) -> float:
    assert r.latency_hdr is not None
    return float(HdrHistogram.decode(r.latency_hdr).get_value_at_percentile(50) / 1e6)


def night(loaded: LoadedSpec, n: int, out: Path) -> tuple[list[RunRecord], float]:
    """N runs of one build, and the seconds they took (one nightly comparison's cost)."""
    started = time.monotonic()
    runs = [one_run(loaded, out / f"run-{i}") for i in range(n)]
    return runs, time.monotonic() - started


def row(
    pair: int, kind: str, c: Comparison, runs: list[RunRecord], seconds: float
) -> dict[str, Any]:
    return {
        "pair": pair,
        "kind": kind,
        "verdict": c.verdict,
        "seconds": round(seconds, 1),
        "p50_ms": [round(p50(r) * 1000, 3) for r in runs],
        "metrics": {
            m.metric: [m.verdict, round(m.change, 4), round(m.ci_low, 4), round(m.ci_high, 4)]
            for m in c.metrics
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--baseline-runs", type=int, default=15, help="M of median:M")
    parser.add_argument("--current-runs", type=int, default=3, help="N of bench --repeat N")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument(
        "--users",
        type=int,
        default=50,
        help="the most requests in flight (open loop): far more than a slow build needs",
    )
    parser.add_argument(
        "--base-latency",
        type=float,
        default=80.0,
        help="ms of model time injected in A (a batch holds the model worker that long)",
    )
    parser.add_argument("--slowdown", type=float, default=0.10)
    parser.add_argument("--out", default="benchmarks/results/regression_detection.json")
    args = parser.parse_args()
    work = Path("slocheck-results/regression-bench")
    started = time.time()
    a_spec = spec(args.base_latency, args)
    history = [one_run(a_spec, work / f"base-{i}") for i in range(args.baseline_runs)]
    a_p50 = statistics.median(p50(r) for r in history)
    # calibrate: P50 grows about linearly with the injected model time; two runs at a longer
    # one give the slope, and B's model time is what adds `slowdown` to A's median P50
    probe_ms = args.base_latency * (1 + 3 * args.slowdown)
    probe = [one_run(spec(probe_ms, args), work / f"calibrate-{i}") for i in range(2)]
    slope = (statistics.median(p50(r) for r in probe) - a_p50) / (
        (probe_ms - args.base_latency) / 1000
    )
    b_ms = args.base_latency + args.slowdown * a_p50 / max(slope, 1e-6) * 1000
    b_spec = spec(b_ms, args)
    print(
        f"A: P50 {a_p50 * 1000:.2f} ms at {args.base_latency:g} ms of model time; "
        f"B: {b_ms:.2f} ms (slope {slope:.2f})",
        flush=True,
    )
    rows: list[dict[str, Any]] = []
    tolerances = a_spec.spec.regression.tolerances()
    for i in range(args.pairs):
        baseline = history[-args.baseline_runs :]
        order = (("A", a_spec), ("B", b_spec)) if i % 2 == 0 else (("B", b_spec), ("A", a_spec))
        for kind, loaded in order:
            runs, seconds = night(loaded, args.current_runs, work / f"{kind}-{i}")
            c = compare(runs, baseline, tolerances)
            rows.append(row(i, kind, c, runs, seconds))
            print(json.dumps(rows[-1]), flush=True)
            if kind == "A":
                history += runs
    a = [r for r in rows if r["kind"] == "A"]
    b = [r for r in rows if r["kind"] == "B"]
    a_runs = [v for r in a for v in r["p50_ms"]]
    b_runs = [v for r in b for v in r["p50_ms"]]
    result = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "minutes": round((time.time() - started) / 60, 1),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "command": "python benchmarks/regression_detection.py "
        + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k != "out"),
        "args": vars(args),
        "tolerances": {k: tolerances[k] for k in ("p50_latency", "p95_latency", "p99_latency")},
        "baseline_p50_ms": a_p50 * 1000,
        "b_latency_ms": b_ms,
        "slowdown_reached": statistics.median(b_runs) / statistics.median(a_runs) - 1,
        "seconds_per_night": statistics.median(r["seconds"] for r in rows),
        "regressed_A": sum(r["verdict"] == "regressed" for r in a),
        "unchanged_A": sum(r["verdict"] == "unchanged" for r in a),
        "inconclusive_A": sum(r["verdict"] == "inconclusive" for r in a),
        "nights_A": len(a),
        "detected_B": sum(r["verdict"] == "regressed" for r in b),
        "nights_B": len(b),
        "rows": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"A/A: regressed {result['regressed_A']}/{len(a)}, unchanged {result['unchanged_A']}/"
        f"{len(a)}; A/B (+{result['slowdown_reached']:.1%} P50): detected "
        f"{result['detected_B']}/{len(b)}; {result['seconds_per_night']:.0f} s a night"
    )


if __name__ == "__main__":
    main()
