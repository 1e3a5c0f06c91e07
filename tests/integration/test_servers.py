"""Smoke tests of the real third-party servers (tests/integration/servers.py).

They pin what the presets and load users rely on, as the servers really behave (docs/servers.md):
MLServer's KServe v2 endpoints, status codes and `rest_server_*` counters; llama-server's OpenAI
streaming framing, `usage`, and `llamacpp:*` metrics. Counts are exact: each test compares two
scrapes around a fixed number of requests (the fixture is shared by the module's tests).
"""

from __future__ import annotations

import json
import socket
from typing import Any

import httpx
import pytest

from tests.helpers import Samples, parse_metrics
from tests.integration.servers import (
    IRIS_BODY,
    IRIS_WRONG_SHAPE_BODY,
    RunningServer,
    llama_server,
    mlserver_server,
)

__all__ = ["llama_server", "mlserver_server"]  # fixtures, imported to be found by pytest

# the llama.cpp build may still run in the background (install.sh --background): let the
# fixture wait for it up to its own bound (servers.INSTALL_WAIT_S) rather than pytest's 300 s
pytestmark = pytest.mark.timeout(1500)

INFER_PATH = "/v2/models/{model_name}/infer"  # the route template MLServer puts in `path`


def scrape(server: RunningServer) -> Samples:
    response = httpx.get(server.metrics_url, timeout=10.0)
    assert response.status_code == 200
    return parse_metrics(response.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    """A sample's value; 0 when the series does not exist yet (MLServer creates it on first use)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def rest_labels(status: str) -> dict[str, str]:
    return {"app_name": "mlserver", "method": "POST", "path": INFER_PATH, "status_code": status}


# --- MLServer -------------------------------------------------------------------------------


def test_mlserver_health_and_model_ready(mlserver_server: RunningServer) -> None:
    with httpx.Client(base_url=mlserver_server.url, timeout=10.0) as client:
        assert client.get("/v2/health/live").status_code == 200
        assert client.get("/v2/health/ready").status_code == 200
        assert client.get(f"/v2/models/{mlserver_server.model}/ready").status_code == 200
        assert client.get("/v2/models/no-such-model/ready").status_code == 404


def test_mlserver_infer_answers_and_counts_exactly(mlserver_server: RunningServer) -> None:
    ok, bad = 5, 3
    before = scrape(mlserver_server)
    with httpx.Client(base_url=mlserver_server.url, timeout=30.0) as client:
        url = f"/v2/models/{mlserver_server.model}/infer"
        answers = [client.post(url, json=IRIS_BODY) for _ in range(ok)]
    # one connection per failing request: MLServer closes the connection after such a 500
    # (test_mlserver_closes_the_connection_after_a_500), a reused one could be reset
    failures = [
        httpx.post(mlserver_server.url + url, json=IRIS_WRONG_SHAPE_BODY, timeout=30.0)
        for _ in range(bad)
    ]
    assert [r.status_code for r in answers] == [200] * ok
    output = answers[0].json()["outputs"][0]
    assert (output["shape"], output["data"]) == ([2, 1], [0, 2])  # setosa, virginica
    # a wrong input shape is a server error, not a 4xx: scikit-learn raises inside predict
    assert [r.status_code for r in failures] == [500] * bad
    after = scrape(mlserver_server)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("rest_server_requests_total", **rest_labels("200")) == ok
    assert delta("rest_server_requests_total", **rest_labels("500")) == bad
    assert delta("rest_server_request_duration_seconds_count", **rest_labels("200")) == ok
    assert delta("rest_server_request_duration_seconds_count", **rest_labels("500")) == bad
    le_inf = {**rest_labels("200"), "le": "+Inf"}
    assert delta("rest_server_request_duration_seconds_bucket", **le_inf) == ok
    model = {"model": mlserver_server.model, "version": "None"}
    assert delta("model_infer_request_success_total", **model) == ok
    assert delta("model_infer_request_failure_total", **model) == bad
    assert value(after, "rest_server_requests_in_progress", app_name="mlserver", method="POST") == 0


def test_mlserver_closes_the_connection_after_a_500(mlserver_server: RunningServer) -> None:
    # The model's ValueError propagates out of the ASGI app after Starlette's
    # ServerErrorMiddleware sent the 500 (it always re-raises); uvicorn then closes the
    # transport. A keep-alive client that sends its next request on that connection gets a
    # reset that the server never counts: load generators must expect it.
    body = json.dumps(IRIS_WRONG_SHAPE_BODY).encode()
    host, port = mlserver_server.url.removeprefix("http://").split(":")
    request = (
        f"POST /v2/models/{mlserver_server.model}/infer HTTP/1.1\r\nHost: {host}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    received = b""
    with socket.create_connection((host, int(port)), timeout=30.0) as conn:
        conn.sendall(request)
        while chunk := conn.recv(65536):  # b"" once the server closed: the loop's end
            received += chunk
    assert received.startswith(b"HTTP/1.1 500 ")
    _, _, payload = received.partition(b"\r\n\r\n")
    assert b"ValueError" in payload  # MLServer's default debug=True sends the traceback


def test_mlserver_does_not_count_health_probes(mlserver_server: RunningServer) -> None:
    before = scrape(mlserver_server)
    with httpx.Client(base_url=mlserver_server.url, timeout=10.0) as client:
        for _ in range(3):
            assert client.get("/v2/health/ready").status_code == 200
    after = scrape(mlserver_server)
    counted = {k: v for k, v in after.items() if k[0] == "rest_server_requests_total"}
    assert counted == {k: v for k, v in before.items() if k[0] == "rest_server_requests_total"}


def test_mlserver_counts_model_ready_under_its_route(mlserver_server: RunningServer) -> None:
    labels = {
        "app_name": "mlserver",
        "method": "GET",
        "path": "/v2/models/{model_name}/ready",
        "status_code": "200",
    }
    before = scrape(mlserver_server)
    with httpx.Client(base_url=mlserver_server.url, timeout=10.0) as client:
        for _ in range(2):
            assert client.get(f"/v2/models/{mlserver_server.model}/ready").status_code == 200
    after = scrape(mlserver_server)
    assert value(after, "rest_server_requests_total", **labels) - value(
        before, "rest_server_requests_total", **labels
    ) == pytest.approx(2)


# --- llama.cpp's llama-server ---------------------------------------------------------------


def stream_chat(server: RunningServer, max_tokens: int, include_usage: bool) -> list[str]:
    """The `data:` payloads of one streamed chat completion, in order."""
    body: dict[str, Any] = {
        "model": server.model,
        "messages": [{"role": "user", "content": "Say something about service levels."}],
        "max_tokens": max_tokens,
        "stream": True,
    }
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    events: list[str] = []
    with (
        httpx.Client(base_url=server.url, timeout=60.0) as client,
        client.stream("POST", "/v1/chat/completions", json=body) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: "):
                events.append(line.removeprefix("data: "))
    return events


def test_llama_streams_chat_chunks_done_and_usage(llama_server: RunningServer) -> None:
    max_tokens = 12
    events = stream_chat(llama_server, max_tokens, include_usage=True)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    content = [
        c["choices"][0]["delta"]["content"]
        for c in chunks
        if c["choices"] and c["choices"][0]["delta"].get("content")
    ]
    assert 1 <= len(content) <= max_tokens
    with_usage = [c for c in chunks if c.get("usage")]
    assert len(with_usage) == 1
    usage = with_usage[0]["usage"]
    # the tiny model never emits end-of-generation (make_tiny_gguf.py): exactly max_tokens
    assert usage["completion_tokens"] == max_tokens
    assert usage["total_tokens"] == usage["prompt_tokens"] + max_tokens
    finish = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert finish[-1] == "length"


def test_llama_closes_the_connection_after_a_stream(llama_server: RunningServer) -> None:
    # Although it answers `Keep-Alive: timeout=5, max=100`, llama-server ends every streamed
    # response by closing the connection (its chunk provider returns false after sink.done(),
    # tools/server/server-http.cpp, which cpp-httplib takes as the end of the connection). A
    # keep-alive client that sends its next request on it races the close and gets
    # "server disconnected without sending a response": the openai load user must open a
    # connection per streamed request (or retry that error, which the server never saw).
    messages = [{"role": "user", "content": "hi"}]
    body = json.dumps(
        {"model": llama_server.model, "messages": messages, "max_tokens": 3, "stream": True}
    ).encode()
    host, port = llama_server.url.removeprefix("http://").split(":")
    request = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    received = b""
    with socket.create_connection((host, int(port)), timeout=60.0) as conn:
        conn.sendall(request)
        while chunk := conn.recv(65536):  # b"" once the server closed: the loop's end
            received += chunk
    assert received.startswith(b"HTTP/1.1 200 ")
    assert b"keep-alive: timeout=5, max=100" in received.lower()
    assert received.endswith(b"data: [DONE]\n\n\r\n0\r\n\r\n")  # the last chunk, then EOF


def test_llama_sends_no_usage_unless_asked(llama_server: RunningServer) -> None:
    events = stream_chat(llama_server, 4, include_usage=False)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert not [c for c in chunks if "usage" in c]
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


def test_llama_metrics_count_tokens_exactly(llama_server: RunningServer) -> None:
    max_tokens = 7
    before = scrape(llama_server)
    events = stream_chat(llama_server, max_tokens, include_usage=True)
    after = scrape(llama_server)
    usage = next(json.loads(e)["usage"] for e in events[:-1] if json.loads(e).get("usage"))
    predicted = "llamacpp:tokens_predicted_total"
    assert value(after, predicted) - value(before, predicted) == max_tokens
    # prompt_tokens_total excludes the prompt tokens reused from the slot's cache (the earlier
    # tests sent the same chat prefix); with the cached ones it is the prompt, exactly
    prompt = sum(
        value(after, name) - value(before, name)
        for name in ("llamacpp:prompt_tokens_total", "llamacpp:prompt_tokens_cached_total")
    )
    assert prompt == usage["prompt_tokens"]
    # the README's table and what /metrics really serves (no request counter, no histogram)
    families = {name for name, _ in after if name.startswith("llamacpp:")}
    assert {
        "llamacpp:prompt_tokens_total",
        "llamacpp:prompt_seconds_total",
        "llamacpp:tokens_predicted_seconds_total",
        "llamacpp:prompt_tokens_seconds",
        "llamacpp:predicted_tokens_seconds",
        "llamacpp:requests_processing",
        "llamacpp:requests_deferred",
        "llamacpp:n_decode_total",
        "llamacpp:n_busy_slots_per_decode",
    } <= families
    assert not [n for n in families if "request" in n and n.endswith(("_total", "_bucket"))]
    assert value(after, "llamacpp:requests_processing") == 0
    assert value(after, "llamacpp:requests_deferred") == 0
