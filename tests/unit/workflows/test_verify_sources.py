"""Who judges each SLO where slocheck sent the load (issue 23): the SLIs that count failures
are judged from both sides by default, ``source: server`` says what it ignored, an open loop
judges latency from the client too, and ``verify`` (no load of ours) keeps the server. Plus
the vLLM preset's extra error counter and its inter-token latency fallback, over a fake
Prometheus."""

from __future__ import annotations

from slocheck.evaluate.client_side import ClientSli
from slocheck.evaluate.counters import Series
from slocheck.evaluate.verdicts import Window
from slocheck.prom.client import FakePromClient
from slocheck.slofile import parse_spec
from slocheck.slofile.presets import PRESETS
from slocheck.slofile.sources import source_of
from slocheck.workflows.verify import ClientMeasures, verify

W = Window(1000.0, 1030.0)


def _counter(labels: dict[str, str], value: float) -> Series:
    return Series(labels, [(W.start - 10, 0.0), (W.end, value)])


def _http(ok: float, bad: float = 0.0) -> FakePromClient:
    """A server whose counter saw ``ok`` 200s and ``bad`` 500s."""
    series = [_counter({"endpoint": "/v1/x", "status": "200"}, ok)]
    if bad:
        series.append(_counter({"endpoint": "/v1/x", "status": "500"}, bad))
    return FakePromClient(series={"http_requests_total": series})


SPEC = """\
version: 1
slos:
  - {name: availability, sli: availability, objective: 99%}
  - {name: p95, sli: latency, percentile: 95, threshold: 500ms}
  - {name: fast, sli: latency_ratio, threshold: 500ms, objective: 90%}
  - {name: trusted, sli: availability, objective: 99%, source: server}
"""


def test_where_slocheck_loads_failure_slis_are_judged_from_both_sides() -> None:
    spec = parse_spec(SPEC).spec
    preset = PRESETS["slocheck"]
    closed = {s.name: source_of(s, preset, "closed") for s in spec.slos}
    assert closed == {"availability": "both", "p95": "server", "fast": "both", "trusted": "server"}
    opened = {s.name: source_of(s, preset, "open") for s in spec.slos}
    assert opened == {"availability": "both", "p95": "both", "fast": "both", "trusted": "server"}
    verified = {s.name: source_of(s, preset) for s in spec.slos}  # slocheck verify
    assert set(verified.values()) == {"server"}


def test_a_server_that_counted_every_request_ok_still_fails_on_the_client_s_failures() -> None:
    """The input that passed wrongly before: 1,000 requests counted 200 by the server, 50 of
    which the client saw fail (a stream error after the 200)."""
    loaded = parse_spec(SPEC)
    seen = {
        "availability": ClientSli("requests", 1000, bad=50),
        "trusted": ClientSli("requests", 1000, bad=50),
    }
    m = ClientMeasures(slis=seen)
    result = verify(
        loaded,
        _http(1000.0),
        W,
        measured=m,
        only=["availability", "trusted"],
        load="closed",
    )
    by = {r.name: r for r in result.results}
    # slocheck verify sends no load: the server's count alone, as before
    assert (
        verify(loaded, _http(1000.0), W, measured=m, only=["availability"]).results[0].verdict
        == "pass"
    )
    avail = by["availability"]
    assert avail.verdict == "fail" and avail.details["judged_by"] == "client"  # (was pass)
    assert avail.details["server"]["verdict"] == "pass"
    trusted = by["trusted"]  # source: server, as the spec says, and what it ignored
    assert trusted.verdict == "pass"
    assert trusted.details["client_failures_ignored"] == 50
    assert "ignores the 50 of 1,000 requests the load generator saw fail" in trusted.explanation


def test_with_both_failing_the_report_shows_the_worse_figure() -> None:
    loaded = parse_spec(SPEC)
    seen = {"availability": ClientSli("requests", 1000, bad=50)}
    m = ClientMeasures(slis=seen)
    result = verify(
        loaded,
        _http(980.0, 20.0),
        W,
        measured=m,
        only=["availability"],
        load="closed",
    )
    (avail,) = result.results
    assert avail.verdict == "fail"
    assert avail.value is not None and abs(avail.value - 0.95) < 1e-9  # the client's 95%, not 98%
    assert "the server agrees, fail" in avail.explanation


VLLM = """\
version: 1
prometheus: {preset: vllm}
slos:
  - {name: availability, sli: availability, objective: 99%}
  - {name: itl, sli: inter_token_latency, percentile: 50, threshold: 100ms, min_samples: 1}
"""


def test_vllm_errors_include_the_engine_s_failures_after_a_200() -> None:
    http = [_counter({"handler": "/v1/chat/completions", "status": "2xx"}, 1000.0)]
    engine = [_counter({"finished_reason": "error", "model_name": "m"}, 30.0)]
    prom = FakePromClient(
        series={"http_requests_total": http, "vllm:request_success_total": engine}
    )
    result = verify(parse_spec(VLLM), prom, W, only=["availability"])
    (avail,) = result.results
    assert avail.details["errors"] == 30 and avail.details["also_errors"] == 30
    assert avail.verdict == "fail"
    assert 'vllm:request_success_total{finished_reason="error"}' in avail.promql


def _buckets(metric: str) -> list[Series]:
    return [
        _counter({"__name__": metric, "le": le}, n)
        for le, n in (("0.05", 60.0), ("0.075", 90.0), ("+Inf", 100.0))
    ]


def test_vllm_inter_token_latency_reads_the_older_name_when_the_new_one_is_absent() -> None:
    old = "vllm:time_per_output_token_seconds_bucket"
    prom = FakePromClient(series={old: _buckets(old)})
    (itl,) = verify(parse_spec(VLLM), prom, W, only=["itl"]).results
    assert itl.verdict == "pass" and itl.samples == 100
    assert old in itl.query
    assert [c[0] for c in prom.calls] == ["vllm:inter_token_latency_seconds_bucket", old]
    new = "vllm:inter_token_latency_seconds_bucket"
    both = FakePromClient(series={new: _buckets(new), old: _buckets(old)})
    (itl,) = verify(parse_spec(VLLM), both, W, only=["itl"]).results
    assert itl.samples == 100 and [c[0] for c in both.calls] == [new]  # never both, never twice


def test_only_request_counting_slos_say_what_the_client_saw_fail() -> None:
    from slocheck.evaluate.client_side import counts_requests

    spec = parse_spec(
        "version: 1\nslos:\n"
        "  - {name: a, sli: availability, objective: 99%}\n"
        "  - {name: up, sli: availability, objective: 99%, measurement: uptime}\n"
        "  - {name: e, sli: error_ratio, threshold: 1%}\n"
        "  - {name: t, sli: throughput, threshold: 1}\n"
    ).spec
    assert [s.name for s in spec.slos if counts_requests(s)] == ["a", "e"]  # not scrapes
