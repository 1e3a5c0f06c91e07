"""``slocheck sweep`` with real processes: two open-loop rates on the embedded service's
OpenAI API, judged by an SLO that caps the request rate the server counted (PromQL over its own
counter: 16 requests/s), so the lower rate meets every SLO and the higher does not, at any
speed of the machine (both are a small share of what the service answers with a core busy).
The curve's files hold both loads' measures, its page draws them with the thresholds, and the
cost per million output tokens is the one at the lower rate."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from tests.helpers import run_cli

pytestmark = pytest.mark.skipif(
    shutil.which("prometheus") is None, reason="needs the prometheus binary (scripts/setup.sh)"
)
SPEC = """version: 1
service: {name: swept, model: generator}
target: {api: openai, model: slocheck-generator}
load: {warmup: 1s, output_tokens: {mean: 4}}
cost: {per_hour: 3.6}
slos:
  - name: rate-cap
    sli: promql
    query: >-
      sum(increase(http_requests_total{job="slocheck", endpoint="/v1/chat/completions"}[$window]))
      / $window_seconds
    op: "<="
    threshold: 16
  - name: goodput
    sli: goodput
    objective: 90%
    constraints: {ttft: 2s, e2e: 5s}
    min_samples: 20
"""


def test_a_sweep_writes_the_curve_with_its_thresholds_and_the_cost(tmp_path: Path) -> None:
    spec = tmp_path / "slos.yaml"
    spec.write_text(SPEC)
    out = tmp_path / "out"
    done = run_cli(
        [
            "sweep",
            "--slo",
            str(spec),
            "--rates",
            "8,24",
            "--step-duration",
            "6s",
            "--out",
            str(out),
        ],
        timeout=600,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output  # every load ran, one met every SLO
    report = json.loads((out / "report.json").read_text())
    assert report["kind"] == "sweep" and report["verdict"] == "pass"
    assert [p["at"] for p in report["points"]] == [8, 24]
    assert [p["verdict"] for p in report["points"]] == ["pass", "fail"], report["points"]
    assert report["points"][1]["broken_by"] == ["rate-cap"]
    assert report["best"] == 8
    for p in report["points"]:
        assert (out / p["report"]).is_file(), "each load's own reports"
        assert p["ttft_p95_s"] > 0 and p["goodput"] == 1.0 and p["output_tokens_per_s"] > 0

    rows = list(csv.DictReader((out / "curve.csv").open()))
    assert [(r["rate"], r["verdict"]) for r in rows] == [("8", "pass"), ("24", "fail")]
    # 3.6 an hour at the lower rate's output tokens/s, as the report computes it
    tokens_per_s = report["points"][0]["output_tokens_per_s"]
    cost = report["cost"]["per_million_output_tokens"]
    assert cost == pytest.approx(3.6 / (tokens_per_s * 3600) * 1e6, rel=1e-9)
    assert "every SLO met up to 8 requests/s" in output and "USD per million" in output

    page = (out / "report.html").read_text()
    for title in ("Time to first token P95", "Goodput attainment", "Output tokens/s"):
        assert f"<title>{title}</title>" in page
    # the goodput SLO's objective, and its per-request bounds on the TTFT and e2e plots
    assert "goodput: 90.00%" in page and "goodput: each request&#x27;s ttft 2s" in page
    assert "goodput: each request&#x27;s e2e 5s" in page
