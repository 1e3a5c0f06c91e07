import math

import pytest

from slocheck.evaluate.counters import (
    Buckets,
    Series,
    counter_delta,
    histogram_buckets,
    quantile,
    sum_deltas,
)

START, END = 100.0, 200.0


@pytest.mark.parametrize(
    ("samples", "expected", "resets", "born"),
    [
        # baseline at the start, steady growth
        ([(90, 10), (100, 20), (150, 70), (200, 120)], 100, 0, False),
        # baseline is the last sample at or before start
        ([(50, 0), (95, 15), (130, 40), (200, 115)], 100, 0, False),
        # a reset: 20 -> 60 (40), restart, 0 -> 30 (30), 30 -> 50 (20)
        ([(100, 20), (140, 60), (150, 30), (200, 50)], 90, 1, False),
        # a reset straight to 0 and two resets
        ([(100, 5), (120, 10), (130, 0), (140, 7), (150, 2), (200, 4)], 16, 2, False),
        # born inside the window: counted from 0
        ([(120, 3), (200, 13)], 13, 0, True),
        # flat
        ([(100, 7), (200, 7)], 0, 0, False),
        # samples after the end are ignored
        ([(100, 0), (200, 10), (210, 99)], 10, 0, False),
    ],
)
def test_counter_delta(
    samples: list[tuple[float, float]], expected: float, resets: int, born: bool
) -> None:
    d = counter_delta(samples, START, END)
    assert d is not None
    assert (d.value, d.resets, d.born_in_window) == (expected, resets, born)


def test_no_sample_in_window_is_none() -> None:
    assert counter_delta([(50, 1), (100, 2)], START, END) is None
    assert counter_delta([], START, END) is None


def test_nan_inf_and_negative_samples_are_dropped() -> None:
    d = counter_delta(
        [(100, 0), (120, math.nan), (150, math.inf), (160, -3), (200, 10)], START, END
    )
    assert d is not None and d.value == 10 and d.dropped_samples == 3


def test_sum_deltas_notes_resets() -> None:
    totals = sum_deltas(
        [
            Series({"a": "1"}, [(100, 5), (150, 1), (200, 3)]),
            Series({"a": "2"}, [(100, 0), (200, 4)]),
            Series({"a": "3"}, [(10, 4)]),
        ],
        START,
        END,
    )
    assert totals.total == 3 + 4 and totals.series == 2 and totals.resets == 1
    assert any("reset" in n for n in totals.notes)


def _hist(counts_at_end: dict[str, float], at_start: float = 0) -> list[Series]:
    return [
        Series({"le": le}, [(100, at_start), (200, at_start + c)])
        for le, c in counts_at_end.items()
    ]


def test_histogram_buckets_sum_by_le_and_fix_monotonicity() -> None:
    series = _hist({"0.1": 90, "0.5": 99, "+Inf": 100}) + _hist({"0.1": 10, "0.5": 9, "+Inf": 12})
    buckets, _totals = histogram_buckets(series, START, END)
    assert buckets.bounds == (0.1, 0.5, math.inf)
    assert buckets.counts == (100, 108, 112)
    assert not buckets.monotonic_fixed
    odd, notes = histogram_buckets(_hist({"0.1": 50, "0.5": 40, "+Inf": 60}), START, END)
    assert odd.counts == (50, 50, 60) and odd.monotonic_fixed
    assert any("monotonic" in n for n in notes.notes)


B = Buckets((0.1, 0.25, 0.5, 1.0, math.inf), (900, 940, 990, 1000, 1000))


@pytest.mark.parametrize(
    ("q", "lower", "upper"),
    [
        (0.5, 0.0, 0.1),
        (0.9, 0.0, 0.1),
        (0.91, 0.1, 0.25),
        (0.94, 0.1, 0.25),
        (0.95, 0.25, 0.5),
        (0.99, 0.25, 0.5),
        (0.995, 0.5, 1.0),
        (1.0, 0.5, 1.0),
    ],
)
def test_quantile_bounds(q: float, lower: float, upper: float) -> None:
    est = quantile(q, B)
    assert est is not None
    assert (est.lower, est.upper) == (lower, upper)
    assert lower <= est.interpolated <= upper


def test_quantile_interpolates_like_histogram_quantile() -> None:
    est = quantile(0.95, B)
    assert est is not None and est.interpolated == pytest.approx(0.25 + 0.25 * (950 - 940) / 50)


def test_quantile_in_the_inf_bucket() -> None:
    est = quantile(0.99, Buckets((0.1, math.inf), (50, 100)))
    assert est is not None and est.lower == 0.1 and math.isinf(est.upper)
    assert est.interpolated == 0.1


def test_quantile_without_observations() -> None:
    assert quantile(0.95, Buckets((0.1, math.inf), (0, 0))) is None
    assert quantile(0.95, Buckets((), ())) is None


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [
        (0.25, (940, 940, True)),
        (0.3, (940, 990, False)),
        (0.05, (0, 900, False)),
        (2.0, (1000, 1000, False)),
    ],
)
def test_count_le(threshold: float, expected: tuple[float, float, bool]) -> None:
    assert B.count_le(threshold) == expected
