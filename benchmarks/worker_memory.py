"""A ``slocheck worker``'s memory by its number of users: the peak resident memory of the whole
worker (``slocheck worker`` and its Locust child, summed), to size a worker pod's memory
(docs/kubernetes.md).

Each measure is a real distributed run on the embedded stack, as ``worker_rate.py`` runs it:
``slocheck run --expect-workers 1`` with ``examples/openai-embedded.yaml`` as an open loop at
100 requests/s with ``--max-in-flight`` users (every one of them sends within the run, so each
holds its greenlet and its connection), and one ``slocheck worker``, whose process tree's RSS
(psutil) is sampled every 0.2 s; the peak of the sum is kept.

    .venv/bin/python benchmarks/worker_memory.py --users 32 250 750    # about 2 minutes
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]
from _results import provenance, save
from worker_rate import free_port, start_run

SPEC = "examples/openai-embedded.yaml"
RATE = 100


def tree_rss(process: psutil.Process) -> int:
    """The resident memory of ``process`` and its descendants, in bytes."""
    total = 0
    for p in [process, *process.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def measure(users: int, seconds: int, tmp: Path) -> dict[str, Any]:
    flags = [SPEC, "--arrival", "open", "--rate", str(RATE), "--max-in-flight", str(users)]
    master, worker = start_run(flags, seconds, tmp / f"users-{users}", free_port())
    tree, peak = psutil.Process(worker.pid), 0
    deadline = time.monotonic() + seconds + 300  # bounded: the worker ends with its master
    while worker.poll() is None and time.monotonic() < deadline:
        peak = max(peak, tree_rss(tree))
        time.sleep(0.2)
    if worker.poll() is None:
        worker.kill()
    code = master.wait(timeout=300)
    if code not in (0, 1) or worker.wait() != 0:
        raise SystemExit(f"{users} users: master exit {code}, worker exit {worker.returncode}")
    return {"users": users, "peak_rss_mb": peak / 2**20}


def markdown(r: dict[str, Any]) -> str:
    p = r["provenance"]
    lines = [
        f"# A slocheck worker's memory by its users ({p['date']}, {p['cpus']} cores)",
        "",
        f"`{p['command']}`: {SPEC}, open loop at {RATE} requests/s with as many users as"
        " --max-in-flight; the peak RSS of the worker's process tree (slocheck worker and its"
        " Locust child, summed), sampled every 0.2 s.",
        "",
        "| users | peak RSS of the worker (both processes) |",
        "| ---: | ---: |",
    ]
    lines += [f"| {m['users']:,} | {m['peak_rss_mb']:.0f} MB |" for m in r["measures"]]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[32, 250, 750])
    parser.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="slocheck-worker-memory-") as tmp:
        measures = [measure(users, args.seconds, Path(tmp)) for users in args.users]
    result = {"provenance": provenance(), "measures": measures}
    save("worker_memory", result, markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
