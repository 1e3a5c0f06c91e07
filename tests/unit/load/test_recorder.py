"""The plugin's per-request recording: latencies buffered per second and moved into the second's
HDR histogram when a snapshot is encoded; every request counted exactly, in the second it
completes, across second boundaries, repeated snapshots and a clock that steps back."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from typing import Any

from hdrh.histogram import HdrHistogram

LOWEST_US, HIGHEST_US, DIGITS = 1, 3_600_000_000, 3

# Runs in a child: importing the plugin imports Locust, which patches with gevent. The plugin's
# clock is replaced by ``at(t)``; each ``snap()`` appends the encoded snapshot to the output.
PRELUDE = """
import json, sys, types
from slocheck.load.locustfiles import plugin as p
clock = [0.0]
p.time = types.SimpleNamespace(time=lambda: clock[0])
def at(t): clock[0] = t
r = p.Recorder()
out = []
def snap(): out.append(r.snapshot())
"""


def run(body: str) -> list[dict[str, Any]]:
    code = PRELUDE + body + "\nprint(json.dumps(out))\n"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return list(json.loads(done.stdout))


def hist(field: list[Any]) -> HdrHistogram:
    return HdrHistogram.decode(field[2])


def reference(values_us: list[int]) -> HdrHistogram:
    h = HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)
    for v in values_us:
        h.record_value(min(max(v, LOWEST_US), HIGHEST_US))
    return h


def same_counts(a: HdrHistogram, b: HdrHistogram) -> bool:
    return a.get_total_count() == b.get_total_count() and all(
        a.get_count_at_index(i) == b.get_count_at_index(i) for i in range(a.counts_len)
    )


def test_each_request_counts_in_the_second_it_completes() -> None:
    (s,) = run(
        "at(100.0); r.request('/x', 0.001, True, '200')\n"
        "at(100.5); r.request('/x', 0.002, True, '200'); r.request('/x', 0.002, False, '500')\n"
        "at(100.999999); r.request('/x', 0.003, True, '404')\n"
        "at(101.0); r.request('/x', 0.004, False, '0'); r.request('/y', 0.005, False, 'error')\n"
        "at(101.2); snap()\n"
    )
    x = s["requests"]["/x"]
    assert sorted(x) == ["100", "101"]
    assert x["100"][:2] == [4, 1] and x["100"][3:] == [0, 1]  # count, errors, _, unanswered, 4xx
    assert x["101"][:2] == [1, 1] and x["101"][3:] == [1, 0]
    h100, h101 = hist(x["100"]), hist(x["101"])
    assert h100.get_total_count() == 4 and h101.get_total_count() == 1
    assert [h100.get_count_at_value(v) for v in (1000, 2000, 3000)] == [1, 2, 1]
    assert h101.get_count_at_value(4000) == 1
    assert s["requests"]["/y"]["101"][:2] == [1, 1] and s["requests"]["/y"]["101"][3] == 1
    assert s["status"] == {"/x": {"200": 2, "500": 1, "404": 1, "0": 1}, "/y": {"error": 1}}


def test_the_histograms_hold_exactly_what_record_value_would() -> None:
    rng = random.Random(7)
    seconds = [rng.choice([rng.lognormvariate(-6.5, 0.6), rng.uniform(0, 40)]) for _ in range(5000)]
    seconds += [0.0, -0.5, 1e-7, 5000.0, 0.0012344, 0.0012345]  # clamped to 1 us .. 1 h
    (s,) = run(
        f"vals = {seconds!r}\n"
        "for i, v in enumerate(vals):\n"
        "    at(200 + i // 2000 + 0.5)\n"
        "    r.request('/x', v, True, '200')\n"
        "    if i % 3 == 0: r.metric('ttft', v)\n"
        "at(210); snap()\n"
    )
    for table, every in (("requests", 1), ("metrics", 3)):
        for k in range(3):
            chunk = range(k * 2000, min(len(seconds), (k + 1) * 2000))
            want = reference([round(seconds[i] * 1e6) for i in chunk if i % every == 0])
            got = s[table]["/x" if table == "requests" else "ttft"][str(200 + k)]
            assert got[0] == want.get_total_count()
            assert same_counts(hist(got), want)


def test_repeated_snapshots_of_an_open_second_lose_and_double_nothing() -> None:
    snaps = run(
        "at(300.1)\n"
        "for _ in range(10): r.request('/x', 0.010, True, '200')\n"
        "snap()\n"
        "for _ in range(5): r.request('/x', 0.020, True, '200')\n"
        "snap(); snap()\n"
        "at(301.5); r.request('/x', 0.030, True, '200'); snap()\n"
    )
    counts = [(hist(s["requests"]["/x"]["300"]).get_total_count()) for s in snaps]
    assert counts == [10, 15, 15, 15]
    assert [s["requests"]["/x"]["300"][0] for s in snaps] == [10, 15, 15, 15]
    last = hist(snaps[-1]["requests"]["/x"]["300"])
    assert (last.get_count_at_value(10_000), last.get_count_at_value(20_000)) == (10, 5)
    assert hist(snaps[-1]["requests"]["/x"]["301"]).get_total_count() == 1


def test_a_closed_second_is_compressed_and_reopened_if_the_clock_steps_back() -> None:
    snaps = run(
        "at(400.5); r.request('/x', 0.001, True, '200'); r.request('/x', 0.002, True, '200')\n"
        "at(402.0); snap()\n"
        "slot = r.requests['/x'][400]\n"
        "out.append({'closed': slot.hist is None and slot.values == []})\n"
        "at(400.9); r.request('/x', 0.003, True, '200')\n"  # the clock stepped back
        "at(403.0); snap()\n"
    )
    first, closed, second = snaps
    assert closed == {"closed": True}
    assert hist(first["requests"]["/x"]["400"]).get_total_count() == 2
    h = hist(second["requests"]["/x"]["400"])
    assert second["requests"]["/x"]["400"][0] == 3 and h.get_total_count() == 3
    assert [h.get_count_at_value(v) for v in (1000, 2000, 3000)] == [1, 1, 1]


def test_each_request_is_kept_whole_with_what_its_user_measured(tmp_path: Any) -> None:
    """The request event's record: Locust's send time, the status, and what the user put in
    the request's context (TTFT, gaps, tokens, session); appended as JSON lines that the parent
    reads back as records (load/request_log.py)."""
    body = (
        "at(200.75)\n"
        "m = p.Measured(ttft=0.05, tpot=0.01, gaps=[0.01, 0.02], output_tokens=3, max_tokens=3,"
        " session='1-1', turn=2)\n"
        "rec = p._record('/v1/chat/completions', 0.5, '200', None, p.with_measured(None, m),"
        " 200.25)\n"
        "r.keep(rec)\n"
        "r.keep(p._record('/v1/chat/completions', 0.1, '500', RuntimeError('boom'), {}, None))\n"
        f"p.append_records({str(tmp_path / 'requests-1.jsonl')!r}, r.take_records())\n"
        "assert r.records == []\n"
    )
    run(body)
    from slocheck.load.request_log import read_records

    ok, failed = sorted(read_records(tmp_path), key=lambda x: x.status)
    assert (ok.sent, ok.end, ok.latency, ok.ok) == (200.25, 200.75, 0.5, True)
    assert (ok.ttft, ok.tpot, ok.output_tokens, ok.session, ok.turn) == (0.05, 0.01, 3, "1-1", 2)
    assert ok.itl is not None and (ok.itl.n, ok.itl.max) == (2, 0.02)
    assert (failed.ok, failed.error, failed.sent) == (False, "boom", 200.75 - 0.1)
