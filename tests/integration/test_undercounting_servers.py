"""``slocheck run`` against servers whose metrics miss failures, as vLLM's and Triton's do
(issue 23's "must show"): the gate written as ``examples/vllm.yaml`` and
``examples/triton.yaml`` describe it (built-in load, the preset, a plain availability SLO, no
``metric:`` and no ``source:``) passes a healthy server and fails one whose 5% failures its
metrics do not count, naming the requests the server did not count.

The servers are :mod:`tests.integration.fake_servers`: a vLLM whose streamed failures go out
after their 200 (the HTTP counter says 2xx; the engine counts half of them as
``finished_reason="error"``, the frontend's half nowhere) and a Triton whose full queue answers
503 without moving either counter.

Why these verdicts hold at any speed: 40 requests/s for 12 s plans ~480 requests (a machine that
sends less than 90% of the rate gets achieved_load, asserted ok); 480 without a failure decide
99% availability (Wilson's lower bound 99.2%); one request in 20 failing puts it at 95%, whose
interval lies far below 99%. The counts, not the timing, decide the cross-checks.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import run_spec
from tests.integration.fake_servers import start_fake_triton, start_fake_vllm

pytestmark = pytest.mark.skipif(
    shutil.which("prometheus") is None, reason="needs the prometheus binary (scripts/setup.sh)"
)

FAIL_EVERY = 20  # 5% of the requests fail

# examples/vllm.yaml, on this machine: slocheck's own Prometheus scrapes the server
VLLM_SPEC = """\
version: 1
service: {{name: fake-vllm}}
target: {{url: {url}, api: openai, model: {model}}}
prometheus: {{preset: vllm, scrape_interval: 1s}}
load:
  users: 10
  rate: 40
  duration: 12s
  warmup: 3s
  input_tokens: {{mean: 16, stddev: 4}}
  output_tokens: {{mean: 8, stddev: 0}}
slos:
  - name: availability
    sli: availability
    objective: 99%
"""

# examples/triton.yaml, on this machine (Triton's metrics port is its own: metrics_url)
TRITON_SPEC = """\
version: 1
service: {{name: resnet50}}
target: {{url: {url}, api: kserve-v2, model: {model}, metrics_url: {metrics_url}}}
prometheus: {{preset: triton, selector: 'model="{model}"', scrape_interval: 1s}}
load: {{users: 10, rate: 40, duration: 12s, warmup: 3s, payload: {payload}}}
slos:
  - name: availability
    sli: availability
    objective: 99%       # the example's 99.5% needs its 2 minutes of load to decide
"""
BODY = {"inputs": [{"name": "input", "shape": [1, 2], "datatype": "FP32", "data": [0.5, 0.25]}]}


def _judged(report: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    slos = {s["name"]: s for s in report["slos"]}
    checks = {c["name"]: c for c in report["cross_checks"]}
    return slos["availability"], checks


@pytest.mark.parametrize("fail_every", [None, FAIL_EVERY], ids=["healthy", "5%-failing"])
def test_vllm_streamed_failures_fail_the_gate(tmp_path: Path, fail_every: int | None) -> None:
    with start_fake_vllm(tmp_path / "vllm", fail_every=fail_every) as server:
        spec = VLLM_SPEC.format(url=server.url, model=server.model)
        code, report, output = run_spec(tmp_path, spec)
    avail, checks = _judged(report)
    assert checks["achieved_load"]["ok"], checks["achieved_load"]["message"]
    assert avail["details"]["source"] == "both", avail  # the default where slocheck loads
    # every request got an HTTP answer: the counts agree whatever the streams carried
    assert checks["request_counts"]["ok"], checks["request_counts"]["message"]
    if fail_every is None:
        assert code == 0, output
        assert avail["verdict"] == "pass", avail["explanation"]
        assert checks["error_counts"]["ok"], checks["error_counts"]["message"]
        return
    assert code == 1, output
    assert avail["verdict"] == "fail", avail["explanation"]
    # the client saw every failure; the server side, the engine's half (finished_reason=
    # "error") only, never the frontend's
    client, server = avail["details"]["client"], avail["details"]["server"]
    assert client["verdict"] == "fail"
    assert client["value"] == pytest.approx(0.95, abs=0.01)
    assert server["value"] > client["value"]
    errors = checks["error_counts"]
    assert not errors["ok"] and errors["ceiling"] == "fail"
    assert report["kept_from_passing_by"] == ["error_counts"]
    assert "did not count" in errors["message"] and "200 (stream failed)" in errors["message"]
    assert errors["details"]["uncounted"] > 0
    assert "did not count" in output  # the terminal names them too


@pytest.mark.parametrize("fail_every", [None, FAIL_EVERY], ids=["healthy", "5%-failing"])
def test_triton_queue_full_refusals_fail_the_gate(tmp_path: Path, fail_every: int | None) -> None:
    payload = tmp_path / "body.json"
    payload.write_text(json.dumps(BODY))
    with start_fake_triton(tmp_path / "triton", fail_every=fail_every) as server:
        spec = TRITON_SPEC.format(
            url=server.url, model=server.model, metrics_url=server.metrics_url, payload=payload
        )
        code, report, output = run_spec(tmp_path, spec)
    avail, checks = _judged(report)
    assert checks["achieved_load"]["ok"], checks["achieved_load"]["message"]
    assert avail["details"]["source"] == "both", avail
    if fail_every is None:
        assert code == 0, output
        assert avail["verdict"] == "pass", avail["explanation"]
        assert checks["request_counts"]["ok"], checks["request_counts"]["message"]
        return
    assert code == 1, output
    assert report["verdict"] == "fail"
    assert avail["verdict"] == "fail", avail["explanation"]
    assert avail["details"]["judged_by"] == "client"
    assert avail["details"]["server"]["verdict"] == "pass"  # Triton's counters saw no failure
    counts = checks["request_counts"]
    assert not counts["ok"] and counts["ceiling"] == "fail"
    uncounted = counts["details"]["uncounted"]
    assert uncounted > 0
    assert (
        f"the server did not count {uncounted:,} requests the client saw fail"
        in (counts["message"])
    )
    assert f"503: {uncounted:,}" in counts["message"]
    # the JUnit suite a CI job reads fails on it too
    suite = ET.parse(tmp_path / "out" / "junit.xml").getroot()
    failed = {c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None}
    assert failed == {"availability", "request_counts", "error_counts"}
    assert set(report["kept_from_passing_by"]) == {"request_counts", "error_counts"}
