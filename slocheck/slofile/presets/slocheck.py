"""``slocheck serve``, the reference service (slocheck/service/metrics.py)."""

from slocheck.slofile.presets.base import Counter, Histogram, Preset

PRESET = Preset(
    name="slocheck",
    description="slocheck serve, the reference inference service",
    sources=("slocheck/service/metrics.py",),
    route_label="endpoint",
    requests=Counter("http_requests_total", "status", "5.."),
    latency=Histogram("http_request_duration_seconds"),
    ttft=Histogram("ml_time_to_first_token_seconds"),
    inter_token_latency=Histogram("ml_inter_token_latency_seconds"),
    output_tokens="ml_generated_tokens_total",
    queue="ml_queue_depth",
)
