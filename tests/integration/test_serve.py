"""``slocheck serve`` as a real process, driven over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import collections
import json
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from slocheck.service.metrics import INSTRUMENTED_ROUTES
from tests.helpers import FAMILIES, ServerProcess, family_names, parse_metrics, run_cli, sample

PIXELS = {"pixels": [[(i * j) % 10 / 10 for j in range(28)] for i in range(28)]}
GPU_FAMILIES = {
    "gpu_utilization_ratio",
    "gpu_memory_used_bytes",
    "gpu_memory_total_bytes",
    "gpu_temperature_celsius",
}


async def drive(
    url: str, total: int, concurrency: int, body: object = PIXELS, deadline_s: float = 120.0
) -> collections.Counter[int]:
    """Send ``total`` classify requests, ``concurrency`` at a time; count the statuses seen."""
    statuses: collections.Counter[int] = collections.Counter()
    remaining = iter(range(total))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30.0) as client:

        async def worker() -> None:
            for _ in remaining:
                r = await client.post("/v1/classify", json=body)
                statuses[r.status_code] += 1

        await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(concurrency))), deadline_s)
    return statuses


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with ServerProcess(log_path=tmp_path / "serve.log") as srv:
        yield srv


def test_ready_and_answers(server: ServerProcess) -> None:
    # ready means ready: the fixture waited for /health/ready (how soon is a benchmark figure,
    # not a test: it measures the machine)
    assert server.ready_after is not None
    r = httpx.post(server.url + "/v1/classify", json=PIXELS)
    assert r.status_code == 200 and r.json()["label"]
    r = httpx.post(server.url + "/v1/classify", json={})
    assert r.status_code == 422 and r.json()["error"]["field"] == "pixels"
    text = server.metrics()
    assert family_names(text) >= FAMILIES
    assert not GPU_FAMILIES & family_names(text)  # no GPU on this machine
    assert "process_cpu_seconds_total" in text


def test_2000_requests_at_32_concurrent_no_5xx_and_exact_counts(tmp_path: Path) -> None:
    # a batch waits up to 1 s to fill: the 32 clients' requests, sent as answers come back, fill
    # batches of 32 however slowly this process sends them (only the last batch is partial)
    args = ("--max-batch-wait-ms", "1000")
    with ServerProcess(*args, log_path=tmp_path / "serve.log") as server:
        statuses = asyncio.run(drive(server.url, 2000, 32))
        samples = parse_metrics(server.metrics())
        models = httpx.get(server.url + "/").json()["models"]
    assert statuses == {200: 2000}
    assert (
        sample(samples, "http_requests_total", method="POST", endpoint="/v1/classify", status="200")
        == 2000
    )
    assert (
        sample(
            samples, "http_request_duration_seconds_count", method="POST", endpoint="/v1/classify"
        )
        == 2000
    )
    # 32 clients at once: the batcher grouped requests
    count = sample(samples, "ml_batch_size_count", model="classifier")
    total = sample(samples, "ml_batch_size_sum", model="classifier")
    assert total == 2001  # plus the warm-up
    assert total / count > 1.5
    assert (
        sample(
            samples,
            "ml_predictions_total",
            model="classifier",
            model_version=models["classifier"],
        )
        == 2001 - 1
    )


def test_fault_error_rate_share_and_counts(tmp_path: Path) -> None:
    with ServerProcess("--fault-error-rate", "0.1", log_path=tmp_path / "serve.log") as srv:
        statuses = asyncio.run(drive(srv.url, 2000, 32))
        samples = parse_metrics(srv.metrics())
    assert set(statuses) == {200, 500}
    share = statuses[500] / 2000
    assert 0.07 <= share <= 0.13, statuses
    for status, n in statuses.items():
        assert (
            sample(
                samples,
                "http_requests_total",
                method="POST",
                endpoint="/v1/classify",
                status=str(status),
            )
            == n
        )


def test_streaming_generate_over_http(server: ServerProcess) -> None:
    arrivals: list[float] = []
    with httpx.stream(
        "POST",
        server.url + "/v1/generate",
        json={"prompt": "stream me some words", "max_tokens": 20, "stream": True},
        timeout=10,
    ) as r:
        assert r.status_code == 200
        events = []
        for line in r.iter_lines():
            if line.startswith("data: "):
                arrivals.append(time.perf_counter())
                events.append(line.removeprefix("data: "))
    assert events[-1] == "[DONE]" and json.loads(events[-2])["done"] is True
    assert len(events) == 22
    samples = parse_metrics(server.metrics())
    assert sample(samples, "ml_generated_tokens_total") == 20
    assert sample(samples, "ml_inter_token_latency_seconds_count") == 19


def test_full_queue_gives_503(tmp_path: Path) -> None:
    # a batch waits 2 s to fill: the 12 requests (sent at once) reach the queue of 2 long before
    # it runs, on any machine, so the last 10 find it full
    args = ("--max-queue", "2", "--max-batch-size", "64", "--max-batch-wait-ms", "2000")
    with ServerProcess(*args, log_path=tmp_path / "serve.log") as srv:
        statuses = asyncio.run(drive(srv.url, 12, 12))
        samples = parse_metrics(srv.metrics())
    assert statuses[503] >= 1 and statuses[200] >= 2, statuses
    assert set(statuses) <= {200, 503}
    assert (
        sample(samples, "ml_errors_total", model="classifier", error_type="overloaded")
        == statuses[503]
    )


def test_crash_after_kills_the_process(tmp_path: Path) -> None:
    srv = ServerProcess("--fault-crash-after", "5", log_path=tmp_path / "serve.log").start()
    try:
        codes = []
        for _ in range(6):
            try:
                codes.append(
                    httpx.post(srv.url + "/v1/classify", json=PIXELS, timeout=60).status_code
                )
            except httpx.TransportError:
                codes.append(0)
        assert codes == [200] * 5 + [0]
        assert srv.proc is not None and srv.proc.wait(10) == 1
        assert "injected crash after 5 requests" in srv.log_text()
    finally:
        srv.stop()


def test_sigterm_stops_cleanly_and_logs_are_json(tmp_path: Path) -> None:
    srv = ServerProcess(log_path=tmp_path / "serve.log").start()
    httpx.post(srv.url + "/v1/classify", json=PIXELS)
    # uvicorn shuts down gracefully, then re-raises the signal (exit by SIGTERM, as is usual)
    assert srv.stop(signal.SIGTERM, timeout=60) in (0, -signal.SIGTERM)
    lines = [json.loads(line) for line in srv.log_text().splitlines() if line.strip()]
    assert any(x["message"] == "Application shutdown complete." for x in lines)
    assert all({"timestamp", "level", "service", "version", "message"} <= set(x) for x in lines)
    assert any(x.get("endpoint") == "/v1/classify" and x.get("status") == 200 for x in lines)


def test_taken_port_exits_3() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        result = run_cli(["serve", "--port", str(port)])
    assert result.returncode == 3
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["serve", "--backend", "numpy", "--device", "cuda"], "CPU only"),
        (["serve", "--fault-error-rate", "lots"], "ratio"),
        (["serve", "--fault-latency", "fast"], "duration like 500ms"),
        (["serve", "--max-batch-size", "0"], "--max-batch-size"),
        (["serve", "--fault-crash-after", "-1"], "--fault-crash-after"),
        (["serve", "--model", "llm"], "invalid choice"),
        (["serve", "--no-such-flag"], "unrecognized argument: --no-such-flag"),
        ([], "usage"),
    ],
)
def test_bad_usage_exits_2(args: list[str], message: str) -> None:
    result = run_cli(args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def _counts_by_status(text: str, endpoint: str) -> dict[str, float]:
    samples = parse_metrics(text)
    out = {
        dict(labels)["status"]: v
        for (name, labels), v in samples.items()
        if name == "http_requests_total" and dict(labels).get("endpoint") == endpoint and v
    }
    out["histogram"] = sample(
        samples, "http_request_duration_seconds_count", method="POST", endpoint=endpoint
    )
    return out


def _wait_for_counts(
    srv: ServerProcess, endpoint: str, total: int, deadline_s: float = 60.0
) -> dict[str, float]:
    """/metrics once ``total`` requests of ``endpoint`` are counted (the server notices a closed
    connection on its own schedule: wait for the planned count, not for a time)."""
    deadline = time.monotonic() + deadline_s
    while True:
        counts = _counts_by_status(srv.metrics(), endpoint)
        if counts["histogram"] >= total or time.monotonic() > deadline:
            return counts
        time.sleep(0.05)


def test_clients_that_leave_mid_body_are_counted_499_never_5xx(server: ServerProcess) -> None:
    # 40 slow clients: headers promise 4096 bytes, 20 arrive, then the connection closes
    clients = 40
    for _ in range(clients):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
            s.sendall(
                b"POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 4096\r\n\r\n" + b'{"pixels": [[0.5, 0.'
            )
    counts = _wait_for_counts(server, "/v1/classify", clients)
    assert counts == {"499": clients, "histogram": clients}, counts
    # an error-ratio SLI of the examples (status=~"5..") counts none of them
    assert not any(status.startswith("5") for status in counts)
    assert "unhandled error" not in server.log_text()


def test_clients_that_leave_in_the_model_or_mid_stream_are_counted_499(tmp_path: Path) -> None:
    # a batch (a request's, a token's) waits 3 s for batch-mates: the classify request is in the
    # batcher long after its client closed; the 512-token stream cannot end before its client
    # hangs up after the first token
    args = ("--max-batch-wait-ms", "3000")
    body = {"prompt": "a long answer please", "max_tokens": 512, "stream": True}
    with ServerProcess(*args, log_path=tmp_path / "serve.log") as srv:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
            pixels = json.dumps(PIXELS).encode()
            s.sendall(
                b"POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(pixels)}\r\n\r\n".encode()
                + pixels
            )
        with httpx.stream("POST", srv.url + "/v1/generate", json=body, timeout=30) as r:
            assert r.status_code == 200
            for line in r.iter_lines():
                if line.startswith("data: "):
                    break  # one token, then hang up
        streamed = _wait_for_counts(srv, "/v1/generate", 1)
        classified = _wait_for_counts(srv, "/v1/classify", 1)
        samples = parse_metrics(srv.metrics())
    assert classified == {"499": 1, "histogram": 1}, classified
    assert streamed == {"499": 1, "histogram": 1}, streamed
    assert sample(samples, "ml_generated_tokens_total") < 512  # the stream stopped


def test_the_examples_error_slis_do_not_count_499(tmp_path: Path) -> None:
    """Every error SLI of the examples on the reference service, as PromQL (``slocheck
    validate`` prints it), evaluated by promtool over 90 answers and 10 client closes per route:
    no error (availability 1, error ratio 0)."""
    queries = []
    for spec in sorted((Path(__file__).parents[2] / "examples").glob("*.yaml")):
        out = run_cli(["validate", "--slo", str(spec)]).stdout
        queries += [
            q.strip().replace("$window", "10m")
            for q in re.findall(r"PromQL:\s*(.+)", out)
            if 'job="slocheck"' in q and 'status=~"5.."' in q
        ]
    assert len(queries) >= 5  # slos.yaml, slos-faulty.yaml, bench.yaml, ...
    series = [
        {
            "series": f'http_requests_total{{job="slocheck",method="POST",endpoint="{route}",'
            f'status="{status}"}}',
            "values": f"0+{per_minute}x20",
        }
        for route in INSTRUMENTED_ROUTES
        for status, per_minute in (("200", 9), ("499", 1), ("500", 0))
    ]
    tests = [
        {
            "interval": "1m",
            "input_series": series,
            "promql_expr_test": [
                {
                    "expr": q,
                    "eval_time": "15m",
                    "exp_samples": [{"labels": "{}", "value": 1 if q.startswith("1 -") else 0}],
                }
                for q in queries
            ],
        }
    ]
    path = tmp_path / "test.yaml"
    path.write_text(json.dumps({"tests": tests}))
    result = subprocess.run(
        ["promtool", "test", "rules", str(path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
