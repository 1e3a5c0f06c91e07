import pytest

from slocheck.evaluate.intervals import min_samples_for_quantile, wilson_interval


@pytest.mark.parametrize(
    ("good", "n", "lo", "hi"),
    [  # reference values of the Wilson score interval at 95%
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
        (5, 10, 0.2366, 0.7634),
        (200, 200, 0.9812, 1.0),
        (995, 1000, 0.9884, 0.9979),
    ],
)
def test_wilson(good: int, n: int, lo: float, hi: float) -> None:
    got = wilson_interval(good, n)
    assert got == pytest.approx((lo, hi), abs=1e-4)


def test_200_requests_cannot_show_three_nines() -> None:
    lo, _ = wilson_interval(200, 200)
    assert lo < 0.999


def test_wilson_needs_samples() -> None:
    with pytest.raises(ValueError):
        wilson_interval(0, 0)


@pytest.mark.parametrize(("q", "n"), [(0.5, 20), (0.95, 200), (0.99, 1000), (0.999, 10000)])
def test_min_samples_for_quantile(q: float, n: int) -> None:
    assert min_samples_for_quantile(q) == n
