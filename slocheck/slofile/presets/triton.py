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

What Triton counts, read from core 73aad7c (= branch r26.06) and server e1db8a6 (HTTP mapping
identical in v2.52.0 and v2.71.0):

* ``reason`` has exactly four values, all created at 0 when the model loads: ``REJECTED``
  (scheduler queue timeout), ``CANCELED`` (the client cancelled while queued), ``BACKEND``,
  ``OTHER`` (``src/infer_stats.h:43``, ``src/metric_model_reporter.cc:130-135, 275-282``).
  CANCELED is the client's doing: errors are the three others.
* A full queue (``max_queue_size``) is refused in ``src/scheduler_utils.cc:170-176``
  (``Status::Code::UNAVAILABLE``, "Exceeds maximum queue size"), returned through
  ``InferenceRequest::Run`` (``src/infer_request.cc:413-423``) without ``RespondIfError``, so
  neither counter moves; the HTTP frontend answers 503 (``src/http_server.cc:101-122``,
  ``HttpCodeFromError``). Only the load generator sees these refusals: ``slocheck run`` judges
  availability from both sides, and its request_counts cross-check fails on them.
* ``nv_inference_first_response_histogram_ms`` came with core c815a13 (2024-10-23, first in
  r24.11 = Triton 2.52.0) and exists only with ``--metrics-config histogram_latencies=true``
  (``src/metric_model_reporter.h:59``, ``.cc:57-58, 307-308``).
"""

from slocheck.slofile.presets.base import Counter, Histogram, Preset

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
        "https://github.com/triton-inference-server/core/blob/"
        "73aad7c3348d040c7087d57837d75822c488495e/src/infer_stats.h",
        "https://github.com/triton-inference-server/core/blob/"
        "73aad7c3348d040c7087d57837d75822c488495e/src/scheduler_utils.cc",
        "https://github.com/triton-inference-server/core/blob/"
        "73aad7c3348d040c7087d57837d75822c488495e/src/infer_request.cc",
        "https://github.com/triton-inference-server/server/blob/"
        "e1db8a603d863b1317ee859bdeea2be19959462e/src/http_server.cc",
        "https://github.com/triton-inference-server/server/blob/v2.71.0/docs/user_guide/metrics.md",
    ),
    route_label=None,
    requests=Counter(
        '{__name__=~"nv_inference_request_success|nv_inference_request_failure"}',
        "reason",
        "REJECTED|BACKEND|OTHER",
    ),
    latency=None,
    ttft=Histogram(
        "nv_inference_first_response_histogram_ms",
        unit="ms",
        requires=(
            "Triton >= 2.52.0 (core after October 2024) started with --metrics-config "
            "histogram_latencies=true; otherwise the series does not exist (use source: client)"
        ),
    ),
    queue="nv_inference_pending_request_count",
    notes=(
        "errors are nv_inference_request_failure{reason=~'REJECTED|BACKEND|OTHER'}; "
        "reason='CANCELED' is a client cancellation, counted as a request, not an error",
        "a full queue (max_queue_size) is answered 503 'Exceeds maximum queue size' and counted "
        "by neither counter: slocheck run counts those refusals from the load generator "
        "(availability judged from both sides) and fails the request_counts cross-check",
        "latency is judged from the client: Triton's request latency "
        "(nv_inference_request_duration_us) is a counter of cumulative microseconds over the "
        "successful requests, a mean and no percentile",
        "ttft reads nv_inference_first_response_histogram_ms, which exists only in Triton >= "
        "2.52.0 (core after October 2024) run with --metrics-config histogram_latencies=true "
        "(otherwise the SLI has no data: use source: client); it is observed once per request, "
        "at its first response (the "
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
