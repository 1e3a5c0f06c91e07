"""The PromQL plans, and the warning for ratio queries that fall into the empty-numerator trap."""

from __future__ import annotations

import pytest

from slocheck.evaluate.plan import empty_numerator_warning

ERRORS = 'sum(rate(http_requests_total{status=~"5.."}[5m]))'
TOTAL = "sum(rate(http_requests_total[5m]))"


@pytest.mark.parametrize(
    ("query", "warned"),
    [
        (f"{ERRORS} / {TOTAL}", True),
        (f"1 - ({ERRORS} / {TOTAL})", True),  # the numerator is inside the brackets
        (f'sum(rate(x{{code="5xx"}}[5m])) / {TOTAL}', True),  # fastapi-instrumentator's 5xx
        (f'sum(rate(rest_server_requests_total{{status_code="500"}}[5m])) / {TOTAL}', True),
        (f"sum(rate(deepsynth_errors_total[5m])) / {TOTAL}", True),  # an errors counter
        (f"({ERRORS} or vector(0)) / {TOTAL}", False),  # guarded
        (f"(sum(rate(app_errors_total[5m])) or on() vector(0)) / {TOTAL}", False),
        (ERRORS, False),  # not a ratio
        (f'sum(rate(http_requests_total{{status=~"2.."}}[5m])) / {TOTAL}', False),  # good share
        ('sum(rate(x{path="/a/b"}[5m]))', False),  # a / in a label value is no division
        ("histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m])))", False),
    ],
)
def test_empty_numerator_warning(query: str, warned: bool) -> None:
    warning = empty_numerator_warning(query)
    assert (warning is not None) is warned
    if warning:
        assert "or vector(0)" in warning and "no_data" in warning


# --- presets: the plan reads the preset's series, error label and unit -------------------

from slocheck.evaluate import SliData, Window, evaluate_slo, plan  # noqa: E402
from slocheck.evaluate.counters import Series  # noqa: E402
from slocheck.slofile.model import SloSpec  # noqa: E402
from slocheck.slofile.presets import Counter, Histogram, Preset  # noqa: E402

TWO_COUNTERS = Preset(
    name="two-counters",
    description="successes and failures as two counters, latency in microseconds",
    sources=(),
    route_label=None,
    requests=Counter(
        '{__name__=~"srv_request_success|srv_request_failure"}', "__name__", "srv_request_failure"
    ),
    latency=Histogram("srv_latency_us", unit="us"),
)


def _slo(**kw: object) -> SloSpec:
    return SloSpec.model_validate({"name": "s", **kw})


def test_preset_counter_with_two_names() -> None:
    p = plan(_slo(sli="availability", objective="99%"), 'job="t"', TWO_COUNTERS)
    assert p.fetch == '{job="t",__name__=~"srv_request_success|srv_request_failure"}'
    assert (p.error_label, p.error_values) == ("__name__", "srv_request_failure")
    # each name's own increase: increase() drops the names, and two series left with the same
    # labels are an error in Prometheus
    errors = 'sum(increase(srv_request_failure{job="t"}[$window]))'
    success = 'sum(increase(srv_request_success{job="t"}[$window]))'
    numerator, denominator = p.promql.split(" / ")
    assert errors in numerator and success not in numerator and "or vector(0)" in numerator
    assert errors in denominator and success in denominator
    w = Window(1000.0, 1100.0)
    series = [
        Series({"__name__": name, "job": "t"}, [(990.0, 0.0), (1100.0, n)])
        for name, n in (("srv_request_success", 970.0), ("srv_request_failure", 30.0))
    ]
    r = evaluate_slo(_slo(sli="availability", objective="99%"), p, SliData(series=series), w)
    assert (r.verdict, r.value, r.samples) == ("fail", 0.97, 1000)


def test_preset_histogram_unit_and_an_explicit_unit_wins() -> None:
    lat = _slo(sli="latency", threshold="250ms", percentile=95)
    p = plan(lat, "", TWO_COUNTERS)
    assert (p.fetch, p.unit) == ("srv_latency_us_bucket", "us")
    assert p.promql.endswith("* 1e-06")
    own = _slo(sli="latency", threshold="250ms", percentile=95, metric="mine_ms", unit="ms")
    assert (plan(own, "", TWO_COUNTERS).fetch, plan(own, "", TWO_COUNTERS).unit) == (
        "mine_ms_bucket",
        "ms",
    )


def test_client_plan_shows_what_was_measured() -> None:
    p = plan(_slo(sli="ttft", threshold="1s", percentile=95), "", client=True)
    assert p.client and p.fetch is None and p.promql.startswith("client:")


def test_a_healthy_server_whose_error_series_do_not_exist_yet_is_judged() -> None:
    """TGI: successes carry no ``err`` label and the failure counter has no series until the
    first failure; a healthy server is 100% available, not no_data."""
    healthy = Preset(
        name="healthy",
        description="",
        sources=(),
        route_label=None,
        requests=Counter('{__name__=~"x_success|x_failure"}', "err", "generation|incomplete"),
        latency=None,
    )
    s = _slo(sli="availability", objective="99%")
    p = plan(s, "", healthy)
    series = [Series({"__name__": "x_success"}, [(990.0, 0.0), (1100.0, 1000.0)])]
    r = evaluate_slo(s, p, SliData(series=series), Window(1000.0, 1100.0))
    assert (r.verdict, r.value, r.details["errors"]) == ("pass", 1.0, 0)
