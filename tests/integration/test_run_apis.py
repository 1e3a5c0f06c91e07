"""``slocheck run`` with the built-in API users: the OpenAI-compatible streaming API of the
embedded reference service, SLIs judged from the load generator."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers import run_cli

pytestmark = pytest.mark.skipif(
    shutil.which("prometheus") is None, reason="needs the prometheus binary (scripts/setup.sh)"
)

SLOWED = """\
version: 1
service:
  model: generator
  faults: {latency: 300ms}      # every request waits 300 ms before its first token
target: {api: openai, model: slocheck-generator}
prometheus: {selector: 'job="slocheck"', scrape_interval: 1s}
load:
  users: 8
  rate: 16
  duration: 6s
  warmup: 2s
  input_tokens: {mean: 8, stddev: 2}
  output_tokens: {mean: 6, stddev: 0}
slos:
  - {name: ttft-client, sli: ttft, percentile: 50, threshold: 250ms, source: client,
     min_samples: 10}
  - {name: tokens, sli: token_throughput, threshold: 1, source: client}
"""


def test_a_slowed_server_fails_a_ttft_slo_judged_by_the_client(tmp_path: Path) -> None:
    """Why this holds at any speed: the fault delays every first token by 300 ms, so the
    client's TTFT P50 is at least 300 ms however fast the machine, above the 250 ms threshold;
    the verdict does not depend on how many requests fit in the window beyond min_samples
    (16 requests/s for 6 s plans ~96)."""
    spec = tmp_path / "slos.yaml"
    spec.write_text(SLOWED)
    out = tmp_path / "out"
    result = run_cli(["run", "--slo", str(spec), "--out", str(out)], timeout=300)
    output = result.stdout + result.stderr
    report = json.loads((out / "report.json").read_text())
    slos = {s["name"]: s for s in report["slos"]}
    ttft = slos["ttft-client"]
    assert ttft["verdict"] == "fail", output
    assert ttft["value"] >= 0.3 and ttft["details"]["source"] == "client"
    assert ttft["promql"].startswith("client:")  # the report says who measured it
    assert "measured by the load generator" in ttft["explanation"]
    assert result.returncode == 1, output
    # every streamed answer's tokens reached the client: output tokens/s is reported
    llm = report["client"]["llm"]
    assert llm["ttft_p50_s"] >= 0.3 and llm["output_tokens"] > 0
    assert llm["itl_p50_s"] > 0 and llm["tokens_per_s_per_request_p50"] > 0
    assert slos["tokens"]["value"] == pytest.approx(
        llm["output_tokens_per_s"], rel=0.2
    )  # the same tokens, counted over the same window
    checks = {c["name"]: c for c in report["cross_checks"]}
    assert checks["request_counts"]["ok"], checks["request_counts"]["message"]
    compared = checks["request_counts"]["details"]["compared"]["/v1/chat/completions"]
    assert compared[0] == compared[1] > 0
    assert "client (streams): TTFT" in result.stdout
    assert "Client, streams: TTFT" in (out / "report.html").read_text()
    assert "Client, streams: TTFT" in (out / "summary.md").read_text()
