"""NVIDIA Triton Inference Server (``tritonserver``, metrics on port 8002).

Names, types and labels from Triton's own source and documentation:
triton-inference-server/core ``src/metrics.cc`` (the families), ``src/metric_model_reporter.cc``
and ``.h`` (labels ``model``/``version``, ``reason`` on failures, which families
``--metrics-config`` enables, the first-response buckets), ``src/infer_response.cc`` (when the
histogram is observed); triton-inference-server/server ``docs/user_guide/metrics.md``.

Why these choices: Triton counts successes and failures as two counters, so the error series is
told by ``__name__``. Its default latency series are counters of cumulative microseconds
(``nv_inference_request_duration_us``), which give a mean, never a percentile: latency is judged
from the client. Its only histogram, the time to the first response, is off unless the server
runs with ``--metrics-config histogram_latencies=true``; it is the TTFT of a decoupled
(streaming) model. Its labels name a model, not a request path, so there is no route label.
"""

from slocheck.spec.presets.base import Counter, Histogram, Preset

PRESET = Preset(
    name="triton",
    description="NVIDIA Triton Inference Server (KServe v2 / Open Inference Protocol)",
    sources=(
        "https://github.com/triton-inference-server/core/blob/"
        "73aad7c3348d040c7087d57837d75822c488495e/src/metrics.cc",
        "https://github.com/triton-inference-server/core/blob/"
        "73aad7c3348d040c7087d57837d75822c488495e/src/metric_model_reporter.cc",
        "https://github.com/triton-inference-server/core/blob/"
        "73aad7c3348d040c7087d57837d75822c488495e/src/metric_model_reporter.h",
        "https://github.com/triton-inference-server/core/blob/"
        "73aad7c3348d040c7087d57837d75822c488495e/src/infer_response.cc",
        "https://github.com/triton-inference-server/server/blob/v2.71.0/docs/user_guide/metrics.md",
    ),
    route_label=None,
    requests=Counter(
        '{__name__=~"nv_inference_request_success|nv_inference_request_failure"}',
        "__name__",
        "nv_inference_request_failure",
    ),
    latency=None,
    ttft=Histogram("nv_inference_first_response_histogram_ms", unit="ms"),
    queue="nv_inference_pending_request_count",
    notes=(
        "latency is judged from the client: Triton's request latency "
        "(nv_inference_request_duration_us) is a counter of cumulative microseconds over the "
        "successful requests, a mean and no percentile",
        "ttft reads nv_inference_first_response_histogram_ms, which exists only when tritonserver "
        "runs with --metrics-config histogram_latencies=true (otherwise the SLI has no data: "
        "use source: client); it is observed once per request, at its first response (the "
        "whole response for a non-decoupled model), in whole milliseconds truncated",
        "the first-response buckets are 100, 500, 2000, 5000 ms by default: a threshold between "
        "them cannot be judged; set other bounds per model with model_metrics { metric_control "
        '{ metric_identifier { family: "nv_inference_first_response_histogram_ms" } '
        "histogram_options { buckets: [...] } } } in config.pbtxt",
        "failures carry a reason label (REJECTED, CANCELED, BACKEND, OTHER); every reason's "
        "series starts at 0 when the model loads, so increase() sees the first failure",
        "the labels are model and version (plus namespace with model namespacing and gpu_uuid "
        "on GPU instances): there is no route label, so the request_counts cross-check "
        "compares all requests; select one model with the spec's selector, e.g. "
        'model="resnet50", so that other models\' traffic is not counted',
        "an ensemble counts a failed request in its own series and in its composing model's",
    ),
)
