"""What every inference route shares: admission (crash fault, body size, validation, injected
latency and errors), shedding, spans, and the generator's prefill and decode loop, so that
``/v1/generate`` and the OpenAI-compatible routes behave, and are measured, the same way."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from slocheck.service.batching import BatcherStopped, Outcome, QueueFull
from slocheck.service.models import VOCABULARY, tokenize
from slocheck.service.state import GenResult, ServiceState
from slocheck.service.validation import RequestError, parse_json

log = logging.getLogger("slocheck.service")

# perf_counter_ns -> wall-clock ns, for spans built from batch timelines
_CLOCK_OFFSET_NS = time.time_ns() - time.perf_counter_ns()


def svc_of(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.svc
    return state


def error_response(
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


async def read_json(request: Request, limit: int) -> Any:
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


def record_spans(svc: ServiceState, outcome: Outcome[Any], model: str) -> None:
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


async def admit(
    request: Request,
    model: str,
    validate: Callable[[Any], Any],
    refusal: Callable[[RequestError], Response] | None = None,
) -> Any:
    """Everything an inference request goes through before the model: crash fault, body
    size, validation, injected stalls and errors, and the draw of its injected latency (spent
    in the model: :func:`model_delay`). Returns the validated input or a Response; ``refusal``
    shapes the answer to an invalid body (the OpenAI routes answer OpenAI's way)."""
    svc = svc_of(request)
    svc.count_request()
    try:
        parsed = validate(await read_json(request, svc.config.max_body_bytes))
    except RequestError as e:
        svc.metrics.errors.labels(model, "invalid_input").inc()
        return refusal(e) if refusal else JSONResponse(e.body(), status_code=e.status)
    if await svc.injected_error():
        svc.metrics.errors.labels(model, "injected").inc()
        return error_response(500, "injected_fault", "injected fault (--fault-error-rate)")
    request.state.model_delay = svc.model_delay()
    return parsed


def model_delay(request: Request) -> float:
    """The injected latency :func:`admit` drew for this request (0 when none)."""
    return float(getattr(request.state, "model_delay", 0.0))


def shed(svc: ServiceState, model: str, exc: Exception) -> JSONResponse:
    if isinstance(exc, QueueFull):
        svc.metrics.errors.labels(model, "overloaded").inc()
        return error_response(503, "overloaded", str(exc), headers={"Retry-After": "1"})
    if isinstance(exc, BatcherStopped):
        return error_response(503, "unavailable", str(exc), headers={"Retry-After": "1"})
    svc.metrics.errors.labels(model, "inference").inc()
    log.error("inference failed", exc_info=exc, extra={"model": model})
    return error_response(500, "inference_error", "inference failed")


#: What a stream cannot turn into a status any more, once its first byte is sent.
STREAM_ERRORS = (QueueFull, BatcherStopped, RuntimeError)


@dataclass
class Generation:
    """One admitted generation: its prefill is done (the first token is known)."""

    svc: ServiceState
    first: Outcome[GenResult]
    prompt_tokens: int
    max_tokens: int

    @classmethod
    async def start(
        cls, request: Request, prompt: str, max_tokens: int, started: float
    ) -> Generation | Response:
        """Prefill ``prompt``; ``started`` is when the request arrived (injected latency
        included), so that ``ml_time_to_first_token_seconds`` is what a client sees."""
        svc = svc_of(request)
        assert svc.generate_batcher is not None
        tokens = tokenize(prompt)
        try:  # prefill: admission control applies here, never to later decode steps
            first = await svc.generate_batcher.submit((None, tokens), delay=model_delay(request))
        except Exception as e:
            return shed(svc, "generator", e)
        record_spans(svc, first, "generator")
        svc.metrics.ttft.observe(time.perf_counter() - started)
        svc.metrics.generated_tokens.inc()
        return cls(svc, first, len(tokens), max_tokens)

    @property
    def usage(self) -> dict[str, int]:
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.max_tokens}

    async def words(self) -> AsyncIterator[tuple[int, str]]:
        """(index, word) of every token, the first included; decode steps are never shed."""
        svc, metrics = self.svc, self.svc.metrics
        assert svc.generate_batcher is not None and svc.generator is not None
        state, token = self.first.value
        last = time.perf_counter()
        yield 0, VOCABULARY[token]
        slower = svc.faults.token_latency
        for index in range(1, self.max_tokens):
            outcome = await svc.generate_batcher.submit((state, [token]), admit=False, delay=slower)
            state, token = outcome.value
            now = time.perf_counter()
            metrics.itl.observe(now - last)
            metrics.generated_tokens.inc()
            last = now
            yield index, VOCABULARY[token]
        metrics.predictions.labels("generator", svc.generator.version).inc()
