"""A request's record: its JSON form round-trips, unknown values are left out, and a line that
is not a record is refused with the reason (the client's figures are never read past)."""

from __future__ import annotations

import math

import pytest

from slocheck.request_record import Gaps, RecordError, RequestRecord


def test_a_stream_s_record_round_trips_through_json() -> None:
    r = RequestRecord(
        name="/v1/chat/completions",
        sent=1000.25,
        end=1001.5,
        latency=1.25,
        status="200",
        ok=True,
        ttft=0.05,
        tpot=0.01,
        itl=Gaps.of([0.01, 0.02, 0.01, 0.09]),
        input_tokens=128,
        output_tokens=5,
        max_tokens=5,
    )
    data = r.to_json()
    assert "intended" not in data and "error" not in data
    assert data["itl"] == {"n": 4, "p50": 0.01, "p90": 0.09, "p95": 0.09, "p99": 0.09, "max": 0.09}
    assert RequestRecord.from_json(data) == r
    assert r.second == 1001


def test_gaps_are_summarised_by_nearest_rank() -> None:
    gaps = [i / 1000 for i in range(1, 101)]  # 1 ms ... 100 ms
    g = Gaps.of(gaps)
    assert g is not None
    assert (g.n, g.p50, g.p90, g.p95, g.p99, g.max) == (100, 0.05, 0.09, 0.095, 0.099, 0.1)
    assert g.statistic("p95") == 0.095
    assert Gaps.of([]) is None
    with pytest.raises(KeyError):
        g.statistic("p42")


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"sent": 1.0, "end": 2.0, "latency": 1.0, "status": "200", "ok": True}, "'name'"),
        (
            {"name": "/x", "sent": 1.0, "end": 2.0, "latency": -1, "status": "200", "ok": True},
            "seconds >= 0",
        ),
        (
            {"name": "/x", "sent": 1.0, "end": 2.0, "latency": math.nan, "status": "200", "ok": 1},
            "finite",
        ),
        (
            {"name": "/x", "sent": 1.0, "end": 2.0, "latency": 1, "status": "200", "ok": "yes"},
            "true or false",
        ),
        (
            {
                "name": "/x",
                "sent": 1.0,
                "end": 2.0,
                "latency": 1,
                "status": "200",
                "ok": True,
                "output_tokens": 1.5,
            },
            "whole number",
        ),
    ],
)
def test_a_line_that_is_not_a_record_is_refused(data: dict[str, object], says: str) -> None:
    with pytest.raises(RecordError, match=says):
        RequestRecord.from_json(data)
