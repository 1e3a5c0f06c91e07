"""vLLM's OpenAI-compatible server (``vllm serve``): engine metrics under ``vllm:`` plus the HTTP
metrics of prometheus-fastapi-instrumentator, both on the same ``/metrics``.

What vLLM counts, read from its source (PyPI sdists; commit ids from ``vllm/_version.py``) and
prometheus-fastapi-instrumentator v8.0.2 (c1c1fb6):

* ``http_requests_total{handler,method,status}`` is the instrumentator's default counter
  (``vllm/entrypoints/serve/instrumentator/metrics.py:64-74`` in 0.33.0; ``api_server.py`` from
  0.8.5 on), statuses grouped ``2xx/4xx/5xx`` (instrumentator ``middleware.py:202-203``). The
  status is taken from ``http.response.start`` (``middleware.py:165-171``): a stream that fails
  after its 200 is counted ``2xx``.
* A streamed chat completion that fails is caught in the stream generator and sent as
  ``data: {"error": {...}}`` then ``data: [DONE]`` (``serving_chat.py:601-607`` in 0.6.3, every
  exception from 0.7.0; ``chat_completion/serving.py:496-507, 947-953`` in 0.33.0).
* The engine counts such a request in ``vllm:request_success_total{finished_reason="error"}``
  (``FinishReason.ERROR``, ``v1/engine/__init__.py:22,42`` from 0.13.0; every reason's series is
  created at 0, ``v1/metrics/loggers.py:807-819`` in 0.33.0). So errors are the HTTP 5xx plus
  that counter. A non-streamed request whose engine failed is answered 500 *and* counted there
  (``_raise_if_error``, 0.13.0 ``serving_chat.py:1345``): counted twice. Errors of the frontend
  after the 200 (parsers, detokenizer, a dead engine) are counted by neither
  (``v1/engine/async_llm.py:807-851``): only the load generator sees them, which is why
  ``slocheck run`` judges availability from both sides.
* ``vllm:inter_token_latency_seconds`` exists from 0.10.2; before it (and on the v0 engine) the
  same gaps are ``vllm:time_per_output_token_seconds`` (deprecated 0.10.2-0.11.2, hidden
  0.12-0.14 unless ``--show-hidden-metrics-for-version=0.11``, removed in 0.15.0): read when the
  new name has no series.
"""

from slocheck.slofile.presets.base import Counter, Histogram, Preset

PRESET = Preset(
    name="vllm",
    description="vLLM OpenAI-compatible server (vllm serve)",
    sources=(
        "vllm 0.33.0 (4ba787ec9) vllm/entrypoints/serve/instrumentator/metrics.py:64-74",
        "vllm 0.33.0 vllm/entrypoints/openai/chat_completion/serving.py:496-507, 947-953",
        "vllm 0.13.0 (72506c983) vllm/v1/engine/__init__.py:22,42; serving_chat.py:1345",
        "vllm 0.33.0 vllm/v1/metrics/loggers.py:807-819; v1/engine/async_llm.py:807-851",
        "vllm 0.10.2 (26b999c71) vllm/v1/metrics/loggers.py:380-404 (inter-token latency)",
        "vllm 0.6.3.post1 vllm/engine/metrics.py:100-122 (v0 buckets)",
        "https://github.com/trallnag/prometheus-fastapi-instrumentator/blob/"
        "c1c1fb645ce3b28d538413a9ac18cc7559c0c385/src/prometheus_fastapi_instrumentator/"
        "middleware.py (lines 144, 165-171, 202-203)",
    ),
    route_label="handler",
    requests=Counter(
        "http_requests_total",
        "status",
        "5xx",
        also_errors='vllm:request_success_total{finished_reason="error"}',
    ),
    latency=Histogram("vllm:e2e_request_latency_seconds"),
    ttft=Histogram("vllm:time_to_first_token_seconds"),
    inter_token_latency=Histogram(
        "vllm:inter_token_latency_seconds", fallback="vllm:time_per_output_token_seconds"
    ),
    output_tokens="vllm:generation_tokens_total",
    input_tokens="vllm:prompt_tokens_total",
    queue="vllm:num_requests_waiting",
    running="vllm:num_requests_running",
    notes=(
        "Errors are http_requests_total{status='5xx'} plus "
        "vllm:request_success_total{finished_reason='error'} (vLLM >= 0.13): a stream that "
        "fails after its 200 is counted 2xx by the HTTP counter and 'error' by the engine; a "
        "non-streamed engine failure is counted by both (answered 500), so twice.",
        "Failures of vLLM's frontend after the 200 (output parsers, detokenizer, a dead engine) "
        "are in no counter: slocheck run judges availability from the load generator too "
        "(source: both) and its request_counts/error_counts cross-checks name them.",
        "vllm: series carry model_name and engine labels, not the route; the route label "
        "'handler' exists only on the http_* series.",
        "vllm:e2e_request_latency_seconds is measured inside vLLM from arrival to the last "
        "token of every engine-finished request; buckets 0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, "
        "... s (v0 engine before 0.6.6: 1, 2.5, 5, ... 60 s), so a 200 ms latency threshold "
        "falls below the first bucket.",
        "inter_token_latency reads vllm:inter_token_latency_seconds (vLLM >= 0.10.2) and, when "
        "it has no series, vllm:time_per_output_token_seconds (older vLLM and the v0 engine; "
        "hidden in 0.12-0.14 unless --show-hidden-metrics-for-version=0.11, gone in 0.15).",
    ),
)
