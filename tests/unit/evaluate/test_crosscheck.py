"""The cross-checks of ``slocheck run`` from plain data: no Prometheus, no Locust."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

import pytest

from slocheck.errors import PrometheusError
from slocheck.evaluate import Window
from slocheck.evaluate.counters import Series
from slocheck.evaluate.counts import (
    ServerMetrics,
    answered_by_client,
    endpoint_label,
    endpoints_of,
    requests_in,
    server_counts,
    server_metrics,
    unanswered_in,
)
from slocheck.evaluate.crosscheck import (
    MIN_ACHIEVED,
    CrossCheckInputs,
    achieved_load,
    cross_checks,
    first_scrape,
    p95_agreement,
    request_counts,
)

W = Window(1000.0, 1030.0, settle=2.0)
SEL = 'job="slocheck"'


def counter(endpoint: str, value: float, status: str = "200") -> Series:
    """An ``http_requests_total`` series that grew from 0 (before the load) to ``value``."""
    return Series({"endpoint": endpoint, "status": status}, [(W.start - 30, 0.0), (W.end, value)])


def buckets(counts: dict[str, float], endpoint: str = "/v1/classify") -> list[Series]:
    """Latency histogram buckets (``le`` -> cumulative count) that grew over the window."""
    return [
        Series({"endpoint": endpoint, "le": le}, [(W.start - 1, 0.0), (W.end, c)])
        for le, c in counts.items()
    ]


# 1000 requests: 900 took <= 0.1 s, 980 <= 0.25 s, all <= 0.5 s: P95 in (0.1, 0.25]
HIST = {"0.05": 100.0, "0.1": 900.0, "0.25": 980.0, "0.5": 1000.0, "+Inf": 1000.0}


@dataclass
class Second:
    """One second of client counts, shaped as the load adapter's ``SecondStats``."""

    count: int = 0
    unanswered: int = 0
    errors: int = 0
    rejected: int = 0


def test_counts_agree() -> None:
    server = server_counts(
        [counter("/v1/classify", 600), counter("/v1/classify", 4, "500")], W.start - 10, W.end
    )
    assert server == {"/v1/classify": 604}
    check = request_counts({"/v1/classify": 604}, server, SEL)
    assert check.name == "request_counts" and check.ok
    assert check.message == (
        "client and server counts agree exactly (/v1/classify: client 604, server 604)"
    )
    assert check.details == {"compared": {"/v1/classify": (604, 604)}}


def test_counts_differ() -> None:
    server = {"/v1/classify": 590.0, "/v1/generate": 40.0}
    check = request_counts({"/v1/classify": 604, "/v1/generate": 40}, server, SEL)
    assert not check.ok
    assert "client and server counts differ" in check.message
    assert "/v1/classify: client 604, server 590" in check.message
    assert "(1) the server does not count some refusals or streamed failures" in check.message
    assert "(2) scrapes were lost" in check.message
    assert check.ceiling == "inconclusive"  # the client saw no failure the server missed


def test_no_endpoint_matched_names_the_selector() -> None:
    check = request_counts({"/v1/classify": 604}, {"/metrics": 12.0}, SEL)
    assert not check.ok and check.details == {}
    assert check.message == (
        'no endpoint the client loaded is in http_requests_total{job="slocheck"} (by its '
        "endpoint / handler / http_route / route / path label): is the selector right?"
    )
    assert not request_counts({"/v1/classify": 1}, {}, SEL).ok
    other = request_counts({"/a": 1}, {}, SEL, metric="rest_server_requests_total")
    assert "rest_server_requests_total{" in other.message


def test_the_endpoint_label_of_other_instrumentations() -> None:
    """fastapi-instrumentator names the route ``handler``, OpenTelemetry ``http_route``."""
    for label in ("handler", "http_route", "path"):
        series = [
            Series({label: "/predict", "status": "2xx"}, [(990.0, 0.0), (1500.0, 30.0)]),
            Series({label: "/health", "status": "2xx"}, [(990.0, 0.0), (1500.0, 5.0)]),
        ]
        assert endpoint_label(series) == label
        assert server_counts(series, 990.0, 1500.0) == {"/predict": 30.0, "/health": 5.0}
        assert endpoints_of(series) == {"/predict", "/health"}
    assert endpoint_label([Series({"status": "200"}, [])]) == "endpoint"  # none: the default


def test_server_metrics_follow_the_spec() -> None:
    from slocheck.slofile.model import SloSpec

    def slo(**kw: object) -> SloSpec:
        return SloSpec.model_validate({"name": str(kw), **kw})

    assert server_metrics([]) == ServerMetrics()  # the reference service's names
    uptime = slo(sli="availability", objective="99%", measurement="uptime", metric="up")
    mine = [
        uptime,  # counts scrapes, not requests: skipped
        slo(sli="availability", objective="99%", metric="rest_server_requests_total"),
        slo(sli="error_ratio", threshold="1%", metric="other_total"),
        slo(sli="latency", percentile=95, threshold="1s", metric="app_latency_ms", unit="ms"),
    ]
    assert server_metrics(mine) == ServerMetrics(
        "rest_server_requests_total", "app_latency_ms_bucket", 0.001
    )


def test_p95_agreement_reads_a_histogram_in_milliseconds() -> None:
    in_ms = [
        Series({"le": le}, [(990.0, 0.0), (1600.0, n)])
        for le, n in (
            ("100", 900.0),
            ("250", 940.0),
            ("500", 990.0),
            ("1000", 1000.0),
            ("+Inf", 1000.0),
        )
    ]
    check = p95_agreement(in_ms, Window(1000.0, 1600.0), 0.3, bucket_seconds=0.001)
    assert check is not None and check.details["within_bucket"]
    assert (check.details["server_lower_s"], check.details["server_upper_s"]) == (0.25, 0.5)


def test_answered_by_client_leaves_out_requests_with_no_answer() -> None:
    status = {"/v1/classify": {"200": 590, "503": 10, "0": 7, "ConnectionError": 3}}
    assert answered_by_client(status, ["/v1/classify", "/v1/generate"]) == {
        "/v1/classify": 600,
        "/v1/generate": 0,
    }


def test_p95_inside_the_server_bucket() -> None:
    check = p95_agreement(buckets(HIST), W, client_p95_s=0.2)
    assert check is not None and check.ok and check.name == "p95_agreement"
    assert check.details["within_bucket"] is True
    assert (check.details["server_lower_s"], check.details["server_upper_s"]) == (0.1, 0.25)
    assert "lies in the server's P95 bucket (100ms, 250ms]" in check.message


def test_p95_outside_the_server_bucket_is_reported_not_failed() -> None:
    check = p95_agreement(buckets(HIST), W, client_p95_s=0.4)
    assert check is not None and check.ok  # informative: the client also counts the network
    assert check.details["within_bucket"] is False
    assert "vs the server's P95 bucket (100ms, 250ms]" in check.message
    assert "counts the network and its own queueing" in check.message


def test_no_p95_check_without_both_sides() -> None:
    assert p95_agreement(buckets(HIST), W, client_p95_s=None) is None
    assert p95_agreement([], W, client_p95_s=0.2) is None


def test_endpoints_of() -> None:
    assert endpoints_of([*buckets(HIST), Series({"le": "1"}, [])]) == {"/v1/classify", None}


def test_achieved_rate_ok_and_short() -> None:
    ok = achieved_load(2970, 30.0, rate=100.0, users=16, peak_users=16)
    assert ok.ok and ok.message == "achieved 99.0 of the requested 100 requests/s"
    assert ok.details == {
        "achieved_rps": 99.0,
        "requested_rps": 100.0,
        "requests_in_window": 2970,
    }
    short = achieved_load(2400, 30.0, rate=100.0, users=16, peak_users=16)
    assert not short.ok
    assert short.message == (
        "achieved 80.0 of the requested 100 requests/s: below 90% of the load asked for, "
        "so the gate is inconclusive"
    )
    edge = achieved_load(int(MIN_ACHIEVED * 100 * 30), 30.0, rate=100.0, users=1, peak_users=0)
    assert edge.ok  # exactly 90 %: enough; with a rate, the users do not count


def test_achieved_users_ok_and_short() -> None:
    ok = achieved_load(900, 30.0, rate=None, users=16, peak_users=16)
    assert ok.ok and ok.message == "16 of 16 users ran; 30.0 requests/s"
    short = achieved_load(900, 30.0, rate=None, users=16, peak_users=9)
    assert not short.ok and short.message.startswith("9 of 16 users ran; 30.0 requests/s: below")
    assert achieved_load(0, 0.0, rate=None, users=1, peak_users=1).details["achieved_rps"] == 0


def test_first_scrape_late_moves_the_window_start() -> None:
    ups = [Series({"job": "slocheck"}, [(1003.4, 1.0), (1004.4, 1.0)])]
    start, notes = first_scrape(ups, 1000.0, 1030.0, interrupted=False, job="slocheck")
    assert start == 1004  # the first whole second after the first scrape
    [note] = notes
    assert note.name == "first_scrape" and note.ok and note.details == {"first_scrape": 1003.4}
    assert note.message.startswith("Prometheus scraped the service first 3.4 s after the warm-up")


def test_first_scrape_in_time_changes_nothing() -> None:
    ups = [Series({"job": "slocheck"}, [(998.0, 1.0), (999.0, 1.0)])]
    assert first_scrape(ups, 1000.0, 1030.0, interrupted=False, job="slocheck") == (1000.0, [])


def test_never_scraped() -> None:
    with pytest.raises(PrometheusError, match="never scraped the target \\(job 'slocheck'\\)"):
        first_scrape([], 1000.0, 1030.0, interrupted=False, job="slocheck")
    # stopped by Ctrl-C before any scrape: nothing to judge, the window closes at the stop
    assert first_scrape([], 1000.0, 1012.5, interrupted=True, job="slocheck") == (1013, [])


def test_client_tables() -> None:
    tables = {
        "/v1/classify": {999: Second(5, 1), 1000: Second(7, 2), 1001: Second(3)},
        "/v1/generate": {1001: Second(2, 4)},
    }
    assert unanswered_in(tables, 1000) == 6
    assert requests_in(tables, 1000) == 12
    assert requests_in(tables, 0) == 17


def test_cross_checks_from_plain_inputs() -> None:
    inputs = CrossCheckInputs(
        selector=SEL,
        launched=995.0,
        window=W,
        client_answered={"/v1/classify": 1000},
        server_requests=[counter("/v1/classify", 1000)],
        server_buckets=buckets(HIST),
        client_p95_s=0.2,
        requests_in_window=1000,
        load_seconds=30.0,
        requested_rate=None,
        requested_users=4,
        peak_users=4,
    )
    checks = cross_checks(inputs)
    assert [c.name for c in checks] == [
        "request_counts",
        "error_counts",
        "p95_agreement",
        "achieved_load",
    ]
    assert all(c.ok for c in checks)


def test_no_prometheus_or_locust_needed() -> None:
    """The cross-checks import neither the Prometheus client nor the load generator."""
    code = (
        "import sys, slocheck.evaluate.crosscheck; "
        "print(sorted(m for m in sys.modules if m.split('.')[:2] in "
        "(['slocheck', 'prom'], ['slocheck', 'load']) "
        "or m.split('.')[0] in ('locust', 'gevent', 'httpx', 'requests')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- presets: route templates, servers with no route label ------------------------------

from slocheck.evaluate.counts import ALL, route_matches  # noqa: E402
from slocheck.evaluate.plan import le_matcher  # noqa: E402


@pytest.mark.parametrize(
    ("route", "name", "same"),
    [
        ("/v2/models/{model_name}/infer", "/v2/models/iris/infer", True),
        ("/v2/models/{model_name}/infer", "/v2/models/iris/v1/infer", False),
        ("/v1/chat/completions", "/v1/chat/completions", True),
        ("/v1/chat/completions", "/v1/completions", False),
        ("/items/{id}", "/items/", False),
    ],
)
def test_route_templates_match_one_segment(route: str, name: str, same: bool) -> None:
    assert route_matches(route, name) is same


def test_a_templated_route_sums_the_client_names_it_covers() -> None:
    check = request_counts(
        {"/v2/models/a/infer": 60, "/v2/models/b/infer": 40},
        {"/v2/models/{model_name}/infer": 100.0},
        SEL,
    )
    assert check.ok, check.message
    assert check.details["compared"] == {"/v2/models/{model_name}/infer": (100, 100.0)}


def test_no_route_label_compares_all_requests() -> None:
    series = [
        Series({"__name__": "ok_total"}, [(0.0, 0.0), (10.0, 90.0)]),
        Series({"__name__": "failed_total"}, [(0.0, 0.0), (10.0, 10.0)]),
    ]
    counted = server_counts(series, 0.0, 10.0, "")
    assert counted == {ALL: 100.0}
    assert request_counts({"/v2/models/m/infer": 100}, counted, SEL).ok
    differ = request_counts({"/v2/models/m/infer": 99}, counted, SEL)
    assert not differ.ok and "client 99, server 100" in differ.message
    assert endpoints_of(series, "") is None
    # a route label the histogram does not carry (vLLM's handler): every client name compares
    assert endpoints_of(series, "handler") is None


def test_le_matcher_spells_whole_bounds_both_ways() -> None:
    assert le_matcher(0.25) == 'le="0.25"'
    assert le_matcher(500.0) == 'le=~"500\\\\.0|500"'


def test_dropped_sends_are_never_a_pass() -> None:
    from slocheck.evaluate.crosscheck import dropped

    assert dropped(0, 500).ok and dropped(0, 0).ok
    bad = dropped(25, 75)
    assert not bad.ok and bad.details == {"dropped": 25, "sent": 75, "share": 0.25}
    assert "25 of 100" in bad.message and "25.0%" in bad.message and "inconclusive" in bad.message


def test_open_loop_cross_checks_include_dropped() -> None:
    inputs = CrossCheckInputs(
        selector=SEL,
        launched=995.0,
        window=W,
        client_answered={"/v1/classify": 1000},
        server_requests=[counter("/v1/classify", 1000)],
        server_buckets=buckets(HIST),
        client_p95_s=0.2,
        requests_in_window=1000,
        load_seconds=30.0,
        requested_rate=None,
        requested_users=4,
        peak_users=4,
        dropped_in_window=3,
    )
    checks = {c.name: c for c in cross_checks(inputs)}
    assert not checks["dropped"].ok and checks["dropped"].details["dropped"] == 3


def test_counts_short_by_the_client_s_failures_fail_the_run() -> None:
    """Triton's full queue: 503s counted by neither counter. The input that passed before."""
    from slocheck.evaluate.crosscheck import error_counts

    sent = {"/v2/models/m/infer": 608}
    failed = {"/v2/models/m/infer": {"503": 34}}
    server = {ALL: 574.0}
    check = request_counts(sent, server, SEL, failed=failed, server_failed={ALL: 0.0})
    assert not check.ok and check.ceiling == "fail"
    assert "the server did not count 34 requests the client saw fail (503: 34" in check.message
    assert check.details["uncounted"] == 34
    errors = error_counts(failed, {ALL: 0.0})
    assert not errors.ok and errors.ceiling == "fail"  # the server's metrics miss failures
    assert "client 34 (503: 34), server 0" in errors.message
    # the server counted the failures itself: the counts differ for another reason
    counted = request_counts(sent, server, SEL, failed=failed, server_failed={ALL: 34.0})
    assert not counted.ok and counted.ceiling == "inconclusive"
    # more counted than sent: other traffic, never the client's failures
    more = request_counts({"/v2/models/m/infer": 500}, {ALL: 574.0}, SEL, failed=failed)
    assert more.ceiling == "inconclusive" and "something else sends traffic" in more.message


def test_streamed_failures_the_http_counter_calls_2xx_are_named() -> None:
    from slocheck.evaluate.crosscheck import error_counts

    failed = {"/v1/chat/completions": {"200": 30}}
    check = error_counts(failed, {"/v1/chat/completions": 15.0})
    assert not check.ok
    assert "did not count 15 requests" in check.message
    assert "200 (stream failed): 30" in check.message
    assert error_counts(failed, {"/v1/chat/completions": 30.0}).ok


def test_server_errors_by_route_and_with_an_engine_counter() -> None:
    from slocheck.evaluate.counts import server_errors

    series = [counter("/v1/classify", 90.0), counter("/v1/classify", 10.0, "500")]
    m = ServerMetrics()
    assert server_errors(series, 995.0, W.read_until, m) == {"/v1/classify": 10.0}
    engine = [Series({"finished_reason": "error"}, [(W.start - 30, 0.0), (W.end, 5.0)])]
    assert server_errors(series, 995.0, W.read_until, m, engine) == {ALL: 15.0}
    # Triton: no route label; a cancellation is no error
    reasons = ServerMetrics(
        error_label="reason", error_values="REJECTED|BACKEND|OTHER", route_label=""
    )
    triton = [Series({"reason": r}, [(990.0, 0.0), (W.end, 3.0)]) for r in ("BACKEND", "CANCELED")]
    assert server_errors(triton, 995.0, W.read_until, reasons) == {ALL: 3.0}
