"""What the load generator measured over a run, as typed records: per request name over the
window and the whole run (:class:`LatencySummary`), the streaming figures (TTFT, inter-token
latency, tokens/s: :class:`StreamStats`), the open loop's latencies and drops
(:class:`OpenLoopStats`) and each load-generating process's share (:class:`GeneratorStats`),
all in one :class:`ClientStats`. Built from a :class:`LoadResult` by :func:`client_stats` and
read by attribute; ``to_dict()`` is the JSON boundary (``report.json``'s ``client``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from slocheck.load.runner import LoadResult
from slocheck.load.stats import LatencySummary, count_between, merged, summarise
from slocheck.request_record import RequestRecord

#: the percentiles the reports show of the streaming and open-loop latencies
SHOWN = (50, 95, 99)
#: An open-loop send more than this after its intended time is LATE (counted in the reports):
#: 10 ms, the bar a trace replay is held to (a timer's jitter is a few ms; a generator short of
#: CPU is tens).
LATE_SEND_S = 0.010


@dataclass(frozen=True)
class Tail:
    """One latency's P50, P95 and P99, in seconds."""

    p50_s: float
    p95_s: float
    p99_s: float

    @classmethod
    def of(cls, summary: LatencySummary) -> Tail | None:
        """The summary's percentiles; None when it holds no sample."""
        p50, p95, p99 = (summary.percentile(p) for p in SHOWN)
        if p50 is None or p95 is None or p99 is None:
            return None
        return cls(p50, p95, p99)

    @classmethod
    def exact(cls, values: Sequence[float]) -> Tail | None:
        """The nearest-rank percentiles of ``values`` (each one a value that occurred); None
        when there is none."""
        if not values:
            return None
        ordered = sorted(values)
        n = len(ordered)
        p50, p95, p99 = (ordered[max(0, math.ceil(p / 100 * n) - 1)] for p in SHOWN)
        return cls(p50, p95, p99)

    def shown(self) -> tuple[tuple[str, float], ...]:
        """``(("50", p50), ("95", p95), ("99", p99))``."""
        return (("50", self.p50_s), ("95", self.p95_s), ("99", self.p99_s))

    def to_dict(self, key: str) -> dict[str, float]:
        """``{key}_p50_s``, ``{key}_p95_s``, ``{key}_p99_s``."""
        return {f"{key}_p{p}_s": value for p, value in self.shown()}


@dataclass(frozen=True)
class StreamStats:
    """Streaming APIs, over the window: TTFT, inter-token latency, per-request tokens/s (1 /
    the median time per output token) and the output tokens in all; None: not measured."""

    ttft: Tail | None = None
    itl: Tail | None = None
    tokens_per_s_per_request_p50: float | None = None
    output_tokens: int | None = None
    output_tokens_per_s: float | None = None

    @property
    def empty(self) -> bool:
        return self == StreamStats()

    def to_dict(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for key, tail in (("ttft", self.ttft), ("itl", self.itl)):
            if tail is not None:
                out.update(tail.to_dict(key))
        if self.tokens_per_s_per_request_p50 is not None:
            out["tokens_per_s_per_request_p50"] = self.tokens_per_s_per_request_p50
        if self.output_tokens is not None and self.output_tokens_per_s is not None:
            out["output_tokens"] = float(self.output_tokens)
            out["output_tokens_per_s"] = self.output_tokens_per_s
        return out


@dataclass(frozen=True)
class OpenLoopStats:
    """An open-loop run, over the window: the latency from each request's intended send time
    (what its user saw) and from its actual send (the service's answer time), and the sends
    dropped because every user was busy for too long."""

    distribution: str
    max_in_flight: int
    dropped: int
    sent: int
    intended_send: Tail | None = None
    actual_send: Tail | None = None
    #: from the per-request records: the sends later than ``LATE_SEND_S`` after their
    #: intended time, how late the sends were, and the latest (None: no record)
    late: int | None = None
    lateness: Tail | None = None
    lateness_max_s: float | None = None

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "distribution": self.distribution,
            "max_in_flight": self.max_in_flight,
            "dropped": self.dropped,
            "sent": self.sent,
        }
        for key, tail in (("intended_send", self.intended_send), ("actual_send", self.actual_send)):
            if tail is not None:
                out.update(tail.to_dict(key))
        if self.late is not None:
            out["late_sends"] = self.late
            out["late_send_s"] = LATE_SEND_S
        if self.lateness is not None:
            out.update(self.lateness.to_dict("send_lateness"))
            out["send_lateness_max_s"] = self.lateness_max_s
        return out


@dataclass(frozen=True)
class GeneratorStats:
    """One load-generating process (a worker, or one of ``--processes``) over the window."""

    name: str
    requests: int
    rps: float

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "requests": self.requests, "rps": self.rps}


@dataclass(frozen=True)
class ClientStats:
    """Everything the load generator measured, as the reports show it. ``window`` holds the
    request names and the other measurements (``ttft``, ``service_time``, ...) over the judged
    window, ``whole_run`` the request names over the whole run, ``status`` the answers per
    request name and status; ``generators`` is empty when one process sent the whole load."""

    window: dict[str, LatencySummary] = field(default_factory=dict)
    whole_run: dict[str, LatencySummary] = field(default_factory=dict)
    status: dict[str, dict[str, int]] = field(default_factory=dict)
    llm: StreamStats | None = None
    open_loop: OpenLoopStats | None = None
    generators: tuple[GeneratorStats, ...] = ()
    #: requests the end of the run killed in flight (Locust's stop timeout ran out): no answer,
    #: no record, left out of every SLI and counted here
    cut: int = 0

    def to_dict(self) -> dict[str, object]:
        """``report.json``'s ``client``: ``llm``, ``open_loop`` and ``generators`` only where
        measured."""
        out: dict[str, object] = {
            "window": {name: s.to_dict() for name, s in self.window.items()},
            "whole_run": {name: s.to_dict() for name, s in self.whole_run.items()},
            "status": self.status,
        }
        if self.llm is not None:
            out["llm"] = self.llm.to_dict()
        if self.open_loop is not None:
            out["open_loop"] = self.open_loop.to_dict()
        if self.generators:
            out["generators"] = [g.to_dict() for g in self.generators]
        if self.cut:
            out["cut"] = self.cut
        return out


def client_stats(load: LoadResult) -> ClientStats:
    """What ``load`` measured: over its window (from ``window_start``) and its whole run."""
    snap = load.snapshot
    lo = load.window_start
    window: dict[str, LatencySummary] = {}
    whole_run: dict[str, LatencySummary] = {}
    for name, seconds in snap.requests.items():
        window[name] = summarise(seconds, lo=lo)
        whole_run[name] = summarise(seconds)
    for name, seconds in snap.metrics.items():
        window[name] = summarise(seconds, lo=lo)
    llm = stream_stats(load)
    return ClientStats(
        window=window,
        whole_run=whole_run,
        status=snap.status,
        llm=None if llm.empty else llm,
        open_loop=open_loop_stats(load) if load.config.open_loop else None,
        generators=generator_stats(load),
        cut=sum(snap.counts.get("cut", {}).values()),
    )


def generator_stats(load: LoadResult) -> tuple[GeneratorStats, ...]:
    """Per load-generating process (each worker, or each of ``--processes``), over the window:
    its requests and requests/s. Empty when one process sent the whole load."""
    snap, lo = load.snapshot, load.window_start
    if len(snap.by_process) < 2 and not load.config.workers:
        return ()
    seconds = max(load.stopped_at - lo, 1e-9)
    out = []
    for name, per_second in sorted(snap.by_process.items()):
        n = count_between(per_second, lo)
        out.append(GeneratorStats(name, n, n / seconds))
    return tuple(out)


def open_loop_stats(load: LoadResult) -> OpenLoopStats:
    """An open-loop run's latencies from the intended and the actual send, and its drops."""
    snap, lo = load.snapshot, load.window_start
    cfg = load.config
    intended = summarise(merged(snap.requests.values()), lo=lo)
    actual = summarise(snap.metrics.get("service_time", {}), lo=lo)
    lateness = send_lateness(load.records, lo)
    return OpenLoopStats(
        distribution="trace" if cfg.trace is not None else cfg.distribution,
        max_in_flight=cfg.locust_users,
        dropped=count_between(snap.counts.get("dropped", {}), lo),
        sent=intended.count,
        intended_send=Tail.of(intended),
        actual_send=Tail.of(actual),
        late=sum(1 for x in lateness if x > LATE_SEND_S) if load.records else None,
        lateness=Tail.exact(lateness),
        lateness_max_s=max(lateness, default=None),
    )


def send_lateness(records: Sequence[RequestRecord], lo: float) -> list[float]:
    """How late each open-loop send of the window went out: its actual send less its intended
    time (never below 0: a timer firing a little early is on time)."""
    return [
        max(0.0, r.sent - r.intended)
        for r in records
        if r.intended is not None and r.intended >= lo
    ]


def stream_stats(load: LoadResult) -> StreamStats:
    """The streaming figures over the window; :attr:`StreamStats.empty` when nothing
    streamed."""
    snap, lo = load.snapshot, load.window_start
    seconds = max(load.stopped_at - lo, 1e-9)
    tpot = summarise(snap.metrics.get("tpot", {}), lo=lo).percentile(50)
    tokens = count_between(snap.counts.get("output_tokens", {}), lo)
    return StreamStats(
        ttft=Tail.of(summarise(snap.metrics.get("ttft", {}), lo=lo)),
        itl=Tail.of(summarise(snap.metrics.get("itl", {}), lo=lo)),
        tokens_per_s_per_request_p50=1.0 / tpot if tpot else None,
        output_tokens=tokens or None,
        output_tokens_per_s=tokens / seconds if tokens else None,
    )
