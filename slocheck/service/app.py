"""The reference inference service: an ASGI app built from a :class:`ServiceConfig`."""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, disable_created_metrics, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from slocheck._version import __version__
from slocheck.service.batching import BatcherStopped, Outcome, QueueFull
from slocheck.service.config import ConfigError, FaultConfig, ServiceConfig
from slocheck.service.gpu import register_gpu_metrics
from slocheck.service.metrics import ServiceMetrics
from slocheck.service.middleware import Instrumentation
from slocheck.service.models import VOCABULARY, tokenize
from slocheck.service.state import ServiceState, crash_process
from slocheck.service.tracing import Tracer, build_tracer
from slocheck.service.validation import (
    GenerateRequest,
    RequestError,
    parse_json,
    validate_classify,
    validate_generate,
)

log = logging.getLogger("slocheck.service")

# perf_counter_ns -> wall-clock ns, for spans built from batch timelines
_CLOCK_OFFSET_NS = time.time_ns() - time.perf_counter_ns()


def _svc(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.svc
    return state


def _error(
    status: int,
    kind: str,
    message: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    err: dict[str, Any] = {"type": kind, "message": message}
    if field is not None:
        err["field"] = field
    return JSONResponse({"error": err}, status_code=status, headers=headers)


async def _read_json(request: Request, limit: int) -> Any:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise RequestError(413, "body", f"{length} bytes; at most {limit} bytes are accepted")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise RequestError(
                413, "body", f"more than {limit} bytes; at most {limit} are accepted"
            )
    return parse_json(bytes(body))


def _record_spans(svc: ServiceState, outcome: Outcome[Any], model: str) -> None:
    if not svc.tracer.enabled:
        return
    svc.tracer.record(
        "queue_wait",
        outcome.enqueued_ns + _CLOCK_OFFSET_NS,
        outcome.started_ns + _CLOCK_OFFSET_NS,
        {"ml.model": model},
    )
    svc.tracer.record(
        "batch_inference",
        outcome.started_ns + _CLOCK_OFFSET_NS,
        outcome.finished_ns + _CLOCK_OFFSET_NS,
        {"ml.model": model, "ml.batch_size": outcome.batch_size},
    )


async def _admit(request: Request, model: str, validate: Callable[[Any], Any]) -> Any:
    """Everything an inference request goes through before the model: crash fault, body
    size, validation, injected latency and errors. Returns the validated input or a Response."""
    svc = _svc(request)
    svc.count_request()
    try:
        parsed = validate(await _read_json(request, svc.config.max_body_bytes))
    except RequestError as e:
        svc.metrics.errors.labels(model, "invalid_input").inc()
        return JSONResponse(e.body(), status_code=e.status)
    if await svc.injected_error():
        svc.metrics.errors.labels(model, "injected").inc()
        return _error(500, "injected_fault", "injected fault (--fault-error-rate)")
    return parsed


def _shed(svc: ServiceState, model: str, exc: Exception) -> JSONResponse:
    if isinstance(exc, QueueFull):
        svc.metrics.errors.labels(model, "overloaded").inc()
        return _error(503, "overloaded", str(exc), headers={"Retry-After": "1"})
    if isinstance(exc, BatcherStopped):
        return _error(503, "unavailable", str(exc), headers={"Retry-After": "1"})
    svc.metrics.errors.labels(model, "inference").inc()
    log.error("inference failed", exc_info=exc, extra={"model": model})
    return _error(500, "inference_error", "inference failed")


async def classify(request: Request) -> Response:
    svc = _svc(request)
    admitted = await _admit(request, "classifier", validate_classify)
    if isinstance(admitted, Response):
        return admitted
    assert svc.classify_batcher is not None and svc.classifier is not None
    try:
        outcome = await svc.classify_batcher.submit(admitted)
    except Exception as e:
        return _shed(svc, "classifier", e)
    _record_spans(svc, outcome, "classifier")
    version = svc.classifier.version
    svc.metrics.predictions.labels("classifier", version).inc()
    p = outcome.value
    return JSONResponse(
        {
            "label": p.label,
            "confidence": round(p.confidence, 6),
            "class_index": p.class_index,
            "model_version": version,
            "batch_size": outcome.batch_size,
        }
    )


async def generate(request: Request) -> Response:
    svc = _svc(request)
    admitted = await _admit(request, "generator", validate_generate)
    if isinstance(admitted, Response):
        return admitted
    req: GenerateRequest = admitted
    assert svc.generate_batcher is not None and svc.generator is not None
    batcher, metrics, version = svc.generate_batcher, svc.metrics, svc.generator.version
    started = time.perf_counter()
    prompt_tokens = tokenize(req.prompt)
    try:  # prefill: admission control applies here, never to later decode steps
        first = await batcher.submit((None, prompt_tokens))
    except Exception as e:
        return _shed(svc, "generator", e)
    _record_spans(svc, first, "generator")
    metrics.ttft.observe(time.perf_counter() - started)
    metrics.generated_tokens.inc()

    async def tokens() -> AsyncIterator[tuple[int, str]]:
        state, token = first.value
        last = time.perf_counter()
        yield 0, VOCABULARY[token]
        for index in range(1, req.max_tokens):
            outcome = await batcher.submit((state, [token]), admit=False)
            state, token = outcome.value
            now = time.perf_counter()
            metrics.itl.observe(now - last)
            metrics.generated_tokens.inc()
            last = now
            yield index, VOCABULARY[token]
        metrics.predictions.labels("generator", version).inc()

    usage = {"prompt_tokens": len(prompt_tokens), "completion_tokens": req.max_tokens}
    if not req.stream:
        try:
            words = [w async for _, w in tokens()]
        except Exception as e:
            return _shed(svc, "generator", e)
        return JSONResponse(
            {
                "text": " ".join(words),
                "model_version": version,
                "usage": usage,
                "finish_reason": "length",
            }
        )

    async def events() -> AsyncIterator[bytes]:
        try:
            async for index, word in tokens():
                yield b"data: " + json.dumps({"index": index, "token": word}).encode() + b"\n\n"
        except (QueueFull, BatcherStopped, RuntimeError) as e:  # a stream cannot change status now
            metrics.errors.labels("generator", "inference").inc()
            yield b"event: error\ndata: " + json.dumps({"error": str(e)}).encode() + b"\n\n"
            return
        done = {"done": True, "finish_reason": "length", "usage": usage, "model_version": version}
        yield b"data: " + json.dumps(done).encode() + b"\n\n"
        yield b"data: [DONE]\n\n"

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _probe(
    check: Callable[[], tuple[bool, list[str]]], ok_word: str, svc: ServiceState
) -> Response:
    ok, failing = check()
    if ok:
        return JSONResponse({"status": ok_word})
    checks = svc.checks()
    return JSONResponse(
        {
            "status": "fail",
            "failing": failing,
            "checks": {k: checks[k] for k in failing if k in checks},
        },
        status_code=503,
    )


async def health_live(request: Request) -> Response:
    svc = _svc(request)
    return _probe(svc.live, "alive", svc)


async def health_ready(request: Request) -> Response:
    svc = _svc(request)
    return _probe(svc.ready, "ready", svc)


async def health_startup(request: Request) -> Response:
    svc = _svc(request)
    return _probe(svc.started, "started", svc)


async def health(request: Request) -> Response:
    summary = _svc(request).summary()
    return JSONResponse(summary, status_code=200 if summary["ready"] else 503)


async def metrics_endpoint(request: Request) -> Response:
    return Response(
        generate_latest(_svc(request).metrics.registry),
        headers={"Content-Type": CONTENT_TYPE_LATEST},
    )


async def index(request: Request) -> Response:
    svc = _svc(request)
    return JSONResponse(
        {
            "service": svc.config.service_name,
            "version": __version__,
            "models": svc.model_versions(),
            "backend": svc.config.backend,
            "device": svc.device,
            "endpoints": sorted(r.path for r in request.app.routes if isinstance(r, Route)),
        }
    )


async def admin_faults(request: Request) -> Response:
    svc = _svc(request)
    if request.method == "POST":
        try:
            data = await _read_json(request, 64 * 1024)
            if not isinstance(data, dict):
                raise RequestError(422, "body", "expected a JSON object of fault settings")
            svc.set_faults(FaultConfig.from_mapping(data, base=svc.faults))
        except RequestError as e:
            return JSONResponse(e.body(), status_code=e.status)
        except ConfigError as e:
            return _error(422, "validation_error", e.message, field=e.field)
        except (OverflowError, ValueError) as e:
            return _error(422, "validation_error", str(e)[:200], field="faults")
        log.warning(
            "faults changed", extra={"event": "faults_changed", "faults": svc.faults.to_dict()}
        )
    return JSONResponse(svc.faults.to_dict())


def create_app(
    config: ServiceConfig | None = None,
    *,
    metrics: ServiceMetrics | None = None,
    tracer: Tracer | None = None,
    crash_hook: Callable[[], None] = crash_process,
) -> Starlette:
    """Build the service. Models load, and warm up, in the app's lifespan."""
    config = config or ServiceConfig()
    disable_created_metrics()  # type: ignore[no-untyped-call] # no *_created series: they double the series count for nothing
    if metrics is None:
        metrics = ServiceMetrics()
        register_gpu_metrics(metrics.registry)
    svc = ServiceState(
        config=config,
        metrics=metrics,
        tracer=tracer or build_tracer(config.service_name, __version__),
        crash_hook=crash_hook,
    )
    routes = [
        Route("/", index, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/health/live", health_live, methods=["GET"]),
        Route("/health/ready", health_ready, methods=["GET"]),
        Route("/health/startup", health_startup, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
    ]
    if "classifier" in config.models:
        routes.append(Route("/v1/classify", classify, methods=["POST"]))
    if "generator" in config.models:
        routes.append(Route("/v1/generate", generate, methods=["POST"]))
    if config.enable_admin:
        routes.append(Route("/admin/faults", admin_faults, methods=["GET", "POST"]))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await svc.start()
        log.info(
            "service ready" if svc.warmed_up else "service started, not ready",
            extra={
                "event": "started",
                "backend": config.backend,
                "device": svc.device,
                "models": svc.model_versions(),
                "faults": config.faults.to_dict(),
            },
        )
        try:
            yield
        finally:
            await svc.stop()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.svc = svc
    app.add_middleware(
        Instrumentation,
        metrics=metrics,
        tracer=svc.tracer,
        known_routes=frozenset(r.path for r in routes),
        access_log=config.access_log,
    )
    return app


__all__ = ["create_app"]
