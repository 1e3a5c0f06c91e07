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


class _Exchange:
    """One request's passage through the middleware: what the client sent and heard, and the
    one place its status, its metrics and its access-log line are recorded."""

    def __init__(self, owner: Instrumentation, scope: Scope, receive: Receive, send: Send) -> None:
        self.owner = owner
        path: str = scope["path"]
        self.method = scope["method"] if scope["method"] in _METHODS else "OTHER"
        self.endpoint = path if path in owner.known_routes else UNMATCHED_ENDPOINT
        self.counted = path in INSTRUMENTED_ROUTES or self.endpoint == UNMATCHED_ENDPOINT
        self.request_id = request_id_from(scope["headers"])
        self.state = scope.setdefault("state", {})
        self.state["request_id"] = self.request_id
        self.started = time.perf_counter()
        self._receive, self._send = receive, send
        self.status = 500
        self.response_started = False
        self.completed = False  # the last byte of the answer is being sent
        self.disconnected = False  # the client went away before that
        self.failed = False  # an exception escaped the route
        self.recorded = False
        self.watcher: asyncio.Task[None] | None = None
        self.heard = asyncio.Event()
        self.last: Message = {"type": "http.disconnect"}

    def record(self) -> None:
        """Count the request once (the first call wins) and write its access-log line."""
        if self.recorded:
            return
        self.recorded = True
        if self.disconnected:
            self.status = CLIENT_CLOSED
        elif self.failed or not self.completed:
            self.status = 500
        elapsed = time.perf_counter() - self.started
        m = self.owner.metrics
        if self.counted:
            m.http_requests.labels(self.method, self.endpoint, str(self.status)).inc()
            m.http_duration.labels(self.method, self.endpoint).observe(elapsed)
            m.http_in_flight.dec()
        if not self.owner.access_log:
            return
        ids = self.state.get("span_ids")
        log.info(
            "request",
            extra={
                "request_id": self.request_id,
                "method": self.method,
                "endpoint": self.endpoint,
                "status": self.status,
                "latency_ms": round(elapsed * 1000, 3),
                "trace_id": getattr(ids, "trace_id", None),
                "span_id": getattr(ids, "span_id", None),
            },
        )

    def note(self, message: Message) -> None:
        if message["type"] == "http.disconnect" and not self.completed:
            self.disconnected = True

    async def watch(self) -> None:
        try:
            self.last = await self._receive()
        except Exception:  # a server that cannot tell: as if the client had left
            self.last = {"type": "http.disconnect"}
        self.note(self.last)
        self.heard.set()

    async def receive(self) -> Message:
        if self.watcher is not None:  # the body is read: what the watcher heard is all there is
            await self.heard.wait()
            return self.last
        message = await self._receive()
        self.note(message)
        if message["type"] == "http.request" and not message.get("more_body", False):
            self.watcher = asyncio.create_task(self.watch())
        return message

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.response_started = True
            self.status = int(message["status"])
            headers = [*message.get("headers", []), (b"x-request-id", self.request_id.encode())]
            message = {**message, "headers": headers}
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            self.completed = True
            self.record()
        await self._send(message)

    async def fail(self) -> None:
        """An exception escaped the route: a 500, answered when nothing was sent yet."""
        log.error("unhandled error", exc_info=True, extra={"request_id": self.request_id})
        self.failed = not self.completed
        if self.response_started or self.disconnected:
            return
        self.status = 500
        await self.send(
            {
                "type": "http.response.start",
                "status": 500,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(_ERROR_BODY)).encode()),
                ],
            }
        )
        await self.send({"type": "http.response.body", "body": _ERROR_BODY})

    async def close(self) -> None:
        self.record()  # a no-op unless the response never finished
        if self.watcher is not None and not self.watcher.done():
            self.watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.watcher


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
        x = _Exchange(self, scope, receive, send)
        if x.counted:
            self.metrics.http_in_flight.inc()
        attributes: dict[str, Any] = {"http.request.method": x.method, "http.route": x.endpoint}
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            with self.tracer.request_span(f"{x.method} {x.endpoint}", headers, attributes) as span:
                x.state["span_ids"] = self.tracer.ids(span)
                try:
                    await self.app(scope, x.receive, x.send)
                except ClientDisconnect:  # raised reading the body, or by a spec 2.4 server
                    x.disconnected = not x.completed
                except Exception:
                    await x.fail()
                if span is not None:
                    span.set_attribute(
                        "http.response.status_code", CLIENT_CLOSED if x.disconnected else x.status
                    )
        finally:
            await x.close()
