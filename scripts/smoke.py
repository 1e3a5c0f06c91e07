"""Smoke run of the embedded reference service: start it, send a bounded load, check counts.

Stands in for ``slocheck run --slo examples/slos.yaml`` until that command exists.
Exits 0 when every request succeeded and the server counted exactly what the client sent.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import socket
import subprocess
import sys
import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

PIXELS = {"pixels": [[(i + j) % 7 / 7 for j in range(28)] for i in range(28)]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def load(url: str, total: int, concurrency: int) -> collections.Counter[int]:
    statuses: collections.Counter[int] = collections.Counter()
    todo = iter(range(total))
    async with httpx.AsyncClient(base_url=url, timeout=30.0) as client:

        async def worker() -> None:
            for i in todo:
                if i % 10 == 0:
                    r = await client.post("/v1/generate", json={"prompt": "hello", "max_tokens": 8})
                else:
                    r = await client.post("/v1/classify", json=PIXELS)
                statuses[r.status_code] += 1

        await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(concurrency))), 120)
    return statuses


def server_count(metrics_text: str) -> int:
    total = 0.0
    for family in text_string_to_metric_families(metrics_text):
        if family.name == "http_requests":
            total += sum(s.value for s in family.samples if s.name == "http_requests_total")
    return int(total)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "slocheck", "serve", "--port", str(port), "--no-access-log"]
    )
    try:
        started = time.monotonic()
        while True:
            if proc.poll() is not None:
                print(f"smoke: the service exited with {proc.returncode}", file=sys.stderr)
                return 3
            try:
                if httpx.get(url + "/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() - started > 20:
                print("smoke: the service was not ready within 20 s", file=sys.stderr)
                return 3
            time.sleep(0.1)
        print(f"smoke: service ready in {time.monotonic() - started:.2f} s at {url}")
        t0 = time.monotonic()
        statuses = asyncio.run(load(url, args.requests, args.concurrency))
        elapsed = time.monotonic() - t0
        counted = server_count(httpx.get(url + "/metrics").text)
    finally:
        proc.terminate()
        proc.wait(10)
    sent = sum(statuses.values())
    print(
        f"smoke: {sent} requests in {elapsed:.2f} s ({sent / elapsed:.0f} req/s), "
        f"statuses {dict(statuses)}; the server counted {counted}"
    )
    ok = statuses == {200: args.requests} and counted == sent
    print("smoke: PASS" if ok else "smoke: FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
