"""The SLI kinds: one frozen record per kind (``sli:`` in an SLO file), the one place that says
what each kind is. Every per-kind table of the package (threshold units, default metrics,
required and allowed fields, what a preset and the load generator give for it, the compact
form's names) is a lookup on these records. Pure data.

``family`` picks the kind's judge and ``series`` its planner (the tables
:data:`slocheck.evaluate.judge.JUDGES` and :data:`slocheck.evaluate.plan.PLANNERS`): a new SLI
kind is one record here (:func:`register`) plus one judge, where it reads its series the way a
built-in kind does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

ThresholdUnit = Literal["duration", "ratio", "number"]

#: Families (the judge of a kind): counted requests (availability, error ratio, throughput, and
#: uptime from ``up``), a histogram's quantile, the share of a histogram under a bound, a rate of
#: a counter, the user's ratio of two counters, the user's PromQL, and the share of requests
#: that met every latency constraint at once (judged from the client's per-request records).
REQUESTS, QUANTILE, LATENCY_RATIO, COUNTER_RATE, RATIO, PROMQL, GOODPUT = (
    "requests",
    "quantile",
    "latency_ratio",
    "counter_rate",
    "ratio",
    "promql",
    "goodput",
)
#: Fields every SLO may have, whatever its kind.
COMMON_FIELDS = frozenset(
    {
        "name",
        "sli",
        "severity",
        "on_no_data",
        "on_inconclusive",
        "description",
        "alerts",
        "slice",
        "slices_objective",
    }
)
_METRIC = frozenset({"metric", "min_samples"})
#: stop the load once the SLO can no longer pass: the kinds whose failures the client counts
_ABORT = frozenset({"abort_on_fail", "abort_delay"})


@dataclass(frozen=True)
class SliKind:
    """One kind of SLI (``sli: latency``)."""

    name: str
    #: its judge (``evaluate.judge.JUDGES``)
    family: str
    #: the shape of the series it reads, its planner (``evaluate.plan.PLANNERS``): ``requests``
    #: (a request counter), ``histogram``, ``counter``, ``ratio`` (the user's two counters),
    #: ``query`` (the user's PromQL), ``client`` (none: the load generator's records)
    series: str
    #: fields an SLO of this kind must give
    required: tuple[str, ...]
    #: fields it may give besides (and besides :data:`COMMON_FIELDS`; ``source`` comes with
    #: ``client_measure``)
    optional: frozenset[str] = _METRIC
    #: how ``threshold`` is read; None: the kind has no threshold (an objective only)
    threshold_unit: ThresholdUnit | None = "number"
    #: the metric of ``slocheck serve`` it reads when the spec names none
    default_metric: str | None = None
    #: the :class:`~slocheck.slofile.presets.Preset` attribute that gives its series, and that
    #: series in words (for messages); None: the SLO names its own series
    preset_field: str | None = None
    preset_words: str = ""
    #: what the load generator measures for it, in words (shown where a query would be); None:
    #: only the server measures it
    client_measure: str | None = None
    #: the load generator's table of it (``Snapshot.metrics``); None: the requests' own
    client_table: str | None = None
    #: the quantity, in words (``slocheck validate``'s read-back)
    words: str = ""
    #: the compact form's ``measurement`` names that mean this kind
    aliases: tuple[str, ...] = ()
    #: a minimum rate: what it counts (``requests``, ``output tokens``); gate-only in production
    rate_of: str | None = None
    #: it counts failed requests: judged from both sides where slocheck sent the load
    counts_failures: bool = False
    #: only the load generator can measure it (per request: no server counts it): always
    #: ``source: client``, and only where slocheck sent the load
    client_only: bool = False

    @property
    def allowed(self) -> frozenset[str]:
        """The fields that mean something for it (besides :data:`COMMON_FIELDS`)."""
        source = {"source"} if self.client_measure is not None else set()
        return frozenset(self.required) | self.optional | source

    @property
    def compact_target(self) -> str:
        """What the compact form's ``target`` means for it."""
        return "objective" if self.threshold_unit is None else "threshold"

    @property
    def rate_unit(self) -> str | None:
        """``requests/s``, ``tokens/s``: the unit of a minimum rate."""
        return None if self.rate_of is None else f"{self.rate_of.rsplit(maxsplit=1)[-1]}/s"

    @property
    def times_requests(self) -> bool:
        """It reads the requests' latency (``latency``, ``latency_ratio``): in an open loop the
        client's includes the queue the server never sees."""
        return self.preset_field == "latency"

    @property
    def own_series(self) -> bool:
        """The SLO names its series itself (``ratio``, ``promql``): no default, no preset."""
        return self.default_metric is None


_REQUESTS = "http_requests_total"
_LATENCY = "http_request_duration_seconds"
_HISTOGRAM = _METRIC | {"interpolate", "unit"}

#: Every kind, by name, in the order the docs and the error messages list them.
KINDS: dict[str, SliKind] = {
    k.name: k
    for k in (
        SliKind(
            "availability",
            REQUESTS,
            "requests",
            ("objective",),
            _METRIC | {"measurement"} | _ABORT,
            threshold_unit=None,
            default_metric=_REQUESTS,
            preset_field="requests",
            preset_words="request counter",
            client_measure="requests answered without a server error / requests sent",
            words="availability",
            aliases=("uptime", "requests", "availability"),
            counts_failures=True,
        ),
        SliKind(
            "latency",
            QUANTILE,
            "histogram",
            ("threshold", "percentile"),
            _HISTOGRAM,
            threshold_unit="duration",
            default_metric=_LATENCY,
            preset_field="latency",
            preset_words="latency histogram",
            client_measure="exact HDR histogram of end-to-end request latency",
            words="latency",
            aliases=("response_time", "latency"),
        ),
        SliKind(
            "latency_ratio",
            LATENCY_RATIO,
            "histogram",
            ("threshold", "objective"),
            _METRIC | {"unit"},
            threshold_unit="duration",
            default_metric=_LATENCY,
            preset_field="latency",
            preset_words="latency histogram",
            client_measure="exact HDR histogram of end-to-end request latency",
            words="requests answered within a bound",
            counts_failures=True,
        ),
        SliKind(
            "error_ratio",
            REQUESTS,
            "requests",
            ("threshold",),
            _METRIC | _ABORT,
            threshold_unit="ratio",
            default_metric=_REQUESTS,
            preset_field="requests",
            preset_words="request counter",
            client_measure="server errors, broken streams and unanswered requests / sent",
            words="error ratio",
            aliases=("error_ratio", "error_rate"),
            counts_failures=True,
        ),
        SliKind(
            "throughput",
            REQUESTS,
            "requests",
            ("threshold",),
            default_metric=_REQUESTS,
            preset_field="requests",
            preset_words="request counter",
            client_measure="requests sent / window seconds",
            words="throughput",
            aliases=("throughput",),
            rate_of="requests",
        ),
        SliKind(
            "ttft",
            QUANTILE,
            "histogram",
            ("threshold", "percentile"),
            _HISTOGRAM,
            threshold_unit="duration",
            default_metric="ml_time_to_first_token_seconds",
            preset_field="ttft",
            preset_words="time-to-first-token histogram",
            client_measure="exact HDR histogram of time to first token (streams)",
            client_table="ttft",
            words="time to first token",
            aliases=("ttft", "time_to_first_token"),
        ),
        SliKind(
            "inter_token_latency",
            QUANTILE,
            "histogram",
            ("threshold", "percentile"),
            _HISTOGRAM,
            threshold_unit="duration",
            default_metric="ml_inter_token_latency_seconds",
            preset_field="inter_token_latency",
            preset_words="inter-token latency histogram",
            client_measure="exact HDR histogram of the gaps between tokens (streams)",
            client_table="itl",
            words="inter-token latency",
            aliases=("inter_token_latency",),
        ),
        SliKind(
            "token_throughput",
            COUNTER_RATE,
            "counter",
            ("threshold",),
            default_metric="ml_generated_tokens_total",
            preset_field="output_tokens",
            preset_words="counter of generated tokens",
            client_measure="output tokens received / window seconds",
            words="generated tokens",
            rate_of="output tokens",
        ),
        SliKind(
            "goodput",
            GOODPUT,
            "client",
            ("objective", "constraints"),
            frozenset({"min_samples"}),
            threshold_unit=None,
            client_measure="requests that met every constraint / requests that ended (records)",
            words="requests that met every latency constraint",
            aliases=("goodput",),
            client_only=True,
        ),
        SliKind(
            "ratio",
            RATIO,
            "ratio",
            ("objective", "total"),
            frozenset({"good", "bad", "min_samples"}),
            threshold_unit=None,
            words="ratio",
        ),
        SliKind(
            "promql",
            PROMQL,
            "query",
            ("query", "op", "threshold"),
            frozenset({"min_samples"}),
            words="the query's value",
        ),
    )
}


def kind(name: str) -> SliKind:
    """The record of a kind that exists (a spec's ``sli`` has been checked against
    :data:`KINDS`)."""
    return KINDS[name]


def find(name: str | None) -> SliKind | None:
    """The record of ``name``, or None (a name read from elsewhere: a report, a results file)."""
    return KINDS.get(name or "")


def family_of(name: str | None) -> str | None:
    found = find(name)
    return None if found is None else found.family


def kinds_of(family: str) -> tuple[str, ...]:
    """The names of the kinds of ``family``, in :data:`KINDS`' order."""
    return tuple(k.name for k in KINDS.values() if k.family == family)


def counts_failed_requests(name: str) -> bool:
    """Availability by requests and the error ratio: a share of failed requests counted."""
    k = find(name)
    return k is not None and k.family == REQUESTS and k.counts_failures


def compact_names() -> dict[str, SliKind]:
    """The compact form's ``measurement`` names, each with its kind."""
    return {alias: k for k in KINDS.values() for alias in k.aliases}


def expected_names() -> str:
    """The kinds as the error of an unknown ``sli`` lists them: ``'a', 'b' or 'c'``."""
    quoted = [repr(name) for name in KINDS]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


@contextmanager
def register(new: SliKind) -> Iterator[SliKind]:
    """``new`` is a kind while the block runs (a plug-in kind, a test's toy kind); its judge is
    registered beside it in :data:`slocheck.evaluate.judge.JUDGES`."""
    if new.name in KINDS:
        raise ValueError(f"sli {new.name} is already a kind")
    KINDS[new.name] = new
    try:
        yield new
    finally:
        del KINDS[new.name]
