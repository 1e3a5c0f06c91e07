"""Throughput and latency of ``slocheck serve`` (POST /v1/classify, 28x28 image), batching on/off.

For each round and configuration (batching on, then off) it starts a fresh service and:

1. finds the maximum throughput with wrk (closed loop: ``-t1 -c32``, ``--latency``);
2. offers 50 % and 90 % of that rate with Locust (FastHttpUser, ``constant_throughput``, in
   its own process) and computes client-side percentiles with numpy from every request's
   exact latency, dropping the first ``WARMUP_S`` seconds (spawning);
3. after each phase, scrapes /metrics: mean ``ml_batch_size`` and mean server-side latency
   over the phase, and reads the service's CPU time from /proc.

Results go to ``--out`` (JSON) and a Markdown table beside it (same name, ``.md``)::

    .venv/bin/python benchmarks/service_throughput.py --rounds 2
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import re
import resource
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import numpy as np
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent
ENDPOINT = "/v1/classify"
WRK_SCRIPT = "benchmarks/post.lua"  # relative to ROOT, the working directory of every tool
LOCUSTFILE = "benchmarks/locust_fixed_rate.py"
CONFIGS: dict[str, list[str]] = {
    "on": ["--max-batch-size", "32", "--max-batch-wait-ms", "2"],
    "off": ["--max-batch-size", "1"],
}
LOADS = (0.5, 0.9)
WRK_CONNECTIONS = 32
WARMUP_S = 2.0  # wrk warm-up run before measuring; and Locust samples dropped at the start
READY_TIMEOUT_S = 20.0
_WRK_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4, "h": 3.6e6}


@dataclass
class ServerFigures:
    """What the service itself saw during one phase (differences of two /metrics scrapes)."""

    batched_requests: int
    batches: int
    mean_batch_size: float
    mean_latency_ms: float  # http_request_duration_seconds of /v1/classify
    non_200: int
    cpu_percent: float  # of one core


@dataclass
class WrkResult:
    requests_per_s: float
    requests: int
    latency_ms: dict[str, float]  # wrk's --latency distribution: "50", "75", "90", "99"
    non_2xx: int
    socket_errors: int
    cpu_percent: float  # wrk's own, of one core
    server: ServerFigures


@dataclass
class RateResult:
    load: float
    requested_rps: float
    users: int
    rate_per_user: float
    achieved_rps: float
    requests: int  # measured (after the warm-up)
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int  # non-200 responses and failed requests, whole run
    error_statuses: dict[str, int]  # their status codes (0: no response)
    cpu_percent: float  # Locust's own, of one core
    cpu_warning: bool  # Locust warned that its CPU was saturated
    exit_code: int
    server: ServerFigures


@dataclass
class ConfigRun:
    round: int
    batching: str
    server_args: list[str]
    wrk: WrkResult
    fixed_rate: list[RateResult] = field(default_factory=list)


@dataclass
class _Scrape:
    at: float
    batch_sum: float
    batch_count: float
    latency_sum: float
    latency_count: float
    non_200: float
    cpu_s: float


# -- the service ----------------------------------------------------------------------------
@dataclass
class Service:
    proc: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def scrape(self) -> _Scrape:
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=5) as r:
            text = r.read().decode()
        v: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                if s.labels.get("model") == "classifier" or s.labels.get("endpoint") == ENDPOINT:
                    if s.name == "http_requests_total":
                        key = "http_requests_total_200" if s.labels["status"] == "200" else s.name
                        v[key] = v.get(key, 0.0) + s.value
                    else:
                        v[s.name] = s.value
        stat = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        cpu_s = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
        return _Scrape(
            at=time.monotonic(),
            batch_sum=v["ml_batch_size_sum"],
            batch_count=v["ml_batch_size_count"],
            latency_sum=v["http_request_duration_seconds_sum"],
            latency_count=v["http_request_duration_seconds_count"],
            non_200=v["http_requests_total"],
            cpu_s=cpu_s,
        )


def _figures(before: _Scrape, after: _Scrape) -> ServerFigures:
    requests, batches = after.batch_sum - before.batch_sum, after.batch_count - before.batch_count
    served = after.latency_count - before.latency_count
    latency_s = after.latency_sum - before.latency_sum
    return ServerFigures(
        batched_requests=round(requests),
        batches=round(batches),
        mean_batch_size=round(requests / batches, 2) if batches else math.nan,
        mean_latency_ms=round(1000 * latency_s / served, 3) if served else math.nan,
        non_200=round(after.non_200 - before.non_200),
        cpu_percent=round(100 * (after.cpu_s - before.cpu_s) / (after.at - before.at), 1),
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_service(extra_args: list[str], log_path: Path) -> Iterator[Service]:
    port = _free_port()
    cmd = [sys.executable, "-m", "slocheck", "serve", "--port", str(port), "--model", "classifier"]
    cmd += ["--no-access-log", *extra_args]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"service not ready (exit code {proc.returncode}):\n{tail}")
            with contextlib.suppress(OSError):
                url = f"http://127.0.0.1:{port}/health/ready"
                with urllib.request.urlopen(url, timeout=1) as r:
                    if r.status == 200:
                        break
            time.sleep(0.1)
        yield Service(proc, port)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- load generators ------------------------------------------------------------------------
def _run_child(cmd: list[str], env: dict[str, str], timeout: float) -> tuple[str, int, float]:
    """Run ``cmd`` in ROOT; return its output, exit code and CPU use (% of one core)."""
    before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
    done = subprocess.run(
        cmd,
        check=False,
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    after, wall = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic() - started
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return done.stdout + done.stderr, done.returncode, round(100 * cpu / wall, 1)


def wrk_command(url: str, duration: int) -> list[str]:
    cmd = ["wrk", "-t1", f"-c{WRK_CONNECTIONS}", f"-d{duration}s", "--latency", "-s", WRK_SCRIPT]
    return [*cmd, url + ENDPOINT]


def run_wrk(svc: Service, duration: int, body: Path) -> WrkResult:
    before = svc.scrape()
    cmd = wrk_command(svc.url, duration)
    out, code, cpu = _run_child(cmd, {"SLOCHECK_BENCH_BODY": str(body)}, duration + 30)
    after = svc.scrape()
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if code != 0 or rps is None:
        raise RuntimeError(f"wrk failed (exit code {code}):\n{out}")
    latency = {
        p: round(float(v) * _WRK_UNITS_MS[unit], 3)
        for p, v, unit in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s|m|h)\s*$", out, re.M)
    }
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    requests = re.search(r"(\d+) requests in", out)
    return WrkResult(
        requests_per_s=float(rps.group(1)),
        requests=int(requests.group(1)) if requests else 0,
        latency_ms=latency,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(map(int, socket_errors.groups())) if socket_errors else 0,
        cpu_percent=cpu,
        server=_figures(before, after),
    )


def locust_command(url: str, users: str, duration: int) -> list[str]:
    cmd = [sys.executable, "-m", "locust", "-f", LOCUSTFILE, "--headless", "-u", users]
    cmd += ["-r", users, "-t", f"{duration}s", "--host", url]
    return [*cmd, "--only-summary", "--loglevel", "WARNING"]


def run_fixed_rate(
    svc: Service, load: float, max_rps: float, duration: int, per_user: float, body: Path
) -> RateResult:
    requested = load * max_rps
    users = max(1, math.ceil(requested / per_user))
    rate_per_user = requested / users
    samples = body.with_name(f"latencies-{svc.port}-{load}.json")
    cmd = [*locust_command(svc.url, str(users), duration), "--rate-per-user", repr(rate_per_user)]
    cmd += ["--body-file", str(body), "--latency-out", str(samples)]
    before = svc.scrape()
    out, code, cpu = _run_child(cmd, {}, duration + 60)
    after = svc.scrape()
    if not samples.exists():
        raise RuntimeError(f"locust wrote no latencies (exit code {code}):\n{out[-3000:]}")
    data = json.loads(samples.read_text())
    start, latency = np.array(data["start_s"]), np.array(data["latency_ms"])
    status = np.array(data["status"])
    ok = status == 200
    if not ok.any():
        raise RuntimeError(f"no successful request (exit code {code}):\n{out[-3000:]}")
    t0 = start.min() + WARMUP_S
    measured = start >= t0
    p50, p95, p99 = np.percentile(latency[measured & ok], [50, 95, 99])
    return RateResult(
        load=load,
        requested_rps=round(requested, 1),
        users=users,
        rate_per_user=round(rate_per_user, 4),
        achieved_rps=round(float(measured.sum() / (start.max() - t0)), 1),
        requests=int(measured.sum()),
        p50_ms=round(float(p50), 3),
        p95_ms=round(float(p95), 3),
        p99_ms=round(float(p99), 3),
        errors=int((~ok).sum()),
        error_statuses=dict(Counter(str(c) for c in status[~ok].tolist())),
        cpu_percent=cpu,
        cpu_warning="CPU usage" in out,
        exit_code=code,
        server=_figures(before, after),
    )


# -- report ---------------------------------------------------------------------------------
def machine_facts() -> dict[str, object]:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    models = [line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")]
    wrk_v = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": models[0] if models else platform.processor(),
        "python": platform.python_version(),
        "slocheck": version("slocheck"),
        "locust": version("locust"),
        "wrk": (wrk_v.stdout + wrk_v.stderr).splitlines()[0].strip(),
        "kernel": platform.release(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


@dataclass
class Report:
    command: str
    machine: dict[str, object]
    wrk_duration_s: int
    rate_duration_s: int
    rate_per_user: float
    warmup_s: float = WARMUP_S
    runs: list[ConfigRun] = field(default_factory=list)

    def ratios(self) -> list[tuple[int, float, float]]:
        """(round, max req/s with batching on, off) for each round."""
        rps = {(r.round, r.batching): r.wrk.requests_per_s for r in self.runs}
        return [(n, rps[n, "on"], rps[n, "off"]) for n in sorted({r.round for r in self.runs})]

    def to_json(self) -> str:
        ratios = [
            {"round": n, "on": on, "off": off, "on_off": on / off} for n, on, off in self.ratios()
        ]
        return json.dumps({**asdict(self), "max_throughput_ratio": ratios}, indent=2) + "\n"

    def markdown(self) -> str:
        m = self.machine
        url = "http://127.0.0.1:PORT"
        locust = [*locust_command(url, "U", self.rate_duration_s), "--rate-per-user", "R"]
        lines = [
            "# slocheck serve: POST /v1/classify (28x28 image), batching on vs off",
            "",
            f"- date: {m['date']}",
            f"- machine: nproc {m['nproc']}, {m['cpu_model']}, kernel {m['kernel']}, "
            f"load average at start {m['loadavg_at_start']}",
            f"- python {m['python']}, slocheck {m['slocheck']}, locust {m['locust']}, {m['wrk']}",
            f"- command: `{self.command}`",
            f"- batching on: `{shlex.join(CONFIGS['on'])}`; off: `{shlex.join(CONFIGS['off'])}`",
            f"- max throughput: `{shlex.join(wrk_command(url, self.wrk_duration_s))}`",
            f"- fixed rate: `{shlex.join(locust)}`: U users at R = load x max / U req/s each "
            f"(about {self.rate_per_user:g}), each at a random phase; percentiles (numpy) of "
            f"every successful request's exact latency after the first {self.warmup_s:g} s; "
            "achieved = requests completed per second after it (any status); errors = non-200 or "
            "failed requests, whole run",
            "- server columns: differences of two /metrics scrapes around the phase; mean batch "
            "= `ml_batch_size` sum/count, server ms = mean `http_request_duration_seconds`",
            f"- CPU % is of one core; the {m['nproc']} cores are shared by service and load "
            "generator",
            "",
            "## Maximum throughput (wrk, closed loop, 32 connections)",
            "",
            "| round | batching | max req/s | wrk p50 ms | wrk p99 ms | errors | mean batch "
            "| server ms | server CPU % | wrk CPU % |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in self.runs:
            w = r.wrk
            lines.append(
                f"| {r.round} | {r.batching} | {w.requests_per_s:.1f} "
                f"| {w.latency_ms.get('50', math.nan)} | {w.latency_ms.get('99', math.nan)} "
                f"| {w.non_2xx + w.socket_errors} | {w.server.mean_batch_size} "
                f"| {w.server.mean_latency_ms:.2f} | {w.server.cpu_percent} | {w.cpu_percent} |"
            )
        lines += ["", "| round | on req/s | off req/s | on/off |", "|---:|---:|---:|---:|"]
        ratios = self.ratios()
        lines += [f"| {n} | {on:.1f} | {off:.1f} | {on / off:.2f} |" for n, on, off in ratios]
        on_mean = float(np.mean([on for _, on, _ in ratios]))
        off_mean = float(np.mean([off for _, _, off in ratios]))
        lines.append(f"| mean | {on_mean:.1f} | {off_mean:.1f} | {on_mean / off_mean:.2f} |")
        lines += [
            "",
            "## Latency at a fixed rate (Locust, 50 % and 90 % of the same run's max req/s)",
            "",
            "| round | batching | load | requested req/s | achieved req/s | users | p50 ms "
            "| p95 ms | p99 ms | errors | mean batch | server ms | server CPU % | locust CPU % |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in self.runs:
            for f in r.fixed_rate:
                warn = " (Locust CPU warning)" if f.cpu_warning else ""
                errors = f"{f.errors} {f.error_statuses}" if f.errors else "0"
                lines.append(
                    f"| {r.round} | {r.batching} | {f.load:.0%} | {f.requested_rps} "
                    f"| {f.achieved_rps} | {f.users} | {f.p50_ms:.2f} | {f.p95_ms:.2f} "
                    f"| {f.p99_ms:.2f} | {errors} | {f.server.mean_batch_size} "
                    f"| {f.server.mean_latency_ms:.2f} | {f.server.cpu_percent} "
                    f"| {f.cpu_percent}{warn} |"
                )
        return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk phase")
    parser.add_argument(
        "--rate-duration", type=int, help="seconds per Locust phase (default 1.5 x --duration)"
    )
    parser.add_argument("--rounds", type=int, default=1, help="rounds of (on, off)")
    parser.add_argument("--rate-per-user", type=float, default=5.0, help="Locust req/s per user")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks/results/service_throughput.json"
    )
    args = parser.parse_args()
    report = Report(
        command=shlex.join(sys.orig_argv),
        machine=machine_facts(),
        wrk_duration_s=args.duration,
        rate_duration_s=args.rate_duration or round(1.5 * args.duration),
        rate_per_user=args.rate_per_user,
    )
    with tempfile.TemporaryDirectory(prefix="slocheck-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        body = tmp / "body.json"
        pixels = np.round(np.random.default_rng(0).random((28, 28)), 4).tolist()
        body.write_text(json.dumps({"pixels": pixels}, separators=(",", ":")))
        for n in range(1, args.rounds + 1):
            for batching, extra in CONFIGS.items():
                print(f"round {n}, batching {batching}: ", end="", flush=True)
                with running_service(extra, tmp / f"serve-{n}-{batching}.log") as svc:
                    run_wrk(svc, round(WARMUP_S), body)  # warm-up, not recorded
                    run = ConfigRun(n, batching, extra, run_wrk(svc, args.duration, body))
                    print(f"max {run.wrk.requests_per_s:.0f} req/s", end="", flush=True)
                    for load in LOADS:
                        max_rps, seconds = run.wrk.requests_per_s, report.rate_duration_s
                        res = run_fixed_rate(svc, load, max_rps, seconds, args.rate_per_user, body)
                        run.fixed_rate.append(res)
                        print(f"; {load:.0%}: p95 {res.p95_ms:.1f} ms", end="", flush=True)
                    print()
                report.runs.append(run)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report.to_json())
    args.out.with_suffix(".md").write_text(report.markdown())
    print(report.markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
