"""The Prometheus metrics of the reference service: names, labels and buckets are a contract.

Every label set the service will use is created at start-up with the value 0, so that
``increase()`` over a load window sees each series start from zero (a series born during the
load is under-counted by Prometheus).
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

#: Buckets of ``http_request_duration_seconds``: fine from 5 ms to 10 s, with a bound at every
#: common SLO threshold (50, 100, 200, 250, 300, 500 ms, 1 s, 2 s ...), so that a latency SLO at
#: one of those thresholds is exact rather than interpolated.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.005,
    0.01,
    0.015,
    0.02,
    0.025,
    0.03,
    0.04,
    0.05,
    0.06,
    0.075,
    0.1,
    0.125,
    0.15,
    0.2,
    0.25,
    0.3,
    0.35,
    0.4,
    0.5,
    0.6,
    0.75,
    1.0,
    1.25,
    1.5,
    2.0,
    2.5,
    3.0,
    4.0,
    5.0,
    7.5,
    10.0,
)
#: Buckets of ``ml_inference_duration_seconds`` (one batch through the model).
INFERENCE_BUCKETS: tuple[float, ...] = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.002,
    0.005,
    0.01,
    0.02,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)
#: Buckets of ``ml_time_to_first_token_seconds``.
TTFT_BUCKETS: tuple[float, ...] = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.02,
    0.03,
    0.05,
    0.075,
    0.1,
    0.15,
    0.2,
    0.25,
    0.3,
    0.4,
    0.5,
    0.75,
    1.0,
    1.5,
    2.0,
    3.0,
    5.0,
    10.0,
)
#: Buckets of ``ml_inter_token_latency_seconds``.
ITL_BUCKETS: tuple[float, ...] = (
    0.0005,
    0.001,
    0.002,
    0.003,
    0.005,
    0.0075,
    0.01,
    0.015,
    0.02,
    0.03,
    0.05,
    0.075,
    0.1,
    0.2,
    0.5,
    1.0,
)
BATCH_SIZE_BUCKETS: tuple[float, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256)

#: Routes counted in the ``http_*`` families. Probes, scrapes and admin calls are left out so
#: that they never dilute or pollute request-based SLIs.
INSTRUMENTED_ROUTES: dict[str, tuple[str, ...]] = {
    "/v1/classify": ("POST",),
    "/v1/generate": ("POST",),
    "/v1/chat/completions": ("POST",),
    "/v1/completions": ("POST",),
}
#: The model that serves each instrumented route: its series exist only when it is loaded.
ROUTE_MODELS: dict[str, str] = {
    "/v1/classify": "classifier",
    "/v1/generate": "generator",
    "/v1/chat/completions": "generator",
    "/v1/completions": "generator",
}
UNMATCHED_ENDPOINT = "<unmatched>"
#: 400: the OpenAI routes' refusal; 499: the client closed the connection before its answer was
#: complete (see :mod:`slocheck.service.middleware`), never a 5xx.
STATUSES_AT_START = ("200", "400", "413", "422", "499", "500", "503")
ERROR_TYPES = ("invalid_input", "overloaded", "injected", "inference")


class ServiceMetrics:
    """All metric families, registered in their own registry (one per app)."""

    def __init__(
        self, registry: CollectorRegistry | None = None, *, process_metrics: bool = True
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        r = self.registry
        if process_metrics:
            ProcessCollector(registry=r)
            PlatformCollector(registry=r)
        self.http_requests = Counter(
            "http_requests_total",
            "HTTP requests served, by route template and status code.",
            ["method", "endpoint", "status"],
            registry=r,
        )
        self.http_duration = Histogram(
            "http_request_duration_seconds",
            "Time from request received to last response byte sent, by route template.",
            ["method", "endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.http_in_flight = Gauge(
            "http_requests_in_flight", "Requests being served now.", registry=r
        )
        self.inference_duration = Histogram(
            "ml_inference_duration_seconds",
            "Time one batch spends in the model.",
            ["model"],
            buckets=INFERENCE_BUCKETS,
            registry=r,
        )
        self.batch_size = Histogram(
            "ml_batch_size",
            "Requests (or decode steps) run together in one batch.",
            ["model"],
            buckets=BATCH_SIZE_BUCKETS,
            registry=r,
        )
        self.queue_depth = Gauge(
            "ml_queue_depth", "Items waiting for a batch.", ["model"], registry=r
        )
        self.predictions = Counter(
            "ml_predictions_total",
            "Predictions returned (one per request).",
            ["model", "model_version"],
            registry=r,
        )
        self.errors = Counter(
            "ml_errors_total",
            "Inference requests that failed, by cause.",
            ["model", "error_type"],
            registry=r,
        )
        self.ttft = Histogram(
            "ml_time_to_first_token_seconds",
            "Time from request received to first token.",
            buckets=TTFT_BUCKETS,
            registry=r,
        )
        self.itl = Histogram(
            "ml_inter_token_latency_seconds",
            "Time between two consecutive tokens of a stream.",
            buckets=ITL_BUCKETS,
            registry=r,
        )
        self.generated_tokens = Counter(
            "ml_generated_tokens_total", "Tokens generated.", registry=r
        )
        self.model_info = Gauge(
            "ml_model_info",
            "Loaded models (value 1).",
            ["model", "model_version", "backend", "device"],
            registry=r,
        )

    def initialise(self, models: dict[str, str]) -> None:
        """Create every label set at 0; ``models`` maps model name to version."""
        for route, methods in INSTRUMENTED_ROUTES.items():
            if ROUTE_MODELS[route] not in models:
                continue
            for method in methods:
                self.http_duration.labels(method, route)
                for status in STATUSES_AT_START:
                    self.http_requests.labels(method, route, status)
        for model, version in models.items():
            self.inference_duration.labels(model)
            self.batch_size.labels(model)
            self.queue_depth.labels(model).set(0)
            self.predictions.labels(model, version)
            for error_type in ERROR_TYPES:
                self.errors.labels(model, error_type)
