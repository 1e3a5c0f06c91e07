"""Hugging Face text-generation-inference (TGI) router: ``tgi_*`` metrics written by the Rust
``metrics-exporter-prometheus`` crate, which adds no ``_total`` suffix to counters.

Why the request counter is the pair success + failure and not ``tgi_request_count``: the router
increments ``tgi_request_count`` once in the OpenAI handlers (``/v1/chat/completions``,
``/v1/completions``) and again in the ``generate``/``generate_stream`` internals they call, so it
counts an OpenAI request twice; ``tgi_request_success`` and ``tgi_request_failure{err}`` are
counted once per generation, on the way out.
"""

from slocheck.spec.presets.base import Counter, Histogram, Preset

PRESET = Preset(
    name="tgi",
    description="Hugging Face text-generation-inference (TGI) router",
    sources=(
        "https://github.com/huggingface/text-generation-inference/blob/"
        "db931fcf42da018a3657580c64bf2720f167f9ab/router/src/server.rs",
        "https://github.com/huggingface/text-generation-inference/blob/"
        "db931fcf42da018a3657580c64bf2720f167f9ab/router/src/infer/mod.rs",
        "https://github.com/huggingface/text-generation-inference/blob/"
        "db931fcf42da018a3657580c64bf2720f167f9ab/backends/v3/src/backend.rs",
        "https://github.com/huggingface/text-generation-inference/blob/"
        "db931fcf42da018a3657580c64bf2720f167f9ab/docs/source/reference/metrics.md",
        "https://github.com/metrics-rs/metrics/blob/metrics-exporter-prometheus-v0.15.3/"
        "metrics-exporter-prometheus/src/recorder.rs",
    ),
    route_label=None,
    requests=Counter(
        '{__name__=~"tgi_request_success|tgi_request_failure"}', "err", "generation|incomplete"
    ),
    latency=Histogram("tgi_request_duration"),
    inter_token_latency=Histogram("tgi_request_mean_time_per_token_duration"),
    output_tokens="tgi_request_generated_tokens_sum",
    input_tokens="tgi_request_input_length_sum",
    queue="tgi_queue_size",
    running="tgi_batch_current_size",
    notes=(
        "Requests are tgi_request_success + tgi_request_failure{err}; errors are "
        "err=~'generation|incomplete' (answered 424 and 500). err='validation'/'template' (422), "
        "'overloaded' (429) and 'dropped' (the client went away) count as requests, not as "
        "server errors; override error_values to count them.",
        "tgi_request_count is not used: an OpenAI-API request increments it twice.",
        "tgi_request_failure{err} series appear only at the first failure (no zero "
        "initialisation), and tgi_request_duration records successful requests only.",
        "No TTFT histogram: TTFT is judged from the client.",
        "inter_token_latency reads tgi_request_mean_time_per_token_duration, one observation "
        "per request of inference time / generated tokens (prefill included): a per-request "
        "mean, not the per-token gap, so its tail is lighter than the client's inter-token "
        "latency.",
        "No route label: TGI's metrics do not name the endpoint.",
        "Token counters are the _sum of the per-request histograms tgi_request_generated_tokens "
        "(successful requests) and tgi_request_input_length (validated requests).",
        "Duration buckets are 0.0001 * 1.5^k s, k = 1..35 (0.00015 s to 145.6 s).",
    ),
)
