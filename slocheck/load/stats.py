"""Client-side statistics: merge the per-process, per-second HDR histograms the Locust plugin
wrote, over any window of whole seconds (pure apart from reading the files)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram

LOWEST_US, HIGHEST_US, DIGITS = 1, 3_600_000_000, 3
PERCENTILES = (50.0, 90.0, 95.0, 99.0)


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)


@dataclass
class SecondStats:
    """One second: counts, and the compressed HDR histograms of the processes that recorded
    it. They are decoded only when summarised: an open histogram takes ~185 KB, so holding
    one per second would grow with the run's length."""

    count: int = 0
    errors: int = 0
    encoded: list[str] = field(default_factory=list)
    unanswered: int = 0  # requests that got no HTTP answer (connection refused, reset...)
    rejected: int = 0  # requests answered 4xx (refused by the server, not failed by it)

    def add_to(self, into: HdrHistogram) -> None:
        for text in self.encoded:
            into.add(HdrHistogram.decode(text))

    def histogram(self) -> HdrHistogram:
        hist = new_histogram()
        self.add_to(hist)
        return hist


@dataclass
class Snapshot:
    """Everything the Locust processes wrote, merged by name and second."""

    requests: dict[str, dict[int, SecondStats]] = field(default_factory=dict)
    metrics: dict[str, dict[int, SecondStats]] = field(default_factory=dict)
    status: dict[str, dict[str, int]] = field(default_factory=dict)
    #: per request name, per status: the requests that failed by the service's fault (5xx,
    #: 424, 429, a 200 whose stream failed, "0"/"error": no answer), whole run
    failed: dict[str, dict[str, int]] = field(default_factory=dict)
    counts: dict[str, dict[int, int]] = field(default_factory=dict)  # name -> second -> n
    marks: dict[str, float] = field(default_factory=dict)
    processes: int = 0
    done: int = 0
    #: per load-generating process (a worker's id, or ``pid N``): second -> requests
    by_process: dict[str, dict[int, int]] = field(default_factory=dict)
    workers_lost: dict[str, float] = field(default_factory=dict)  #: worker id -> when
    workers_ready: int = 0  #: the workers the master had ready at its last snapshot


def _process_label(data: dict[str, Any]) -> str:
    return str(data.get("worker") or f"pid {data.get('pid', '?')}")


def _read_workers(snap: Snapshot, data: dict[str, Any]) -> None:
    """The master's word on its workers: how many were ready, which were lost mid-test."""
    workers = data.get("workers")
    if not isinstance(workers, dict):
        return
    snap.workers_ready = max(snap.workers_ready, int(workers.get("ready") or 0))
    lost = workers.get("lost")
    if isinstance(lost, dict):
        for node, t in lost.items():
            snap.workers_lost[str(node)] = float(t)


def _merge_table(into: dict[str, dict[int, SecondStats]], table: Any) -> None:
    if not isinstance(table, dict):
        return
    for name, seconds in table.items():
        slots = into.setdefault(str(name), {})
        for sec, (count, errors, encoded, *rest) in seconds.items():
            slot = slots.setdefault(int(sec), SecondStats())
            slot.count += int(count)
            slot.errors += int(errors)
            slot.unanswered += int(rest[0]) if rest else 0  # older plugins: 3 or 4 fields
            slot.rejected += int(rest[1]) if len(rest) > 1 else 0
            if encoded:
                slot.encoded.append(str(encoded))


def read_snapshot(directory: Path) -> Snapshot:
    """Merge every ``client-*.json``; unreadable (half-written) files are skipped."""
    snap = Snapshot()
    for path in sorted(directory.glob("client-*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict):
            continue
        snap.processes += 1
        snap.done += int(bool(data.get("done")))
        _read_workers(snap, data)
        if data.get("role") != "master":
            per_second = snap.by_process.setdefault(_process_label(data), {})
            for seconds in (data.get("requests") or {}).values():
                for sec, (count, *_rest) in seconds.items():
                    per_second[int(sec)] = per_second.get(int(sec), 0) + int(count)
        _merge_table(snap.requests, data.get("requests"))
        _merge_table(snap.metrics, data.get("metrics"))
        for key, into in (("status", snap.status), ("failed", snap.failed)):
            for name, counts in (data.get(key) or {}).items():
                merged = into.setdefault(name, {})
                for code, n in counts.items():
                    merged[code] = merged.get(code, 0) + int(n)
        for name, seconds in (data.get("counts") or {}).items():
            table = snap.counts.setdefault(str(name), {})
            for sec, n in seconds.items():
                table[int(sec)] = table.get(int(sec), 0) + int(n)
        for mark, t in (data.get("marks") or {}).items():
            if mark in ("peak_users", "test_stop"):  # the master already counts every worker's
                snap.marks[mark] = max(snap.marks.get(mark, 0.0), float(t))
            else:
                snap.marks[mark] = min(snap.marks.get(mark, float(t)), float(t))
    return snap


@dataclass(frozen=True)
class LatencySummary:
    count: int
    errors: int
    percentiles_s: dict[str, float]
    mean_s: float
    max_s: float

    def percentile(self, p: float) -> float | None:
        """The ``p``-th percentile (one of :data:`PERCENTILES`), seconds; None: no sample."""
        return self.percentiles_s.get(f"{p:g}")

    def to_dict(self) -> dict[str, float]:
        return {
            "count": self.count,
            "errors": self.errors,
            "mean_s": self.mean_s,
            "max_s": self.max_s,
            **{f"p{k}_s": v for k, v in self.percentiles_s.items()},
        }


def summarise(
    seconds: dict[int, SecondStats], lo: float | None = None, hi: float | None = None
) -> LatencySummary:
    """Summary over the seconds ``s`` with ``lo <= s < hi`` (whole seconds)."""
    hist = new_histogram()
    count = errors = 0
    for sec, slot in seconds.items():
        if (lo is not None and sec < lo) or (hi is not None and sec >= hi):
            continue
        count += slot.count
        errors += slot.errors
        slot.add_to(hist)
    if hist.get_total_count() == 0:
        return LatencySummary(count, errors, {}, float("nan"), float("nan"))
    pct = {f"{p:g}": hist.get_value_at_percentile(p) / 1e6 for p in PERCENTILES}
    return LatencySummary(count, errors, pct, mean_value(hist) / 1e6, hist.get_max_value() / 1e6)


def mean_value(hist: HdrHistogram) -> float:
    """``hist.get_mean_value()``, the same value, visiting only the non-zero counts: hdrh's own
    walks every sub-bucket up to the largest value in Python, ~0.1 s per summary (a run's
    end summarised a few of them, 0.3-0.4 s of its overhead)."""
    if not hist.total_count:
        return 0.0
    total = 0
    for index, n in enumerate(hist.counts[: min(hist.counts_len, hist.encoder.payload.counts_len)]):
        if n:
            value = hist.get_highest_equivalent_value(hist.get_value_from_index(index))
            total += n * hist._hdr_median_equiv_value(value)  # hdrh's own midpoint
    mean: float = float(total) / hist.total_count  # as hdrh divides
    return mean


def merged(tables: Iterable[dict[int, SecondStats]]) -> dict[int, SecondStats]:
    """Several request names' seconds as one."""
    out: dict[int, SecondStats] = {}
    for table in tables:
        for sec, slot in table.items():
            into = out.setdefault(sec, SecondStats())
            into.count += slot.count
            into.errors += slot.errors
            into.unanswered += slot.unanswered
            into.rejected += slot.rejected
            into.encoded.extend(slot.encoded)
    return out


def count_between(table: dict[int, int], lo: float | None = None, hi: float | None = None) -> int:
    """The sum of a per-second count over the seconds ``s`` with ``lo <= s < hi``."""
    return sum(
        n for sec, n in table.items() if (lo is None or sec >= lo) and (hi is None or sec < hi)
    )


def timeline(seconds: dict[int, SecondStats]) -> list[dict[str, float]]:
    """Per second: requests, errors, p50 and p95 (seconds), for plots."""
    out = []
    for sec in sorted(seconds):
        slot = seconds[sec]
        hist = slot.histogram()
        n = hist.get_total_count()
        out.append(
            {
                "t": float(sec),
                "requests": float(slot.count),
                "errors": float(slot.errors),
                "p50_s": hist.get_value_at_percentile(50) / 1e6 if n else float("nan"),
                "p95_s": hist.get_value_at_percentile(95) / 1e6 if n else float("nan"),
            }
        )
    return out
