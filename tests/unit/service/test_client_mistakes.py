"""A client's mistakes get a 4xx naming the field, never a 5xx: the bodies an adversarial tester
found (a fast, fixed regression list), and a client that leaves early: counted 499, not 500."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route, Router
from starlette.types import Message

from slocheck.service.config import ServiceConfig
from slocheck.service.metrics import ServiceMetrics
from slocheck.service.middleware import CLIENT_CLOSED, Instrumentation
from slocheck.service.tracing import Tracer
from tests.helpers import Samples, parse_metrics, sample
from tests.unit.service.conftest import MakeClient

CHAT = b'{"messages": [{"role": "user", "content": "hi"}]'
SURROGATE_PAIR = b'"\\ud83d\\ude00"'  # an escaped pair is valid text: one emoji

REGRESSIONS: list[tuple[str, bytes, int, str]] = [
    # (route, body, status, field): the tester's bodies first
    ("/v1/generate", b'{"prompt": "\\ud800"}', 422, "prompt"),
    ("/v1/generate", b'{"prompt": "hi \\udfff there"}', 422, "prompt"),
    ("/v1/generate", b'{"prompt": "\xed\xa0\x80"}', 422, "body"),  # an encoded surrogate
    ("/v1/generate", b'{"prompt": "\xff"}', 422, "body"),  # not UTF-8
    ("/v1/generate", b'{"\\ud800": 1}', 422, '"\\ud800"'),
    ("/v1/generate", b'{"prompt": "x", "max_tokens": true}', 422, "max_tokens"),
    ("/v1/generate", b'{"prompt": "x", "max_tokens": 1e400}', 422, "max_tokens"),
    ("/v1/generate", b'{"prompt": "x", "max_tokens": NaN}', 422, "max_tokens"),
    ("/v1/generate", b'{"prompt": "x", "max_tokens": ' + b"9" * 5000 + b"}", 422, "body"),
    ("/v1/generate", b'{"prompt": "x", "stream": 1}', 422, "stream"),
    ("/v1/completions", b'{"prompt": "\\ud800"}', 400, "prompt"),
    ("/v1/completions", b'{"prompt": "hi", "model": "\\udc00"}', 400, "model"),
    (
        "/v1/chat/completions",
        b'{"messages": [{"role": ["user"], "content": "hi"}]}',
        400,
        "messages[0].role",
    ),
    (
        "/v1/chat/completions",
        b'{"messages": [{"role": {"a": 1}, "content": "hi"}]}',
        400,
        "messages[0].role",
    ),
    (
        "/v1/chat/completions",
        b'{"messages": [{"role": 1, "content": "hi"}]}',
        400,
        "messages[0].role",
    ),
    (
        "/v1/chat/completions",
        b'{"messages": [{"role": "user", "content": [{"type": "text", "text": "\\ud800"}]}]}',
        400,
        "messages[0].content[0].text",
    ),
    (
        "/v1/chat/completions",
        b'{"messages": [{"role": "user", "content": [{"text": ["x"]}]}]}',
        400,
        "messages[0].content[0]",
    ),
    ("/v1/chat/completions", b'{"messages": [["user", "hi"]]}', 400, "messages[0]"),
    ("/v1/chat/completions", b'{"messages": {"role": "user"}}', 400, "messages"),
    (
        "/v1/chat/completions",
        CHAT + b', "stream_options": {"include_usage": [1]}}',
        400,
        "stream_options.include_usage",
    ),
    ("/v1/chat/completions", CHAT + b', "stream_options": []}', 400, "stream_options"),
    ("/v1/chat/completions", CHAT + b', "n": true}', 400, "n"),
    ("/v1/chat/completions", CHAT + b', "n": [1]}', 400, "n"),
    (
        "/v1/chat/completions",
        CHAT + b', "max_tokens": false, "max_completion_tokens": 2}',
        400,
        "max_tokens",
    ),
    (
        "/v1/chat/completions",
        CHAT + b', "max_completion_tokens": 0.5}',
        400,
        "max_completion_tokens",
    ),
    ("/v1/chat/completions", CHAT + b', "user": "\\ud800"}', 400, "user"),
    ("/v1/classify", b'{"pixels": [[true, 0.1]]}', 422, "pixels[0][0]"),
    ("/v1/classify", b'{"pixels": [[0, 1], [1, false]]}', 422, "pixels[1][1]"),
    ("/v1/classify", b'{"pixels": [[true]]}', 422, "pixels[0][0]"),
    ("/v1/classify", b'{"pixels": [[1e400]]}', 422, "pixels[0][0]"),
    ("/v1/classify", b'{"pixels": [[' + b"1" * 30 + b"]]}", 422, "pixels[0][0]"),
    ("/v1/classify", b'{"pixels": [[[0.5]]]}', 422, "pixels[0][0]"),
    ("/v1/classify", b'{"pixels": [["0.5"]]}', 422, "pixels[0][0]"),
    ("/v1/classify", b'{"pixels": ' + b"[" * 900 + b"]" * 900 + b"}", 422, "pixels[0][0]"),
    ("/admin/faults", b'{"\\ud800": null}', 422, '"\\ud800"'),
    ("/admin/faults", b'{"latency": "\\ud800"}', 422, "latency"),
    ("/admin/faults", b'{"error_rate": [1]}', 422, "faults.error_rate"),
]


@pytest.mark.parametrize(("path", "body", "status", "field"), REGRESSIONS)
async def test_a_malformed_body_gets_a_4xx_naming_its_field(
    make_client: MakeClient, path: str, body: bytes, status: int, field: str
) -> None:
    client, state = await make_client(ServiceConfig(enable_admin=True, access_log=False))
    r = await client.post(path, content=body, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert (err.get("param") if status == 400 else err["field"]) == field
    assert state.faults.error_rate == 0  # nothing was set


async def test_valid_text_around_the_checks_is_still_served(make_client: MakeClient) -> None:
    client, _ = await make_client(ServiceConfig(access_log=False))
    for path, body in [
        ("/v1/generate", b'{"prompt": ' + SURROGATE_PAIR + b', "max_tokens": 2}'),
        ("/v1/generate", '{"prompt": "h\u00e9 \\u0000 \\t"}'.encode("utf-16")),  # RFC 8259
        ("/v1/completions", b'{"prompt": "hi", "max_tokens": 2, "n": 1, "model": "m\\u00e9"}'),
        ("/v1/chat/completions", CHAT + b', "max_tokens": null, "max_completion_tokens": 2}'),
        ("/v1/chat/completions", CHAT + b', "stream_options": {"include_usage": null}}'),
        ("/v1/classify", b'{"pixels": [[0, 1], [1, 0.5]]}'),
    ]:
        r = await client.post(path, content=body)
        assert r.status_code == 200, (path, r.text)


# -- a client that leaves before its answer is complete ------------------------------------------


def _instrumented(app: Router) -> tuple[Instrumentation, ServiceMetrics]:
    """``app`` instrumented, bare (a Starlette app's own outer error handler would answer)."""
    metrics = ServiceMetrics(process_metrics=False)
    metrics.initialise({"classifier": "1", "generator": "1"})
    paths = frozenset(r.path for r in app.routes if isinstance(r, Route))
    tracer = Tracer(None)
    return Instrumentation(app, metrics=metrics, tracer=tracer, known_routes=paths), metrics


def _counted(metrics: ServiceMetrics, path: str) -> dict[str, float]:
    from prometheus_client import generate_latest

    samples: Samples = parse_metrics(generate_latest(metrics.registry).decode())
    out = {
        dict(labels)["status"]: v
        for (name, labels), v in samples.items()
        if name == "http_requests_total" and dict(labels)["endpoint"] == path and v
    }
    out["histogram"] = sample(
        samples, "http_request_duration_seconds_count", method="POST", endpoint=path
    )
    out["in_flight"] = sample(samples, "http_requests_in_flight")
    return out


def _scope(path: str, length: int) -> dict[str, Any]:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(length).encode())]
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
    }


async def _read_body(request: Request) -> Response:
    return JSONResponse({"size": len(await request.body())})


async def test_a_client_gone_mid_body_is_counted_499_not_500() -> None:
    app, metrics = _instrumented(
        Router(routes=[Route("/v1/classify", _read_body, methods=["POST"])])
    )
    messages: list[Message] = [
        {"type": "http.request", "body": b'{"pixels": [[0.', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return messages.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    await app(_scope("/v1/classify", 1000), receive, send)
    assert sent == []  # nobody to answer
    assert _counted(metrics, "/v1/classify") == {"499": 1, "histogram": 1, "in_flight": 0}
    assert CLIENT_CLOSED == 499


async def test_a_client_gone_mid_stream_is_counted_499() -> None:
    first_chunk_sent = asyncio.Event()

    async def stream(request: Request) -> Response:
        async def tokens() -> AsyncIterator[bytes]:
            yield b"data: 1\n\n"
            await asyncio.Event().wait()  # the next token never comes: the client leaves first

        return StreamingResponse(tokens(), media_type="text/event-stream")

    app, metrics = _instrumented(Router(routes=[Route("/v1/generate", stream, methods=["POST"])]))
    calls = 0

    async def receive() -> Message:
        nonlocal calls
        calls += 1
        if calls == 1:
            return {"type": "http.request", "body": b"{}", "more_body": False}
        await first_chunk_sent.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body" and message.get("body"):
            first_chunk_sent.set()

    await asyncio.wait_for(app(_scope("/v1/generate", 2), receive, send), 30)
    assert _counted(metrics, "/v1/generate") == {"499": 1, "histogram": 1, "in_flight": 0}


async def test_a_disconnect_after_the_answer_keeps_its_status() -> None:
    app, metrics = _instrumented(
        Router(routes=[Route("/v1/classify", _read_body, methods=["POST"])])
    )
    messages: list[Message] = [{"type": "http.request", "body": b"{}", "more_body": False}]

    async def receive() -> Message:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        pass

    await app(_scope("/v1/classify", 2), receive, send)
    assert _counted(metrics, "/v1/classify") == {"200": 1, "histogram": 1, "in_flight": 0}


async def test_an_exception_that_cuts_a_started_answer_is_a_500() -> None:
    async def broken(request: Request) -> Response:
        async def tokens() -> AsyncIterator[bytes]:
            yield b"data: 1\n\n"
            raise RuntimeError("the model fell over")

        return StreamingResponse(tokens(), media_type="text/event-stream")

    app, metrics = _instrumented(Router(routes=[Route("/v1/generate", broken, methods=["POST"])]))
    messages: list[Message] = [{"type": "http.request", "body": b"{}", "more_body": False}]
    never = asyncio.Event()

    async def receive() -> Message:
        if messages:
            return messages.pop(0)
        await never.wait()
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        pass

    await asyncio.wait_for(app(_scope("/v1/generate", 2), receive, send), 30)
    assert _counted(metrics, "/v1/generate") == {"500": 1, "histogram": 1, "in_flight": 0}


async def test_the_app_counts_a_client_gone_mid_body_as_499(make_client: MakeClient) -> None:
    """Through the whole service: the body read fails, no 5xx, no invalid_input error."""
    client, _ = await make_client(ServiceConfig(access_log=False))
    app = client._transport.app  # type: ignore[attr-defined]
    messages: list[Message] = [
        {"type": "http.request", "body": b'{"prompt": "hel', "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> Message:
        return messages.pop(0)

    async def send(message: Message) -> None:
        raise AssertionError(f"nothing may be sent to a client that left: {message}")

    await app(_scope("/v1/generate", 4096), receive, send)
    samples = parse_metrics((await client.get("/metrics")).text)
    labels = {"method": "POST", "endpoint": "/v1/generate"}
    assert sample(samples, "http_requests_total", **labels, status="499") == 1
    assert sample(samples, "http_requests_total", **labels, status="500") == 0
    assert sample(samples, "http_request_duration_seconds_count", **labels) == 1
    assert sample(samples, "ml_errors_total", model="generator", error_type="invalid_input") == 0


async def test_a_client_gone_while_its_request_is_in_the_model_is_counted_499() -> None:
    in_the_model = asyncio.Event()
    left = asyncio.Event()

    async def slow(request: Request) -> Response:
        await request.body()
        in_the_model.set()
        await left.wait()  # the model answers after the client has gone
        return JSONResponse({"label": "cat"})

    app, metrics = _instrumented(Router(routes=[Route("/v1/classify", slow, methods=["POST"])]))
    calls = 0

    async def receive() -> Message:
        nonlocal calls
        calls += 1
        if calls == 1:
            return {"type": "http.request", "body": b"{}", "more_body": False}
        await in_the_model.wait()
        left.set()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        pass

    await asyncio.wait_for(app(_scope("/v1/classify", 2), receive, send), 30)
    assert _counted(metrics, "/v1/classify") == {"499": 1, "histogram": 1, "in_flight": 0}
