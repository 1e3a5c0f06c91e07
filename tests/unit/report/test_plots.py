"""The plots of the HTML reports: thresholds drawn with their label, tick labels and titles on
both axes, a log scale when a threshold is far from the data, a latency distribution from an
HDR histogram, coloured verdicts and no literal backtick on the pages."""

from __future__ import annotations

import re
from dataclasses import replace
from html.parser import HTMLParser
from typing import Any

from slocheck.load.stats import SecondStats, Snapshot, new_histogram
from slocheck.report.html import prose, to_html
from slocheck.report.plots import (
    XAxis,
    distribution_plot,
    log_ticks,
    percentile_curve,
    svg_plot,
    wants_log,
)
from slocheck.results import CrossCheck
from slocheck.slofile import parse_spec
from slocheck.verdict import Verdict
from tests.unit.report.test_writers import _run_result


class Texts(HTMLParser):
    """The text of every SVG <text> element, by its class."""

    def __init__(self) -> None:
        super().__init__()
        self.by_class: dict[str, list[str]] = {}
        self.lines: list[dict[str, str | None]] = []
        self._cls: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "text":
            self._cls = dict(attrs).get("class") or ""
        if tag == "line":
            self.lines.append(dict(attrs))

    def handle_data(self, data: str) -> None:
        if self._cls is not None:
            self.by_class.setdefault(self._cls, []).append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "text":
            self._cls = None


def texts(svg: str) -> Texts:
    t = Texts()
    t.feed(svg)
    return t


def test_a_threshold_is_a_dashed_line_with_its_label_at_its_value() -> None:
    svg = svg_plot(
        "Latency",
        [0.0, 1.0, 2.0],
        [("p95", "#bf8700", [550.0, 600.0, 580.0])],
        "ms",
        levels=[("p95-latency: P95 250ms", "#cf222e", 250.0)],
    )
    t = texts(svg)
    thresholds = [line for line in t.lines if line.get("class") == "threshold"]
    assert len(thresholds) == 1 and thresholds[0]["stroke-dasharray"]
    assert "p95-latency: P95 250ms" in t.by_class[""]
    # drawn below the data: its y (down the page) is larger than the top tick's
    top_tick_y = max(float(line["y1"] or 0) for line in t.lines if line.get("class") is None)
    assert float(thresholds[0]["y1"] or 0) < top_tick_y


def test_both_axes_have_tick_labels_and_titles() -> None:
    svg = svg_plot(
        "Latency against requested rate",
        [20.0, 40.0, 80.0],
        [("p95", "#bf8700", [3.0, 4.0, None])],
        "ms",
        x=XAxis("requested rate (requests/s)", text=lambda x, _x0: f"{x:g}/s"),
    )
    t = texts(svg)
    assert len(t.by_class["ytick"]) >= 3 and "0" in t.by_class["ytick"]
    assert "20/s" in t.by_class["xtick"] and "80/s" in t.by_class["xtick"]
    assert t.by_class["xlabel"] == ["requested rate (requests/s)"]
    assert t.by_class["ylabel"] == ["ms"]


def test_small_values_still_get_tick_labels() -> None:
    """A capacity sweep of a fast service: P95 of a few tenths of a millisecond."""
    t = texts(svg_plot("x", [1.0, 2.0], [("p95", "#000", [0.21, 0.34])], "ms"))
    assert len(t.by_class["ytick"]) >= 3
    assert all(re.fullmatch(r"[0-9.,]+", x) for x in t.by_class["ytick"])


def test_a_threshold_far_from_the_data_gets_a_log_scale() -> None:
    assert wants_log([1.0, 3.0], [250.0])  # the threshold 80x the data
    assert wants_log([40.0, 8.0, 7.0, 9.0], [250.0])  # one slow first second: still typical 8
    assert wants_log([5000.0], [100.0])  # the data 50x the threshold
    assert not wants_log([550.0, 600.0], [250.0])  # close: linear
    assert not wants_log([1.0, 3.0], [])  # nothing to compare with
    far = svg_plot(
        "L", [0.0, 1.0], [("p95", "#000", [2.0, 3.0])], "ms", levels=[("t", "#f00", 250)]
    )
    near = svg_plot(
        "L", [0.0, 1.0], [("p95", "#000", [200.0, 300.0])], "ms", levels=[("t", "#f00", 250)]
    )
    assert texts(far).by_class["ylabel"] == ["ms (log scale)"]
    assert texts(near).by_class["ylabel"] == ["ms"]
    ticks = texts(far).by_class["ytick"]
    assert "1" in ticks and "10" in ticks and "100" in ticks  # decades labelled
    assert log_ticks(1, 100) == [1, 2, 5, 10, 20, 50, 100]
    assert log_ticks(0.1, 1000) == [0.1, 1, 10, 100, 1000]  # many decades: decades only


def test_a_log_scale_keeps_zeros_on_the_axis() -> None:
    svg = svg_plot("E", [0.0, 1.0, 2.0], [("r", "#000", [0.0, 5.0, 6.0])], "%", log=True)
    assert "NaN" not in svg and "inf" not in svg and "polyline" in svg
    assert texts(svg).by_class["ytick"][0] == "0.1"  # the zero a decade below the 5


def _hist_ms(values_ms: list[int]) -> Any:
    hist = new_histogram()
    for v in values_ms:
        hist.record_value(v * 1000)  # microseconds, as the load generator records
    return hist


def test_the_distribution_is_the_histograms_percentile_curve() -> None:
    hist = _hist_ms(list(range(1, 1001)))  # 1..1000 ms, once each
    curve = percentile_curve(hist)
    ps = [p for p, _ in curve]
    values = [v / 1000 for _, v in curve]
    assert ps[0] == 0 and 99.8 < ps[-1] <= 99.9  # a thousand values reach P99.9, no deeper
    assert values == sorted(values)  # a percentile curve never goes down
    at = dict(zip(ps, values, strict=True))
    assert 499 <= at[50] <= 501 and 989 <= at[99] <= 991  # the usual percentiles exactly
    svg = distribution_plot(
        "p95-latency: latency distribution",
        [(p, v / 1000) for p, v in curve],
        "ms",
        levels=[("p95-latency: P95 250ms", "#cf222e", 250.0)],
        marks=[("P95", "#57606a", 95.0)],
    )
    t = texts(svg)
    assert t.by_class["xtick"] == ["P0", "P50", "P90", "P99", "P99.9"]  # not P99.99
    assert "p95-latency: P95 250ms" in t.by_class[""] and "P95" in t.by_class[""]
    assert any(line.get("class") == "mark" for line in t.lines)
    assert percentile_curve(new_histogram()) == []
    assert "no data" in distribution_plot("d", [], "ms")


def _stats(values_ms: list[int], errors: int = 0) -> SecondStats:
    return SecondStats(
        count=len(values_ms),
        errors=errors,
        encoded=[_hist_ms(values_ms).encode().decode("ascii")],
    )


def _run_page(spec: str, snapshot: Snapshot, **changes: Any) -> str:
    base = _run_result(("a", "b", "c"))
    result = replace(
        base,
        loaded=parse_spec(spec),
        load=replace(base.load, snapshot=snapshot),
        verdict="fail",
        **changes,
    )
    return to_html(result)


SPEC = """version: 1
slos:
  - {name: availability, sli: availability, objective: 99.9%}
  - {name: p95-latency, sli: latency, percentile: 95, threshold: 250ms}
  - {name: errors, sli: error_ratio, threshold: 0.5%}
  - {name: ttft-p95, sli: ttft, percentile: 95, threshold: 250ms}
  - {name: itl-p99, sli: inter_token_latency, percentile: 99, threshold: 50ms}
"""


def test_the_run_page_draws_every_threshold_streams_and_distributions() -> None:
    seconds = {s: _stats([300 + s, 550 + s, 600], errors=1) for s in range(1_000, 1_040)}
    streams = {s: _stats([5, 8, 12]) for s in range(1_000, 1_040)}
    snap = Snapshot(requests={"/v1/classify": seconds}, metrics={"ttft": streams, "itl": streams})
    page = _run_page(SPEC, snap)
    t = texts(page)
    labels = t.by_class[""]
    assert "p95-latency: P95 250ms" in labels  # on the latency plot and its distribution
    assert "errors: 0.50%" in labels and "availability: 99.90% leaves 0.10%" in labels
    assert "ttft-p95: P95 250ms" in labels and "itl-p99: P99 50ms" in labels
    assert "Time to first token" in page and "Inter-token" in page
    for name in ("p95-latency", "ttft-p95", "itl-p99"):
        assert f"{name}: " in page and "distribution" in page
    assert page.count("<svg") == 8  # requests, latency, error ratio, TTFT, ITL, 3 distributions
    assert all(tick for tick in t.by_class["ytick"]) and t.by_class["xlabel"]
    assert "ms, client side (log scale)" in t.by_class["ylabel"]  # TTFT 12 ms vs 250 ms
    assert not re.search(r"<script|\bsrc=|\bhref=|@import|url\(", page)  # self-contained


def test_the_run_page_has_coloured_verdicts_and_no_backtick() -> None:
    page = _run_page(
        SPEC,
        Snapshot(),
        checks=[CrossCheck("achieved_load", False, "raise `load.users` or lower `load.rate`")],
        error="run `slocheck validate` first",
    )
    assert "`" not in page
    assert "<code>load.users</code>" in page and "<code>slocheck validate</code>" in page
    assert 'style="color:#cf222e;font-weight:bold">not ok<' in page
    assert re.search(r'class="verdict"[^>]*>FAIL<', page) or ".verdict {" in page
    assert prose("a `b` c ` <x>") == "a <code>b</code> c &#96; &lt;x&gt;"


def test_linear_ticks_are_round_and_enough() -> None:
    from slocheck.report.plots import linear_ticks

    assert linear_ticks(10.5) == [0, 5, 10]
    assert linear_ticks(84) == [0, 20, 40, 60, 80]
    assert linear_ticks(0.34) == [0, 0.1, 0.2, 0.3]
    assert linear_ticks(0) == [0]


def test_the_capacity_page_labels_its_axes_draws_thresholds_and_colours_verdicts() -> None:
    from pathlib import Path

    from slocheck.evaluate.search import Bracket, Step, StoppedBy
    from slocheck.report.capacity_report import capacity_to_html
    from slocheck.results import CapacityOptions, CapacityResult

    steps = [
        Step(20, Verdict.PASS, [], 19.9, 0.0098, 0.0147, 0.0),
        Step(40, Verdict.PASS, [], 39.7, 0.0105, 0.0125, 0.001),
        Step(80, Verdict.FAIL, ["p95-latency"], 70.0, 0.61, 0.9, 0.05),
    ]
    result = CapacityResult(
        loaded=parse_spec(SPEC),
        options=CapacityOptions(out_dir=Path("."), min_rate=20, max_rate=80),
        steps=steps,
        runs=[],
        bracket=Bracket(40, 80, ["p95-latency"]),
        started_at=0.0,
        finished_at=60.0,
        stopped_by=StoppedBy.PRECISION,
        error="the step at 90 requests/s: raise `load.users`",
    )
    page = capacity_to_html(result)
    t = texts(page)
    assert page.count("<svg") == 3 and "`" not in page
    assert t.by_class["xtick"] == ["20/s", "40/s", "80/s"] * 3  # the rates tried, each plot
    assert t.by_class["xlabel"] == ["requested rate (requests/s)"] * 3
    assert len(t.by_class["ytick"]) >= 9 and all(t.by_class["ytick"])
    assert "p95-latency: P95 250ms" in t.by_class[""] and "errors: 0.50%" in t.by_class[""]
    assert 'style="color:#cf222e;font-weight:bold">fail<' in page
    assert 'style="color:#1a7f37;font-weight:bold">pass<' in page
    assert "passes at 40/s" in t.by_class[""] and "fails at 80/s" in t.by_class[""]


def test_thresholds_at_one_value_are_drawn_once_with_both_names() -> None:
    from slocheck.report.plots import merged_levels

    levels = [
        ("a: P95 250ms", "#111", 250.0),
        ("b: 1s", "#222", 1000.0),
        ("c: ttft", "#333", 250.0),
    ]
    assert merged_levels(levels) == [
        ("a: P95 250ms; c: ttft", "#111", 250.0),
        ("b: 1s", "#222", 1000.0),
    ]
