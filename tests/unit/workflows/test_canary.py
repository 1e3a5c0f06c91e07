from __future__ import annotations

from slocheck.evaluate import Window
from slocheck.evaluate.counters import Series
from slocheck.prom.client import FakePromClient
from slocheck.slofile import parse_spec
from slocheck.workflows.canary import canary_analysis

SPEC = parse_spec("version: 1\nslos: [{name: a, sli: availability, objective: 99%}]\n").spec
W = Window(1000.0, 1600.0)


def deployment(name: str, ok: float, bad: float, slow_share: float) -> dict[str, list[Series]]:
    lab = {"deployment": name}
    reqs = [
        Series({**lab, "status": "200"}, [(990, 0), (1600, ok)]),
        Series({**lab, "status": "500"}, [(990, 0), (1600, bad)]),
    ]
    n = ok + bad
    buckets = [
        Series({**lab, "le": le}, [(990, 0), (1600, c)])
        for le, c in (("0.1", n * (1 - slow_share)), ("0.5", n), ("+Inf", n))
    ]
    return {"http_requests_total": reqs, "http_request_duration_seconds_bucket": buckets}


def client(*deps: dict[str, list[Series]]) -> FakePromClient:
    merged: dict[str, list[Series]] = {}
    for d in deps:
        for k, v in d.items():
            merged.setdefault(k, []).extend(v)
    return FakePromClient(series=merged)


def test_a_healthy_canary_passes() -> None:
    c = client(deployment("stable", 9900, 100, 0.0), deployment("canary", 990, 10, 0.0))
    r = canary_analysis(c, SPEC, W, 'deployment="stable"', 'deployment="canary"')
    assert not r.flagged and r.canary.requests == 1000 and r.baseline.error_ratio == 0.01


def test_errors_and_latency_flag_the_canary() -> None:
    c = client(deployment("stable", 9900, 100, 0.0), deployment("canary", 900, 100, 0.5))
    r = canary_analysis(c, SPEC, W, 'deployment="stable"', 'deployment="canary"')
    assert any("error ratio" in f for f in r.flags) and any("P95" in f for f in r.flags)


def test_a_canary_without_traffic_is_never_cleared() -> None:
    c = client(deployment("stable", 9900, 100, 0.0))
    r = canary_analysis(c, SPEC, W, 'deployment="stable"', 'deployment="canary"')
    assert r.flagged and "no requests" in r.flags[0]
