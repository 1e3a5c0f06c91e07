"""Optional OpenTelemetry tracing (the ``otel`` extra), configured by the standard ``OTEL_*``
variables.

Tracing is on when the OpenTelemetry SDK is installed and ``OTEL_TRACES_EXPORTER`` (``otlp``,
``console``) or an ``OTEL_EXPORTER_OTLP[_TRACES]_ENDPOINT`` is set, unless
``OTEL_SDK_DISABLED=true``. Spans: ``HTTP <method> <route>`` per request (parented by an
incoming ``traceparent``), and below it ``queue_wait`` and ``batch_inference``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SpanIds:
    trace_id: str | None = None
    span_id: str | None = None


NO_SPAN = SpanIds()


def tracing_requested(env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    if env.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    return bool(
        exporter
        or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


class Tracer:
    """A thin wrapper: a no-op unless built with an OpenTelemetry tracer."""

    def __init__(self, otel_tracer: Any | None = None) -> None:
        self._tracer = otel_tracer
        if otel_tracer is not None:
            from opentelemetry import propagate, trace

            self._propagate = propagate
            self._trace = trace

    @property
    def enabled(self) -> bool:
        return self._tracer is not None

    @contextlib.contextmanager
    def request_span(
        self, name: str, headers: Mapping[str, str], attributes: dict[str, Any]
    ) -> Iterator[Any]:
        if self._tracer is None:
            yield None
            return
        ctx = self._propagate.extract(dict(headers))
        with self._tracer.start_as_current_span(
            name, context=ctx, kind=self._trace.SpanKind.SERVER, attributes=attributes
        ) as span:
            yield span

    def ids(self, span: Any | None) -> SpanIds:
        if span is None:
            return NO_SPAN
        sc = span.get_span_context()
        return SpanIds(f"{sc.trace_id:032x}", f"{sc.span_id:016x}")

    def record(self, name: str, start_ns: int, end_ns: int, attributes: dict[str, Any]) -> None:
        """A finished child span of the current span, with explicit (wall-clock ns) times."""
        if self._tracer is None:
            return
        span = self._tracer.start_span(name, start_time=start_ns, attributes=attributes)
        span.end(end_time=end_ns)


def build_tracer(
    service_name: str,
    version: str,
    env: Mapping[str, str] | None = None,
    exporter: Any | None = None,
) -> Tracer:
    """A tracer from the environment, or from an explicit span ``exporter`` (tests)."""
    if exporter is None and not tracing_requested(env):
        return Tracer()
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            ConsoleSpanExporter,
            SimpleSpanProcessor,
        )
    except ImportError:
        return Tracer()
    env = os.environ if env is None else env
    resource = Resource.create(
        {"service.name": env.get("OTEL_SERVICE_NAME", service_name), "service.version": version}
    )
    provider = TracerProvider(resource=resource)
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    elif env.get("OTEL_TRACES_EXPORTER", "otlp").lower() == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    else:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            return Tracer()
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return Tracer(provider.get_tracer("slocheck.service", version))
