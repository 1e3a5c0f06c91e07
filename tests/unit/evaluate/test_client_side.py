"""SLIs judged from the load generator (source: client) and the stricter of both."""

from __future__ import annotations

from typing import Any

import pytest

from slocheck.evaluate import SliData, Window, evaluate_slo, plan
from slocheck.evaluate.client_side import ClientSli, judge_client, stricter
from slocheck.evaluate.counters import Series
from slocheck.slofile.model import SloSpec

W = Window(1000.0, 1100.0)


def slo(**kw: Any) -> SloSpec:
    kw.setdefault("name", "s")
    return SloSpec.model_validate(kw)


def judge(s: SloSpec, data: ClientSli | None):  # type: ignore[no-untyped-def]
    return judge_client(s, plan(s, "", client=True), data, W)


TTFT = {"sli": "ttft", "threshold": "200ms", "percentile": 95}


@pytest.mark.parametrize(
    ("spec", "data", "verdict", "value"),
    [
        (TTFT, ClientSli("ttft", 500, quantile_s=0.150), "pass", 0.150),
        (TTFT, ClientSli("ttft", 500, quantile_s=0.200), "pass", 0.200),
        (TTFT, ClientSli("ttft", 500, quantile_s=0.2002), "fail", 0.2002),
        # P95 needs 200 observations: 10 above it
        (TTFT, ClientSli("ttft", 199, quantile_s=0.01), "inconclusive", None),
        (TTFT, ClientSli("ttft", 0), "no_data", None),
        (TTFT, None, "no_data", None),
        ({"sli": "availability", "objective": "99%"}, ClientSli("r", 2000, bad=0), "pass", 1.0),
        ({"sli": "availability", "objective": "99%"}, ClientSli("r", 2000, bad=60), "fail", 0.97),
        (
            {"sli": "availability", "objective": "99%"},
            ClientSli("r", 100, bad=1),
            "inconclusive",
            0.99,
        ),
        ({"sli": "error_ratio", "threshold": "1%"}, ClientSli("r", 2000, bad=60), "fail", 0.03),
        ({"sli": "throughput", "threshold": 10}, ClientSli("r", 1001), "pass", 10.01),
        ({"sli": "throughput", "threshold": 10}, ClientSli("r", 999), "fail", 9.99),
        ({"sli": "token_throughput", "threshold": 100}, ClientSli("t", 20_000), "pass", 200.0),
        ({"sli": "token_throughput", "threshold": 100}, ClientSli("t", 0), "no_data", None),
        (
            {"sli": "latency_ratio", "threshold": "250ms", "objective": "95%"},
            ClientSli("r", 2000, within=1990),
            "pass",
            0.995,
        ),
        (
            {"sli": "latency_ratio", "threshold": "250ms", "objective": "95%"},
            ClientSli("r", 2000, within=1700),
            "fail",
            0.85,
        ),
    ],
)
def test_client_verdicts(
    spec: dict[str, Any], data: ClientSli | None, verdict: str, value: Any
) -> None:
    r = judge(slo(source="client", **spec), data)
    assert r.verdict == verdict, r.explanation
    if value is not None:
        assert r.value == pytest.approx(value)
    assert r.details["source"] == "client"
    assert r.promql.startswith("client:")  # the report says what was measured instead of PromQL


def test_verify_without_a_load_explains_no_data() -> None:
    r = judge(slo(source="client", **TTFT), None)
    assert "slocheck run" in r.explanation


def _server(s: SloSpec, slow: float):  # type: ignore[no-untyped-def]
    """1,000 observations, ``slow`` of them above 250 ms, the rest within 100 ms."""
    series = [
        Series({"le": le}, [(990.0, 0.0), (1100.0, c)])
        for le, c in (("0.1", 1000 - slow), ("0.25", 1000.0 - slow), ("+Inf", 1000.0))
    ]
    return evaluate_slo(s, plan(s, ""), SliData(series=series, query="q"), W)


def test_both_takes_the_stricter_and_shows_both_values() -> None:
    s = slo(source="both", **{**TTFT, "threshold": "250ms"})
    server = _server(s, 10)  # server P95 in (0, 100 ms]: pass
    client = judge(s, ClientSli("ttft", 1000, quantile_s=0.3))  # the client saw 300 ms: fail
    both = stricter(server, client)
    assert (server.verdict, client.verdict, both.verdict) == ("pass", "fail", "fail")
    assert both.details["judged_by"] == "client"
    assert both.details["server"]["verdict"] == "pass"
    assert both.details["client"]["value"] == 0.3
    assert "server says pass" in both.explanation
    # and the other way round: a server that fails is not rescued by a client that passes
    fine = judge(s, ClientSli("ttft", 1000, quantile_s=0.05))
    bad_server = _server(s, 100)  # P95 in (100ms, 250ms]: pass...
    assert stricter(bad_server, fine).verdict == bad_server.verdict
    no_data = judge(s, ClientSli("ttft", 0))
    assert stricter(server, no_data).verdict == "no_data"
