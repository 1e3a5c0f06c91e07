"""Fake vLLM and NVIDIA Triton servers that count (or fail to count) failures as the real ones do.

Why fakes: neither real server runs here (vLLM needs its engine, Triton its container), yet the
presets must meet the way their metrics miss failures. Each behaviour copies a real source:

vLLM (`vllm serve`: OpenAI API and /metrics on one port):
- `http_requests_total{handler,method,status}`, `http_request_duration_seconds{handler,method}`
  (buckets 0.1, 0.5, 1): prometheus-fastapi-instrumentator's middleware
  (prometheus_fastapi_instrumentator/middleware.py) takes the status from the
  `http.response.start` message and groups it 2xx/4xx/5xx; vLLM attaches it, /metrics, /health,
  /load, /ping, /version, /server_info excluded, in vllm/entrypoints/openai/api_server.py
  (vllm/entrypoints/serve/instrumentator/metrics.py in later releases).
- `vllm:*` names, HELP texts, labels model_name/engine and V1 buckets: vllm/v1/metrics/loggers.py
  (PrometheusStatLogger); `vllm:request_success_total` has a series per FinishReason
  (vllm/v1/engine/__init__.py) from startup.
- A failure after the 200 went out: vllm/entrypoints/openai/serving_chat.py
  (chat_completion_stream_generator: `except Exception` yields
  `data: {create_streaming_error_response(...)}` then `data: [DONE]`); the body is
  ErrorResponse/ErrorInfo of vllm/entrypoints/openai/protocol.py, typed InternalServerError/500
  as vllm/entrypoints/serve/exception_handling/error_response.py maps a GenerationError. The
  HTTP counter says 2xx. Odd-numbered failures finish in the engine with FinishReason.ERROR
  (`vllm:request_success_total{finished_reason="error"}`, e2e/ttft/itl observed); even ones
  fail in the frontend, and no metric but the 2xx counts them.

Triton (KServe v2 REST on --port, /metrics on --metrics-port):
- `nv_inference_*` families, HELP texts, labels model/version and failure reasons: core
  src/metrics.cc and src/metric_model_reporter.cc; the text as prometheus-cpp's
  core/src/text_serializer.cc writes it (labels sorted, no _created, no timestamps), as in
  tests/fixtures/metrics/triton.prom.
- A full queue: core src/scheduler_utils.cc (the queue's Enqueue returns UNAVAILABLE "Exceeds
  maximum queue size" and reports no failure statistics), answered 503 by server
  src/http_server.cc: neither `nv_inference_request_success` nor `..._failure` moves.

Run `python -m tests.integration.fake_servers vllm|triton --port P [--metrics-port M]
[--fail-every N] [--model NAME]`, or use `start_fake_vllm` / `start_fake_triton`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import prometheus_client as prom
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.helpers import free_port
from tests.integration.servers import RunningServer, _process, _wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]
VLLM_MODEL = "fake-vllm"
TRITON_MODEL = "resnet50"
MAX_TOKENS = 16
TOKEN_GAP_S = 0.002
FINISH_REASONS = ("stop", "length", "abort", "error")
EXCLUDED_HANDLERS = {"/metrics", "/health", "/load", "/ping", "/version", "/server_info"}
HTTP_DURATION_DOC = (
    "Latency with only few buckets by handler. Made to be only used if aggregation by handler "
    "is important. "
)
# fmt: off
E2E = [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920,
       7680]
TTFT = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20,
        40, 80, 160, 640, 2560]
ITL = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40,
       80]
# fmt: on


class VllmMetrics:
    """vLLM's registry: the instrumentator's HTTP families and the engine's `vllm:` ones."""

    def __init__(self, model: str) -> None:
        r = self.registry = prom.CollectorRegistry()
        doc = "Total number of requests by method, status and handler."
        self.http_requests = prom.Counter(
            "http_requests", doc, ["handler", "method", "status"], registry=r
        )
        self.http_duration = prom.Histogram(
            "http_request_duration_seconds", HTTP_DURATION_DOC, ["handler", "method"],
            buckets=(0.1, 0.5, 1), registry=r,
        )  # fmt: skip

        def engine(cls: type[Any], name: str, doc: str, *extra: str, **kw: Any) -> Any:
            family = cls(name, doc, ["model_name", "engine", *extra], registry=r, **kw)
            return family if extra else family.labels(model, "0")

        running, waiting = "vllm:num_requests_running", "vllm:num_requests_waiting"
        self.running = engine(prom.Gauge, running, "Number of requests in model execution batches.")
        self.waiting = engine(prom.Gauge, waiting, "Number of requests waiting to be processed.")
        doc = "Number of prefill tokens processed."
        self.prompt_tokens = engine(prom.Counter, "vllm:prompt_tokens", doc)
        doc = "Number of generation tokens processed."
        self.generation_tokens = engine(prom.Counter, "vllm:generation_tokens", doc)
        doc = "Count of successfully processed requests."
        success = engine(prom.Counter, "vllm:request_success", doc, "finished_reason")
        self.success = {reason: success.labels(model, "0", reason) for reason in FINISH_REASONS}
        doc = "Histogram of time to first token in seconds."
        self.ttft = engine(prom.Histogram, "vllm:time_to_first_token_seconds", doc, buckets=TTFT)
        doc = "Histogram of inter-token latency in seconds."
        self.itl = engine(prom.Histogram, "vllm:inter_token_latency_seconds", doc, buckets=ITL)
        doc = "Histogram of e2e request latency in seconds."
        self.e2e = engine(prom.Histogram, "vllm:e2e_request_latency_seconds", doc, buckets=E2E)


class Instrumentator:
    """prometheus-fastapi-instrumentator's ASGI middleware: the handler is the matched route's
    path ("none" when untemplated), the status the one of `http.response.start` (500 when the
    app raised before it), both recorded when the response has ended."""

    def __init__(self, app: Starlette, metrics: VllmMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        matched = (route for route in self.app.routes if route.matches(scope)[0] != Match.NONE)
        handler = str(getattr(next(matched, None), "path", "none"))
        if handler in EXCLUDED_HANDLERS:
            await self.app(scope, receive, send)
            return
        status, started = 500, time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            method, elapsed = scope["method"], time.perf_counter() - started
            self.metrics.http_requests.labels(handler, method, f"{status // 100}xx").inc()
            self.metrics.http_duration.labels(handler, method).observe(elapsed)


def _sse(obj: Any) -> str:
    return f"data: {json.dumps(obj, separators=(',', ':'))}\n\n"


def vllm_app(model: str, fail_every: int | None) -> ASGIApp:
    """The OpenAI endpoints of `vllm serve` that the load users touch, with vLLM's metrics."""
    m = VllmMetrics(model)
    seen = {"requests": 0, "failures": 0}

    def error_body(engine: bool) -> dict[str, Any]:
        message = "Internal server error" if engine else "fake frontend error after the 200"
        return {"error": {"message": message, "type": "InternalServerError", "param": None,
                          "code": 500}}  # fmt: skip

    def finish(arrival: float, gaps: list[float], prompt: int, reason: str) -> None:
        """What vLLM's engine records for a request it finished (success or ERROR)."""
        m.success[reason].inc()
        m.e2e.observe(time.perf_counter() - arrival)
        for i, gap in enumerate(gaps):
            (m.itl if i else m.ttft).observe(gap)
        m.prompt_tokens.inc(prompt)
        m.generation_tokens.inc(len(gaps))

    async def tokens(n: int, arrival: float, gaps: list[float]) -> AsyncIterator[str]:
        last = arrival
        for i in range(n):
            await asyncio.sleep(TOKEN_GAP_S)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now
            yield f" tok{i}"

    async def chat(request: Request) -> Response:
        arrival = time.perf_counter()
        body = await request.json()
        seen["requests"] += 1
        failure = 0
        if fail_every and seen["requests"] % fail_every == 0:
            seen["failures"] += 1
            failure = seen["failures"]
        by_engine = failure % 2 == 1  # odd failures: the engine's; even ones: the frontend's
        limit = body.get("max_completion_tokens") or body.get("max_tokens") or MAX_TOKENS
        n = max(1, min(int(limit), MAX_TOKENS))
        sent = min(2, n - 1) if failure else n  # content chunks before the failure
        words = sum(len(str(msg.get("content", "")).split()) for msg in body.get("messages", []))
        prompt, gaps = max(words, 1), list[float]()
        usage = {"prompt_tokens": prompt, "completion_tokens": n, "total_tokens": prompt + n}
        head = {"id": f"chatcmpl-{uuid.uuid4().hex}", "created": int(time.time()), "model": model}

        def fail() -> dict[str, Any]:
            if by_engine:
                finish(arrival, gaps, prompt, "error")
            return error_body(by_engine)

        if not body.get("stream"):
            m.running.inc()
            try:
                text = "".join([t async for t in tokens(sent, arrival, gaps)])
            finally:
                m.running.dec()
            if failure:
                return JSONResponse(fail(), status_code=500)
            finish(arrival, gaps, prompt, "length")
            message = {"role": "assistant", "content": text}
            choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": "length"}
            obj = {**head, "object": "chat.completion", "choices": [choice], "usage": usage}
            return JSONResponse(obj)

        def chunk(delta: dict[str, str], reason: str | None = None) -> str:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}
            return _sse({**head, "object": "chat.completion.chunk", "choices": [choice]})

        async def stream() -> AsyncIterator[str]:
            m.running.inc()
            try:
                yield chunk({"role": "assistant", "content": ""})
                i = 0
                async for token in tokens(sent, arrival, gaps):
                    i += 1
                    yield chunk({"content": token}, "length" if i == n else None)
                if failure:  # the generator raised after the 200 and these chunks went out
                    yield _sse(fail())
                else:
                    finish(arrival, gaps, prompt, "length")
                    if (body.get("stream_options") or {}).get("include_usage"):
                        obj = {**head, "object": "chat.completion.chunk", "choices": []}
                        yield _sse({**obj, "usage": usage})
                yield "data: [DONE]\n\n"
            finally:
                m.running.dec()

        return StreamingResponse(stream(), media_type="text/event-stream")

    async def models(request: Request) -> Response:
        card = {"id": model, "object": "model", "created": int(time.time()), "owned_by": "vllm",
                "root": model, "parent": None, "max_model_len": 2048}  # fmt: skip
        return JSONResponse({"object": "list", "data": [card]})

    async def health(request: Request) -> Response:
        return Response(status_code=200)

    async def metrics(request: Request) -> Response:
        return Response(prom.generate_latest(m.registry), media_type=prom.CONTENT_TYPE_LATEST)

    chat_route = Route("/v1/chat/completions", chat, methods=["POST"])
    routes = [chat_route, Route("/v1/models", models), Route("/health", health)]
    return Instrumentator(Starlette(routes=[*routes, Route("/metrics", metrics)]), m)


#: "family type HELP", in Triton's order (src/metrics.cc; tests/fixtures/metrics/triton.prom)
TRITON_FAMILIES = [
    line.split(" ", 2)
    for line in """\
nv_inference_request_success counter Number of successful inference requests, all batch sizes
nv_inference_request_failure counter Number of failed inference requests, all batch sizes
nv_inference_count counter Number of inferences performed (does not include cached requests)
nv_inference_exec_count counter \
Number of model executions performed (does not include cached requests)
nv_inference_request_duration_us counter \
Cumulative inference request duration in microseconds (includes cached requests)
nv_inference_queue_duration_us counter \
Cumulative inference queuing duration in microseconds (includes cached requests)
nv_inference_compute_infer_duration_us counter \
Cumulative compute inference duration in microseconds (does not include cached requests)
nv_inference_pending_request_count gauge \
Instantaneous number of pending requests awaiting execution per-model.""".splitlines()
]
TRITON_REASONS = ("BACKEND", "CANCELED", "OTHER", "REJECTED")


def render_triton(model: str, values: dict[str, int], failures: dict[str, int]) -> str:
    """The families as prometheus-cpp's text serializer writes them (labels sorted)."""
    lines = []
    for name, kind, help_text in TRITON_FAMILIES:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        if name == "nv_inference_request_failure":
            for reason in TRITON_REASONS:
                labels = f'model="{model}",reason="{reason}",version="1"'
                lines.append(f"{name}{{{labels}}} {failures[reason]}")
        else:
            lines.append(f'{name}{{model="{model}",version="1"}} {values[name]}')
    return "\n".join(lines) + "\n"


def triton_app(model: str, fail_every: int | None, port: int, metrics_port: int) -> ASGIApp:
    """Triton's KServe v2 REST endpoints for one model (version 1), metrics on metrics_port."""
    values = {name: 0 for name, _, _ in TRITON_FAMILIES}
    failures = dict.fromkeys(TRITON_REASONS, 0)  # nothing here fails with a counted reason
    seen = {"requests": 0}

    async def ready(request: Request) -> Response:
        return Response(
            status_code=200 if request.path_params.get("model", model) == model else 400
        )

    async def infer(request: Request) -> Response:
        name = request.path_params["model"]
        if name != model:
            return JSONResponse({"error": f"Request for unknown model: '{name}' is not found"}, 400)
        try:
            body = await request.json()
            if not isinstance(body["inputs"], list):
                raise TypeError("inputs")
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "failed to parse the request JSON buffer"}, 400)
        seen["requests"] += 1
        if fail_every and seen["requests"] % fail_every == 0:  # refused at Enqueue: not counted
            return JSONResponse({"error": "Exceeds maximum queue size"}, status_code=503)
        started = time.perf_counter_ns()
        values["nv_inference_pending_request_count"] += 1
        try:
            await asyncio.sleep(0)
            queued = time.perf_counter_ns()
            await asyncio.sleep(TOKEN_GAP_S)
            done = time.perf_counter_ns()
        finally:
            values["nv_inference_pending_request_count"] -= 1
        for key in ("request_success", "count", "exec_count"):
            values[f"nv_inference_{key}"] += 1
        values["nv_inference_request_duration_us"] += (done - started) // 1000
        values["nv_inference_queue_duration_us"] += (queued - started) // 1000
        values["nv_inference_compute_infer_duration_us"] += (done - queued) // 1000
        output = {"name": "output", "datatype": "FP32", "shape": [1, 2], "data": [0.1, 0.9]}
        out = {"model_name": model, "model_version": "1", "outputs": [output]}
        return JSONResponse({"id": body["id"], **out} if "id" in body else out)

    async def metrics(request: Request) -> Response:
        text = render_triton(model, values, failures)
        return Response(text, media_type="text/plain; charset=utf-8")

    app = Starlette(routes=[
        Route("/v2/health/ready", ready), Route("/v2/health/live", ready),
        Route("/v2/models/{model}/ready", ready),
        Route("/v2/models/{model}/infer", infer, methods=["POST"]), Route("/metrics", metrics),
    ])  # fmt: skip

    async def by_port(scope: Scope, receive: Receive, send: Send) -> None:
        """/metrics only on the metrics port, the rest only on the HTTP port."""
        on_metrics_port = scope.get("server", (None, port))[1] == metrics_port
        if metrics_port != port and on_metrics_port != (scope.get("path") == "/metrics"):
            await Response("Not Found", status_code=404)(scope, receive, send)
            return
        await app(scope, receive, send)

    return by_port


def serve(app: ASGIApp, ports: list[int]) -> None:
    """Serve app on 127.0.0.1 on every port with one uvicorn server: one SIGTERM stops it."""
    sockets = []
    for port in dict.fromkeys(ports):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sockets.append(sock)
    config = uvicorn.Config(
        app, log_level="warning", lifespan="off", access_log=False, timeout_graceful_shutdown=2
    )
    asyncio.run(uvicorn.Server(config).serve(sockets=sockets))


@contextmanager
def _start(
    kind: str, workdir: Path, fail_every: int | None, model: str, ready: list[str], split: bool
) -> Iterator[RunningServer]:
    if fail_every is not None and fail_every < 1:
        raise ValueError(f"fail_every must be at least 1, not {fail_every}")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    metrics_port = free_port() if split else port
    argv = [sys.executable, "-m", "tests.integration.fake_servers", kind, "--port", str(port)]
    argv += ["--metrics-port", str(metrics_port), "--model", model]
    argv += ["--fail-every", str(fail_every)] if fail_every else []
    pythonpath = [str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(pythonpath), "PYTHONUNBUFFERED": "1"}
    name = f"fake-{kind}"
    # it runs in workdir, where _process writes its log; PYTHONPATH finds the `tests` package
    with _process(name, argv, workdir, env) as proc:
        url, metrics_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{metrics_port}/metrics"
        log_path = workdir / f"{name}.log"
        server = RunningServer(name, url, metrics_url, model, log_path, proc.pid)
        probes: list[tuple[str, str | None]] = [(url + path, None) for path in ready]
        _wait_until(server, proc, [*probes, (metrics_url, None)])
        yield server


@contextmanager
def start_fake_vllm(workdir: Path, fail_every: int | None = None) -> Iterator[RunningServer]:
    """The fake `vllm serve` on a free port, metrics on it. Ready when /health and /metrics
    answer, neither of which the HTTP counter counts: its series start empty."""
    with _start("vllm", workdir, fail_every, VLLM_MODEL, ["/health"], split=False) as server:
        yield server


@contextmanager
def start_fake_triton(workdir: Path, fail_every: int | None = None) -> Iterator[RunningServer]:
    """The fake tritonserver serving resnet50, on a free HTTP port and a free metrics port."""
    ready = ["/v2/health/ready", f"/v2/models/{TRITON_MODEL}/ready"]
    with _start("triton", workdir, fail_every, TRITON_MODEL, ready, split=True) as server:
        yield server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.integration.fake_servers")
    parser.add_argument("kind", choices=["vllm", "triton"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--metrics-port", type=int, help="triton's /metrics port (default --port)")
    parser.add_argument("--fail-every", type=int, help="fail every Nth request (N >= 1)")
    parser.add_argument("--model", help=f"model name (default {VLLM_MODEL} / {TRITON_MODEL})")
    args = parser.parse_args(argv)
    if args.fail_every is not None and args.fail_every < 1:
        parser.error("--fail-every must be at least 1")
    metrics_port = args.metrics_port or args.port
    if args.kind == "vllm":
        if metrics_port != args.port:
            parser.error("vllm serves /metrics on --port")
        app = vllm_app(args.model or VLLM_MODEL, args.fail_every)
    else:
        app = triton_app(args.model or TRITON_MODEL, args.fail_every, args.port, metrics_port)
    print(f"fake {args.kind} on 127.0.0.1:{args.port}, metrics on :{metrics_port}", flush=True)
    serve(app, [args.port, metrics_port])


if __name__ == "__main__":
    main()
