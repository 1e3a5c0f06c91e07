"""The load generator's ceiling: Locust (1 process, and ``--processes 2``) against wrk, on the
same cheap endpoint, side by side in one run.

Two targets:
- ``service``: the reference service's ``GET /health/live`` (Python, one uvicorn worker): what
  a slocheck user gets on one box, where the service shares the cores with the generator;
- ``go``: Prometheus' ``GET /-/healthy`` (Go, every core): a server cheap enough for the
  generator, not the server, to be the limit.

Each tool runs closed loop for ``--seconds`` with 32 connections (users), in rounds, the order
rotated each round. Reported: requests/s, and requests per CPU-second of the generator itself
(its whole process tree, from ``getrusage``): the figure that tells how many cores a load needs.

    .venv/bin/python benchmarks/load_generator.py --seconds 10 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _results import provenance, save

from slocheck.prom.managed import ManagedPrometheus
from slocheck.slofile.model import ServiceSpec
from slocheck.workflows.stack import EmbeddedService

HERE = Path(__file__).parent
CONNECTIONS = 32


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_wrk(url: str, seconds: int) -> tuple[int, float]:
    before = _children_cpu()
    out = subprocess.run(
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    cpu = _children_cpu() - before
    m = re.search(r"(\d+) requests in", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m is None or errors:
        raise RuntimeError(f"wrk: {out}")
    return int(m.group(1)), cpu


def run_locust(base: str, path: str, seconds: int, processes: int, tmp: Path) -> tuple[int, float]:
    csv = tmp / f"locust-{processes}"
    cmd = [
        sys.executable, "-m", "locust", "-f", str(HERE / "locust_cheap.py"), "--headless",
        "--host", base, "-u", str(CONNECTIONS), "-r", str(CONNECTIONS), "-t", f"{seconds}s",
        "--only-summary", "--loglevel", "WARNING", "--csv", str(csv), "--stop-timeout", "2",
    ]  # fmt: skip
    if processes > 1:
        cmd += ["--processes", str(processes)]
    before = _children_cpu()
    subprocess.run(
        cmd,
        env={**os.environ, "SLOCHECK_BENCH_PATH": path},
        capture_output=True,
        check=True,
        timeout=seconds + 60,
    )
    cpu = _children_cpu() - before
    rows = (csv.parent / f"{csv.name}_stats.csv").read_text().splitlines()
    header = rows[0].split(",")
    total = next(r.split(",") for r in rows[1:] if r.split(",")[1] == "Aggregated")
    failures = int(total[header.index("Failure Count")])
    if failures:
        raise RuntimeError(f"locust: {failures} failures")
    return int(total[header.index("Request Count")]), cpu


def measure(url: str, seconds: int, rounds: int, tmp: Path) -> dict[str, Any]:
    base, path = url.split("/", 3)[:3], "/" + url.split("/", 3)[3]
    host = "/".join(base)
    tools: dict[str, Any] = {
        "wrk": lambda: run_wrk(url, seconds),
        "locust": lambda: run_locust(host, path, seconds, 1, tmp),
        "locust --processes 2": lambda: run_locust(host, path, seconds, 2, tmp),
    }
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in tools}
    names = list(tools)
    for r in range(rounds):
        for name in names[r % 3 :] + names[: r % 3]:  # rotate the order each round
            n, cpu = tools[name]()
            runs[name].append({"rps": n / seconds, "per_cpu_s": n / cpu if cpu else 0.0})
            time.sleep(1)
    out: dict[str, Any] = {}
    for name, rs in runs.items():
        out[name] = {
            "rps": statistics.median(x["rps"] for x in rs),
            "requests_per_cpu_second": statistics.median(x["per_cpu_s"] for x in rs),
            "runs": rs,
        }
    wrk = out["wrk"]
    for name in ("locust", "locust --processes 2"):
        out[name]["rps_vs_wrk"] = out[name]["rps"] / wrk["rps"]
        out[name]["per_cpu_vs_wrk"] = (
            out[name]["requests_per_cpu_second"] / wrk["requests_per_cpu_second"]
        )
    return out


def markdown(r: dict[str, Any]) -> str:
    lines = [
        f"# Load generator ceiling ({r['date']}, {r['cpus']} cores)",
        "",
        f"`{r['command']}`: closed loop, {CONNECTIONS} connections/users, {r['seconds']} s per "
        f"run, median of {r['rounds']} rounds (order rotated).",
        "",
        "| target | tool | requests/s | vs wrk | requests per CPU-second | vs wrk |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for target, res in r["targets"].items():
        for tool, m in res.items():
            lines.append(
                f"| {target} | {tool} | {m['rps']:,.0f} | {m.get('rps_vs_wrk', 1.0):.2f} | "
                f"{m['requests_per_cpu_second']:,.0f} | {m.get('per_cpu_vs_wrk', 1.0):.2f} |"
            )
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    targets: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="slocheck-gen-") as tmp:
        spec = ServiceSpec(model="classifier")
        with EmbeddedService(spec, Path(tmp) / "service.log") as svc:
            targets["service /health/live"] = measure(
                svc.url + "/health/live", args.seconds, args.rounds, Path(tmp)
            )
        with ManagedPrometheus([]) as prom:
            targets["Go /-/healthy"] = measure(
                prom.url + "/-/healthy", args.seconds, args.rounds, Path(tmp)
            )
    result = {
        **provenance(),
        "seconds": args.seconds,
        "rounds": args.rounds,
        "targets": targets,
    }
    save("load_generator", result, markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
