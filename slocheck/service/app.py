"""The reference inference service: an ASGI app built from a :class:`ServiceConfig`."""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable

from prometheus_client import CONTENT_TYPE_LATEST, disable_created_metrics, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from slocheck._version import __version__
from slocheck.service.config import ConfigError, FaultConfig, ServiceConfig
from slocheck.service.gpu import register_gpu_metrics
from slocheck.service.handling import (
    STREAM_ERRORS,
    Generation,
    admit,
    error_response,
    model_delay,
    read_json,
    record_spans,
    shed,
    svc_of,
)
from slocheck.service.metrics import ServiceMetrics
from slocheck.service.middleware import Instrumentation
from slocheck.service.openai_api import chat_completions, completions
from slocheck.service.openai_api import models as list_models
from slocheck.service.state import ServiceState, crash_process
from slocheck.service.tracing import Tracer, build_tracer
from slocheck.service.validation import (
    GenerateRequest,
    RequestError,
    validate_classify,
    validate_generate,
)

log = logging.getLogger("slocheck.service")


async def classify(request: Request) -> Response:
    svc = svc_of(request)
    admitted = await admit(request, "classifier", validate_classify)
    if isinstance(admitted, Response):
        return admitted
    assert svc.classify_batcher is not None and svc.classifier is not None
    try:
        outcome = await svc.classify_batcher.submit(admitted, delay=model_delay(request))
    except Exception as e:
        return shed(svc, "classifier", e)
    record_spans(svc, outcome, "classifier")
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
    started = time.perf_counter()
    admitted = await admit(request, "generator", validate_generate)
    if isinstance(admitted, Response):
        return admitted
    req: GenerateRequest = admitted
    gen = await Generation.start(request, req.prompt, req.max_tokens, started)
    if isinstance(gen, Response):
        return gen
    version = gen.svc.model_versions()["generator"]
    if not req.stream:
        try:
            words = [w async for _, w in gen.words()]
        except Exception as e:
            return shed(gen.svc, "generator", e)
        return JSONResponse(
            {
                "text": " ".join(words),
                "model_version": version,
                "usage": gen.usage,
                "finish_reason": "length",
            }
        )

    async def events() -> AsyncIterator[bytes]:
        try:
            async for index, word in gen.words():
                yield b"data: " + json.dumps({"index": index, "token": word}).encode() + b"\n\n"
        except STREAM_ERRORS as e:  # a stream cannot change status now
            gen.svc.metrics.errors.labels("generator", "inference").inc()
            yield b"event: error\ndata: " + json.dumps({"error": str(e)}).encode() + b"\n\n"
            return
        done = {
            "done": True,
            "finish_reason": "length",
            "usage": gen.usage,
            "model_version": version,
        }
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
    svc = svc_of(request)
    return _probe(svc.live, "alive", svc)


async def health_ready(request: Request) -> Response:
    svc = svc_of(request)
    return _probe(svc.ready, "ready", svc)


async def health_startup(request: Request) -> Response:
    svc = svc_of(request)
    return _probe(svc.started, "started", svc)


async def health(request: Request) -> Response:
    summary = svc_of(request).summary()
    return JSONResponse(summary, status_code=200 if summary["ready"] else 503)


async def metrics_endpoint(request: Request) -> Response:
    return Response(
        generate_latest(svc_of(request).metrics.registry),
        headers={"Content-Type": CONTENT_TYPE_LATEST},
    )


async def index(request: Request) -> Response:
    svc = svc_of(request)
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
    svc = svc_of(request)
    if request.method == "POST":
        try:
            data = await read_json(request, 64 * 1024)
            if not isinstance(data, dict):
                raise RequestError(422, "body", "expected a JSON object of fault settings")
            svc.set_faults(FaultConfig.from_mapping(data, base=svc.faults))
        except RequestError as e:
            return JSONResponse(e.body(), status_code=e.status)
        except ConfigError as e:
            return error_response(422, "validation_error", e.message, field=e.field)
        except (OverflowError, ValueError) as e:
            return error_response(422, "validation_error", str(e)[:200], field="faults")
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
        routes.append(Route("/v1/chat/completions", chat_completions, methods=["POST"]))
        routes.append(Route("/v1/completions", completions, methods=["POST"]))
        routes.append(Route("/v1/models", list_models, methods=["GET"]))
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
