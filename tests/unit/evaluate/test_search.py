"""The capacity search, driven by a pretend service whose capacity is known."""

from __future__ import annotations

import pytest

from slocheck.evaluate.search import Search, Step
from slocheck.verdict import Verdict


def drive(search: Search, capacity: float, flaky: set[float] | None = None) -> list[Step]:
    """Run the search against a service that passes up to ``capacity``; rates in ``flaky``
    are inconclusive the first time."""
    steps: list[Step] = []
    seen: set[float] = set()
    for _ in range(100):  # bounded: a search that does not end fails the test
        rate = search.next_rate(steps)
        if rate is None:
            return steps
        if flaky and rate in flaky and rate not in seen:
            steps.append(Step(rate, Verdict.INCONCLUSIVE, ["achieved_load"]))
        elif rate <= capacity:
            steps.append(Step(rate, Verdict.PASS))
        else:
            steps.append(Step(rate, Verdict.FAIL, ["p95-latency"]))
        seen.add(rate)
    raise AssertionError("the search did not end")


@pytest.mark.parametrize("capacity", [13.0, 100.0, 333.0, 799.0])
def test_the_bracket_holds_the_capacity_within_the_precision(capacity: float) -> None:
    search = Search(min_rate=10, max_rate=1000, precision=0.1)
    steps = drive(search, capacity)
    b = search.bracket(steps)
    assert b.lower is not None and b.upper is not None
    assert b.lower <= capacity < b.upper
    assert (b.upper - b.lower) / b.lower <= 0.1
    assert b.broken_by == ["p95-latency"]
    if capacity >= 40:
        assert [s.rate for s in steps[:3]] == [10, 20, 40], "doubling first"


def test_a_minimum_that_fails_ends_the_search_at_once() -> None:
    search = Search(min_rate=50, max_rate=1000)
    steps = drive(search, capacity=20)
    assert [s.rate for s in steps] == [50]
    b = search.bracket(steps)
    assert (b.lower, b.upper) == (None, 50)


def test_a_service_that_takes_the_maximum_has_no_upper_bound() -> None:
    search = Search(min_rate=10, max_rate=100)
    steps = drive(search, capacity=1e9)
    assert [s.rate for s in steps] == [10, 20, 40, 80, 100]
    assert search.bracket(steps) == search.bracket(steps)
    b = search.bracket(steps)
    assert (b.lower, b.upper) == (100, None)


def test_an_inconclusive_step_is_repeated_once_and_twice_is_not_a_pass() -> None:
    search = Search(min_rate=10, max_rate=1000)
    steps = drive(search, capacity=100, flaky={40})
    assert [s.rate for s in steps][:4] == [10, 20, 40, 40], "40 again after the blip"
    b = search.bracket(steps)
    assert b.lower is not None and b.lower <= 100 < (b.upper or 0)
    twice = [
        Step(10, Verdict.PASS),
        Step(20, Verdict.INCONCLUSIVE),
        Step(20, Verdict.INCONCLUSIVE),
    ]
    assert search.next_rate(twice) == 15.0, "inconclusive twice counts as not passing"
    assert search.bracket(twice).upper == 20


def test_an_error_ends_the_search() -> None:
    search = Search(min_rate=10, max_rate=1000)
    assert search.next_rate([Step(10, Verdict.PASS), Step(20, Verdict.ERROR)]) is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_rate": 0, "max_rate": 10}, "0 < min-rate <= max-rate"),
        ({"min_rate": 20, "max_rate": 10}, "0 < min-rate <= max-rate"),
        ({"min_rate": 1, "max_rate": 10, "precision": 0}, "precision"),
    ],
)
def test_bad_settings(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Search(**kwargs)


def test_a_step_lasts_long_enough_to_decide_every_slo() -> None:
    from slocheck.evaluate.search import samples_needed, step_seconds
    from slocheck.slofile import parse_spec

    spec = parse_spec(
        "version: 1\nslos:\n"
        "  - {name: p99, sli: latency, percentile: 99, threshold: 1s}\n"
        "  - {name: a, sli: availability, objective: 99%}\n"
    ).spec
    assert samples_needed(spec.slos) == 1000, "P99: 10 observations above it"
    only = parse_spec(
        "version: 1\nslos: [{name: a, sli: availability, objective: 99%}]\n"
    ).spec.slos
    assert samples_needed(only) == 381, "1.96^2 x 0.99 / 0.01 error-free requests"
    assert step_seconds(10, 30, 1000) == 125.0, "1,250 observations at 10/s"
    assert step_seconds(100, 30, 1000) == 30.0
