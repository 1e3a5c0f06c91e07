"""Goodput: a request is good when it was answered in full and met every constraint at once;
the share is judged with the interval of the other ratio SLIs."""

from __future__ import annotations

from typing import Any

import pytest

from slocheck.evaluate import Window, plan
from slocheck.evaluate.client_side import ClientSli, judge_client
from slocheck.evaluate.goodput import count_goodput, misses
from slocheck.request_record import Gaps, RequestRecord
from slocheck.slofile.goodput import GoodputConstraints
from slocheck.slofile.model import SloSpec

W = Window(1000.0, 1009.0)


def record(**kw: Any) -> RequestRecord:
    base: dict[str, Any] = {
        "name": "/v1/chat/completions",
        "sent": 1000.0,
        "end": 1001.0,
        "latency": 1.0,
        "status": "200",
        "ok": True,
        "ttft": 0.1,
        "tpot": 0.01,
        "itl": Gaps.of([0.01] * 9),
        "output_tokens": 10,
    }
    return RequestRecord(**{**base, **kw})


C = GoodputConstraints.model_validate(
    {"ttft": "200ms", "tpot": "20ms", "inter_token_latency": {"p95": "50ms"}, "e2e": "2s"}
)


@pytest.mark.parametrize(
    ("changes", "missed"),
    [
        ({}, []),
        ({"ttft": 0.3}, ["ttft"]),
        ({"tpot": 0.021}, ["tpot"]),
        ({"itl": Gaps.of([0.01] * 18 + [0.06, 0.06])}, ["inter_token_latency"]),
        ({"itl": Gaps.of([0.01] * 19 + [0.5])}, []),  # one long gap is past the p95
        ({"latency": 2.5}, ["e2e"]),
        ({"ttft": 0.3, "latency": 2.5}, ["ttft", "e2e"]),
        ({"ttft": 0.2, "tpot": 0.02, "latency": 2.0}, []),  # at the bound is within it
        # one token: no time per output token, no gap; it meets both
        ({"tpot": None, "itl": None, "output_tokens": 1}, []),
    ],
)
def test_what_a_request_misses(changes: dict[str, Any], missed: list[str]) -> None:
    assert misses(record(**changes), C) == (missed, [])


def test_an_unstreamed_answer_has_no_measure_for_ttft_or_gaps() -> None:
    whole = record(ttft=None, tpot=None, itl=None)
    assert misses(whole, C) == ([], ["ttft", "tpot", "inter_token_latency"])
    e2e_only = GoodputConstraints.model_validate({"e2e": "2s"})
    assert misses(whole, e2e_only) == ([], [])


def test_the_count_takes_the_requests_that_ended_in_the_window() -> None:
    records = [
        record(end=999.9),  # ended before the window
        record(end=1000.0),
        record(end=1004.5, ttft=0.5),  # missed ttft
        record(end=1005.0, ok=False, status="500", ttft=None, tpot=None, itl=None),
        record(end=1009.99, output_tokens=7),
        record(end=1010.0),  # after it
    ]
    g = count_goodput(records, C, W)
    assert (g.total, g.good, g.failed, g.missed) == (4, 2, 1, {"ttft": 1})
    assert g.good_output_tokens == 17
    assert g.good_per_second == pytest.approx(2 / 9)
    assert g.attainment == 0.5


def spec(**kw: Any) -> SloSpec:
    base = {"name": "goodput", "sli": "goodput", "objective": "90%", "constraints": {"ttft": "1s"}}
    return SloSpec.model_validate({**base, **kw})


def judged(s: SloSpec, records: list[RequestRecord]):  # type: ignore[no-untyped-def]
    assert s.constraints is not None
    g = count_goodput(records, s.constraints, W)
    return judge_client(s, plan(s, "", client=True), ClientSli("r", g.total, goodput=g), W)


def test_the_verdict_is_the_share_with_its_interval() -> None:
    good = [record(end=1001.0 + i / 1000) for i in range(980)]
    slow = [record(end=1002.0 + i / 1000, ttft=2.0) for i in range(20)]
    r = judged(spec(), good + slow)
    assert r.verdict == "pass" and r.value == pytest.approx(0.98)
    assert r.details["good"] == 980 and r.details["total"] == 1000
    assert r.details["missed"] == {"ttft": 20}
    assert r.details["constraints"] == "ttft 1s"
    failing = judged(spec(objective="99.5%"), good + slow)
    assert failing.verdict == "fail"
    few = judged(spec(objective="97.9%"), good + slow)
    assert few.verdict == "inconclusive"  # 98% of 1000 cannot be told from 97.9%


def test_errors_are_never_good() -> None:
    broken = [record(ok=False, status="200", error="the stream broke") for _ in range(50)]
    r = judged(spec(objective="50%"), [record()] * 10 + broken)
    assert r.verdict == "fail" and r.details["failed"] == 50


def test_no_streamed_request_is_no_data_not_a_fail() -> None:
    whole = [record(ttft=None, tpot=None, itl=None) for _ in range(100)]
    r = judged(spec(), whole)
    assert r.verdict == "no_data"
    assert "ttft" in r.explanation


def test_no_request_is_no_data() -> None:
    assert judged(spec(), []).verdict == "no_data"
