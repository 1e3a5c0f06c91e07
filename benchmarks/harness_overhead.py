"""What slocheck adds to a run, and how far client and server P95 agree.

Runs ``slocheck run`` as a user does (a new process each time, embedded default) and reports:
- overhead: wall time minus the load's duration (warm-up + judged window), split into
  start-up (until the load starts), the load itself as Locust ran it, and the end (final
  scrape, queries, reports, stopping the stack);
- client P95 (Locust side, HDR) against the server's P95 bucket (Prometheus histogram) of the
  same window, from the run's ``p95_agreement`` cross-check.

    .venv/bin/python benchmarks/harness_overhead.py --repeat 3

Specs: ``examples/slos.yaml`` (a fixed 50 requests/s since issue 13; 16 closed-loop users that
saturated the box when the results below were taken) and
``examples/bench.yaml`` (a fixed 200 requests/s: well below the ceiling).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _results import provenance, save

ROOT = Path(__file__).parents[1]
SPECS = ("examples/slos.yaml", "examples/bench.yaml")


def one_run(spec: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="slocheck-overhead-") as tmp:
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "slocheck", "run", "--slo", spec, "--out", tmp],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        marks: dict[str, float] = {}
        assert proc.stdout is not None
        for line in proc.stdout:
            for key, text in (("load", "slocheck: load:"), ("after", "waiting for the final")):
                if text in line:
                    marks.setdefault(key, time.monotonic() - started)
        proc.wait()
        wall = time.monotonic() - started
        report = json.loads((Path(tmp) / "report.json").read_text())
    load = report["load"]
    asked = load["warmup_s"] + load["duration_s"]
    p95 = next(c for c in report["cross_checks"] if c["name"] == "p95_agreement")["details"]
    return {
        "exit_code": proc.returncode,
        "wall_s": wall,
        "load_s": asked,
        "overhead_s": wall - asked,
        "startup_s": marks.get("load", float("nan")),
        "load_as_run_s": marks.get("after", float("nan")) - marks.get("load", float("nan")),
        "end_s": wall - marks.get("after", float("nan")),
        "client_p95_ms": p95["client_p95_s"] * 1000,
        "server_p95_bucket_ms": [p95["server_lower_s"] * 1000, p95["server_upper_s"] * 1000],
        "within_bucket": p95["within_bucket"],
        "achieved_rps": load["achieved_rps"],
    }


def markdown(r: dict[str, Any]) -> str:
    lines = [
        f"# Harness overhead and P95 agreement ({r['date']}, {r['cpus']} cores)",
        "",
        f"`{r['command']}`; each row is one `slocheck run` process, embedded default.",
        "",
        "| spec | load | wall | overhead | start-up | load as run | end | achieved | "
        "client P95 | server P95 bucket |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for spec, runs in r["runs"].items():
        for x in runs:
            lo, hi = x["server_p95_bucket_ms"]
            lines.append(
                f"| {spec} | {x['load_s']:.0f} s | {x['wall_s']:.1f} s | "
                f"**{x['overhead_s']:.1f} s** | {x['startup_s']:.1f} s | "
                f"{x['load_as_run_s']:.1f} s | {x['end_s']:.1f} s | {x['achieved_rps']:,.0f}/s | "
                f"{x['client_p95_ms']:.1f} ms | ({lo:g}, {hi:g}] ms |"
            )
    lines += ["", f"Median overhead: **{r['median_overhead_s']:.1f} s** beyond the load."]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    runs: dict[str, list[dict[str, Any]]] = {spec: [] for spec in SPECS}
    for _ in range(args.repeat):
        for spec in SPECS:
            runs[spec].append(one_run(spec))
    result = {
        **provenance(),
        "runs": runs,
        "median_overhead_s": statistics.median(x["overhead_s"] for rs in runs.values() for x in rs),
    }
    save("harness_overhead", result, markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
