"""Trace replay: reading the published trace formats (``locustfiles/traces.py``), the schedule
that sends each process its share at the trace's times (``arrivals.TraceSchedule``), the rates
a replay asks for, and the spec's rules for ``load.trace``."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path

import pytest

from slocheck.errors import SpecError, UsageError
from slocheck.load.config import LoadConfig, trace_rates
from slocheck.load.locustfiles.arrivals import TraceSchedule, peak_rate, replay_rate
from slocheck.load.locustfiles.traces import BLOCK_TOKENS, TraceRow, prompt_of, read_trace, span_s
from slocheck.slofile import parse_spec

MOONCAKE = [  # as kvcache-ai/Mooncake's traces publish them: timestamps in ms
    {"timestamp": 27482, "input_length": 6955, "output_length": 52, "hash_ids": [46, 47]},
    {"timestamp": 30535, "input_length": 6472, "output_length": 26, "hash_ids": [46, 52]},
    {"timestamp": 30000, "input_length": 12, "output_length": 0, "session_id": "s-1"},
]
AZURE = (  # the Azure LLM inference trace's columns and timestamp format
    "TIMESTAMP,ContextTokens,GeneratedTokens\n"
    "2023-11-16 18:15:46.6805900,374,44\n"
    "2023-11-16 18:15:50.9951690,396,109\n"
    "2023-11-16 18:15:51.0000000,879,0\n"
)


def _jsonl(tmp_path: Path, rows: Sequence[object], name: str = "trace.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_a_mooncake_trace_is_read_in_time_order_from_zero(tmp_path: Path) -> None:
    rows = read_trace(_jsonl(tmp_path, MOONCAKE))
    assert rows == [
        TraceRow(0.0, 6955, 52, None, (46, 47)),
        TraceRow(pytest.approx(2.518), 12, 1, "s-1"),  # type: ignore[arg-type]
        TraceRow(pytest.approx(3.053), 6472, 26, None, (46, 52)),  # type: ignore[arg-type]
    ]
    assert span_s(rows) == pytest.approx(3.053)


def test_requests_that_share_hash_ids_share_their_prompts_prefix() -> None:
    rng = random.Random(0)
    a = prompt_of(TraceRow(0.0, 700, 1, None, (46, 47)), rng).split()
    b = prompt_of(TraceRow(0.0, 1024, 1, None, (46, 52)), rng).split()
    c = prompt_of(TraceRow(0.0, 600, 1, None, (9, 47)), rng).split()
    assert (len(a), len(b), len(c)) == (700, 1024, 600)  # words of the input length
    assert a[:BLOCK_TOKENS] == b[:BLOCK_TOKENS]  # block 46: the same words
    assert a[BLOCK_TOKENS:] != b[BLOCK_TOKENS : len(a)]  # 47 and 52 differ
    assert a[:BLOCK_TOKENS] != c[:BLOCK_TOKENS]  # a different first block: no shared prefix
    longer = prompt_of(TraceRow(0.0, 600, 1, None, (46,)), rng).split()
    assert longer[:BLOCK_TOKENS] == a[:BLOCK_TOKENS] and len(longer) == 600  # padded


def test_an_azure_trace_is_read_with_its_dates(tmp_path: Path) -> None:
    path = tmp_path / "AzureLLMInferenceTrace_conv.csv"
    path.write_text(AZURE, encoding="utf-8")
    rows = read_trace(path)
    assert [(round(r.at, 6), r.input_tokens, r.output_tokens) for r in rows] == [
        (0.0, 374, 44),
        (4.314579, 396, 109),
        (4.31941, 879, 1),  # no server takes max_tokens 0
    ]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"timestamp": 1, "input_length": 5}'], "line 1: missing output_length or output_tokens"),
        (['{"timestamp": -1, "input_length": 5, "output_length": 5}'], "must not be negative"),
        (['{"timestamp": "soon", "input_length": 5, "output_length": 5}'], "finite number"),
        (['{"timestamp": 1, "input_length": 0, "output_length": 5}'], "must be 1 to"),
        (['{"timestamp": 1, "input_length": 2.5, "output_length": 5}'], "whole number"),
        (["", '{"timestamp": 1, "input_length": 5, "output_length": 5}', "[1]"], "line 3"),
        (["{not json"], "line 1: not JSON"),
        (
            ['{"timestamp": 1, "input_length": 5, "output_length": 5, "hash_ids": ["a"]}'],
            "hash_ids",
        ),
        ([""], "holds no request"),
    ],
)
def test_a_bad_jsonl_trace_names_its_line(tmp_path: Path, lines: list[str], message: str) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        read_trace(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("time,ContextTokens,GeneratedTokens\n1,2,3\n", "line 1: the header lacks TIMESTAMP"),
        ("TIMESTAMP,ContextTokens,GeneratedTokens\n1,2,3\nyesterday,2,3\n", "line 3: TIMESTAMP"),
        ("TIMESTAMP,ContextTokens,GeneratedTokens\n1,many,3\n", "line 2: ContextTokens"),
    ],
)
def test_a_bad_csv_trace_names_its_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        read_trace(path)


def _times(s: TraceSchedule) -> list[tuple[float, int]]:
    out = []
    while (t := s.next()) is not None:
        assert s.row is not None
        out.append((t, s.row.input_tokens))
    return out


ROWS = [TraceRow(float(k), k + 1, 1) for k in range(10)]  # one a second, inputs 1..10


def test_each_process_replays_its_share_at_the_traces_times() -> None:
    shares = [_times(TraceSchedule(ROWS, 100.0, 1e9, 2.0, index, 3)) for index in range(3)]
    assert shares[0] == [(100.0, 1), (101.5, 4), (103.0, 7), (104.5, 10)]
    assert shares[1] == [(100.5, 2), (102.0, 5), (103.5, 8)]
    sent = sorted(inputs for share in shares for _, inputs in share)
    assert sent == list(range(1, 11))  # every request once, by one process


def test_the_replay_stops_at_the_runs_end_and_drops_what_it_cannot_send_in_time() -> None:
    assert [t for t, _ in _times(TraceSchedule(ROWS, 0.0, 4.0))] == [0.0, 1.0, 2.0, 3.0]
    s = TraceSchedule(ROWS, 0.0, 100.0)
    assert s.take(now=3.5, max_lateness=1.0) == (3.0, 3)  # 0, 1 and 2 more than 1 s late
    assert s.row == ROWS[3]
    with pytest.raises(ValueError, match="speedup"):
        TraceSchedule(ROWS, 0.0, 1.0, speedup=0.0)
    with pytest.raises(ValueError, match="no such process"):
        TraceSchedule(ROWS, 0.0, 1.0, index=2, count=2)


def test_the_rate_a_replay_asks_for_and_its_busiest_second() -> None:
    burst = [TraceRow(0.0, 1, 1)] * 5 + [TraceRow(t, 1, 1) for t in (2.0, 3.0, 4.0)]
    assert replay_rate(burst, 1.0, 1.0, 5.0) == 3 / 4
    assert replay_rate(burst, 2.0, 1.0, 2.0) == 2.0  # at 2x: 2.0 and 3.0 fall in 1 s..2 s
    assert peak_rate(burst, 1.0) == 5.0
    assert peak_rate(burst, 4.0) == 7.0  # 0.0 x5, 0.5 and 0.75 within a second


def test_a_run_that_judges_no_request_of_its_trace_is_refused(tmp_path: Path) -> None:
    path = _jsonl(tmp_path, MOONCAKE)
    rates = trace_rates(path, 1.0, 0.0, 10.0)
    assert rates.window == pytest.approx(3 / 10)
    with pytest.raises(UsageError, match="none of its 3 requests is due in the judged window"):
        trace_rates(path, 1.0, 5.0, 10.0)
    with pytest.raises(UsageError, match=r"load\.trace: .* does not exist"):
        trace_rates(tmp_path / "missing.jsonl", 1.0, 0.0, 10.0)


def test_the_trace_travels_to_the_users_as_settings(tmp_path: Path) -> None:
    path = _jsonl(tmp_path, MOONCAKE)
    cfg = LoadConfig(
        "http://127.0.0.1:1", api="openai", arrival="open", rate=0.3, trace=path, speedup=2.0
    )
    env = cfg.settings()
    assert env["SLOCHECK_TRACE"] == str(path.resolve())
    assert env["SLOCHECK_SPEEDUP"] == "2.0"
    assert env["SLOCHECK_ARRIVAL"] == "open"
    cfg.locustfiles()  # the trace is checked before Locust starts
    with pytest.raises(UsageError, match=r"load\.trace: a trace is replayed open loop"):
        LoadConfig(
            "http://127.0.0.1:1", api="slocheck", arrival="open", rate=1, trace=path
        ).locustfiles()


SPEC = (
    "version: 1\nslos:\n  - {name: a, sli: availability, objective: 99%}\n"
    "target: {api: openai}\nload:\n  trace: t.jsonl\n"
)


def test_a_trace_makes_the_arrival_open() -> None:
    load = parse_spec(SPEC, "slos.yaml").spec.load
    assert (load.arrival, load.trace, load.speedup) == ("open", "t.jsonl", 1.0)


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ("  rate: 5\n", "load.rate", "the trace sets when each request is sent"),
        ("  arrival: closed\n", "load.arrival", "replayed open loop"),
        ("  input_tokens: {mean: 5}\n", "load.input_tokens", "and its lengths"),
    ],
)
def test_what_a_trace_decides_cannot_be_set_beside_it(extra: str, field: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(SPEC + extra, "slos.yaml")
    assert info.value.field == field and message in str(info.value)


def test_a_trace_needs_the_openai_api_and_speedup_needs_a_trace() -> None:
    with pytest.raises(
        SpecError, match=r"load\.trace: only means something for target\.api openai"
    ):
        parse_spec(SPEC.replace("api: openai", "api: slocheck"), "slos.yaml")
    with pytest.raises(SpecError, match=r"load\.speedup: only means something with load\.trace"):
        parse_spec(SPEC.replace("trace: t.jsonl", "speedup: 2"), "slos.yaml")
