"""ASGI middleware: request ids, the ``http_*`` metrics, the access log and a tracing span.

Counters move just before the last byte of a response is sent, so a client that has read its
response and then scrapes ``/metrics`` always finds its request counted.

A request whose client went away before the last byte of its answer (mid-body, while its request
waits for the model, or mid-stream) is counted with status ``499`` (client closed request, as
nginx logs it), never as a 5xx: it is the client's doing, and an error-ratio SLI
(``status=~"5.."``) must not count it. Once a request's body is read, a watcher task listens for
the disconnect (the only message left), so one that leaves while its request is in the model is
seen; the app's own later ``receive`` calls get what the watcher got. An exception
that escapes a route is a ``500``, even when the response had started (a cut stream).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from slocheck.service.metrics import INSTRUMENTED_ROUTES, UNMATCHED_ENDPOINT, ServiceMetrics
from slocheck.service.tracing import Tracer

log = logging.getLogger("slocheck.service.access")

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"})
_ERROR_BODY = b'{"error":{"type":"internal_error","message":"internal error"}}'
#: The status recorded for a request whose client closed the connection before its answer was
#: complete (nginx's "client closed request"); no response carries it.
CLIENT_CLOSED = 499


def request_id_from(headers: list[tuple[bytes, bytes]]) -> str:
    """The caller's ``X-Request-ID`` when it is sane, else a fresh one."""
    for name, value in headers:
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _REQUEST_ID_RE.match(text):
                return text
            break
    return uuid.uuid4().hex


class Instrumentation:
    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: ServiceMetrics,
        tracer: Tracer,
        known_routes: frozenset[str],
        access_log: bool = True,
    ) -> None:
        self.app = app
        self.access_log = access_log
        self.metrics = metrics
        self.tracer = tracer
        self.known_routes = known_routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        method = scope["method"] if scope["method"] in _METHODS else "OTHER"
        endpoint = path if path in self.known_routes else UNMATCHED_ENDPOINT
        counted = path in INSTRUMENTED_ROUTES or endpoint == UNMATCHED_ENDPOINT
        request_id = request_id_from(scope["headers"])
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        response_started = False
        completed = False  # the last byte of the answer is being sent
        disconnected = False  # the client went away before that
        failed = False  # an exception escaped the route
        recorded = False
        m = self.metrics

        def record() -> None:
            nonlocal recorded, status
            if recorded:
                return
            recorded = True
            if disconnected:
                status = CLIENT_CLOSED
            elif failed or not completed:
                status = 500
            elapsed = time.perf_counter() - started
            if counted:
                m.http_requests.labels(method, endpoint, str(status)).inc()
                m.http_duration.labels(method, endpoint).observe(elapsed)
                m.http_in_flight.dec()
            if not self.access_log:
                return
            ids = state.get("span_ids")
            log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": method,
                    "endpoint": endpoint,
                    "status": status,
                    "latency_ms": round(elapsed * 1000, 3),
                    "trace_id": getattr(ids, "trace_id", None),
                    "span_id": getattr(ids, "span_id", None),
                },
            )

        watcher: asyncio.Task[None] | None = None
        heard = asyncio.Event()
        last: Message = {"type": "http.disconnect"}

        def note(message: Message) -> None:
            nonlocal disconnected
            if message["type"] == "http.disconnect" and not completed:
                disconnected = True

        async def watch() -> None:
            nonlocal last
            try:
                last = await receive()
            except Exception:  # a server that cannot tell: as if the client had left
                last = {"type": "http.disconnect"}
            note(last)
            heard.set()

        async def receive_wrapper() -> Message:
            nonlocal watcher
            if watcher is not None:  # the body is read: what the watcher heard is all there is
                await heard.wait()
                return last
            message = await receive()
            note(message)
            if message["type"] == "http.request" and not message.get("more_body", False):
                watcher = asyncio.create_task(watch())
            return message

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started, completed
            if message["type"] == "http.response.start":
                response_started = True
                status = int(message["status"])
                headers = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                completed = True
                record()
            await send(message)

        if counted:
            m.http_in_flight.inc()
        attributes: dict[str, Any] = {"http.request.method": method, "http.route": endpoint}
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            with self.tracer.request_span(f"{method} {endpoint}", headers, attributes) as span:
                state["span_ids"] = self.tracer.ids(span)
                try:
                    await self.app(scope, receive_wrapper, send_wrapper)
                except ClientDisconnect:  # raised reading the body, or by a spec 2.4 server
                    disconnected = not completed
                except Exception:
                    log.error("unhandled error", exc_info=True, extra={"request_id": request_id})
                    failed = not completed
                    if not response_started and not disconnected:
                        status = 500
                        await send_wrapper(
                            {
                                "type": "http.response.start",
                                "status": 500,
                                "headers": [
                                    (b"content-type", b"application/json"),
                                    (b"content-length", str(len(_ERROR_BODY)).encode()),
                                ],
                            }
                        )
                        await send_wrapper({"type": "http.response.body", "body": _ERROR_BODY})
                if span is not None:
                    span.set_attribute(
                        "http.response.status_code", CLIENT_CLOSED if disconnected else status
                    )
        finally:
            record()  # a no-op unless the response never finished
            if watcher is not None and not watcher.done():
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
