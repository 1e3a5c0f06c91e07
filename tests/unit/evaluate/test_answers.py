"""Every answer is checked before it is judged (slocheck.evaluate.answers): one test per check,
each showing the same data judged ``pass`` once the oddity is gone."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pytest

from slocheck.evaluate import SliData, SloResult, Window, evaluate_slo, plan
from slocheck.evaluate.answers import EXACT_COUNT, dedup
from slocheck.evaluate.counters import Series, histogram_buckets, sum_deltas
from slocheck.slofile.model import SloSpec

W = Window(1000.0, 1600.0)
AVAIL = {"sli": "availability", "objective": "99%"}
THROUGHPUT = {"sli": "throughput", "threshold": 150}
P99 = {"sli": "latency", "percentile": 99, "threshold": "1s"}


def slo(**kw: Any) -> SloSpec:
    return SloSpec.model_validate({"name": "s", **kw})


def counter(labels: dict[str, str], n: float, before: float = 0.0) -> Series:
    return Series(
        {"job": "demo", **labels}, [(990.0, before), (1300.0, before + n / 2), (1600.0, before + n)]
    )


def constant(labels: dict[str, str], v: float) -> Series:
    return Series({"job": "demo", **labels}, [(990.0, v), (1300.0, v), (1600.0, v)])


def judge(spec: dict[str, Any], series: list[Series] | None = None, **kw: Any) -> SloResult:
    s = slo(**spec)
    values = kw.pop("values", None)
    warnings = kw.pop("warnings", ())
    data = SliData(series=series, values=values, query="q", warnings=warnings)
    return evaluate_slo(s, plan(s, 'job="demo"'), data, W, **kw)


CLEAN = [counter({"status": "200"}, 99_500), counter({"status": "500"}, 500)]


def test_clean_data_passes() -> None:
    assert judge(AVAIL, CLEAN).verdict == "pass"


def test_warnings_make_it_an_error_unless_accepted() -> None:
    warning = "partial response: store 10.0.0.7:10901 unavailable"
    ok_only = CLEAN[:1]  # the store that held the error series did not answer
    r = judge(AVAIL, ok_only, warnings=[warning])
    assert (r.verdict, r.gate, r.details["check"]) == ("error", "fail", "partial_response")
    assert warning in r.explanation and "prometheus.accept_partial: true" in r.explanation
    assert r.details["warnings"] == [warning] and r.details["query"] == "q"
    accepted = judge(AVAIL, CLEAN, warnings=[warning], accept_partial=True)
    assert accepted.verdict == "pass"
    assert any("accept_partial" in n for n in accepted.details["notes"])


def test_warnings_of_a_promql_sli() -> None:
    r = judge(
        {"sli": "promql", "query": "x", "op": ">=", "threshold": 1}, values=[5.0], warnings=["w"]
    )
    assert (r.verdict, r.details["check"]) == ("error", "partial_response")


def test_the_same_series_twice_is_never_summed() -> None:
    twice = [counter({"status": "200"}, 60_000), counter({"status": "200"}, 60_000)]
    r = judge(THROUGHPUT, twice)  # 100/s counted twice would pass 150/s
    assert (r.verdict, r.details["check"]) == ("error", "duplicate_series")
    assert "the same series twice" in r.explanation
    assert "prometheus.dedup_labels" in r.explanation and "deduplicating" in r.explanation
    assert judge(THROUGHPUT, twice, dedup_labels=["replica"]).verdict == "fail"  # 100/s


@pytest.mark.parametrize("name", ["replica", "prometheus_replica"])
def test_replicas_are_an_error_naming_the_fix(name: str) -> None:
    pair = [counter({"status": "200", name: r}, 60_000) for r in ("A", "B")]
    r = judge(THROUGHPUT, pair)
    assert (r.verdict, r.details["check"]) == ("error", "duplicate_series")
    assert f"once per replica ({name}=A, B)" in r.explanation
    kept = judge(THROUGHPUT, pair, dedup_labels=[name])
    assert kept.verdict == "fail" and kept.value == pytest.approx(100.0)
    assert any("1 replica series dropped" in n for n in kept.details["notes"])


def test_a_replica_label_with_several_values_on_different_series() -> None:
    pair = [
        counter({"status": "200", "replica": "A"}, 9_950),
        counter({"status": "500", "replica": "B"}, 50),
    ]
    assert judge(AVAIL, pair).details["check"] == "duplicate_series"


def test_dedup_keeps_the_replica_with_the_most_samples() -> None:
    a = Series({"x": "1", "replica": "A"}, [(1.0, 1.0)])
    b = Series({"x": "1", "replica": "B"}, [(1.0, 1.0), (2.0, 2.0)])
    other = Series({"x": "2", "replica": "A"}, [(1.0, 1.0)])
    kept, problem = dedup([a, b, other], ["replica"])
    assert kept == [b, other] and problem == ""
    assert dedup([b, other], [])[1] == "series from several replicas (replica=A, B)"


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, -5.0])
def test_an_error_counter_with_no_clean_sample_is_no_data(bad: float) -> None:
    series = [counter({"status": "200"}, 99_500), constant({"status": "500"}, bad)]
    r = judge(AVAIL, series)
    assert (r.verdict, r.gate, r.details["check"]) == ("no_data", "fail", "unclean_samples")
    assert r.details["unusable_series"] == ['{job="demo", status="500"}']
    assert any("3 NaN, infinite or negative sample(s) ignored" in n for n in r.details["notes"])


def test_some_unclean_samples_are_noted() -> None:
    noisy = Series(
        {"job": "demo", "status": "500"}, [(990.0, 0.0), (1300.0, math.nan), (1600.0, 500.0)]
    )
    r = judge(AVAIL, [CLEAN[0], noisy])
    assert r.verdict == "pass"
    assert "1 NaN, infinite or negative sample(s) ignored" in r.details["notes"]


def test_dropped_samples_are_counted_even_when_a_series_has_none_left() -> None:
    totals = sum_deltas([constant({}, math.nan)], W.start, W.end)
    assert totals.dropped_samples == 3 and totals.unusable == ['{job="demo"}']
    assert len(totals.notes) == 2
    gone = Series({}, [(900.0, math.nan)])  # a series that ended before the window: not unusable
    assert sum_deltas([gone], W.start, W.end).unusable == []


def test_counts_beyond_2_53_are_not_judged() -> None:
    huge = [counter({"status": "200"}, 1e296, before=1e294), counter({"status": "500"}, 0)]
    r = judge(AVAIL, huge)
    assert (r.verdict, r.details["check"]) == ("error", "magnitude")
    assert r.details["largest_sample"] > EXACT_COUNT and "2**53" in r.explanation
    assert (
        judge(AVAIL, [counter({"status": "200"}, 99_000, before=2**52), CLEAN[1]]).verdict == "pass"
    )


@pytest.mark.parametrize(("value", "op"), [(math.inf, ">="), (-math.inf, "<="), (math.nan, ">=")])
def test_a_promql_sli_that_is_not_finite_is_no_data(value: float, op: str) -> None:
    r = judge({"sli": "promql", "query": "x / y", "op": op, "threshold": 1}, values=[value])
    assert (r.verdict, r.details["check"], r.value) == ("no_data", "non_finite", None)
    assert "never judged: q" in r.explanation
    assert r.details["returned"] in r.explanation and r.details["returned"] in (
        "+Inf",
        "-Inf",
        "NaN",
    )
    assert r.op == op


def _hist(counts: Mapping[str, float]) -> list[Series]:
    return [
        Series({"job": "demo", "le": le}, [(990.0, 0.0), (1600.0, c)]) for le, c in counts.items()
    ]


def test_non_monotone_buckets_beyond_the_tolerance_are_an_error() -> None:
    broken = {"0.1": 60_000, "0.25": 60_000, "1": 60_000, "+Inf": 600}
    r = judge(P99, _hist(broken))
    assert (r.verdict, r.details["check"]) == ("error", "non_monotone_buckets")
    assert 'le="1" counted 59,400 more requests than le="+Inf"' in r.explanation
    # one request out of 1,000 a moment apart is corrected, as histogram_quantile does
    slight = {"0.1": 999, "0.25": 1000, "1": 1000, "+Inf": 999}
    ok = judge({**P99, "min_samples": 10}, _hist(slight))
    assert ok.verdict == "pass"
    assert any("not monotonic" in n for n in ok.details["notes"])


def test_bucket_shortfall_is_measured_against_every_lower_bucket() -> None:
    buckets, _ = histogram_buckets(_hist({"0.1": 100, "0.5": 90, "1": 40, "+Inf": 100}), 990, 1600)
    # le=1 counted 60 less than le=0.1 (the most of any bucket below it), not than le=0.5
    assert buckets.shortfall == 60 and buckets.shortfall_at == (0.1, 1.0)
    assert buckets.counts == (100, 100, 100, 100)


def test_a_histogram_series_with_no_clean_sample_is_no_data() -> None:
    series = [*_hist({"0.1": 900, "1": 1000, "+Inf": 1000}), constant({"le": "0.5"}, math.nan)]
    r = judge({**P99, "min_samples": 10}, series)
    assert (r.verdict, r.details["check"]) == ("no_data", "unclean_samples")


def test_on_no_data_pass_does_not_pass_unclean_data() -> None:
    series = [counter({"status": "200"}, 99_500), constant({"status": "500"}, math.nan)]
    r = judge({**AVAIL, "on_no_data": "pass"}, series)
    assert (r.verdict, r.gate) == ("no_data", "fail")
    r = judge({**AVAIL, "on_no_data": "pass", "severity": "warning"}, series)
    assert (r.verdict, r.gate) == ("no_data", "warn")
    r = judge({**AVAIL, "on_no_data": "pass"}, [])  # nothing at all: the user's policy holds
    assert (r.verdict, r.gate) == ("no_data", "pass")
