"""Seldon MLServer 1.7.x (REST on port 8080, metrics on port 8082 at ``/metrics``).

Names from MLServer's own source at tag 1.7.1: ``mlserver/rest/app.py`` adds starlette_exporter's
``PrometheusMiddleware(app_name="mlserver", prefix=settings.metrics_rest_server_prefix,
skip_paths=[metrics endpoint, /v2/health/live, /v2/health/ready])`` with the default
``metrics_rest_server_prefix`` ``rest_server`` (``mlserver/settings.py``); starlette_exporter
0.23.0 (the version MLServer's poetry.lock pins) ``starlette_exporter/middleware.py`` names
``{prefix}_requests_total`` and ``{prefix}_request_duration_seconds`` with labels ``method``,
``path``, ``status_code``, ``app_name``, and ``{prefix}_requests_in_progress`` with ``method``,
``app_name``; ``group_paths`` is on by default, so ``path`` is the route template.

Why these choices: the REST counter has the HTTP status, so 5xx answers are the errors (an
unhandled exception, e.g. an input of the wrong shape, is answered 500; MLServer's own errors
are 4xx). The REST histogram has prometheus_client's default buckets in seconds and the same
labels, so it judges latency per route.
"""

from slocheck.slofile.presets.base import Counter, Histogram, Preset

PRESET = Preset(
    name="mlserver",
    description="Seldon MLServer (KServe v2 REST), metrics from starlette_exporter",
    sources=(
        "https://github.com/SeldonIO/MLServer/blob/1.7.1/mlserver/rest/app.py",
        "https://github.com/SeldonIO/MLServer/blob/1.7.1/mlserver/settings.py",
        "https://github.com/SeldonIO/MLServer/blob/1.7.1/mlserver/handlers/dataplane.py",
        "https://github.com/SeldonIO/MLServer/blob/1.7.1/mlserver/parallel/dispatcher.py",
        "https://github.com/SeldonIO/MLServer/blob/1.7.1/mlserver/batching/adaptive.py",
        "https://github.com/SeldonIO/MLServer/blob/1.7.1/docs-gb/user-guide/metrics.md",
        "https://github.com/stephenhillier/starlette_exporter/blob/v0.23.0/"
        "starlette_exporter/middleware.py",
    ),
    route_label="path",
    requests=Counter("rest_server_requests_total", "status_code", "5.."),
    latency=Histogram("rest_server_request_duration_seconds"),
    running="rest_server_requests_in_progress",
    notes=(
        "the names assume the default metrics_rest_server_prefix (rest_server); MLServer's "
        "docs list [rest_server]_requests_duration_seconds, but the series starlette_exporter "
        "writes is rest_server_request_duration_seconds",
        "path is the route template, e.g. /v2/models/{model_name}/infer, not the URL; "
        "/metrics and /v2/health/live|ready are not counted at all",
        "status_code is the number (200, 400, 500): only 5.. counts as an error; MLServer "
        "answers its own errors (model not found 404, not ready 400, invalid input 400/422) "
        "with 4xx, which availability does not count",
        "the buckets are prometheus_client's defaults, 5 ms to 10 s (0.005, 0.01, 0.025, 0.05, "
        "0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10 s): a latency threshold between "
        "them cannot be judged exactly",
        "model-level counters model_infer_request_success_total and "
        "model_infer_request_failure_total (labels model, version) and the summary "
        "model_infer_request_duration (seconds, no buckets) count only requests that reach "
        "the model, so a body refused by validation is not among them",
        "queue: MLServer has no queue gauge; parallel_request_queue and batch_request_queue "
        "are histograms of the queue size observed at each enqueue",
        "gRPC requests are not in these series: MLServer counts them apart with "
        "py-grpc-prometheus's grpc_server_* counters",
    ),
)
