"""``slocheck capacity`` with real processes, decided by evidence that holds at any speed: an
SLO that caps the request rate the server counted (PromQL over its own counter) passes below
55 requests/s and fails above, so the search must bracket 55 between the rates it tries,
however fast the machine is (every rate tried is a few percent of what the reference service
serves with a core busy)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import run_cli

pytestmark = pytest.mark.skipif(
    shutil.which("prometheus") is None, reason="needs the prometheus binary (scripts/setup.sh)"
)
SPEC = """version: 1
service: {name: capped, model: classifier}
load: {warmup: 2s}
slos:
  - name: rate-cap
    sli: promql
    query: >-
      sum(increase(http_requests_total{job="slocheck", endpoint="/v1/classify"}[$window]))
      / $window_seconds
    op: "<="
    threshold: 55
  - {name: availability, sli: availability, objective: 90%}
"""


def capacity(tmp_path: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    spec = tmp_path / "capped.yaml"
    spec.write_text(SPEC)
    out = tmp_path / "out"
    result = run_cli(
        ["capacity", "--slo", str(spec), "--out", str(out), "--step-duration", "6s", *extra],
        timeout=900,
    )
    report = json.loads((out / "report.json").read_text())
    return result.returncode, report, result.stdout + result.stderr


def test_the_search_brackets_the_capacity_and_names_what_broke(tmp_path: Path) -> None:
    # 20 and 40 pass, 80 fails, 60 fails, 50 passes: [50, 60] is within 25% of 50
    code, report, output = capacity(
        tmp_path, "--min-rate", "20", "--max-rate", "200", "--precision", "0.25"
    )
    assert code == 0, output
    assert report["kind"] == "capacity" and report["verdict"] == "pass"
    assert report["capacity"] == {"lower_rps": 50, "upper_rps": 60, "broken_by": ["rate-cap"]}
    assert [s["rate"] for s in report["steps"]] == [20, 40, 80, 60, 50]
    assert [s["verdict"] for s in report["steps"]] == ["pass", "pass", "fail", "fail", "pass"]
    assert report["search"]["stopped_by"] == "precision"
    for step in report["steps"]:
        assert (tmp_path / "out" / step["report"]).is_file(), "each step's own report"
    assert "between 50 and 60 requests/s, first broken by rate-cap" in output
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Throughput: achieved against requested" in html and "<svg" in html
    assert "between 50 and 60" in (tmp_path / "out" / "summary.md").read_text()


def test_a_minimum_that_fails_is_exit_1_after_one_step(tmp_path: Path) -> None:
    code, report, output = capacity(tmp_path, "--min-rate", "80", "--max-rate", "200")
    assert code == 1, output
    assert report["capacity"]["lower_rps"] is None and report["capacity"]["upper_rps"] == 80
    assert len(report["steps"]) == 1
    assert report["search"]["stopped_by"] == "min_rate_failed"


def test_a_capacity_below_the_required_rate_is_exit_1(tmp_path: Path) -> None:
    code, report, output = capacity(
        tmp_path,
        *("--min-rate", "20", "--max-rate", "40", "--require-rate", "100"),
    )
    assert code == 1, output
    assert report["capacity"]["lower_rps"] == 40 and report["capacity"]["upper_rps"] is None
    assert report["search"]["stopped_by"] == "max_rate"
    assert report["verdict"] == "fail"


def test_the_history_keeps_capacities_and_compares_them(tmp_path: Path) -> None:
    history = str(tmp_path / "bench.sqlite")
    args = ("--min-rate", "20", "--max-rate", "40", "--history", history)
    first, _, output = capacity(tmp_path / "a", *args)
    assert first == 0, output
    second, report, output = capacity(tmp_path / "b", *args, "--compare-to", "last-pass")
    assert second == 0, output
    metrics = {m["metric"]: m for m in report["comparison"]["metrics"]}
    assert metrics["capacity"]["verdict"] == "unchanged", metrics
    assert metrics["capacity"]["baseline"] == 40 and metrics["capacity"]["current"] == 40
