"""Table-driven tests of the verdicts: fail closed on every kind of missing or odd data."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pytest

from slocheck.evaluate import SliData, Window, evaluate_slo, overall, plan
from slocheck.evaluate.counters import Series
from slocheck.evaluate.plan import le_matcher
from slocheck.slofile.model import SloSpec

W = Window(1000.0, 1600.0)


def slo(**kw: Any) -> SloSpec:
    kw.setdefault("name", "s")
    return SloSpec.model_validate(kw)


def requests(ok: float, errors: float, *, label: str = "status", before: float = 0) -> list[Series]:
    """Counters with ``ok``/``errors`` requests inside the window W."""
    out = []
    for status, n in (("200", ok), ("503", errors)):
        out.append(
            Series(
                {label: status, "job": "demo"},
                [(990.0, before), (1300.0, before + n / 2), (1600.0, before + n)],
            )
        )
    return out


def histogram(counts: Mapping[str, float]) -> list[Series]:
    return [Series({"le": le}, [(990.0, 0.0), (1600.0, c)]) for le, c in counts.items()]


def judge(spec: SloSpec, series: list[Series] | None = None, values: list[float] | None = None):  # type: ignore[no-untyped-def]
    return evaluate_slo(
        spec, plan(spec, 'job="demo"'), SliData(series=series, values=values, query="q"), W
    )


AVAIL = {"sli": "availability", "objective": "99%"}


@pytest.mark.parametrize(
    ("spec", "series", "verdict"),
    [
        (AVAIL, requests(99_500, 500), "pass"),  # 99.5% over 100k
        (AVAIL, requests(98_500, 1_500), "fail"),  # 98.5%
        (AVAIL, requests(990, 10), "inconclusive"),  # 99.0% after 1,000: cannot tell
        ({"sli": "availability", "objective": "99.9%"}, requests(200, 0), "inconclusive"),
        ({"sli": "availability", "objective": "99.9%"}, requests(10_000, 0), "pass"),
        (AVAIL, requests(0, 0), "no_data"),  # zero requests
        (AVAIL, [], "no_data"),  # empty vector
        (AVAIL, None, "no_data"),
        (AVAIL, requests(99_500, 500, label="code"), "pass"),  # other status label names
        (AVAIL, [Series({"job": "demo"}, [(990, 0), (1600, 10)])], "no_data"),  # no status label
        ({**AVAIL, "min_samples": 1_000_000}, requests(99_500, 500), "inconclusive"),
        ({**AVAIL, "severity": "warning"}, requests(98_500, 1_500), "warn"),
        ({"sli": "error_ratio", "threshold": "1%"}, requests(99_500, 500), "pass"),
        ({"sli": "error_ratio", "threshold": "0.1%"}, requests(99_500, 500), "fail"),
        ({"sli": "throughput", "threshold": 100}, requests(60_000, 0), "pass"),  # 100 req/s
        ({"sli": "throughput", "threshold": 101}, requests(60_000, 0), "fail"),
        ({"sli": "throughput", "threshold": 1}, [], "no_data"),
    ],
)
def test_request_based(spec: dict[str, Any], series: list[Series] | None, verdict: str) -> None:
    assert judge(slo(**spec), series).verdict == verdict


def test_counts_are_exact_through_a_reset_and_with_a_baseline() -> None:
    series = requests(99_500, 500, before=1_000_000)
    series.append(Series({"status": "200"}, [(990, 50), (1200, 80), (1300, 5), (1600, 20)]))
    r = judge(slo(**AVAIL), series)
    assert r.samples == 100_000 + 30 + 20
    assert r.value == pytest.approx((99_500 + 50) / 100_050)
    assert any("reset" in n for n in r.details["notes"])


def test_result_shows_query_value_threshold_samples() -> None:
    r = judge(slo(**AVAIL), requests(99_500, 500))
    assert (r.value, r.threshold, r.samples) == (0.995, 0.99, 100_000)
    assert r.query == "q"
    assert r.promql.startswith(
        '1 - ((sum(increase(http_requests_total{job="demo",status=~"5.."}[600s])) or vector(0))'
    )
    assert "99.5%" in r.explanation and r.details["interval95"][0] > 0.99


@pytest.mark.parametrize(("policy", "gate"), [("fail", "fail"), ("warn", "warn"), ("pass", "pass")])
def test_no_data_policy(policy: str, gate: str) -> None:
    r = judge(slo(**AVAIL, on_no_data=policy), [])
    assert (r.verdict, r.gate) == ("no_data", gate)


def test_inconclusive_policy() -> None:
    r = judge(slo(**AVAIL, on_inconclusive="warn"), requests(990, 10))
    assert (r.verdict, r.gate) == ("inconclusive", "warn")


HIST = {"0.1": 900, "0.25": 940, "0.5": 990, "1": 1000, "+Inf": 1000}


@pytest.mark.parametrize(
    ("threshold", "extra", "verdict"),
    [
        ("1s", {}, "pass"),
        ("500ms", {}, "pass"),
        ("250ms", {}, "fail"),
        ("100ms", {}, "fail"),
        ("300ms", {}, "inconclusive"),
        ("280ms", {"interpolate": True}, "fail"),
        ("400ms", {"interpolate": True}, "pass"),
        ("1s", {"min_samples": 5000}, "inconclusive"),
    ],
)
def test_latency_quantile(threshold: str, extra: dict[str, Any], verdict: str) -> None:
    r = judge(slo(sli="latency", percentile=95, threshold=threshold, **extra), histogram(HIST))
    assert r.verdict == verdict
    if verdict == "inconclusive" and "min_samples" not in extra:
        assert "(250ms, 500ms]" in r.explanation
        assert (r.details["bucket_lower"], r.details["bucket_upper"]) == (0.25, 0.5)


def test_latency_needs_enough_observations_by_default() -> None:
    small = {k: v / 10 for k, v in HIST.items()}  # 100 observations: too few for a P95
    r = judge(slo(sli="latency", percentile=95, threshold="1s"), histogram(small))
    assert r.verdict == "inconclusive" and "200" in r.explanation


@pytest.mark.parametrize("series", [[], histogram(dict.fromkeys(HIST, 0.0))])
def test_latency_without_observations_is_no_data(series: list[Series]) -> None:
    assert judge(slo(sli="ttft", percentile=95, threshold="1s"), series).verdict == "no_data"


def test_quantile_in_the_inf_bucket_fails() -> None:
    r = judge(
        slo(sli="latency", percentile=99, threshold="10s"),
        histogram({"0.1": 500, "10": 980, "+Inf": 1000}),
    )
    assert r.verdict == "fail" and math.isinf(r.details["bucket_upper"])


@pytest.mark.parametrize(
    ("threshold", "objective", "verdict", "exact"),
    [
        ("250ms", "93%", "pass", True),
        ("250ms", "95%", "fail", True),
        ("300ms", "93%", "pass", False),
        ("300ms", "95%", "inconclusive", False),
        ("300ms", "99.5%", "fail", False),
    ],
)
def test_latency_ratio(threshold: str, objective: str, verdict: str, exact: bool) -> None:
    big = {k: v * 100 for k, v in HIST.items()}
    r = judge(slo(sli="latency_ratio", threshold=threshold, objective=objective), histogram(big))
    assert r.verdict == verdict
    assert any("not a bucket bound" in n for n in r.details.get("notes", [])) is not exact


@pytest.mark.parametrize(
    ("values", "op", "verdict"),
    [
        ([0.4], "<=", "pass"),
        ([0.6], "<=", "fail"),
        ([], "<=", "no_data"),
        ([math.nan], "<=", "no_data"),
        # +-Inf (x/0) is never judged: no_data, whichever way the operator points
        ([math.inf], "<=", "no_data"),
        ([math.inf], ">", "no_data"),
        ([math.inf], ">=", "no_data"),
        ([-math.inf], "<=", "no_data"),
        ([1.0, 2.0], "<=", "error"),
        ([0.5], "==", "pass"),
        ([0.5], "!=", "fail"),
    ],
)
def test_promql(values: list[float], op: str, verdict: str) -> None:
    r = judge(slo(sli="promql", query="x", op=op, threshold=0.5), values=values)
    assert r.verdict == verdict


@pytest.mark.parametrize(
    ("ups", "verdict"),
    [
        ([1.0] * 600, "pass"),
        ([1.0] * 500 + [0.0] * 100, "fail"),
        ([], "no_data"),
        ([math.nan] * 10, "no_data"),
    ],
)
def test_uptime(ups: list[float], verdict: str) -> None:
    series = [Series({"job": "demo"}, [(1000.0 + i + 1, v) for i, v in enumerate(ups)])]
    r = judge(slo(sli="availability", objective="99%", measurement="uptime"), series)
    assert r.verdict == verdict


def test_overall_gate() -> None:
    good = judge(slo(**AVAIL), requests(99_500, 500))
    warn = judge(slo(**AVAIL, severity="warning"), requests(98_500, 1_500))
    bad = judge(slo(**AVAIL), requests(98_500, 1_500))
    assert overall([good]) == "pass"
    assert overall([good, warn]) == "warn"
    assert overall([good, warn, bad]) == "fail"
    assert overall([]) == "fail"  # nothing judged is never a pass


def test_settle_reads_the_first_scrape_after_the_end() -> None:
    """The load stopped at ``end``: the scrape just after it holds the final count."""
    series = [Series({"status": "200"}, [(990.0, 0.0), (1599.0, 900.0), (1600.5, 1000.0)])]
    strict = evaluate_slo(slo(**AVAIL), plan(slo(**AVAIL), ""), SliData(series=series), W)
    settled = evaluate_slo(
        slo(**AVAIL),
        plan(slo(**AVAIL), ""),
        SliData(series=series),
        Window(W.start, W.end, settle=1.0),
    )
    assert (strict.samples, settled.samples) == (900, 1000)


def test_a_threshold_at_a_bucket_bound_is_exact() -> None:
    hist = {"0.3": 900, "0.35": 940, "0.4": 990, "1": 1000, "+Inf": 1000}
    assert (
        judge(slo(sli="latency", percentile=95, threshold="350ms"), histogram(hist)).verdict
        == "fail"
    )
    r = judge(slo(sli="latency_ratio", threshold="350ms", objective="90%"), histogram(hist))
    assert r.verdict == "pass" and "notes" not in r.details


def test_interpolation_never_passes_in_the_inf_bucket() -> None:
    r = judge(
        slo(sli="latency", percentile=99, threshold="15s", interpolate=True),
        histogram({"0.1": 500, "10": 980, "+Inf": 1000}),
    )
    assert r.verdict == "inconclusive"


@pytest.mark.parametrize(
    "sli",
    [
        {"sli": "latency", "percentile": 95, "threshold": "1s"},
        {"sli": "latency_ratio", "threshold": "1s", "objective": "90%"},
    ],
)
def test_a_histogram_without_inf_bucket_is_no_data(sli: dict[str, Any]) -> None:
    r = judge(slo(**sli), histogram({"0.1": 900, "1": 1000}))
    assert r.verdict == "no_data" and "+Inf" in r.explanation


def test_warning_slos_only_warn() -> None:
    r = judge(slo(**AVAIL, severity="warning"), [])
    assert (r.verdict, r.gate) == ("no_data", "warn")


def test_min_samples_applies_to_throughput() -> None:
    r = judge(slo(sli="throughput", threshold=1, min_samples=100_000), requests(60_000, 0))
    assert r.verdict == "inconclusive"


def test_dashboard_promql_uses_the_le_label_as_written() -> None:
    r = judge(slo(sli="latency_ratio", threshold="1s", objective="90%"), histogram(HIST))
    # Python's clients write 1.0, Go's and prometheus-cpp 1: Prometheus 2 keeps either
    assert 'le=~"1\\\\.0|1"' in r.promql


@pytest.mark.parametrize(
    ("spec", "ok", "lost", "verdict"),
    [
        (AVAIL, 99_500, 0, "pass"),
        (AVAIL, 99_500, 2_000, "fail"),  # the service went down: the server never saw these
        (AVAIL, 0, 500, "fail"),  # nothing answered at all
        ({"sli": "error_ratio", "threshold": "1%"}, 99_500, 2_000, "fail"),
        ({"sli": "throughput", "threshold": 1}, 99_500, 2_000, "pass"),  # not a ratio
    ],
)
def test_unanswered_requests_count_as_failed(
    spec: dict[str, Any], ok: float, lost: int, verdict: str
) -> None:
    s = slo(**spec)
    data = SliData(series=requests(ok, 0), query="q", unanswered=lost)
    r = evaluate_slo(s, plan(s, 'job="demo"'), data, W)
    assert r.verdict == verdict
    if lost and s.sli != "throughput":
        assert r.details["unanswered"] == lost
        assert r.samples == ok + lost
        assert f"{lost:,} of these requests got no answer" in r.explanation


def _in_unit(counts: Mapping[str, float], factor: float) -> dict[str, float]:
    """HIST's buckets with their bounds written in another unit (ms: factor 1000)."""
    return {le if le == "+Inf" else f"{float(le) * factor:g}": c for le, c in counts.items()}


@pytest.mark.parametrize(("unit", "factor"), [("ms", 1e3), ("us", 1e6)])
@pytest.mark.parametrize(
    ("sli", "verdict"),
    [
        ({"sli": "latency", "percentile": 95, "threshold": "500ms"}, "pass"),
        ({"sli": "latency", "percentile": 95, "threshold": "250ms"}, "fail"),
        ({"sli": "latency", "percentile": 95, "threshold": "300ms"}, "inconclusive"),
        ({"sli": "ttft", "percentile": 95, "threshold": "1s"}, "pass"),
        ({"sli": "latency_ratio", "threshold": "250ms", "objective": "93%"}, "pass"),
        ({"sli": "latency_ratio", "threshold": "250ms", "objective": "95%"}, "fail"),
    ],
)
def test_histograms_in_ms_and_us_judge_as_in_seconds(
    unit: str, factor: float, sli: dict[str, Any], verdict: str
) -> None:
    """Triton counts microseconds, many apps milliseconds: with ``unit:`` the thresholds stay
    durations, and every verdict and bound is the one the same histogram in seconds gets."""
    big = {k: v * 100 for k, v in HIST.items()}
    in_seconds = judge(slo(**sli), histogram(big))
    r = judge(slo(**sli, unit=unit), histogram(_in_unit(big, factor)))
    assert in_seconds.verdict == r.verdict == verdict
    if "percentile" in sli:
        bounds = (r.details["bucket_lower"], r.details["bucket_upper"])
        assert bounds == pytest.approx(
            (in_seconds.details["bucket_lower"], in_seconds.details["bucket_upper"])
        )
        assert r.promql.endswith(f" * {1 / factor:g}")
    else:
        assert le_matcher(0.25 * factor) in r.promql


def test_unit_is_refused_where_it_means_nothing() -> None:
    from slocheck.errors import SpecError
    from slocheck.slofile import parse_spec

    text = "version: 1\nslos:\n  - {name: a, sli: availability, objective: 99%, unit: ms}\n"
    with pytest.raises(SpecError, match="unit: has no meaning for sli availability"):
        parse_spec(text)
    with pytest.raises(SpecError, match="unit"):
        parse_spec(
            "version: 1\nslos:\n"
            "  - {name: a, sli: latency, percentile: 95, threshold: 1s, unit: min}\n"
        )


def counter(n: float, **labels: str) -> list[Series]:
    """One counter that counts ``n`` inside the window W."""
    return [Series(labels, [(990.0, 0.0), (1300.0, n / 2), (1600.0, n)])]


BAD_RATIO = {"sli": "ratio", "bad": "app_errors_total", "total": "app_requests_total"}


@pytest.mark.parametrize(
    ("spec", "counted", "total", "verdict"),
    [
        # the empty-numerator trap: no error counter yet is 0 errors, not an empty answer
        ({**BAD_RATIO, "objective": "99%"}, None, counter(10_000), "pass"),
        ({**BAD_RATIO, "objective": "99%"}, counter(50), counter(10_000), "pass"),
        ({**BAD_RATIO, "objective": "99%"}, counter(200), counter(10_000), "fail"),
        ({**BAD_RATIO, "objective": "99.9%"}, None, counter(200), "inconclusive"),
        ({**BAD_RATIO, "objective": "99%"}, counter(5), None, "no_data"),
        ({**BAD_RATIO, "objective": "99%"}, None, counter(0), "no_data"),
        ({**BAD_RATIO, "objective": "99%"}, counter(300), counter(200), "error"),
        (
            {"sli": "ratio", "good": "ok_total", "total": "all_total", "objective": "99%"},
            counter(9_950),
            counter(10_000),
            "pass",
        ),
        (
            {"sli": "ratio", "good": "ok_total", "total": "all_total", "objective": "99%"},
            None,
            counter(10_000),
            "fail",  # no good request counted: never a pass
        ),
    ],
)
def test_ratio(
    spec: dict[str, Any], counted: list[Series] | None, total: list[Series] | None, verdict: str
) -> None:
    s = slo(**spec)
    r = evaluate_slo(s, plan(s, ""), SliData(series=counted, total_series=total, query="q"), W)
    assert r.verdict == verdict, r.explanation
    if counted is None and total and verdict != "no_data":
        assert any("counted as 0" in n for n in r.details["notes"])


def test_ratio_promql_adds_the_selector_and_guards_the_numerator() -> None:
    s = slo(**BAD_RATIO, objective="99%")
    p = plan(s, 'job="demo"')
    assert p.fetch == 'app_errors_total{job="demo"}'
    assert p.fetch_total == 'app_requests_total{job="demo"}'
    assert p.promql.startswith('1 - (sum(increase(app_errors_total{job="demo"}[$window])) or')
    assert "vector(0))" in p.promql
    g = slo(sli="ratio", good='ok_total{code=~"2.."}', total="all_total", objective="99%")
    assert plan(g, 'job="demo"').fetch == 'ok_total{job="demo",code=~"2.."}'
