from __future__ import annotations

import numpy as np
import pytest
from hdrh.histogram import HdrHistogram

from slocheck.regress import RunRecord, canary, compare
from slocheck.regress.trend import change_points


def record(
    run_id: str,
    *,
    scale: float = 1.0,
    shift: float = 0.0,
    n: int = 20_000,
    errors: int = 0,
    rps: float = 1000.0,
    seed: int = 0,
) -> RunRecord:
    rng = np.random.default_rng(seed)
    h = HdrHistogram(1, 3_600_000_000, 3)
    for v in rng.lognormal(np.log(0.008), 0.4, n) * scale + shift:
        h.record_value(int(v * 1e6))
    per_second = [int(x) for x in rng.poisson(rps, 20)]
    return RunRecord(run_id, 0.0, "fp", h.encode().decode(), None, n, errors, per_second)


def verdicts(c: object) -> dict[str, str]:
    return {m.metric: m.verdict for m in c.metrics}  # type: ignore[attr-defined]


def test_identical_configurations_are_unchanged() -> None:
    c = compare(record("b", seed=2), [record("a", seed=1)], noise=0)
    assert c.verdict == "unchanged", verdicts(c)


def test_a_15_percent_slowdown_regresses_with_confidence_intervals() -> None:
    c = compare(record("b", scale=1.15, seed=2), [record("a", seed=1)], noise=0)
    assert c.verdict == "regressed"
    p95 = {m.metric: m for m in c.metrics}["p95_latency"]
    assert p95.verdict == "regressed" and 0.10 < p95.ci_low < p95.change < p95.ci_high
    assert p95.p_value is not None and p95.p_value < 0.01
    assert "95% CI" in p95.explanation


def test_faster_is_improved() -> None:
    c = compare(record("b", scale=0.75, seed=2), [record("a", seed=1)], noise=0)
    assert verdicts(c)["p50_latency"] == "improved"


def test_few_samples_are_inconclusive_not_regressed() -> None:
    c = compare(record("b", scale=1.12, n=60, seed=2), [record("a", n=60, seed=1)], noise=0)
    assert verdicts(c)["p95_latency"] in ("inconclusive", "unchanged")
    assert c.verdict != "regressed"


def test_the_noise_floor_absorbs_run_to_run_drift() -> None:
    """A single-run baseline cannot measure the machine's noise: an 18% drift is not called a
    regression under the default 5% noise floor, and a 100 ms slowdown still is."""
    drift = record("b", scale=1.18, seed=2)
    assert compare(drift, [record("a", seed=1)]).verdict != "regressed"
    assert compare(drift, [record("a", seed=1)], noise=0).verdict == "regressed"
    slow = record("c", shift=0.1, seed=3)
    assert compare(slow, [record("a", seed=1)]).verdict == "regressed"


def test_measured_noise_from_several_baseline_runs() -> None:
    noisy = [record(str(i), scale=s, seed=i) for i, s in enumerate((0.8, 1.0, 1.25, 0.9, 1.15))]
    quiet = [record(str(i), scale=1.0, seed=i) for i in range(5)]
    cur = record("x", scale=1.15, seed=9)
    assert compare(cur, noisy, noise=0).verdict != "regressed"
    assert compare(cur, quiet, noise=0).verdict == "regressed"


def test_throughput_and_error_ratio() -> None:
    base = [record("a", seed=1, errors=10)]
    slower = compare(record("b", seed=2, rps=800, errors=10), base, noise=0)
    assert verdicts(slower)["throughput"] == "regressed"
    failing = compare(record("c", seed=3, errors=800), base, noise=0)
    m = {x.metric: x for x in failing.metrics}["error_ratio"]
    assert m.verdict == "regressed" and m.unit == "points" and m.change == pytest.approx(0.0395)


def test_no_baseline_is_said_plainly() -> None:
    c = compare(record("b"), [])
    assert c.verdict == "no_baseline" and c.notes


def test_canary_rule() -> None:
    base = [record("a", seed=1, errors=0)]
    assert canary(record("b", seed=2), base) == []
    flags = canary(record("c", seed=3, shift=0.15, errors=1200), base)
    assert any("error ratio" in f for f in flags) and any("P95" in f for f in flags)


def test_change_points() -> None:
    rng = np.random.default_rng(0)
    steady = list(rng.normal(10, 0.3, 25))
    assert change_points(steady) == []
    step = list(rng.normal(10, 0.3, 15)) + list(rng.normal(12, 0.3, 10))
    assert change_points(step) == [15]
    assert change_points([1.0, 2.0]) == []


# -- several current runs (slocheck bench --repeat N --compare-to) ---------------------------
def night(run_id: str, scale: float, seed: int) -> RunRecord:
    return record(run_id, scale=scale, n=4_000, seed=seed)


#: a machine whose runs differ by ~3% (p50 CV), as this project's 2-core boxes do
NOISE = (0.97, 1.0, 1.03, 0.985, 1.015, 0.96, 1.04, 0.995, 1.005, 1.02)


def tolerances() -> dict[str, float]:
    return {"p50_latency": 0.05, "p95_latency": 0.10, "p99_latency": 0.20}


def test_one_run_cannot_decide_a_small_change_but_several_can() -> None:
    """The same 10-run baseline: one current run carries the machine's whole run-to-run noise
    (1.96 x cv x sqrt(1 + 1/10)), so an unchanged build is 'inconclusive' against a 5% p50
    tolerance; three runs pooled shrink that to sqrt(1/3 + 1/10) and decide both ways."""
    base = [night(f"b{i}", s, i) for i, s in enumerate(NOISE)]
    same_one = compare(night("a0", 1.0, 50), base, tolerances())
    assert verdicts(same_one)["p50_latency"] == "inconclusive", verdicts(same_one)
    same = [night(f"a{i}", s, 60 + i) for i, s in enumerate((0.985, 1.0, 1.015))]
    unchanged = compare(same, base, tolerances())
    assert unchanged.verdict == "unchanged", verdicts(unchanged)
    assert unchanged.current == "a0,a1,a2"
    slow = [night(f"s{i}", 1.10 * s, 70 + i) for i, s in enumerate((0.985, 1.0, 1.015))]
    regressed = compare(slow, base, tolerances())
    assert verdicts(regressed)["p50_latency"] == "regressed", verdicts(regressed)
    p50 = {m.metric: m for m in regressed.metrics}["p50_latency"]
    one = {m.metric: m for m in same_one.metrics}["p50_latency"]
    assert p50.ci_high - p50.ci_low < 0.75 * (one.ci_high - one.ci_low)


def test_the_current_runs_spread_counts_as_noise_but_the_shift_does_not() -> None:
    """Noise is each side's spread about its own median: a 20% shift between two quiet sides
    is a regression; three current runs spread +-15% measure the noise even against a single
    baseline run (which shows none), and widen the interval past the tolerance."""
    base = [night(f"b{i}", 1.0, i) for i in range(5)]
    quiet = [night(f"q{i}", 1.2, 10 + i) for i in range(3)]
    assert compare(quiet, base, tolerances(), noise=0).verdict == "regressed"
    noisy = [night(f"n{i}", 1.2 * s, 20 + i) for i, s in enumerate((0.85, 1.0, 1.15))]
    c = compare(noisy, base[:1], tolerances(), noise=0)
    assert verdicts(c)["p50_latency"] != "regressed", verdicts(c)
    assert compare(quiet, base[:1], tolerances(), noise=0).verdict == "regressed"


def test_one_inconclusive_current_run_makes_the_comparison_inconclusive() -> None:
    short = type(night("x", 1.0, 1))(**{**night("x", 1.0, 1).__dict__, "verdict": "inconclusive"})
    c = compare([night("a", 1.0, 2), short], [night("b", 1.0, 3)])
    assert c.verdict == "inconclusive" and "x" in c.notes[0] and not c.metrics
