"""``slocheck run`` gathers what the cross-checks judge: from a fake Prometheus and a client
snapshot in memory (no Prometheus, no Locust)."""

from __future__ import annotations

from hdrh.histogram import HdrHistogram

from slocheck.evaluate import Window
from slocheck.evaluate.counters import Series
from slocheck.evaluate.crosscheck import cross_checks
from slocheck.load import LoadConfig, LoadResult
from slocheck.load.stats import SecondStats, Snapshot
from slocheck.prom.client import FakePromClient
from slocheck.verdict import Verdict
from slocheck.workflows.crosscheck_inputs import gather_cross_check_inputs

W = Window(1000.0, 1010.0, settle=1.0)


def _second(latencies_us: list[int], unanswered: int = 0) -> SecondStats:
    h = HdrHistogram(1, 3_600_000_000, 3)
    for v in latencies_us:
        h.record_value(v)
    encoded: bytes = h.encode()
    return SecondStats(len(latencies_us), 0, [encoded.decode()], unanswered)


def test_gathered_inputs_and_their_checks() -> None:
    requests = {sec: _second([20_000] * 10, unanswered=1) for sec in range(998, 1010)}
    snap = Snapshot(
        requests={"/v1/classify": requests},
        status={"/v1/classify": {"200": 120, "0": 12}},
        marks={"peak_users": 4.0},
    )
    load = LoadResult(
        config=LoadConfig(host="http://127.0.0.1:1", users=4),
        snapshot=snap,
        launched_at=995.0,
        stopped_at=1010.0,
        window_start=1000.0,
        returncode=0,
    )
    labels = {"job": "slocheck", "endpoint": "/v1/classify"}
    prom = FakePromClient(
        series={
            "http_requests_total": [
                Series({**labels, "status": "200"}, [(990.0, 0.0), (1010.5, 120.0)])
            ],
            "http_request_duration_seconds_bucket": [
                Series({**labels, "le": le}, [(990.0, 0.0), (1010.5, c)])
                for le, c in (("0.01", 0.0), ("0.025", 100.0), ("+Inf", 100.0))
            ],
        }
    )
    inputs = gather_cross_check_inputs(load, prom, 'job="slocheck"', 995.0, W)
    assert [c[0] for c in prom.calls] == [
        'http_requests_total{job="slocheck"}',
        'http_request_duration_seconds_bucket{job="slocheck"}',
    ]
    assert prom.calls[0][1:] == (935.0, 1011.0) and prom.calls[1][1:] == (940.0, 1011.0)
    assert inputs.client_answered == {"/v1/classify": 120}
    assert inputs.requests_in_window == 100 and inputs.load_seconds == 10.0
    assert inputs.client_p95_s is not None and abs(inputs.client_p95_s - 0.02) < 1e-4
    assert (inputs.requested_rate, inputs.requested_users, inputs.peak_users) == (None, 4, 4)
    checks = {c.name: c for c in cross_checks(inputs)}
    assert checks["request_counts"].ok
    assert checks["p95_agreement"].details["within_bucket"] is True
    assert checks["achieved_load"].ok


def test_open_loop_inputs_stats_and_verdict() -> None:
    from slocheck.evaluate.crosscheck import CrossCheck, run_verdict
    from slocheck.load.client_stats import open_loop_stats

    # intended-send latencies 1.2 s, actual-send 0.3 s; 3 sends dropped in the window, 2 before
    requests = {sec: _second([1_200_000] * 5) for sec in range(998, 1010)}
    service = {sec: _second([300_000] * 5) for sec in range(998, 1010)}
    snap = Snapshot(
        requests={"/v1/classify": requests},
        metrics={"service_time": service},
        status={"/v1/classify": {"200": 60}},
        counts={"dropped": {999: 2, 1003: 3}},
        marks={"peak_users": 2.0},
    )
    cfg = LoadConfig(
        host="http://127.0.0.1:1", users=16, rate=20.0, arrival="open", max_in_flight=2
    )
    load = LoadResult(cfg, snap, 995.0, 1010.0, 1000.0, 0)
    inputs = gather_cross_check_inputs(load, FakePromClient(series={}), 'job="x"', 995.0, W)
    assert inputs.dropped_in_window == 3 and inputs.requests_in_window == 50
    # the server sees the actual send: p95_agreement compares service_time with it
    assert inputs.client_p95_s is not None and abs(inputs.client_p95_s - 0.3) < 1e-3
    stats = open_loop_stats(load)
    assert (stats.dropped, stats.sent, stats.max_in_flight) == (3, 50, 2)
    assert stats.intended_send is not None and abs(stats.intended_send.p50_s - 1.2) < 1e-3
    assert stats.actual_send is not None and abs(stats.actual_send.p99_s - 0.3) < 1e-3
    checks = {c.name: c for c in cross_checks(inputs)}
    assert not checks["dropped"].ok
    only_dropped = [CrossCheck("achieved_load", True, ""), checks["dropped"]]
    assert run_verdict(Verdict.PASS, False, only_dropped, interrupted=False) == "inconclusive"
    assert run_verdict(Verdict.FAIL, True, only_dropped, interrupted=False) == "fail"
    assert run_verdict(Verdict.PASS, False, only_dropped, interrupted=True) == "interrupted"
    fine = [CrossCheck("achieved_load", True, ""), CrossCheck("dropped", True, "")]
    assert run_verdict(Verdict.PASS, False, fine, interrupted=False) == "pass"
    closed = LoadResult(LoadConfig(host="http://127.0.0.1:1"), snap, 995.0, 1010.0, 1000.0, 0)
    closed_inputs = gather_cross_check_inputs(closed, FakePromClient(series={}), "", 995.0, W)
    assert closed_inputs.dropped_in_window is None
    assert "dropped" not in {c.name for c in cross_checks(closed_inputs)}


def test_a_failed_cross_check_caps_the_run_at_its_ceiling() -> None:
    from slocheck.evaluate.crosscheck import CrossCheck, run_verdict

    uncounted = CrossCheck("request_counts", False, "", ceiling=Verdict.FAIL)
    differ = CrossCheck("request_counts", False, "", ceiling=Verdict.INCONCLUSIVE)
    any_check = CrossCheck("p95_agreement", False, "")  # no ceiling given: inconclusive
    held = CrossCheck("error_counts", True, "", ceiling=Verdict.FAIL)
    assert run_verdict(Verdict.PASS, False, [uncounted], interrupted=False) == "fail"
    assert run_verdict(Verdict.PASS, False, [differ], interrupted=False) == "inconclusive"
    assert run_verdict(Verdict.FAIL, True, [differ], interrupted=False) == "fail"
    assert run_verdict(Verdict.PASS, False, [any_check], interrupted=False) == "inconclusive"
    assert run_verdict(Verdict.PASS, False, [held], interrupted=False) == "pass"


def test_an_open_loop_gets_slots_to_send_through_a_stall() -> None:
    """100/s against a P95 <= 500 ms SLO, no users or max_in_flight given: enough requests in
    flight to keep sending through 5 thresholds (2.5 s) of stall, not the 16 default users."""
    from pathlib import Path

    from slocheck.load.config import in_flight_for
    from slocheck.results.load_settings import load_config
    from slocheck.results.run_settings import RunOptions
    from slocheck.slofile import parse_spec

    assert in_flight_for(100, 0.5, at_least=16) == 250
    assert in_flight_for(1, 0.01, at_least=16) == 16
    assert in_flight_for(10_000, 60, at_least=16) == 10_000
    text = (
        "version: 1\nload: {{arrival: open, rate: 100{extra}}}\n"
        "slos: [{{name: p95, sli: latency, percentile: 95, threshold: 500ms}}]\n"
    )
    options = RunOptions(out_dir=Path("."))

    def slots(extra: str, opts: RunOptions = options) -> int:
        return load_config(parse_spec(text.format(extra=extra)), opts, "http://x").locust_users

    assert slots("") == 250
    assert slots(", users: 16") == 16  # told: as told
    assert slots(", max_in_flight: 40") == 40
    assert slots("", RunOptions(out_dir=Path("."), users=8)) == 8
    closed = parse_spec(text.format(extra="").replace("open", "closed"))
    assert load_config(closed, options, "http://x").locust_users == 16
