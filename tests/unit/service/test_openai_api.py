"""The reference service's OpenAI-compatible API, in process."""

from __future__ import annotations

import json
from typing import Any

import pytest

from slocheck.service.config import FaultConfig, ServiceConfig
from tests.helpers import parse_metrics, sample
from tests.unit.service.conftest import MakeClient

CHAT = {"messages": [{"role": "user", "content": "tell me a story"}], "max_tokens": 5}
COMPLETION = {"prompt": "tell me a story", "max_tokens": 5}


def events(text: str) -> list[Any]:
    out: list[Any] = []
    for line in text.splitlines():
        if line.startswith("data: "):
            data = line.removeprefix("data: ")
            out.append(data if data == "[DONE]" else json.loads(data))
    return out


async def test_chat_whole_and_streamed_say_the_same(make_client: MakeClient) -> None:
    client, _ = await make_client()
    whole = await client.post("/v1/chat/completions", json={**CHAT, "model": "m"})
    body = whole.json()
    assert whole.status_code == 200 and body["object"] == "chat.completion"
    assert body["model"] == "m" and body["choices"][0]["finish_reason"] == "length"
    text = body["choices"][0]["message"]["content"]
    assert len(text.split()) == 5
    assert body["usage"] == {"prompt_tokens": 4, "completion_tokens": 5, "total_tokens": 9}
    r = await client.post(
        "/v1/chat/completions",
        json={**CHAT, "stream": True, "stream_options": {"include_usage": True}},
    )
    assert r.headers["content-type"].startswith("text/event-stream")
    seen = events(r.text)
    assert seen[-1] == "[DONE]"
    chunks, usage_chunk = seen[:-3], seen[-2]
    assert all(c["object"] == "chat.completion.chunk" for c in seen[:-1])
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert "".join(c["choices"][0]["delta"]["content"] for c in chunks) == text
    assert seen[-3]["choices"][0] == {"index": 0, "finish_reason": "length", "delta": {}}
    assert usage_chunk["choices"] == [] and usage_chunk["usage"]["completion_tokens"] == 5
    assert all(c["usage"] is None for c in seen[:-2])
    samples = parse_metrics((await client.get("/metrics")).text)
    assert sample(samples, "ml_generated_tokens_total") == 10
    assert sample(samples, "ml_time_to_first_token_seconds_count") == 2
    assert sample(samples, "ml_inter_token_latency_seconds_count") == 8
    ok = {"method": "POST", "endpoint": "/v1/chat/completions", "status": "200"}
    assert sample(samples, "http_requests_total", **ok) == 2


async def test_completions_whole_and_streamed(make_client: MakeClient) -> None:
    client, _ = await make_client()
    body = (await client.post("/v1/completions", json=COMPLETION)).json()
    assert body["object"] == "text_completion" and len(body["choices"][0]["text"].split()) == 5
    r = await client.post("/v1/completions", json={**COMPLETION, "stream": True})
    seen = events(r.text)
    assert seen[-1] == "[DONE]" and all("usage" not in c for c in seen[:-1])  # not asked for
    assert "".join(c["choices"][0]["text"] for c in seen[:-2]) == body["choices"][0]["text"]
    assert seen[-2]["choices"][0]["finish_reason"] == "length"


async def test_models(make_client: MakeClient) -> None:
    client, _ = await make_client()
    body = (await client.get("/v1/models")).json()
    assert body["object"] == "list" and body["data"][0]["id"] == "generator"


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/v1/chat/completions", {}, "messages"),
        ("/v1/chat/completions", {"messages": []}, "messages"),
        (
            "/v1/chat/completions",
            {"messages": [{"role": "cat", "content": "x"}]},
            "messages[0].role",
        ),
        (
            "/v1/chat/completions",
            {"messages": [{"role": "user", "content": 3}]},
            "messages[0].content",
        ),
        ("/v1/chat/completions", {**CHAT, "max_tokens": 0}, "max_tokens"),
        ("/v1/chat/completions", {**CHAT, "stream": "yes"}, "stream"),
        ("/v1/chat/completions", {**CHAT, "n": 2}, "n"),
        ("/v1/chat/completions", {**CHAT, "tools_of_doom": 1}, "tools_of_doom"),
        ("/v1/completions", {"prompt": 3}, "prompt"),
        ("/v1/completions", {"prompt": "  "}, "prompt"),
        ("/v1/completions", [1, 2], "body"),
    ],
)
async def test_bad_bodies_get_an_openai_400(
    make_client: MakeClient, path: str, body: object, param: str
) -> None:
    client, _ = await make_client()
    r = await client.post(path, json=body)
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["type"] == "invalid_request_error" and err["param"] == param and err["message"]
    samples = parse_metrics((await client.get("/metrics")).text)
    assert sample(samples, "http_requests_total", method="POST", endpoint=path, status="400") == 1
    assert sample(samples, "ml_errors_total", model="generator", error_type="invalid_input") == 1


async def test_not_json_and_sampling_fields(make_client: MakeClient) -> None:
    client, _ = await make_client()
    r = await client.post("/v1/chat/completions", content=b"{nope")
    assert r.status_code == 400 and r.json()["error"]["param"] == "body"
    ok = await client.post("/v1/chat/completions", json={**CHAT, "temperature": 0.2, "seed": 1})
    assert ok.status_code == 200  # sampling settings are accepted (and ignored)


async def test_faults_apply_and_every_label_set_starts_at_zero(make_client: MakeClient) -> None:
    client, _ = await make_client()
    samples = parse_metrics((await client.get("/metrics")).text)
    for path in ("/v1/chat/completions", "/v1/completions"):
        for status in ("200", "400", "500", "503"):
            labels = {"method": "POST", "endpoint": path, "status": status}
            assert sample(samples, "http_requests_total", **labels) == 0
        assert (
            sample(samples, "http_request_duration_seconds_count", method="POST", endpoint=path)
            == 0
        )
    failing, _ = await make_client(ServiceConfig(faults=FaultConfig(error_rate=1.0)))
    r = await failing.post("/v1/chat/completions", json={**CHAT, "stream": True})
    assert r.status_code == 500 and "error" in r.json()


async def test_injected_latency_is_in_the_server_ttft(make_client: MakeClient) -> None:
    """The latency fault delays the first token: the server's TTFT histogram includes it."""
    client, _ = await make_client(ServiceConfig(faults=FaultConfig(latency=0.3)))
    r = await client.post("/v1/chat/completions", json={**CHAT, "stream": True})
    assert r.status_code == 200
    samples = parse_metrics((await client.get("/metrics")).text)
    assert sample(samples, "ml_time_to_first_token_seconds_bucket", le="0.3") == 0
    assert sample(samples, "ml_time_to_first_token_seconds_count") == 1


async def test_not_served_without_the_generator(make_client: MakeClient) -> None:
    client, _ = await make_client(ServiceConfig(model="classifier"))
    assert (await client.post("/v1/chat/completions", json=CHAT)).status_code == 404
    assert (await client.get("/v1/models")).status_code == 404
