"""The sweep's reports (``report/sweep_report.py``): ``curve.csv`` row by row, the best load
and its cost in words, and the HTML curve with every threshold drawn across it."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from slocheck.evaluate.sweep import Axis, CurvePoint
from slocheck.report.sweep_report import (
    best_text,
    curve_csv,
    sweep_to_html,
    sweep_to_json,
    sweep_to_markdown,
)
from slocheck.results.run_settings import SweepOptions
from slocheck.results.sweep_result import SweepResult
from slocheck.slofile import parse_spec
from slocheck.verdict import Verdict

SPEC = """\
version: 1
target: {api: openai}
cost: {per_hour: 3.6, currency: EUR}
slos:
  - {name: first-token, sli: ttft, percentile: 95, threshold: 200ms}
  - name: goodput
    sli: goodput
    objective: 95%
    constraints: {ttft: 300ms, inter_token_latency: {p95: 50ms}}
"""


def result(points: list[CurvePoint], planned: tuple[float, ...] = (1, 2, 4)) -> SweepResult:
    return SweepResult(
        loaded=parse_spec(SPEC, "slos.yaml"),
        options=SweepOptions(out_dir=Path("out"), rates=planned),
        points=points,
        runs=[],
        started_at=1_800_000_000.0,
        finished_at=1_800_000_090.0,
    )


CURVE = [
    CurvePoint(1, Verdict.PASS, [], 60, 1.0, 0.5, 0.08, 0.02, 1.0, 500.0, 0.0),
    CurvePoint(2, Verdict.PASS, [], 120, 2.0, 0.6, 0.12, 0.03, 0.99, 1000.0, 0.0),
    CurvePoint(4, Verdict.FAIL, ["first-token", "goodput"], 238, 3.9, 2.5, 0.9, 0.2, 0.4, 1200.0),
]


def test_the_curve_csv_has_a_row_per_load_and_empty_cells_for_what_was_not_measured() -> None:
    rows = list(csv.DictReader(io.StringIO(curve_csv(CURVE, Axis.RATE))))
    assert [r["rate"] for r in rows] == ["1", "2", "4"]
    assert rows[1]["ttft_p95_s"] == "0.12" and rows[1]["goodput"] == "0.99"
    assert rows[2]["verdict"] == "fail" and rows[2]["broken_by"] == "first-token;goodput"
    assert rows[2]["error_ratio"] == ""  # not measured: empty, never 0


def test_the_best_load_and_its_cost_per_million_tokens() -> None:
    s = result(CURVE)
    assert s.verdict == Verdict.PASS and s.best is CURVE[1]
    # 3.6 EUR an hour at 1,000 tokens/s: 3.6 million tokens an hour, 1 EUR a million
    assert best_text(s) == (
        "every SLO met up to 2 requests/s (1,000.0 output tokens/s); "
        "1.00 EUR per million output tokens there"
    )
    report = json.loads(sweep_to_json(s))
    assert report["kind"] == "sweep" and report["best"] == 2
    assert report["cost"]["per_million_output_tokens"] == 1.0
    assert report["points"][0]["report"] == "steps/01-1rps/report.json"
    assert "| 4 | fail |" in sweep_to_markdown(s)


def test_no_load_met_and_a_sweep_cut_short() -> None:
    assert best_text(result(CURVE[2:], planned=(4,))) == "no load met every SLO (of 4 requests/s)"
    cut = result(CURVE[:1])
    assert cut.verdict == Verdict.INTERRUPTED  # 1 of 3 loads: never a pass


def test_the_html_draws_the_curve_with_the_thresholds_across_it() -> None:
    page = sweep_to_html(result(CURVE))
    for title in ("Time to first token P95", "Inter-token latency P95", "Goodput attainment"):
        assert f"<title>{title}</title>" in page
    assert "first-token: P95 200ms" in page  # the TTFT SLO's threshold
    assert "goodput: each request&#x27;s ttft 300ms" in page  # a goodput constraint's bound
    assert "goodput: a request&#x27;s p95 gap 50ms" in page
    assert "goodput: 95.00%" in page  # the goodput objective
    assert "<title>Error ratio</title>" in page  # measured at two loads
