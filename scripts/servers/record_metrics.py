"""Record a real server's /metrics after a known set of requests, as a test fixture.

Why recorded and not written by hand: the metric presets must match what the servers really
expose (names, labels, label values, units). The file keeps the full exposition, as a Prometheus
scrapes it, under a `#` header that says where it came from.

    PYTHONPATH=. .venv/bin/python scripts/servers/record_metrics.py mlserver
    PYTHONPATH=. .venv/bin/python scripts/servers/record_metrics.py llamacpp

writes tests/fixtures/metrics/{mlserver,llamacpp}.prom (servers from scripts/servers/install.sh).
"""

from __future__ import annotations

import argparse
import datetime
import subprocess
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import httpx

from tests.integration.servers import (
    IRIS_BODY,
    IRIS_WRONG_SHAPE_BODY,
    RunningServer,
    cache_dir,
    start_llama_server,
    start_mlserver,
)

ROOT = Path(__file__).resolve().parents[2]
OUT_DIR = ROOT / "tests" / "fixtures" / "metrics"


def _mlserver_requests(server: RunningServer) -> list[str]:
    infer = f"/v2/models/{server.model}/infer"
    sent: list[str] = []
    with httpx.Client(base_url=server.url, timeout=30.0) as client:
        for _ in range(5):
            r = client.post(infer, json=IRIS_BODY)
            sent.append(f"POST {infer} iris body (2 rows x 4 FP32) -> {r.status_code}")
        for _ in range(2):
            r = client.get(f"/v2/models/{server.model}/ready")
            sent.append(f"GET /v2/models/{server.model}/ready -> {r.status_code}")
        r = client.get("/v2/health/ready")
        sent.append(f"GET /v2/health/ready -> {r.status_code} (not counted by MLServer)")
        for _ in range(2):
            r = client.post(
                infer, content=b"{not json", headers={"content-type": "application/json"}
            )
            sent.append(f"POST {infer} body '{{not json' -> {r.status_code}")
        r = client.post("/v2/models/no-such-model/infer", json=IRIS_BODY)
        sent.append(f"POST /v2/models/no-such-model/infer -> {r.status_code}")
    for _ in range(3):  # a fresh connection each: MLServer closes it after this 500
        r = httpx.post(server.url + infer, json=IRIS_WRONG_SHAPE_BODY, timeout=30.0)
        sent.append(f"POST {infer} wrong shape (1 row x 3 FP32) -> {r.status_code}")
    return sent


def _llama_requests(server: RunningServer) -> list[str]:
    sent: list[str] = []
    chat = "/v1/chat/completions"
    for i in range(3):  # a fresh connection each: llama-server closes it after a stream
        body = {
            "model": server.model,
            "messages": [{"role": "user", "content": f"Request {i}: say hello."}],
            "max_tokens": 8,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        with (
            httpx.Client(base_url=server.url, timeout=60.0) as client,
            client.stream("POST", chat, json=body) as r,
        ):
            text = "".join(r.iter_text())
        done = "data: [DONE]" in text
        sent.append(
            f"POST {chat} stream, max_tokens 8, include_usage -> {r.status_code}, [DONE] {done}"
        )
    with httpx.Client(base_url=server.url, timeout=60.0) as client:
        body = {
            "model": server.model,
            "messages": [{"role": "user", "content": "Not streamed."}],
            "max_tokens": 16,
        }
        r = client.post(chat, json=body)
        sent.append(f"POST {chat} not streamed, max_tokens 16 -> {r.status_code}")
        r = client.post(chat, json={"model": server.model})
        sent.append(f"POST {chat} without messages -> {r.status_code}")
    return sent


def _version(server: str) -> str:
    """The installer's stamp, and for llama.cpp the vendored sources' commit (--version)."""
    home = cache_dir() / server
    stamp = (home / "STAMP").read_text().strip()
    if server != "llamacpp":
        return stamp
    out = subprocess.run(
        [str(home / "bin/llama-server"), "--version"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return f"{stamp}; llama-server --version: {(out.stdout + out.stderr).splitlines()[0]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("server", choices=["mlserver", "llamacpp"])
    args = parser.parse_args()
    starts: dict[
        str,
        tuple[
            str,
            Callable[[Path], AbstractContextManager[RunningServer]],
            Callable[[RunningServer], list[str]],
        ],
    ] = {
        "mlserver": ("Seldon MLServer", start_mlserver, _mlserver_requests),
        "llamacpp": ("llama.cpp llama-server", start_llama_server, _llama_requests),
    }
    label, start, send = starts[args.server]
    with tempfile.TemporaryDirectory() as tmp, start(Path(tmp)) as server:
        sent = send(server)
        exposition = httpx.get(server.metrics_url, timeout=10.0).text
        how = (
            "start_mlserver: MLSERVER_PARALLEL_WORKERS=0, model iris"
            if args.server == "mlserver"
            else "start_llama_server: --metrics -c 512 -np 2, tiny.gguf"
        )
    header = [
        f"# Real /metrics of {label} ({_version(args.server)}),",
        "# scraped once after the requests below.",
        f"# Recorded {datetime.date.today().isoformat()} with: PYTHONPATH=. .venv/bin/python "
        f"scripts/servers/record_metrics.py {args.server}",
        f"# Server started by tests/integration/servers.py ({how});",
        "# installed by scripts/servers/install.sh.",
        "# Requests sent, in order:",
        *(f"#   {line}" for line in sent),
        "# Everything below is the server's exposition, unchanged.",
    ]
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    out = OUT_DIR / f"{args.server}.prom"
    out.write_text("\n".join(header) + "\n" + exposition)
    print(f"wrote {out}: {len(sent)} requests, {len(exposition.splitlines())} exposition lines")


if __name__ == "__main__":
    main()
