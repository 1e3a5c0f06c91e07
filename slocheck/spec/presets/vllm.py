"""vLLM's OpenAI-compatible server (``vllm serve``): engine metrics under ``vllm:`` plus the HTTP
metrics of prometheus-fastapi-instrumentator, both on the same ``/metrics``.

Why ``http_requests_total`` for availability and not ``vllm:request_success_total``: the latter
counts every request the *engine* finished, by ``finished_reason`` (``stop``, ``length``,
``abort``, ``error``), so it is not a success counter, and requests refused before they reach the
engine (validation, template, frontend errors) are not in it at all. The instrumentator's counter
sees every HTTP request with its status grouped as ``2xx``/``4xx``/``5xx``.
"""

from slocheck.spec.presets.base import Counter, Histogram, Preset

PRESET = Preset(
    name="vllm",
    description="vLLM OpenAI-compatible server (vllm serve)",
    sources=(
        "https://github.com/vllm-project/vllm/blob/main/vllm/v1/metrics/loggers.py",
        "https://github.com/vllm-project/vllm/blob/ef0feb378eb563751e50a38ad87a60a143ecbc31/"
        "vllm/entrypoints/serve/instrumentator/metrics.py",
        "https://github.com/vllm-project/vllm/blob/0328b592a3d35f9b4dc5549d2a3fb8d1531c8e5f/"
        "docs/design/metrics.md",
        "https://github.com/trallnag/prometheus-fastapi-instrumentator/blob/"
        "c1c1fb645ce3b28d538413a9ac18cc7559c0c385/src/prometheus_fastapi_instrumentator/metrics.py",
    ),
    route_label="handler",
    requests=Counter("http_requests_total", "status", "5xx"),
    latency=Histogram("vllm:e2e_request_latency_seconds"),
    ttft=Histogram("vllm:time_to_first_token_seconds"),
    inter_token_latency=Histogram("vllm:inter_token_latency_seconds"),
    output_tokens="vllm:generation_tokens_total",
    input_tokens="vllm:prompt_tokens_total",
    queue="vllm:num_requests_waiting",
    running="vllm:num_requests_running",
    notes=(
        "Availability counts http_requests_total{handler,method,status} from "
        "prometheus-fastapi-instrumentator, which groups statuses as 2xx/4xx/5xx; "
        "vllm:request_success_total{finished_reason} counts engine-finished requests of every "
        "reason (stop, length, abort, error) and misses requests refused before the engine.",
        "vllm: series carry model_name and engine labels, not the route; the route label "
        "'handler' exists only on the http_* series.",
        "vllm:e2e_request_latency_seconds is measured inside vLLM from arrival to the last "
        "token of every engine-finished request; buckets 0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, "
        "15, 20, 30, 40, 50, 60, 120, ... s, so a 200 ms latency threshold falls below the "
        "first bucket.",
        "vllm:inter_token_latency_seconds replaced vllm:time_per_output_token_seconds "
        "(deprecated in 0.11, hidden in 0.12 unless --show-hidden-metrics-for-version=0.11); "
        "against older vLLM set the inter_token_latency metric to the old name.",
    ),
)
