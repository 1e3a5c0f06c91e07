"""A FastAPI (or Starlette) app instrumented by prometheus-fastapi-instrumentator with its
defaults, ``Instrumentator().instrument(app).expose(app)`` (the same defaults at tags v6.0.0,
v7.0.0 and v8.0.2).

Names from the project's own source at tag v8.0.2: ``src/prometheus_fastapi_instrumentator/
metrics.py`` (``default()``: ``http_requests_total`` with ``method``, ``status``, ``handler``;
``http_request_duration_seconds`` with ``method``, ``handler`` and buckets 0.1, 0.5, 1 s;
``http_request_duration_highr_seconds`` with no labels and 21 buckets; the size summaries) and
``middleware.py`` (``should_group_status_codes=True`` writes ``2xx``/``4xx``/``5xx``; untemplated
paths are grouped into handler ``none``).

Why these choices: status is grouped (``5xx``) by default and a number (``503``) when the app
turns grouping off; the regex ``5..`` matches both, since ``.`` matches the ``x``. Latency reads
``http_request_duration_seconds``, the histogram with a ``handler`` label, the one the
library's docstring says to put in SLIs: it judges per route and lets the cross-checks match the
client's paths. Its buckets are coarse (see notes). The instrumentator's own ``/metrics``
endpoint is instrumented too; Prometheus's scrapes are left out of both SLIs.
"""

from slocheck.slofile.presets.base import Counter, Histogram, Preset

PRESET = Preset(
    name="fastapi-instrumentator",
    description="FastAPI app instrumented by prometheus-fastapi-instrumentator (defaults)",
    sources=(
        "https://github.com/trallnag/prometheus-fastapi-instrumentator/blob/v8.0.2/"
        "src/prometheus_fastapi_instrumentator/metrics.py",
        "https://github.com/trallnag/prometheus-fastapi-instrumentator/blob/v8.0.2/"
        "src/prometheus_fastapi_instrumentator/middleware.py",
        "https://github.com/trallnag/prometheus-fastapi-instrumentator/blob/v8.0.2/"
        "src/prometheus_fastapi_instrumentator/instrumentation.py",
        "https://github.com/trallnag/prometheus-fastapi-instrumentator/blob/v8.0.2/README.md",
    ),
    route_label="handler",
    requests=Counter('http_requests_total{handler!="/metrics"}', "status", "5.."),
    latency=Histogram("http_request_duration_seconds", matchers='handler!="/metrics"'),
    notes=(
        "the latency buckets are 0.1, 0.5 and 1 s by default (latency_lowr_buckets): only "
        "thresholds of 100 ms, 500 ms or 1 s can be judged; for finer percentiles over all "
        "handlers together use metric: http_request_duration_highr_seconds (no labels, buckets "
        "10 ms to 60 s, every handler, /metrics included), or source: client",
        "neither latency histogram has a status label: failed requests are in the latency too",
        "status is 2xx/4xx/5xx with the default should_group_status_codes=True, the number "
        "otherwise; only 5xx counts as an error",
        'the instrumentator\'s own /metrics endpoint is left out (handler!="/metrics"); '
        "requests to unknown paths are counted under handler none",
        "http_requests_inprogress (a gauge, no labels unless inprogress_labels=True) exists "
        "only with should_instrument_requests_inprogress=True, so it is not the running gauge",
        "with metric_namespace or metric_subsystem the names get that prefix: override metric:",
    ),
)
