"""A service instrumented with OpenTelemetry's stable HTTP semantic conventions and exported
through an OpenTelemetry Prometheus exporter: ``http.server.request.duration`` (unit ``s``)
becomes ``http_server_request_duration_seconds``, attribute dots become underscores.

Why the request counter is the histogram's ``_count``: the conventions define no request counter;
every request is one observation of ``http.server.request.duration``, with its
``http.response.status_code``.
"""

from slocheck.slofile.presets.base import Counter, Histogram, Preset

PRESET = Preset(
    name="otel-http",
    description="OpenTelemetry HTTP server semantic conventions via a Prometheus exporter",
    sources=(
        "https://github.com/open-telemetry/semantic-conventions/blob/"
        "384d66161cb18704c729645fa8136a148df9571c/docs/http/http-metrics.md",
        "https://github.com/open-telemetry/semantic-conventions/blob/"
        "384d66161cb18704c729645fa8136a148df9571c/docs/non-normative/http-migration.md",
        "https://opentelemetry.io/docs/specs/otel/compatibility/prometheus_and_openmetrics/",
        "opentelemetry-exporter-prometheus 0.66b2 (PyPI), output checked locally",
    ),
    route_label="http_route",
    requests=Counter(
        "http_server_request_duration_seconds_count", "http_response_status_code", "5.."
    ),
    latency=Histogram("http_server_request_duration_seconds"),
    running="http_server_active_requests",
    notes=(
        "Requests are the observations of http_server_request_duration_seconds (its _count); "
        "errors are http_response_status_code=~'5..'.",
        "A request that fails before a status is sent has no http_response_status_code but "
        "has error_type; it is counted as a request, not as an error.",
        "http_route is set only where the framework knows the route template.",
        "Default buckets (advisory): 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, "
        "2.5, 5, 7.5, 10 s.",
        "OpenTelemetry Python emits these only with OTEL_SEMCONV_STABILITY_OPT_IN=http (or "
        "http/dup); by default it exports the pre-stable http.server.duration in ms "
        "(http_server_duration_milliseconds, http_status_code, http_target): use preset "
        "otel-http-legacy.",
        "http.server.active_requests (the running gauge) is still of Development stability "
        "and not every instrumentation emits it.",
        "The Prometheus exporter adds otel_scope_name/otel_scope_version labels and a "
        "target_info series; no TTFT, inter-token or token series exist.",
    ),
)
