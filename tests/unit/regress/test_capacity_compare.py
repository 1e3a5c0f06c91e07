"""A capacity against its baseline: brackets, not points."""

from __future__ import annotations

import pytest

from slocheck.regress import RunRecord, compare
from slocheck.regress.compare import capacity_change
from slocheck.regress.record_dicts import record_from_dict, record_to_dict, summary_of


def cap(lower: float | None, upper: float | None, run_id: str = "r") -> RunRecord:
    return RunRecord(
        run_id=run_id,
        created_at=0.0,
        fingerprint="f",
        latency_hdr=None,
        ttft_hdr=None,
        requests=0,
        errors=0,
        per_second=[],
        verdict="pass",
        capacity_lower=lower,
        capacity_upper=upper,
    )


@pytest.mark.parametrize(
    ("current", "verdict"),
    [
        ((500, 550), "unchanged"),  # the same bracket
        ((300, 330), "regressed"),  # even 330 / 500 is a 34% drop
        ((450, 500), "inconclusive"),  # from 450/550 - 1 = -18% to 500/500 - 1 = 0%
        ((800, 880), "improved"),
    ],
)
def test_capacity_verdicts(current: tuple[float, float], verdict: str) -> None:
    m = capacity_change(cap(*current), [cap(500, 550, "b1"), cap(500, 550, "b2")], tol=0.10)
    assert m.metric == "capacity" and m.verdict == verdict, m.explanation
    assert m.baseline == 500 and m.current == current[0]


def test_compare_judges_the_capacity_of_capacity_records() -> None:
    c = compare(cap(300, 330), [cap(500, 550)], {"capacity": 0.10})
    assert c.verdict == "regressed"
    assert [m.metric for m in c.metrics] == ["capacity"]


def test_a_capacity_record_round_trips() -> None:
    r = cap(42.0, None)
    back = record_from_dict(record_to_dict(r))
    assert (back.capacity_lower, back.capacity_upper) == (42.0, None)
    assert summary_of(back)["capacity_rps"] == 42.0
    old = record_to_dict(r)
    del old["capacity_lower"], old["capacity_upper"]  # a record written before capacity
    assert record_from_dict(old).capacity_lower is None
