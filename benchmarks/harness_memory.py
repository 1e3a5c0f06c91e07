"""Harness memory over a long soak at a fixed rate: it must stay flat.

Runs ``slocheck run`` on the embedded default (scenario ``soak``, a fixed request rate) and
samples, every few seconds, the resident memory (RSS) of each process of the run: the harness
(``slocheck run`` itself), the Locust process(es), the reference service and Prometheus. Reports,
per process, the RSS after the warm-up, at the end of the load, the peak, and the growth rate
(least-squares slope over the load, MB per minute).

    .venv/bin/python benchmarks/harness_memory.py --duration 600 --rate 100

Writes ``benchmarks/results/harness_memory.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil  # type: ignore[import-untyped]
from _results import provenance, save

SPEC = """\
version: 1
service: {{name: soak, model: classifier}}
load: {{scenario: soak, users: {users}, rate: {rate}, duration: {duration}s, warmup: 10s}}
slos:
  - {{name: availability, sli: availability, objective: 99%}}
  - {{name: p95-latency, sli: latency, percentile: 95, threshold: 1s}}
"""


def role(proc: psutil.Process, harness_pid: int) -> str:
    if proc.pid == harness_pid:
        return "harness"
    cmd = " ".join(proc.cmdline())
    if "locust" in cmd:
        return "locust"
    if "prometheus" in cmd:
        return "prometheus"
    if "serve" in cmd:
        return "service"
    return "other"


def sample(harness: psutil.Process) -> dict[str, float]:
    """RSS in MB per role (processes of one role summed)."""
    out: dict[str, float] = {}
    try:
        procs = [harness, *harness.children(recursive=True)]
    except psutil.NoSuchProcess:
        return out
    for p in procs:
        try:
            mb = p.memory_info().rss / 2**20
            name = role(p, harness.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        out[name] = out.get(name, 0.0) + mb
    return out


def summarise(
    samples: list[tuple[float, dict[str, float]]], lo: float, hi: float
) -> dict[str, Any]:
    roles = sorted({r for _, s in samples for r in s})
    out: dict[str, Any] = {}
    for r in roles:
        pts = [(t, s[r]) for t, s in samples if r in s and lo <= t <= hi]
        if len(pts) < 3:
            continue
        t = np.array([p[0] for p in pts])
        mb = np.array([p[1] for p in pts])
        slope = float(np.polyfit(t / 60.0, mb, 1)[0])
        out[r] = {
            "after_warmup_mb": round(float(mb[0]), 1),
            "end_mb": round(float(mb[-1]), 1),
            "peak_mb": round(float(mb.max()), 1),
            "growth_mb": round(float(mb[-1] - mb[0]), 1),
            "slope_mb_per_min": round(slope, 3),
        }
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=int, default=600, help="load seconds (default 600)")
    ap.add_argument("--rate", type=float, default=100.0, help="requests/s (default 100)")
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--every", type=float, default=5.0, help="sampling period, s")
    ap.add_argument("--name", default="harness_memory", help="results file name")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="slocheck-soak-") as tmp:
        spec = Path(tmp) / "soak.yaml"
        spec.write_text(SPEC.format(users=args.users, rate=args.rate, duration=args.duration))
        cmd = [sys.executable, "-m", "slocheck", "run", "--slo", str(spec), "--out", tmp + "/out"]
        started = time.time()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        harness = psutil.Process(proc.pid)
        samples: list[tuple[float, dict[str, float]]] = []
        while proc.poll() is None:
            samples.append((time.time() - started, sample(harness)))
            time.sleep(args.every)
        stderr = proc.stderr.read() if proc.stderr else ""
        report_path = Path(tmp) / "out" / "report.json"
        if not report_path.exists():
            print(f"slocheck run exited {proc.returncode} without a report:\n{stderr[-3000:]}")
            return 1
        report = json.loads(report_path.read_text())
    load = report["load"]
    launched = _ts(load["launched_at"]) - started
    window_start = _ts(load["window_start"]) - started
    stopped = _ts(load["stopped_at"]) - started
    result = {
        **provenance(),
        "exit_code": proc.returncode,
        "verdict": report["verdict"],
        "load": {k: load[k] for k in ("scenario", "users", "requested_rps", "achieved_rps")},
        "requests": sum(v["count"] for v in report["client"]["whole_run"].values()),
        "judged_from_s": round(window_start, 1),
        "load_s": round(stopped - launched, 1),
        "memory": summarise(samples, window_start, stopped),
        "samples": [
            {"t": round(t, 1), **{k: round(v, 1) for k, v in s.items()}} for t, s in samples
        ],
    }
    save(args.name, result, markdown(result))
    if proc.returncode != 0:
        print(stderr[-2000:], file=sys.stderr)
    return 0


def _ts(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def markdown(r: dict[str, Any]) -> str:
    lines = [
        f"# Harness memory over a {r['load_s'] / 60:.1f}-minute soak ({r['date']}, "
        f"{r['cpus']} cores)",
        "",
        f"`{r['command']}`: {r['load']['achieved_rps']:.1f} of {r['load']['requested_rps']:g} "
        f"requests/s, {r['requests']:,} requests, verdict {r['verdict']} "
        f"(exit {r['exit_code']}).",
        "",
        "| process | RSS after warm-up | at the end | peak | growth | slope |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, m in r["memory"].items():
        lines.append(
            f"| {name} | {m['after_warmup_mb']:.1f} MB | {m['end_mb']:.1f} MB | "
            f"{m['peak_mb']:.1f} MB | {m['growth_mb']:+.1f} MB | "
            f"{m['slope_mb_per_min']:+.3f} MB/min |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
