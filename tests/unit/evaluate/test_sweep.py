"""The curve's rules (``evaluate/sweep.py``): the highest load that met every SLO, the cost of a
million output tokens there, and the sweep's verdict; and the sweep's options, checked as the
command line checks them."""

from __future__ import annotations

from pathlib import Path

import pytest

from slocheck.errors import UsageError
from slocheck.evaluate.sweep import CurvePoint, best, cost_per_million_tokens, sweep_verdict
from slocheck.results.run_settings import SweepOptions
from slocheck.verdict import Verdict

PASS, FAIL = Verdict.PASS, Verdict.FAIL


def points(*verdicts: Verdict) -> list[CurvePoint]:
    return [CurvePoint(at=2.0**k, verdict=v) for k, v in enumerate(verdicts)]


def test_the_best_load_is_the_highest_that_met_every_slo_even_past_a_failure() -> None:
    curve = points(PASS, FAIL, PASS, FAIL)  # a noisy curve: the highest pass is still a pass
    top = best(curve)
    assert top is not None and top.at == 4.0
    assert best(points(FAIL, Verdict.INCONCLUSIVE)) is None


def test_a_million_tokens_cost_at_the_rate_produced() -> None:
    assert cost_per_million_tokens(3.6, 1000.0) == pytest.approx(1.0)  # 3.6M tokens an hour
    assert cost_per_million_tokens(2.0, None) is None
    assert cost_per_million_tokens(2.0, 0.0) is None


@pytest.mark.parametrize(
    ("curve", "planned", "error", "interrupted", "verdict"),
    [
        (points(PASS, FAIL), 2, None, False, Verdict.PASS),
        (points(FAIL, FAIL), 2, None, False, Verdict.FAIL),
        (points(PASS), 2, None, False, Verdict.INTERRUPTED),  # cut short: never a pass
        (points(PASS, PASS), 2, None, True, Verdict.INTERRUPTED),
        (points(PASS), 2, "Prometheus went away", False, Verdict.ERROR),
    ],
)
def test_the_sweeps_verdict(
    curve: list[CurvePoint], planned: int, error: str | None, interrupted: bool, verdict: Verdict
) -> None:
    assert sweep_verdict(curve, planned=planned, error=error, interrupted=interrupted) == verdict


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({}, "give the rates or the concurrency"),
        ({"rates": (1.0,), "concurrency": (2,)}, "one of them"),
        ({"rates": (4.0, 2.0)}, "increasing loads"),
        ({"rates": (2.0, 2.0)}, "each once"),
        ({"rates": (0.0, 1.0)}, "--rates: rate"),
        ({"concurrency": (0, 1)}, "--concurrency: users"),
        ({"rates": tuple(float(k) for k in range(1, 70))}, "at most 64"),
    ],
)
def test_the_options_are_checked(given: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        SweepOptions(out_dir=Path("out"), **given)  # type: ignore[arg-type]
