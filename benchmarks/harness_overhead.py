"""What slocheck adds to a run, and how far client and server P95 agree.

Runs ``slocheck run`` as a user does (a new process each time, embedded default) and reports:
- overhead: wall time minus the load's duration (warm-up + judged window), split into
  start-up (until Locust's test started: its ``test_start`` mark), the load itself as Locust
  ran it (to its ``test_stop`` mark), and the end (Locust's exit, the final scrape, queries,
  reports, stopping the stack); and the judged window's length, which must not shrink;
- client P95 (Locust side, HDR) against the server's P95 bucket (Prometheus histogram) of the
  same window, from the run's ``p95_agreement`` cross-check.

    .venv/bin/python benchmarks/harness_overhead.py --repeat 3

Specs: ``examples/slos.yaml`` (a fixed 50 requests/s since issue 13; 500ms scrapes since
issue 16) and ``examples/bench.yaml`` (a fixed 200 requests/s: well below the ceiling);
``--spec`` runs one of them.
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


def locust_marks(load_dir: Path) -> dict[str, float]:
    """The Locust plugin's ``test_start`` and ``test_stop`` (unix time), from what it wrote."""
    marks: dict[str, float] = {}
    for path in load_dir.glob("client-*.json"):
        for key, t in json.loads(path.read_text()).get("marks", {}).items():
            pick = max if key == "test_stop" else min
            marks[key] = pick(marks.get(key, t), t)
    return marks


def one_run(spec: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="slocheck-overhead-") as tmp:
        started = time.time()
        proc = subprocess.Popen(
            [sys.executable, "-m", "slocheck", "run", "--slo", spec, "--out", tmp],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        proc.wait()
        wall = time.time() - started
        report = json.loads((Path(tmp) / "report.json").read_text())
        marks = locust_marks(Path(tmp) / "load")
    load = report["load"]
    asked = load["warmup_s"] + load["duration_s"]
    p95 = next(c for c in report["cross_checks"] if c["name"] == "p95_agreement")["details"]
    counts = next(c for c in report["cross_checks"] if c["name"] == "request_counts")
    test_start = marks.get("test_start", float("nan"))
    test_stop = marks.get("test_stop", float("nan"))
    return {
        "exit_code": proc.returncode,
        "wall_s": wall,
        "load_s": asked,
        "overhead_s": wall - asked,
        "startup_s": test_start - started,
        "load_as_run_s": test_stop - test_start,
        "end_s": started + wall - test_stop,
        "window_s": report["window"]["seconds"],
        "counts_exact": counts["ok"],
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
        "| spec | load | wall | overhead | start-up | load as run | end | judged window | "
        "counts exact | achieved | client P95 | server P95 bucket |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    for spec, runs in r["runs"].items():
        for x in runs:
            lo, hi = x["server_p95_bucket_ms"]
            lines.append(
                f"| {spec} | {x['load_s']:.0f} s | {x['wall_s']:.1f} s | "
                f"**{x['overhead_s']:.2f} s** | {x['startup_s']:.2f} s | "
                f"{x['load_as_run_s']:.2f} s | {x['end_s']:.2f} s | {x['window_s']:.2f} s | "
                f"{'yes' if x['counts_exact'] else 'NO'} | {x['achieved_rps']:,.0f}/s | "
                f"{x['client_p95_ms']:.1f} ms | ({lo:g}, {hi:g}] ms |"
            )
    lines.append("")
    for spec, med in r["median_overhead_by_spec_s"].items():
        lines.append(f"Median overhead, {spec}: **{med:.2f} s** beyond the load.")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--spec",
        action="append",
        choices=SPECS,
        help=f"run only this spec (repeatable; default: {', '.join(SPECS)})",
    )
    args = ap.parse_args()
    specs = tuple(args.spec or SPECS)
    runs: dict[str, list[dict[str, Any]]] = {spec: [] for spec in specs}
    for _ in range(args.repeat):
        for spec in specs:
            runs[spec].append(one_run(spec))
    result = {
        **provenance(),
        "runs": runs,
        "median_overhead_s": statistics.median(x["overhead_s"] for rs in runs.values() for x in rs),
        "median_overhead_by_spec_s": {
            spec: statistics.median(x["overhead_s"] for x in rs) for spec, rs in runs.items()
        },
    }
    save("harness_overhead", result, markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
