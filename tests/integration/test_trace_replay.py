"""Trace replay (``load.trace``) on the embedded reference service's OpenAI API: every request
of a Mooncake-format trace is sent once, at its timestamp divided by the speedup, with its
output length as ``max_tokens``, and the reports count the sends that went out late.

Why this holds at any speed: the intended send times come from the trace alone (compared
exactly), and which requests were sent and with what lengths are counts; how late each send
went out is measured and reported, never held to a bound here (benchmarks/ measures it)."""

from __future__ import annotations

import gzip
import json
import random
import shutil
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import run_cli

pytestmark = pytest.mark.skipif(
    shutil.which("prometheus") is None, reason="needs the prometheus binary (scripts/setup.sh)"
)

SPEC = """\
version: 1
service: {model: generator}
target: {api: openai, model: slocheck-generator}
load:
  trace: trace.jsonl
  speedup: 2
  warmup: 1s
  duration: 6s
slos:
  - {name: answered, sli: availability, objective: 90%, source: client, min_samples: 10}
"""


def write_trace(path: Path) -> list[dict[str, Any]]:
    """48 requests over 12 s of trace time (6 s at speedup 2), a burst of 8 at one instant
    among them, with sessions named as conversation traces do."""
    rng = random.Random(7)
    stamps = sorted([rng.randint(0, 12_000) for _ in range(40)] + [5_000] * 8)
    rows = [
        {
            "timestamp": ms,
            "input_length": rng.randint(4, 24),
            "output_length": rng.randint(2, 8),
            "session_id": f"conv-{k % 5}",
            "hash_ids": [k],
        }
        for k, ms in enumerate(stamps)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return rows


def test_a_trace_is_replayed_at_its_times_with_its_lengths(tmp_path: Path) -> None:
    rows = write_trace(tmp_path / "trace.jsonl")
    (tmp_path / "slos.yaml").write_text(SPEC)
    out = tmp_path / "out"
    done = run_cli(["run", "--slo", str(tmp_path / "slos.yaml"), "--out", str(out)], timeout=300)
    output = done.stdout + done.stderr
    report: dict[str, Any] = json.loads((out / "report.json").read_text())
    with gzip.open(out / "requests.jsonl.gz", "rt") as f:
        sent = [json.loads(line) for line in f]

    # every request of the trace once (6 s of replay inside the 7 s run), none besides
    assert len(sent) == len(rows), output
    assert Counter(r["max_tokens"] for r in sent) == Counter(r["output_length"] for r in rows)
    assert Counter(r["session"] for r in sent) == Counter(r["session_id"] for r in rows)
    # each at its timestamp / 2 from the start: the intended times are the trace's, exactly
    start = min(r["intended"] for r in sent)
    due = sorted((r["timestamp"] - rows[0]["timestamp"]) / 1000 / 2 for r in rows)
    assert sorted(r["intended"] - start for r in sent) == pytest.approx(due, abs=1e-6)
    assert all(r["sent"] >= r["intended"] - 0.005 for r in sent)  # never early (timer jitter)

    assert report["load"]["trace"].endswith("trace.jsonl") and report["load"]["speedup"] == 2
    o = report["client"]["open_loop"]
    assert o["distribution"] == "trace"
    # the late sends, counted by hand from the records of the window
    window_start = datetime.fromisoformat(report["load"]["window_start"]).timestamp()
    in_window = [r for r in sent if r["intended"] >= window_start]
    assert o["late_sends"] == sum(1 for r in in_window if r["sent"] - r["intended"] > 0.01)
    assert o["late_send_s"] == 0.01
    assert 0 <= o["send_lateness_p50_s"] <= o["send_lateness_p99_s"] <= o["send_lateness_max_s"]
    checks = {c["name"]: c for c in report["cross_checks"]}
    assert checks["request_counts"]["ok"], checks["request_counts"]
    assert "open loop replaying trace.jsonl 2x faster" in output
    assert "sent more than 10ms late (lateness P99" in output
    try:  # with pyarrow (the parquet extra), the same records as a table
        import pyarrow.parquet as pq

        table = pq.read_table(out / "requests.parquet").to_pylist()
        assert [r["intended"] for r in table] == [r["intended"] for r in sent]
    except ImportError:
        assert not (out / "requests.parquet").exists()
    for name in ("summary.md", "report.html"):  # the same sentence in every report
        assert (out / name).read_text().count("sent more than 10ms late") == 1, name
