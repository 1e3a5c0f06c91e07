"""Hugging Face text-generation-inference (TGI) router: ``tgi_*`` metrics written by the Rust
``metrics-exporter-prometheus`` crate, which adds no ``_total`` suffix to counters.

Why the request counter is the pair success + failure and not ``tgi_request_count``: the router
increments ``tgi_request_count`` once in the OpenAI handlers (``/v1/chat/completions``,
``/v1/completions``) and again in the ``generate``/``generate_stream`` internals they call, so it
counts an OpenAI request twice; ``tgi_request_success`` and ``tgi_request_failure{err}`` are
counted once per generation, on the way out.

What TGI counts, read from router/ at db931fc (identical to v3.3.7): ``tgi_request_failure{err}``
is ``overloaded`` (``infer/mod.rs:117``, answered 429), ``validation`` and ``template`` (422),
``incomplete`` (500, ``infer/mod.rs:313``), ``generation`` (424) and ``dropped``
(``backends/v3``); the status map is ``server.rs:2404-2416``. A 429 is the server refusing the
load it was asked to serve, and a 424 its generation failing: both are the server's failures,
here and in the load generator. ``tgi_request_mean_time_per_token_duration`` is
``inference_time / generated_tokens`` per request (``server.rs:366-367, 608-609``), with
``inference_time`` from the batch start, prefill included: a per-request mean, not the gap between
tokens, so inter-token latency is judged from the load generator. A streamed error is
``data: {"error": ..., "error_type": ...}`` (``/generate_stream``, ``server.rs:2428-2436``) or
``data: {"error": {"message": ..., "http_status_code": 422}}`` then ``data: [DONE]``
(``/v1/chat/completions``, ``infer/mod.rs:445-453``), after a 200.
"""

from slocheck.slofile.presets.base import Counter, Histogram, Preset

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
        '{__name__=~"tgi_request_success|tgi_request_failure"}',
        "err",
        "generation|incomplete|overloaded",
    ),
    latency=Histogram("tgi_request_duration"),
    inter_token_latency=None,  # tgi_request_mean_time_per_token_duration is a per-request mean
    output_tokens="tgi_request_generated_tokens_sum",
    input_tokens="tgi_request_input_length_sum",
    queue="tgi_queue_size",
    running="tgi_batch_current_size",
    notes=(
        "Requests are tgi_request_success + tgi_request_failure{err}; errors are "
        "err=~'generation|incomplete|overloaded' (answered 424, 500 and 429, or an error event "
        "in a stream). err='validation'/'template' (422) and 'dropped' (the client went away) "
        "count as requests, not as server errors.",
        "tgi_request_count is not used: an OpenAI-API request increments it twice.",
        "tgi_request_failure{err} series appear only at the first failure (no zero "
        "initialisation), and tgi_request_duration records successful requests only.",
        "No TTFT histogram: TTFT is judged from the client.",
        "inter_token_latency is judged from the load generator: "
        "tgi_request_mean_time_per_token_duration is one observation per request of inference "
        "time / generated tokens (prefill included), a per-request mean, not the gap between "
        "tokens, and its tail is lighter than the real one (name it with metric: to judge it "
        "anyway).",
        "No route label: TGI's metrics do not name the endpoint.",
        "Token counters are the _sum of the per-request histograms tgi_request_generated_tokens "
        "(successful requests) and tgi_request_input_length (validated requests).",
        "Duration buckets are 0.0001 * 1.5^k s, k = 1..35 (0.00015 s to 145.6 s).",
    ),
)
