"""The reference service's math threads (``--threads``), on an idle machine and with one of the
two cores kept busy by another process (``scripts/busy.sh``), side by side in one run.

For each round, condition (idle, busy) and setting (``threads: 1``, the default, and
``threads: 0``, the BLAS library's own default of one thread per core), ``slocheck run`` on the
embedded default measures:

- ``paced``: the README's example load (10 users, a fixed 50 requests/s): the server's P95 and
  P99 buckets and the share of requests within 250 ms, from the verdicts;
- ``ceiling``: 16 closed-loop users that send as fast as they get answers: requests/s served.

    .venv/bin/python benchmarks/service_threads.py --rounds 1      # about 5 minutes

Results: ``results/service_threads.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _results import provenance, save

ROOT = Path(__file__).parents[1]
SELECTOR = 'selector: \'job="slocheck", endpoint="/v1/classify"\''
LOADS = {
    "paced": "{users: 10, rate: 50, duration: 25s, warmup: 3s}",
    "ceiling": "{users: 16, duration: 15s, warmup: 3s}",
}
SLOS = """slos:
  - {name: p95, sli: latency, percentile: 95, threshold: 500ms}
  - {name: p99, sli: latency, percentile: 99, threshold: 1s}
  - {name: fast, sli: latency_ratio, threshold: 250ms, objective: 99%}
  - {name: throughput, sli: throughput, threshold: 1}
"""


@contextlib.contextmanager
def busy_core(on: bool) -> Iterator[None]:
    """Another process spinning on one core while the block runs (as scripts/busy.sh does)."""
    if not on:
        yield
        return
    spinner = subprocess.Popen(["timeout", "900", "sh", "-c", "while :; do :; done"])
    try:
        yield
    finally:
        spinner.terminate()
        spinner.wait(10)


def one_run(threads: int, load: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="slocheck-threads-") as tmp:
        spec = Path(tmp) / "spec.yaml"
        spec.write_text(
            f"version: 1\nservice: {{model: both, threads: {threads}}}\n"
            f"prometheus: {{{SELECTOR}}}\nload: {LOADS[load]}\n{SLOS}"
        )
        out = Path(tmp) / "out"
        subprocess.run(
            [sys.executable, "-m", "slocheck", "run", "--slo", str(spec), "--out", str(out)],
            cwd=ROOT,
            capture_output=True,
            timeout=300,
            check=False,
        )
        report = json.loads((out / "report.json").read_text())
    slos = {s["name"]: s for s in report["slos"]}

    def bucket(name: str) -> list[float] | None:
        d = slos[name].get("details", {})
        lo, hi = d.get("bucket_lower"), d.get("bucket_upper")
        return None if lo is None else [lo, hi]

    return {
        "p95_bucket_s": bucket("p95"),
        "p99_bucket_s": bucket("p99"),
        "within_250ms": slos["fast"]["value"],
        "classify_rps": slos["throughput"]["value"],
        "samples": slos["throughput"]["samples"],
        "verdict": report["verdict"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    for r in range(args.rounds):
        for busy in (False, True):
            with busy_core(busy):
                for load in LOADS:
                    for threads in (1, 0):  # side by side, under the same condition
                        row: dict[str, Any] = {
                            "round": r + 1,
                            "busy": busy,
                            "load": load,
                            "threads": threads,
                        }
                        row |= one_run(threads, load)
                        print(json.dumps(row), file=sys.stderr)
                        rows.append(row)
    lines = [
        "# The reference service's math threads, idle and with one core busy",
        "",
        f"`{provenance()['command']}`, {provenance()['date']}, {provenance()['cpus']} cores.",
        "",
        "| round | machine | load | threads | P95 bucket | P99 bucket | within 250 ms "
        "| classify req/s |",
        "| ---: | --- | --- | ---: | --- | --- | ---: | ---: |",
    ]

    def ms(b: list[float] | None) -> str:
        return "-" if b is None else f"({b[0] * 1000:g}, {b[1] * 1000:g}] ms"

    for row in rows:
        lines.append(
            f"| {row['round']} | {'busy' if row['busy'] else 'idle'} | {row['load']} "
            f"| {row['threads'] or 'per core'} | {ms(row['p95_bucket_s'])} "
            f"| {ms(row['p99_bucket_s'])} | {row['within_250ms']:.2%} "
            f"| {row['classify_rps']:,.0f} |"
        )
    save("service_threads", {"provenance": provenance(), "rows": rows}, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
