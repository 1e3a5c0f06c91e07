"""The client's statistics as typed records (``slocheck.load.client_stats``): read by attribute,
written to ``report.json``'s ``client`` with the keys, order and values the reports have
always had (``to_dict`` is the JSON boundary)."""

from __future__ import annotations

import json
from pathlib import Path

from hdrh.histogram import HdrHistogram

from slocheck.load import ClientStats, LoadConfig, LoadResult
from slocheck.load.client_stats import (
    GeneratorStats,
    OpenLoopStats,
    StreamStats,
    Tail,
    client_stats,
)
from slocheck.load.stats import SecondStats, Snapshot
from slocheck.verdict import Verdict

SECONDS = range(1000, 1004)  # the window: 1000..1004; the run started at 998


def _second(latencies_us: list[int], errors: int = 0) -> SecondStats:
    h = HdrHistogram(1, 3_600_000_000, 3)
    for v in latencies_us:
        h.record_value(v)
    return SecondStats(len(latencies_us), errors, [h.encode().decode()])


def _streaming_open_loop() -> LoadResult:
    """An open loop of streamed requests, on two workers: every table the client keeps."""
    snap = Snapshot(
        requests={"/v1/generate": {s: _second([200_000] * 4, 1) for s in range(998, 1004)}},
        metrics={
            "ttft": {s: _second([100_000]) for s in SECONDS},
            "itl": {s: _second([10_000]) for s in SECONDS},
            "tpot": {s: _second([20_000]) for s in SECONDS},
            "service_time": {s: _second([50_000]) for s in SECONDS},
        },
        status={"/v1/generate": {"200": 24}},
        counts={"dropped": {999: 2, 1001: 1}, "output_tokens": {s: 10 for s in SECONDS}},
        by_process={w: {s: 2 for s in range(998, 1004)} for w in ("w1", "w2")},
    )
    cfg = LoadConfig(
        host="http://127.0.0.1:1", rate=16.0, arrival="open", max_in_flight=3, workers=2
    )
    return LoadResult(cfg, snap, 995.0, 1004.0, 1000.0, 0)


def _summary(count: int, errors: int, mean: float, value: float) -> dict[str, float]:
    pct = {f"p{p}_s": value for p in (50, 90, 95, 99)}
    return {"count": count, "errors": errors, "mean_s": mean, "max_s": value, **pct}


#: what the dict-building code before the records wrote for :func:`_streaming_open_loop`
#: (generated with it, then kept): the report's contract, keys in this order
EXPECTED = {
    "window": {
        "/v1/generate": _summary(16, 4, 0.2, 0.200063),
        "ttft": _summary(4, 0, 0.1, 0.100031),
        "itl": _summary(4, 0, 0.010004, 0.010007),
        "tpot": _summary(4, 0, 0.020008, 0.020015),
        "service_time": _summary(4, 0, 0.05, 0.050015),
    },
    "whole_run": {"/v1/generate": _summary(24, 6, 0.2, 0.200063)},
    "status": {"/v1/generate": {"200": 24}},
    "llm": {
        "ttft_p50_s": 0.100031,
        "ttft_p95_s": 0.100031,
        "ttft_p99_s": 0.100031,
        "itl_p50_s": 0.010007,
        "itl_p95_s": 0.010007,
        "itl_p99_s": 0.010007,
        "tokens_per_s_per_request_p50": 49.962528103922054,
        "output_tokens": 40.0,
        "output_tokens_per_s": 10.0,
    },
    "open_loop": {
        "distribution": "constant",
        "max_in_flight": 3,
        "dropped": 1,
        "sent": 16,
        "intended_send_p50_s": 0.200063,
        "intended_send_p95_s": 0.200063,
        "intended_send_p99_s": 0.200063,
        "actual_send_p50_s": 0.050015,
        "actual_send_p95_s": 0.050015,
        "actual_send_p99_s": 0.050015,
    },
    "generators": [
        {"name": "w1", "requests": 8, "rps": 2.0},
        {"name": "w2", "requests": 8, "rps": 2.0},
    ],
}


def test_the_records_are_read_by_attribute() -> None:
    stats = client_stats(_streaming_open_loop())
    assert stats.window["/v1/generate"].count == 16 and stats.whole_run["/v1/generate"].errors == 6
    assert stats.llm is not None and stats.llm.ttft == Tail(0.100031, 0.100031, 0.100031)
    assert stats.llm.output_tokens == 40 and stats.llm.output_tokens_per_s == 10.0
    assert stats.open_loop is not None and (stats.open_loop.dropped, stats.open_loop.sent) == (
        1,
        16,
    )
    assert stats.open_loop.intended_send is not None
    assert stats.open_loop.intended_send.p95_s == 0.200063
    assert stats.generators == (GeneratorStats("w1", 8, 2.0), GeneratorStats("w2", 8, 2.0))


def test_to_dict_writes_the_reports_keys_in_their_order() -> None:
    written = client_stats(_streaming_open_loop()).to_dict()
    assert json.dumps(written) == json.dumps(EXPECTED)  # the same keys, order and values


def test_what_was_not_measured_is_left_out() -> None:
    """A closed loop of unary requests by one process: no ``llm``, ``open_loop`` or
    ``generators`` key; an empty run still has its three tables."""
    closed = LoadResult(LoadConfig(host="http://127.0.0.1:1"), Snapshot(), 995.0, 1004.0, 1000.0, 0)
    stats = client_stats(closed)
    assert (stats.llm, stats.open_loop, stats.generators) == (None, None, ())
    assert stats.to_dict() == {"window": {}, "whole_run": {}, "status": {}}
    assert StreamStats().empty and StreamStats().to_dict() == {}


def test_partial_records_write_only_what_they_hold() -> None:
    """Tokens counted with no stream latencies (and the other way round); an open loop whose
    service time was not recorded."""
    assert StreamStats(output_tokens=5, output_tokens_per_s=0.5).to_dict() == {
        "output_tokens": 5.0,
        "output_tokens_per_s": 0.5,
    }
    assert list(StreamStats(itl=Tail(1.0, 2.0, 3.0)).to_dict()) == [
        "itl_p50_s",
        "itl_p95_s",
        "itl_p99_s",
    ]
    o = OpenLoopStats("poisson", 4, 0, 9, intended_send=Tail(1.0, 2.0, 3.0))
    assert list(o.to_dict()) == [
        "distribution",
        "max_in_flight",
        "dropped",
        "sent",
        "intended_send_p50_s",
        "intended_send_p95_s",
        "intended_send_p99_s",
    ]


def test_a_run_result_without_client_statistics_writes_an_empty_client(tmp_path: Path) -> None:
    from slocheck.report.run_report import client_texts, run_to_dict
    from slocheck.results import RunResult
    from slocheck.slofile import parse_spec

    load = _streaming_open_loop()
    spec = parse_spec("version: 1\nslos: [{name: a, sli: availability, objective: 99%}]\n")
    bare = RunResult(Verdict.PASS, None, load, [], "http://t", "http://p", False, tmp_path, spec)
    assert bare.client is None and run_to_dict(bare)["client"] == {} and client_texts(None) == []
    measured = RunResult(
        Verdict.PASS,
        None,
        load,
        [],
        "http://t",
        "http://p",
        False,
        tmp_path,
        spec,
        client_stats(load),
    )
    assert run_to_dict(measured)["client"] == EXPECTED
    assert [what for what, _ in client_texts(measured.client)] == [
        "streams",
        "open loop",
        "generators",
    ]
    assert isinstance(measured.client, ClientStats)
