"""The fake vLLM and Triton (tests/integration/fake_servers.py) miss failures as the real ones do.

With `fail_every=4`, 2 of 8 requests fail. vLLM: all 8 answer 200, 2 streams carry an `error`
event, the HTTP counter says 8x 2xx and no 5xx, the engine counts 1 error (the other failure
is the frontend's). Triton: 2 answer 503 (queue full), success counts 6, no failure reason
moves. No Prometheus: /metrics is parsed directly.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.fake_servers import start_fake_triton, start_fake_vllm

REQUESTS = 8


def samples(metrics_url: str) -> list[tuple[str, dict[str, str], float]]:
    response = httpx.get(metrics_url, timeout=10.0)
    assert response.status_code == 200
    return [
        (s.name, s.labels, s.value)
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    ]


def test_fake_vllm_counts_midstream_errors_as_2xx(tmp_path: Path) -> None:
    with start_fake_vllm(tmp_path, fail_every=4) as server:
        statuses, error_streams = [], 0
        body = {
            "model": server.model,
            "messages": [{"role": "user", "content": "hello there"}],
            "max_tokens": 8,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        with httpx.Client(base_url=server.url, timeout=30.0) as client:
            for _ in range(REQUESTS):
                with client.stream("POST", "/v1/chat/completions", json=body) as response:
                    statuses.append(response.status_code)
                    assert response.headers["content-type"].startswith("text/event-stream")
                    events = [
                        line.removeprefix("data: ")
                        for line in response.iter_lines()
                        if line.startswith("data: ")
                    ]
                assert events[-1] == "[DONE]"
                chunks = [json.loads(event) for event in events[:-1]]
                error_streams += any("error" in chunk for chunk in chunks)
        got = samples(server.metrics_url)
        log = server.log_text()

    assert statuses == [200] * REQUESTS, log
    assert error_streams == 2
    http = [(labels, value) for name, labels, value in got if name == "http_requests_total"]
    assert {labels["handler"] for labels, _ in http} == {"/v1/chat/completions"}
    assert sum(v for labels, v in http if labels["status"] == "2xx") == REQUESTS
    assert all(v == 0 for labels, v in http if labels["status"] == "5xx")
    success = {
        labels["finished_reason"]: value
        for name, labels, value in got
        if name == "vllm:request_success_total"
    }
    assert success == {"stop": 0, "length": REQUESTS - 2, "abort": 0, "error": 1}
    e2e = [v for name, _, v in got if name == "vllm:e2e_request_latency_seconds_count"]
    assert e2e == [REQUESTS - 1]  # the frontend's failure never reached the engine's stats


def test_fake_triton_does_not_count_queue_full(tmp_path: Path) -> None:
    body = {"inputs": [{"name": "input", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]}
    with start_fake_triton(tmp_path, fail_every=4) as server:
        infer = f"{server.url}/v2/models/{server.model}/infer"
        with httpx.Client(timeout=30.0) as client:
            responses = [client.post(infer, json=body) for _ in range(REQUESTS)]
        got = samples(server.metrics_url)

    assert [r.status_code for r in responses].count(503) == 2
    assert [r.status_code for r in responses].count(200) == REQUESTS - 2
    assert all(r.json() == {"error": "Exceeds maximum queue size"} for r in responses[3::4])
    assert responses[0].json()["outputs"][0]["datatype"] == "FP32"
    # the parser names prometheus-cpp's counter samples (no suffix) NAME_total
    values = {(name.removesuffix("_total"), labels.get("reason")): v for name, labels, v in got}
    assert values[("nv_inference_request_success", None)] == REQUESTS - 2
    failures = {reason: v for (name, reason), v in values.items() if "failure" in name}
    assert failures == {"BACKEND": 0, "CANCELED": 0, "OTHER": 0, "REJECTED": 0}
    assert values[("nv_inference_pending_request_count", None)] == 0
