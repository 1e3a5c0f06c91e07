"""The shape of a preset: pure data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Unit = Literal["s", "ms", "us"]


@dataclass(frozen=True)
class Counter:
    """A counter of finished requests, and how to tell the server's errors among its series.

    ``series``: a series selector, ``http_requests_total``, ``x{handler!="/metrics"}``, or
    ``{__name__=~"a_success|a_failure"}`` when successes and failures are two counters.
    ``error_label``: the label whose value tells an error (``status``, ``status_code``,
    ``http_response_status_code``, ``reason`` or ``__name__``). ``error_values``: a regular
    expression that matches those values in full (PromQL's ``=~``): ``5..``, ``5xx``,
    ``.*_failure``. ``also_errors``: a counter of more failures, of requests ``series``
    counted as answered well (vLLM: the engine's ``finished_reason="error"`` of streams whose
    200 went out first); its increase is added to the errors, not to the requests.
    """

    series: str
    error_label: str
    error_values: str
    also_errors: str | None = None


@dataclass(frozen=True)
class Histogram:
    """A latency histogram: ``metric`` without ``_bucket``; the unit of its bucket bounds."""

    metric: str
    unit: Unit = "s"
    matchers: str = ""  # extra label matchers, PromQL syntax without braces
    #: an older name of the same histogram, read where the server exports no ``metric``
    #: (vLLM before 0.10.2: ``vllm:time_per_output_token_seconds``)
    fallback: str | None = None
    #: what the server must run with for the series to exist; ``validate`` says it
    requires: str | None = None


@dataclass(frozen=True)
class Preset:
    """What one kind of server exports. ``None``: the server has no such series, and the SLI
    is judged from what the load generator measured (``source: client``)."""

    name: str
    description: str
    sources: tuple[str, ...]  # where the names come from: documentation or source URLs
    route_label: str | None  # the label that names a request's route; None: no such label
    requests: Counter | None
    latency: Histogram | None
    ttft: Histogram | None = None
    inter_token_latency: Histogram | None = None
    output_tokens: str | None = None  # counter of generated tokens
    input_tokens: str | None = None  # counter of prompt tokens
    queue: str | None = None  # gauge: requests waiting
    running: str | None = None  # gauge: requests being served
    notes: tuple[str, ...] = ()  # what a user should know (shown by validate)
