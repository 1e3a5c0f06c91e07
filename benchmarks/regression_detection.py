"""How often does ``slocheck compare`` cry wolf, and how often does it catch a real slowdown?

A/A and A/B on the embedded service, through the real stack (``slocheck.workflows.run.run``):

1. ``--baseline-runs`` runs of configuration A: the baseline pool (median:N, so the run-to-run
   noise is measured);
2. then ``--pairs`` times, interleaved: one more run of A and one run of B, each compared with
   the pool. A's ``regressed`` verdicts are false alarms; B's are detections.

B is A with more injected latency: enough to raise A's median latency by ``--slowdown`` (15%),
calibrated from the baseline pool. Both inject a base latency (``--base-latency``, standing for
a model's inference time) so that latency measures the service, not only the harness.

    .venv/bin/python benchmarks/regression_detection.py --pairs 20   # about 15 minutes
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram

from slocheck.regress import RunRecord, compare
from slocheck.spec import LoadedSpec, parse_spec
from slocheck.store.records import record_of
from slocheck.workflows.run import RunOptions, run

SPEC = """\
version: 1
service:
  name: regression-bench
  model: classifier
  max_batch_wait_ms: 0.5
  faults: {{latency: {latency_ms}ms}}
prometheus: {{selector: 'job="slocheck", endpoint="/v1/classify"'}}
load: {{scenario: steady, users: {users}, rate: {rate}, duration: {duration}s, warmup: 2s}}
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--baseline-runs", type=int, default=5)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument(
        "--users",
        type=int,
        default=20,
        help="enough that each user's pace (rate/users) outlasts a slow request",
    )
    parser.add_argument(
        "--base-latency",
        type=float,
        default=80.0,
        help="ms injected in A: a model's inference time",
    )
    parser.add_argument("--slowdown", type=float, default=0.15)
    parser.add_argument("--out", default="benchmarks/results/regression_detection.json")
    args = parser.parse_args()
    work = Path("slocheck-results/regression-bench")
    started = time.time()
    a_spec = spec(args.base_latency, args)
    pool = [one_run(a_spec, work / f"base-{i}") for i in range(args.baseline_runs)]
    median_p50 = sorted(p50(r) for r in pool)[len(pool) // 2]
    b_latency = args.base_latency + args.slowdown * median_p50 * 1000
    b_spec = spec(b_latency, args)
    print(
        f"baseline p50 {median_p50 * 1000:.2f} ms; B injects {b_latency:.2f} ms "
        f"(A {args.base_latency:g} ms)",
        flush=True,
    )
    rows: list[dict[str, Any]] = []
    for i in range(args.pairs):
        for kind, loaded in (("A", a_spec), ("B", b_spec)):
            record = one_run(loaded, work / f"{kind}-{i}")
            c = compare(record, pool, loaded.spec.regression.tolerances())
            row = {
                "pair": i,
                "kind": kind,
                "verdict": c.verdict,
                "p50_ms": p50(record) * 1000,
                "metrics": {
                    m.metric: [
                        m.verdict,
                        round(m.change, 4),
                        round(m.ci_low, 4),
                        round(m.ci_high, 4),
                    ]
                    for m in c.metrics
                },
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    a = [r for r in rows if r["kind"] == "A"]
    b = [r for r in rows if r["kind"] == "B"]
    result = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "minutes": round((time.time() - started) / 60, 1),
        "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
        "args": vars(args),
        "baseline_p50_ms": median_p50 * 1000,
        "b_latency_ms": b_latency,
        "false_alarms_A": sum(r["verdict"] == "regressed" for r in a),
        "runs_A": len(a),
        "detected_B": sum(r["verdict"] == "regressed" for r in b),
        "runs_B": len(b),
        "rows": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"A/A false alarms: {result['false_alarms_A']}/{len(a)}; "
        f"A/B detected: {result['detected_B']}/{len(b)}"
    )


if __name__ == "__main__":
    main()
