"""What one ``slocheck worker`` costs: requests per CPU-second of a real worker process (its
Locust child included) for three kinds of load, to size worker pods (docs/kubernetes.md).

Each measure is a real distributed run on the embedded stack: ``slocheck run --expect-workers
1 --master-bind 127.0.0.1:PORT`` and one ``slocheck worker --master 127.0.0.1:PORT``, as a
Kubernetes worker pod runs it. The worker's CPU time comes from ``os.wait4`` (its own and its
Locust child's, user and system), its requests from the run's ``report.json`` (every request
of the run, warm-up included: ``client.whole_run``). Each workload runs twice per round, for
``--short`` and ``--long`` seconds, and the figure is the difference of the two:

    requests per worker CPU-second = (requests_long - requests_short) / (cpu_long - cpu_short)

so the worker's fixed costs (starting Python and Locust, downloading the locustfiles, waiting
for the master) cancel out; they are reported apart as the start-up CPU-seconds.

Workloads, all against the embedded reference service on 127.0.0.1 (it shares the machine's
cores, so on 2 cores the service, not the worker, bounds the requests/s; the CPU per request of
the worker is what is measured, and the service being slow lowers it a little, never raises it):
- ``cheap GET``: ``benchmarks/locust_cheap.py``, 32 users with no wait, ``GET /health/live``:
  the floor of what a request costs the worker (nothing to build, nothing to parse);
- ``README mix``: ``examples/slos.yaml``'s built-in users (9 classify JSON posts to 1 streaming
  generate), 32 users, rate 5,000/s asked (more than the service serves);
- ``OpenAI streaming``: ``examples/openai-embedded.yaml``: chat completions streamed as SSE,
  ~16 output tokens each (every chunk parsed to time tokens), 32 users, rate 1,000/s asked;
- ``OpenAI streaming, long answers``: the same with ~128 output tokens
  (``benchmarks/specs/worker-openai-long.yaml``): with the row above, what a streamed token
  costs the worker apart from what a request costs it.

    .venv/bin/python benchmarks/worker_rate.py --rounds 3    # about 10 minutes
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from _results import provenance, save

ROOT = Path(__file__).parents[1]


@dataclass(frozen=True)
class Workload:
    name: str
    spec: str
    args: tuple[str, ...]


WORKLOADS = (
    Workload(
        "cheap GET",
        "examples/slos.yaml",
        ("--scenario", "benchmarks/locust_cheap.py", "--users", "32"),
    ),
    Workload("README mix", "examples/slos.yaml", ("--users", "32", "--rate", "5000")),
    Workload(
        "OpenAI streaming",
        "examples/openai-embedded.yaml",
        ("--users", "32", "--rate", "1000"),
    ),
    Workload("OpenAI streaming, long answers", "benchmarks/specs/worker-openai-long.yaml", ()),
)


@dataclass(frozen=True)
class Measure:
    seconds: int
    requests: int
    cpu_s: float
    max_rss_mb: float
    output_tokens_per_request: float | None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_run(
    spec_and_flags: list[str],
    seconds: int,
    out: Path,
    port: int,
    master_log: IO[bytes] | int = subprocess.DEVNULL,
) -> tuple[subprocess.Popen[bytes], subprocess.Popen[bytes]]:
    """A distributed run with one worker, as a worker pod runs it: ``slocheck run --slo
    SPEC FLAGS --expect-workers 1`` for ``seconds`` with no warm-up, its master on
    127.0.0.1:``port``, its reports in ``out``; and one ``slocheck worker`` for it."""
    master = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "slocheck",
            "run",
            "--slo",
            *spec_and_flags,
            "--duration",
            f"{seconds}s",
            "--warmup",
            "0s",
            "--expect-workers",
            "1",
            "--master-bind",
            f"127.0.0.1:{port}",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        stdout=master_log,
        stderr=subprocess.STDOUT,
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "slocheck", "worker", "--master", f"127.0.0.1:{port}"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return master, worker


def run_once(work: Workload, seconds: int, tmp: Path) -> Measure:
    """One distributed run with one worker; the worker's CPU and the run's requests."""
    port = free_port()
    slug = re.sub(r"\W+", "-", work.name)  # Locust's -f list is split at commas
    out = tmp / f"{slug}-{seconds}-{port}"
    log = (tmp / f"{out.name}.log").open("wb")
    master, worker = start_run([work.spec, *work.args], seconds, out, port, master_log=log)
    code = master.wait(timeout=600)
    log.close()
    if code not in (0, 1):
        # a master that ended without its run would leave its worker waiting (5 minutes)
        worker.kill()
        worker.wait()
        tail = (tmp / f"{out.name}.log").read_text(errors="replace")[-800:]
        raise RunFailed(f"{work.name}: master exit {code}: {tail}")
    _, status, usage = os.wait4(worker.pid, 0)
    worker.returncode = os.waitstatus_to_exitcode(status)
    if worker.returncode != 0:
        raise RunFailed(f"{work.name}: master exit {code}, worker exit {worker.returncode}")
    report = json.loads((out / "report.json").read_text())
    client = report["client"]
    requests = sum(int(v["count"]) for v in client["whole_run"].values())
    tokens = (client.get("llm") or {}).get("output_tokens")
    window = sum(
        int(v["count"]) for k, v in client["window"].items() if k not in ("ttft", "itl", "tpot")
    )
    return Measure(
        seconds=seconds,
        requests=requests,
        cpu_s=usage.ru_utime + usage.ru_stime,
        max_rss_mb=usage.ru_maxrss / 1024,
        output_tokens_per_request=float(tokens) / window if tokens and window else None,
    )


class RunFailed(Exception):
    """A run that ended in an error (exit 3: a worker that missed its heartbeats on a
    saturated machine, say): measured again, and counted."""


def measured(work: Workload, seconds: int, tmp: Path, failures: list[str]) -> Measure:
    """``run_once``, once more if it failed (the failure is kept for the results)."""
    try:
        return run_once(work, seconds, tmp)
    except RunFailed as failed:
        failures.append(str(failed))
        print(f"{failed}: measured again", flush=True)
        return run_once(work, seconds, tmp)


def per_core(short: Measure, long: Measure) -> float:
    return (long.requests - short.requests) / (long.cpu_s - short.cpu_s)


def start_up_cpu(short: Measure, rate: float) -> float:
    """The CPU-seconds the short run's worker spent on anything but its requests."""
    return short.cpu_s - short.requests / rate


def measure(rounds: int, short_s: int, long_s: int) -> dict[str, Any]:
    rows: dict[str, list[dict[str, Any]]] = {w.name: [] for w in WORKLOADS}
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="slocheck-worker-rate-") as tmp:
        for number in range(rounds):
            for work in WORKLOADS:
                short = measured(work, short_s, Path(tmp), failures)
                long = measured(work, long_s, Path(tmp), failures)
                rate = per_core(short, long)
                row = {
                    "round": number + 1,
                    "short": short.__dict__,
                    "long": long.__dict__,
                    "requests_per_cpu_s": rate,
                    "requests_per_s_long": long.requests / long_s,
                    "start_up_cpu_s": start_up_cpu(short, rate),
                }
                rows[work.name].append(row)
                print(
                    f"{work.name} round {number + 1}: {rate:,.0f} requests per CPU-second",
                    flush=True,
                )
    summary = {}
    for name, runs in rows.items():
        tokens = [r["long"]["output_tokens_per_request"] for r in runs]
        summary[name] = {
            "requests_per_cpu_s_median": statistics.median(r["requests_per_cpu_s"] for r in runs),
            "requests_per_cpu_s_min": min(r["requests_per_cpu_s"] for r in runs),
            "requests_per_s_median": statistics.median(r["requests_per_s_long"] for r in runs),
            "start_up_cpu_s_median": statistics.median(r["start_up_cpu_s"] for r in runs),
            "max_rss_mb": max(max(r["short"]["max_rss_mb"], r["long"]["max_rss_mb"]) for r in runs),
            "output_tokens_per_request": None if None in tokens else statistics.median(tokens),
        }
    return {
        "rounds": rows,
        "summary": summary,
        "streaming_cost": streaming_cost(summary),
        "failed_runs": failures,
    }


def streaming_cost(summary: dict[str, Any]) -> dict[str, float] | None:
    """CPU per streamed request = request + tokens x token, from the two streaming rows."""
    short, long = summary.get("OpenAI streaming"), summary.get("OpenAI streaming, long answers")
    if not short or not long:
        return None
    t1, t2 = short["output_tokens_per_request"], long["output_tokens_per_request"]
    c1, c2 = 1 / short["requests_per_cpu_s_median"], 1 / long["requests_per_cpu_s_median"]
    per_token = (c2 - c1) / (t2 - t1)
    return {"cpu_us_per_request": (c1 - per_token * t1) * 1e6, "cpu_us_per_token": per_token * 1e6}


def markdown(r: dict[str, Any]) -> str:
    p = r["provenance"]
    lines = [
        f"# What one slocheck worker costs ({p['date']}, {p['cpus']} cores)",
        "",
        f"`{p['command']}`: one `slocheck worker` per run, on the embedded stack; requests per"
        " worker CPU-second from the difference of a short and a long run (fixed costs cancel).",
        "",
        "| workload | requests per worker CPU-second (median) | lowest round | requests/s"
        " achieved (median) | start-up CPU-s | peak RSS (its largest process) | output tokens"
        " per request |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, s in r["summary"].items():
        tokens = s["output_tokens_per_request"]
        lines.append(
            f"| {name} | {s['requests_per_cpu_s_median']:,.0f} | {s['requests_per_cpu_s_min']:,.0f}"
            f" | {s['requests_per_s_median']:,.0f} | {s['start_up_cpu_s_median']:.2f}"
            f" | {s['max_rss_mb']:.0f} MB | {'' if tokens is None else f'{tokens:.1f}'} |"
        )
    cost = r.get("streaming_cost")
    if cost:
        lines += [
            "",
            "A streamed request costs the worker about"
            f" **{cost['cpu_us_per_request']:,.0f} CPU-us plus {cost['cpu_us_per_token']:,.1f}"
            " CPU-us per output token** (the two streaming rows; one chunk per token).",
        ]
    if r["failed_runs"]:
        lines += ["", "Runs that ended in an error and were measured again:"]
        lines += [f"- {failure}" for failure in r["failed_runs"]]
    lines += ["", "| workload | round | short: requests, CPU-s | long: requests, CPU-s |"]
    lines.append("| --- | ---: | ---: | ---: |")
    for name, runs in r["rounds"].items():
        for run in runs:
            s, g = run["short"], run["long"]
            lines.append(
                f"| {name} | {run['round']} | {s['requests']:,}, {s['cpu_s']:.2f}"
                f" | {g['requests']:,}, {g['cpu_s']:.2f} |"
            )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--short", type=int, default=10, help="seconds of the short run")
    parser.add_argument("--long", type=int, default=25, help="seconds of the long run")
    args = parser.parse_args()
    result = {"provenance": provenance(), **measure(args.rounds, args.short, args.long)}
    save("worker_rate", result, markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
