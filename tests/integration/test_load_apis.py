"""The built-in API users, end to end: Locust against the reference service's OpenAI API, and
against small fake servers (a broken OpenAI stream, KServe v2 and plain HTTP with malformed
bodies). Runs are short, fixed-rate, and every assertion is on counts, not on speed."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from slocheck.load.locustfiles.bodies import Lengths
from slocheck.load.runner import LoadConfig, LoadResult, run_load
from slocheck.load.stats import Snapshot, count_between, summarise
from tests.helpers import ServerProcess, free_port, parse_metrics, sample

CHAT = "/v1/chat/completions"
SHORT = {"users": 2, "rate": 8.0, "duration": 3.0, "warmup": 0.0}
MALFORMED_AT = (3, 7, 11)  # of 100 lines: 3 bodies in 100 are not JSON


def load(tmp_path: Path, name: str, host: str, **kwargs: Any) -> Snapshot:
    result: LoadResult = run_load(LoadConfig(host=host, **{**SHORT, **kwargs}), tmp_path / name)
    assert result.aborted is None and not result.interrupted, result.log_tail
    return result.snapshot


def generated_tokens(server: ServerProcess) -> float:
    return sample(parse_metrics(server.metrics()), "ml_generated_tokens_total")


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with ServerProcess("--model", "both", "--enable-admin", log_path=log) as srv:
        yield srv


def test_openai_streams_against_the_reference_service(
    reference: ServerProcess, tmp_path: Path
) -> None:
    before = generated_tokens(reference)
    snap = load(
        tmp_path,
        "plain",
        reference.url,
        api="openai",
        input_tokens=Lengths(5),
        output_tokens=Lengths(8),
    )
    after = generated_tokens(reference)
    requests = summarise(snap.requests[CHAT])
    n = requests.count
    assert n > 0 and requests.errors == 0 and snap.status[CHAT] == {"200": n}
    ttft, itl, tpot = (summarise(snap.metrics[k]) for k in ("ttft", "itl", "tpot"))
    assert ttft.count == n and tpot.count == n  # every stream: one TTFT, 8 tokens >= 2
    output = count_between(snap.counts["output_tokens"])
    assert output == after - before == 8 * n  # exact: the server's own counter agrees
    assert itl.count == output - n  # one gap between each two tokens of a stream
    assert count_between(snap.counts["input_tokens"]) == 5 * n  # the server's usage says so
    # the request's latency is end to end: it covers TTFT and every inter-token gap
    covered = ttft.mean_s * n + itl.mean_s * itl.count
    assert requests.mean_s * n >= covered * (1 - 2e-3)  # HDR keeps 3 significant digits
    for p, value in ttft.percentiles_s.items():
        assert requests.percentiles_s[p] >= value

    # a slowed server: the injected latency delays each first token
    r = httpx.post(reference.url + "/admin/faults", json={"latency": "300ms"}, timeout=5)
    assert r.status_code == 200, r.text
    try:
        slow = load(tmp_path, "slow", reference.url, api="openai", output_tokens=Lengths(4))
    finally:
        httpx.post(reference.url + "/admin/faults", json={"latency": 0}, timeout=5)
    slow_ttft = summarise(slow.metrics["ttft"])
    assert slow_ttft.count == summarise(slow.requests[CHAT]).count > 0
    assert slow_ttft.percentiles_s["50"] > 0.3


# -- fake servers --------------------------------------------------------------------------------
class FakeServer:
    """A starlette app on a free loopback port, in a thread of the test process."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        app = Starlette(
            routes=[
                Route(CHAT, self.chat, methods=["POST"]),
                Route("/{path:path}", self.json_api, methods=["POST", "PUT"]),
            ]
        )
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    async def json_api(self, request: Request) -> Response:
        """200 for a JSON body, 500 for anything else (as MLServer answers a bad input)."""
        body = await request.body()
        self.bodies.append(body)
        try:
            json.loads(body)
        except ValueError:
            return JSONResponse({"error": "bad body"}, status_code=500)
        return JSONResponse({"outputs": []})

    async def chat(self, request: Request) -> Response:
        """The prompt says how to answer: ``ok``, ``drop`` (ends without [DONE]), ``error``
        (an error event, then [DONE]) or ``cut`` ([DONE] before any finish_reason)."""
        how = (await request.json())["messages"][0]["content"]

        def chunk(obj: object) -> bytes:
            return b"data: " + json.dumps(obj).encode() + b"\r\n\r\n"  # \r\n line ends too

        async def events() -> AsyncIterator[bytes]:
            yield chunk({"choices": [{"index": 0, "delta": {"content": "a"}}]})
            yield chunk({"choices": [{"index": 0, "delta": {"content": " b"}}]})
            if how == "drop":
                return
            if how == "error":
                yield chunk({"error": {"message": "the model fell over"}})
            if how == "ok":
                yield chunk({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            yield b"data: [DONE]\r\n\r\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    def __enter__(self) -> FakeServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "fake server down"
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    with FakeServer() as srv:
        yield srv


def test_broken_streams_are_failed_requests(fake: FakeServer, tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.jsonl"
    cases = ("ok", "drop", "error", "cut")
    prompts.write_text("".join(json.dumps({"prompt": w}) + "\n" for w in cases))
    snap = load(tmp_path, "run", fake.url, api="openai", prompts=prompts, users=1)
    requests = summarise(snap.requests[CHAT])
    n = requests.count
    good = (n + 3) // 4  # prompts go in turn: ok, drop, error, cut, ok ...
    assert n > 0 and requests.errors == n - good
    assert summarise(snap.metrics["ttft"]).count == good
    assert count_between(snap.counts["output_tokens"]) == 2 * good  # chunks, no usage sent


def test_a_held_start_starts_the_test_and_every_request_no_earlier(
    fake: FakeServer, tmp_path: Path
) -> None:
    """``hold``: Locust starts at once (its imports overlap the wait) but its test starts only
    after ``hold()`` returned, and no earlier than the time it returned, so the window, counted
    from the test's start, begins after both. An ordering, not a speed: it holds however late
    Locust is ready."""
    payload = tmp_path / "payload.json"
    payload.write_text('{"inputs": []}')
    held: list[float] = []

    def hold() -> float:
        held.append(time.time())
        return held[0] + 1.0

    config = LoadConfig(
        host=fake.url,
        api="http",
        http_path="/p",
        payload=payload,
        users=2,
        rate=8.0,
        duration=3.0,
        warmup=0.0,
    )
    result = run_load(config, tmp_path / "held", hold=hold)
    assert result.aborted is None and not result.interrupted, result.log_tail
    snap = result.snapshot
    assert len(held) == 1 and snap.marks["test_start"] >= held[0] + 1.0
    assert result.window_start >= held[0] + 1.0 + config.warmup
    seconds = snap.requests["/p"]
    assert sum(s.count for s in seconds.values()) > 0 and min(seconds) >= int(held[0] + 1.0)


def test_an_error_while_holding_stops_the_load_generator(fake: FakeServer, tmp_path: Path) -> None:
    from slocheck.errors import ServiceStartError

    def hold() -> float:
        raise ServiceStartError("the embedded service was not ready")

    payload = tmp_path / "payload.json"
    payload.write_text('{"inputs": []}')
    config = LoadConfig(
        host=fake.url,
        api="http",
        http_path="/p",
        payload=payload,
        users=2,
        rate=8.0,
        duration=3.0,
        warmup=0.0,
    )
    with pytest.raises(ServiceStartError):
        run_load(config, tmp_path / "broken", hold=hold)
    assert fake.bodies == []  # Locust never started its test: it was stopped while held


def payload_lines() -> list[bytes]:
    return [
        b'{"inputs": [' if i in MALFORMED_AT else json.dumps({"inputs": [{"id": i}]}).encode()
        for i in range(100)
    ]


@pytest.mark.parametrize(
    ("api", "extra", "name"),
    [
        ("kserve-v2", {"model": "m"}, "/v2/models/m/infer"),
        ("http", {"http_path": "/predict/any", "http_method": "PUT"}, "/predict/any"),
    ],
)
def test_malformed_bodies_are_sent_verbatim_in_turn(
    fake: FakeServer, tmp_path: Path, api: str, extra: dict[str, Any], name: str
) -> None:
    lines = payload_lines()
    payload = tmp_path / "payload.jsonl"
    payload.write_bytes(b"\n".join(lines[:50]) + b"\n\n" + b"\n".join(lines[50:]) + b"\n")
    snap = load(tmp_path, "run", fake.url, api=api, payload=payload, **extra)
    n = summarise(snap.requests[name]).count
    bad = sum(1 for i in range(n) if i % 100 in MALFORMED_AT)
    assert n > 0 and snap.status[name] == {k: v for k, v in (("200", n - bad), ("500", bad)) if v}
    assert summarise(snap.requests[name]).errors == bad
    # the server got each body byte for byte, in turn (the empty line was skipped)
    assert sorted(fake.bodies) == sorted(lines[i % 100] for i in range(n))


def test_reference_service_answers_the_openai_user_without_streaming(
    reference: ServerProcess, tmp_path: Path
) -> None:
    before = generated_tokens(reference)
    snap = load(
        tmp_path,
        "whole",
        reference.url,
        api="openai",
        stream=False,
        output_tokens=Lengths(3),
        openai_endpoint="completions",
        users=1,
        rate=4.0,
    )
    n = summarise(snap.requests["/v1/completions"]).count
    assert n > 0 and summarise(snap.requests["/v1/completions"]).errors == 0
    assert "ttft" not in snap.metrics  # a whole answer has no first token to time
    assert count_between(snap.counts["output_tokens"]) == generated_tokens(reference) - before
