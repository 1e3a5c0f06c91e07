"""A service instrumented by OpenTelemetry Python's HTTP instrumentations on the conventions
they emit by default (no ``OTEL_SEMCONV_STABILITY_OPT_IN``): ``http.server.duration`` in
milliseconds, exported by opentelemetry-exporter-prometheus as
``http_server_duration_milliseconds``.

Read from opentelemetry-python-contrib 466ae4c (tag v0.65b0 differs in formatting only):
``opentelemetry-instrumentation/src/opentelemetry/instrumentation/_semconv.py:196-219`` (the
old metric unless the variable says ``http``; ``http/dup`` emits both),
``instrumentation/opentelemetry-instrumentation-asgi/src/opentelemetry/instrumentation/asgi/
__init__.py:622-636`` (``http.server.duration``, unit ``ms``, whole milliseconds at 797-808) and
``_semconv.py:141-150`` (its attributes: ``http.method``, ``http.status_code``, ...; the ASGI
instrumentation adds ``http.target`` = the route template where the framework has one,
781-794, 528-551); opentelemetry-python 0a5d76b (v1.44.0) ``exporter/opentelemetry-exporter-
prometheus/.../_mapping.py:8, 23-24`` (``ms`` -> ``_milliseconds`` from exporter 0.46b0; before,
``_ms``) and the SDK's default buckets (``sdk/metrics/_internal/aggregation.py:407-423``).

Why a preset of its own: the stable conventions (``preset: otel-http``) rename the metric, its
unit and its labels, so one selector cannot read both; a service that sets
``OTEL_SEMCONV_STABILITY_OPT_IN=http/dup`` exports both, and either preset works.
"""

from slocheck.slofile.presets.base import Counter, Histogram, Preset

PRESET = Preset(
    name="otel-http-legacy",
    description="OpenTelemetry Python HTTP instrumentation, default (pre-stable) conventions",
    sources=(
        "https://github.com/open-telemetry/opentelemetry-python-contrib/blob/"
        "466ae4c00de77d1f54f77a9600f1d08eba2306b5/opentelemetry-instrumentation/src/"
        "opentelemetry/instrumentation/_semconv.py",
        "https://github.com/open-telemetry/opentelemetry-python-contrib/blob/"
        "466ae4c00de77d1f54f77a9600f1d08eba2306b5/instrumentation/"
        "opentelemetry-instrumentation-asgi/src/opentelemetry/instrumentation/asgi/__init__.py",
        "https://github.com/open-telemetry/opentelemetry-python/blob/"
        "0a5d76b65094a4bad414e0c0ab68981fc266f0a9/exporter/opentelemetry-exporter-prometheus/"
        "src/opentelemetry/exporter/prometheus/_mapping.py",
        "tests/fixtures/metrics/otel-http-legacy.prom: recorded from FastAPI + "
        "opentelemetry-instrumentation-fastapi and the Prometheus exporter",
    ),
    route_label="http_target",
    requests=Counter("http_server_duration_milliseconds_count", "http_status_code", "5.."),
    latency=Histogram("http_server_duration_milliseconds", unit="ms"),
    running="http_server_active_requests",
    notes=(
        "Requests are the observations of http_server_duration_milliseconds (its _count); "
        "errors are http_status_code=~'5..'.",
        "This is what OpenTelemetry Python emits unless OTEL_SEMCONV_STABILITY_OPT_IN=http "
        "(then use preset otel-http; with http/dup both work).",
        "http_target is the route template where the framework knows it (FastAPI); plain ASGI "
        "apps and unmatched paths have none.",
        "Durations are whole milliseconds; default buckets 0, 5, 10, 25, 50, 75, 100, 250, "
        "500, 750, 1000, 2500, 5000, 7500, 10000 ms.",
        "Exporters before 0.46b0 name the metric http_server_duration_ms: set metric: to it.",
    ),
)
