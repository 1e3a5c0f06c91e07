"""llama.cpp's ``llama-server`` with ``--metrics``: token counters and slot gauges under
``llamacpp:``; no request counter and no latency histogram, so availability, latency, TTFT and
inter-token latency are judged from the client.
"""

from slocheck.slofile.presets.base import Preset

PRESET = Preset(
    name="llamacpp",
    description="llama.cpp llama-server (--metrics)",
    sources=(
        "https://github.com/ggml-org/llama.cpp/blob/25d5b0c53f9a146f3d7a99a18610d9d623b5041e/"
        "tools/server/README.md",
        "https://github.com/ggml-org/llama.cpp/blob/master/tools/server/server.cpp",
    ),
    route_label=None,
    requests=None,
    latency=None,
    output_tokens="llamacpp:tokens_predicted_total",
    input_tokens="llamacpp:prompt_tokens_total",
    queue="llamacpp:requests_deferred",
    running="llamacpp:requests_processing",
    notes=(
        "/metrics is served only when llama-server runs with --metrics.",
        "No request counter and no latency histogram: availability, latency, TTFT and "
        "inter-token latency come from the client's measurements.",
        "llamacpp:prompt_tokens_seconds and llamacpp:predicted_tokens_seconds are gauges of "
        "average throughput, not histograms: they are not used for latency SLIs.",
    ),
)
