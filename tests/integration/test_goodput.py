"""Goodput (``sli: goodput``) on the embedded reference service's streaming API: every request
the load generator saw end is in ``requests.jsonl.gz``, and the verdict is the share of them
that met every constraint at once, as counted here by hand from that file. A server slowed on
the time to the first token only, and one slowed on the gaps between tokens only, each fail the
joint goodput SLO while a separate P95 SLO on the other measure passes.

Why these hold at any speed: the faults add fixed time (300 ms before a slowed first token, or
before every later token), so a slowed request misses a 250 ms constraint however fast the
machine; the passing SLOs' bounds (2 s) are many times what an unslowed measure takes, even
waiting behind a slowed batch. Counts are compared exactly, never against a planned figure.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import run_cli

pytestmark = pytest.mark.skipif(
    shutil.which("prometheus") is None, reason="needs the prometheus binary (scripts/setup.sh)"
)

SPEC = """\
version: 1
service:
  model: generator
  faults: {faults}
target: {{api: openai, model: slocheck-generator}}
prometheus: {{selector: 'job="slocheck"', scrape_interval: 1s}}
load:
  users: 8
  rate: 16
  duration: 6s
  warmup: 2s
  input_tokens: {{mean: 8, stddev: 2}}
  output_tokens: {{mean: 6, stddev: 0}}
slos:
  - name: goodput
    sli: goodput
    objective: 90%
    constraints: {constraints}
    min_samples: 10
  - {{name: other-p95, sli: {other}, percentile: 95, threshold: 2s, source: client,
     min_samples: 10}}
"""


def run(tmp_path: Path, faults: str, constraints: str, other: str) -> dict[str, Any]:
    spec = tmp_path / "slos.yaml"
    spec.write_text(SPEC.format(faults=faults, constraints=constraints, other=other))
    out = tmp_path / "out"
    result = run_cli(["run", "--slo", str(spec), "--out", str(out)], timeout=300)
    report: dict[str, Any] = json.loads((out / "report.json").read_text())
    report["_output"] = result.stdout + result.stderr
    report["_code"] = result.returncode
    return report


def records(out: Path) -> list[dict[str, Any]]:
    with gzip.open(out / "requests.jsonl.gz", "rt") as f:
        return [json.loads(line) for line in f]


def by_hand(rows: list[dict[str, Any]], window: dict[str, Any], ttft: float, gap_p95: float):  # type: ignore[no-untyped-def]
    """(good, total): the requests that ended in the window's whole seconds; good ones were
    answered in full with a TTFT and a P95 gap at most the bounds."""
    start, end = window["start_unix"], window["end_unix"]
    ended = [r for r in rows if start <= int(r["end"]) < end + 1]
    good = [
        r
        for r in ended
        if r["ok"] and r["ttft"] <= ttft and r.get("itl", {"p95": 0.0})["p95"] <= gap_p95
    ]
    return len(good), len(ended)


def test_a_server_slow_to_its_first_token_fails_goodput_counted_from_the_records(
    tmp_path: Path,
) -> None:
    # half the requests wait 300 ms before their first token
    report = run(
        tmp_path,
        "{latency: 300ms, latency_probability: 50%, seed: 7}",
        "{ttft: 250ms, inter_token_latency: {p95: 2s}}",
        "inter_token_latency",
    )
    output = report["_output"]
    slos = {s["name"]: s for s in report["slos"]}
    goodput, other = slos["goodput"], slos["other-p95"]
    assert goodput["verdict"] == "fail", output
    assert other["verdict"] == "pass", output  # the gaps between tokens were never slowed
    assert report["_code"] == 1, output
    rows = records(tmp_path / "out")
    good, total = by_hand(rows, report["window"], ttft=0.25, gap_p95=2.0)
    assert (goodput["details"]["good"], goodput["details"]["total"]) == (good, total)
    assert goodput["value"] == pytest.approx(good / total)
    assert goodput["details"]["missed"]["ttft"] == total - good - goodput["details"]["failed"]
    assert goodput["details"]["constraints"] == "ttft 250ms, inter_token_latency p95 2s"
    # every request the client counted is in the file, each with what the client measured
    whole_run = sum(report["client"]["status"]["/v1/chat/completions"].values())
    assert len(rows) == whole_run > 0, output
    assert all(r["status"] == "200" and r["max_tokens"] == 6 for r in rows)
    assert all(r["output_tokens"] == 6 and r["itl"]["n"] == 5 for r in rows if r["ok"])
    assert all(r["sent"] <= r["end"] and r["ttft"] <= r["latency"] for r in rows if r["ok"])


def test_a_server_slow_between_tokens_fails_goodput_while_its_ttft_passes(
    tmp_path: Path,
) -> None:
    report = run(
        tmp_path,
        "{token_latency: 300ms}",  # every token after the first waits 300 ms more
        "{ttft: 2s, inter_token_latency: {p95: 250ms}}",
        "ttft",
    )
    output = report["_output"]
    slos = {s["name"]: s for s in report["slos"]}
    assert slos["goodput"]["verdict"] == "fail", output
    assert slos["goodput"]["value"] == 0.0, output
    assert slos["goodput"]["details"]["missed"] == {
        "inter_token_latency": slos["goodput"]["details"]["total"]
    }
    assert slos["other-p95"]["verdict"] == "pass", output
    assert report["_code"] == 1, output

    # `slocheck verify --requests` judges the same window from the records file alone (every
    # SLO here reads the client: no Prometheus is asked) and says what the run said
    window = report["window"]
    again = run_cli(
        [
            *("verify", "--slo", str(tmp_path / "slos.yaml")),
            *("--requests", str(tmp_path / "out" / "requests.jsonl.gz")),
            *("--start", repr(window["start_unix"]), "--end", repr(window["end_unix"])),
            *("--prometheus-url", "http://127.0.0.1:9", "--json", str(tmp_path / "v.json")),
        ],
        timeout=120,
    )
    assert again.returncode == 1, again.stdout + again.stderr
    judged = {s["name"]: s for s in json.loads((tmp_path / "v.json").read_text())["slos"]}
    for key in ("verdict", "value", "samples"):
        assert judged["goodput"][key] == slos["goodput"][key], key
    assert judged["goodput"]["details"]["good"] == slos["goodput"]["details"]["good"]
    assert judged["other-p95"]["verdict"] == "pass"
