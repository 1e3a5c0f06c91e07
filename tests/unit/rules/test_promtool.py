"""The promtool tests' inputs and expectations, as tables."""

from __future__ import annotations

import pytest

from slocheck.rules.objectives import Objective
from slocheck.rules.promtool import (
    EVALUATION_MINUTES,
    NoTest,
    Phases,
    firing,
    per_minute,
    satisfy,
    scenarios,
)


def ratio(budget: float) -> Objective:
    return Objective(
        name="a",
        sli="availability",
        kind="ratio",
        severity="critical",
        objective=1 - budget,
        budget=budget,
        error_ratio="x",
    )


def test_a_quiet_phase_of_heavy_traffic_dilutes_the_longer_windows() -> None:
    p = Phases(quiet_minutes=60, burn_minutes=60, volume=100)
    assert p.window_ratio(5, 0.1) == pytest.approx(0.1)
    assert p.window_ratio(60, 0.1) == pytest.approx(0.1)
    assert p.window_ratio(360, 0.1) == pytest.approx(0.1 * 60 / (60 + 100 * 60))
    assert p.values(2, 200) == "0+200x60 12002+2x59"
    assert Phases(0, 70).values(3, 0) == "0+3x70"
    assert Phases(300, 60, step=5).values(1, 100) == "0+100x60 6001+1x11"


def test_each_scenario_fires_the_one_pair_it_burns() -> None:
    o = ratio(0.001)
    fired = {what: firing(o, r, phases) for what, r, phases in scenarios(o, uptime=False)}
    assert fired == {
        "burns 21.6x its budget in its 1h and 5m windows": ["page"],
        "burns 9x its budget in its 6h and 30m windows": ["page"],
        "burns 4.5x its budget in its 1d and 2h windows": ["ticket"],
        "burns 1.5x its budget in its 3d and 6h windows": ["ticket"],
        "burns nothing": [],
    }


@pytest.mark.parametrize("budget", [0.1, 0.01, 0.001, 0.00001])
def test_every_burn_ends_on_an_evaluation_and_lasts_at_most_26_hours(budget: float) -> None:
    for what, _, phases in scenarios(ratio(budget), uptime=False):
        assert phases.minutes % EVALUATION_MINUTES == 0, what
        assert phases.minutes <= 26 * 60, what


def test_the_longer_windows_see_at_most_half_their_factor() -> None:
    o = ratio(0.001)
    one_hour = scenarios(o, uptime=False)[0][2]
    assert one_hour == Phases(30, 60, step=1)
    assert one_hour.window_ratio(360, 0.0216) <= 6 * 0.001 / 2
    assert one_hour.window_ratio(4320, 0.0216) <= 1 * 0.001 / 2
    assert Phases(25, 60).window_ratio(4320, 0.0216) > 1 * 0.001 / 2, "30 is the shortest"


def test_a_large_budget_cannot_page() -> None:
    o = ratio(0.10)  # 90%: every request failing is a 10x burn, below the fast pair's 14.4
    fired = {what: firing(o, r, phases) for what, r, phases in scenarios(o, uptime=False)}
    assert fired["burns 21.6x its budget in its 1h and 5m windows"] == []
    assert fired["burns 9x its budget in its 6h and 30m windows"] == ["page"], "10x > 6x"
    assert fired["burns 1.5x its budget in its 3d and 6h windows"] == ["ticket"]


@pytest.mark.parametrize(
    ("ratio_", "bad", "total"), [(0.02, 20, 1000), (0.0015, 15, 10000), (0.0, 0, 1000)]
)
def test_whole_events_a_minute(ratio_: float, bad: int, total: int) -> None:
    assert per_minute(ratio_) == (bad, total)


@pytest.mark.parametrize(
    ("selector", "labels"),
    [
        ('job="a", code=~"5.."', {"job": "a", "code": "500"}),
        ('handler!="/metrics"', {}),
        ('model=~"llama|mistral"', {"model": "llama"}),
        ('job=~"vllm.*"', {"job": "vllm"}),
        ('x!=""', {"x": "x"}),
    ],
)
def test_labels_that_satisfy_a_selector(selector: str, labels: dict[str, str]) -> None:
    assert satisfy(selector) == labels


def test_a_selector_no_series_satisfies_is_no_test() -> None:
    with pytest.raises(NoTest):
        satisfy('a=~"[0-9]{3}"')
