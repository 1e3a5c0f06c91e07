"""Exact, known data for the verifier's integration tests, as OpenMetrics text for promtool.

Job ``demo``, two instances, 800 requests every 15 s step between them, of which exactly 4 are
5xx (0.5%). Latency: 90% <= 100 ms, 94% <= 250 ms, 99% <= 500 ms, all <= 1 s, so P95 lies in
(0.25 s, 0.5 s]. Instance ``b`` restarts (its counters reset) at the middle of the window.
``app_latency_ms`` is the same histogram with its bounds in milliseconds (as the guides' apps
and Triton's microseconds write them), for ``unit: ms``.
Job ``other`` is awful (50% errors, every request > 1 s): a correct selector never sees it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

STEP = 15
STEPS = 240  # one hour
PER_STEP = 800
ERRORS_PER_STEP = 4
BUCKETS = (0.1, 0.25, 0.5, 1.0, math.inf)
SHARES = (0.90, 0.94, 0.99, 1.0, 1.0)  # cumulative, per step
WINDOW_FIRST_STEP, WINDOW_LAST_STEP = 40, 200  # window = (base + 600 s, base + 3000 s]
RESET_STEP = 120


@dataclass(frozen=True)
class Dataset:
    text: str
    base: float
    start: float
    end: float
    requests_in_window: int
    errors_in_window: int


def _le(b: float) -> str:
    return "+Inf" if math.isinf(b) else f"{b:g}"


def _labels(**kv: str) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in kv.items()) + "}"


def _series(
    job: str,
    instance: str,
    per_step: int,
    errors: int,
    shares: tuple[float, ...],
    resets_at: int | None,
    base: float,
) -> dict[str, list[str]]:
    """Lines per family for one instance."""
    req: dict[str, list[str]] = {"200": [], "500": []}
    buckets: dict[float, list[str]] = {b: [] for b in BUCKETS}
    count: list[str] = []
    ms: dict[float, list[str]] = {b: [] for b in BUCKETS}
    total_sum: list[str] = []
    ok_total = err_total = 0
    bucket_totals = dict.fromkeys(BUCKETS, 0)
    n_total = 0
    s_total = 0.0
    for step in range(STEPS + 1):
        ts = base + step * STEP
        if resets_at is not None and step == resets_at:
            ok_total = err_total = n_total = 0
            s_total = 0.0
            bucket_totals = dict.fromkeys(BUCKETS, 0)
        if step > 0:
            ok_total += per_step - errors
            err_total += errors
            for b, share in zip(BUCKETS, shares, strict=True):
                bucket_totals[b] += round(per_step * share)
            n_total += per_step
            s_total += per_step * 0.2
        common = {"job": job, "instance": instance, "method": "POST", "endpoint": "/v1/classify"}
        req["200"].append(f"http_requests_total{_labels(**common, status='200')} {ok_total} {ts}")
        req["500"].append(f"http_requests_total{_labels(**common, status='500')} {err_total} {ts}")
        hist = {"job": job, "instance": instance, "method": "POST", "endpoint": "/v1/classify"}
        for b in BUCKETS:
            buckets[b].append(
                f"http_request_duration_seconds_bucket"
                f"{_labels(**hist, le=_le(b))} {bucket_totals[b]} {ts}"
            )
            ms[b].append(
                f"app_latency_ms_bucket{_labels(**hist, le=_le(b * 1000))} {bucket_totals[b]} {ts}"
            )
        count.append(f"http_request_duration_seconds_count{_labels(**hist)} {n_total} {ts}")
        total_sum.append(f"http_request_duration_seconds_sum{_labels(**hist)} {s_total} {ts}")
    return {
        "requests": req["200"] + req["500"],
        "histogram": [line for b in BUCKETS for line in buckets[b]] + count + total_sum,
        "histogram_ms": [line for b in BUCKETS for line in ms[b]],
    }


def build(now: float) -> Dataset:
    base = math.floor(now / 60) * 60 - 3 * 3600
    families: dict[str, list[str]] = {"requests": [], "histogram": [], "histogram_ms": []}
    parts = [
        _series("demo", "a", PER_STEP // 2, ERRORS_PER_STEP // 2, SHARES, None, base),
        _series("demo", "b", PER_STEP // 2, ERRORS_PER_STEP // 2, SHARES, RESET_STEP, base),
        _series("other", "c", PER_STEP, PER_STEP // 2, (0.0, 0.0, 0.0, 0.0, 1.0), None, base),
    ]
    for part in parts:
        for family, part_lines in part.items():
            families[family].extend(part_lines)

    def lines() -> Iterator[str]:
        yield "# TYPE http_requests counter"
        yield from families["requests"]
        yield "# TYPE http_request_duration_seconds histogram"
        yield from families["histogram"]
        yield "# TYPE app_latency_ms histogram"
        yield from families["histogram_ms"]
        yield "# EOF"

    steps = WINDOW_LAST_STEP - WINDOW_FIRST_STEP
    return Dataset(
        text="\n".join(lines()) + "\n",
        base=base,
        start=base + WINDOW_FIRST_STEP * STEP,
        end=base + WINDOW_LAST_STEP * STEP,
        requests_in_window=steps * PER_STEP,
        errors_in_window=steps * ERRORS_PER_STEP,
    )
