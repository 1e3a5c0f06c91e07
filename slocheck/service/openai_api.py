"""The OpenAI-compatible API of the reference service, served by its generator model.

``POST /v1/chat/completions`` and ``POST /v1/completions`` (streamed as server-sent events or
whole) and ``GET /v1/models``, in the wire format of OpenAI's API (``chat.completion.chunk``
with ``choices[0].delta.content``, a last chunk with ``finish_reason``, a ``usage`` chunk when
``stream_options.include_usage`` is set, then ``data: [DONE]``), so that the ``openai`` load
user is always tested end to end. They go through the same admission, batching, faults and
metrics as ``/v1/generate``; a token is a word, and every answer has ``max_tokens`` tokens.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from slocheck.service.handling import STREAM_ERRORS, Generation, admit, shed, svc_of
from slocheck.service.validation import (
    OpenAIRequest,
    RequestError,
    openai_error,
    validate_chat,
    validate_completion,
)

MODEL_ID = "generator"


def _refusal(e: RequestError) -> Response:
    status = 400 if e.status == 422 else e.status  # OpenAI answers a bad body 400
    return JSONResponse(openai_error(e), status_code=status)


def _sse(obj: object) -> bytes:
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


async def chat_completions(request: Request) -> Response:
    return await _serve(request, chat=True)


async def completions(request: Request) -> Response:
    return await _serve(request, chat=False)


async def _serve(request: Request, *, chat: bool) -> Response:
    started = time.perf_counter()
    validate = validate_chat if chat else validate_completion
    admitted = await admit(request, "generator", validate, refusal=_refusal)
    if isinstance(admitted, Response):
        return admitted
    req: OpenAIRequest = admitted
    gen = await Generation.start(request, req.prompt, req.max_tokens, started)
    if isinstance(gen, Response):
        return gen
    head = {
        "id": ("chatcmpl-" if chat else "cmpl-") + uuid.uuid4().hex,
        "created": int(time.time()),
        "model": req.model or MODEL_ID,
    }
    usage = {**gen.usage, "total_tokens": gen.prompt_tokens + gen.max_tokens}
    if not req.stream:
        try:
            text = " ".join([w async for _, w in gen.words()])
        except Exception as e:
            return shed(gen.svc, "generator", e)
        choice: dict[str, Any] = {"index": 0, "finish_reason": "length"}
        if chat:
            choice["message"] = {"role": "assistant", "content": text}
        else:
            choice.update(text=text, logprobs=None)
        kind = "chat.completion" if chat else "text_completion"
        return JSONResponse({**head, "object": kind, "choices": [choice], "usage": usage})

    kind = "chat.completion.chunk" if chat else "text_completion"
    extra = {"usage": None} if req.include_usage else {}

    def chunk(text: str | None, finish: str | None, first: bool = False) -> bytes:
        choice: dict[str, Any] = {"index": 0, "finish_reason": finish}
        if chat:
            delta: dict[str, Any] = {"role": "assistant"} if first else {}
            if text is not None:
                delta["content"] = text
            choice["delta"] = delta
        else:
            choice.update(text=text or "", logprobs=None)
        return _sse({**head, "object": kind, "choices": [choice], **extra})

    async def events() -> AsyncIterator[bytes]:
        try:
            async for index, word in gen.words():
                yield chunk(word if index == 0 else " " + word, None, first=index == 0)
        except STREAM_ERRORS as e:  # the status is sent: the stream says it failed
            gen.svc.metrics.errors.labels("generator", "inference").inc()
            yield _sse({"error": {"message": str(e), "type": "server_error", "code": None}})
            return
        yield chunk(None, "length")
        if req.include_usage:
            yield _sse({**head, "object": kind, "choices": [], "usage": usage})
        yield b"data: [DONE]\n\n"

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def models(request: Request) -> Response:
    svc = svc_of(request)
    created = int(svc.started_at)
    return JSONResponse(
        {
            "object": "list",
            "data": [
                {"id": MODEL_ID, "object": "model", "created": created, "owned_by": "slocheck"}
            ],
        }
    )
