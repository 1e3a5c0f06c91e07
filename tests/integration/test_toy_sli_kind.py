"""A new SLI kind is one record plus one judge: a toy kind, registered for the test only, goes
through ``validate`` (the spec loads and reads back), ``verify`` against a real Prometheus over
backfilled data (its judge gives the verdicts) and the reports (JSON, JUnit, Markdown)."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from slocheck.cli import main
from slocheck.errors import SpecError
from slocheck.evaluate.counters import sum_deltas
from slocheck.evaluate.judge import JUDGES, kind_added
from slocheck.evaluate.verdicts import Builder, SliData, SloResult
from slocheck.prom import ManagedPrometheus
from slocheck.slofile import KINDS, SliKind, parse_spec
from slocheck.verdict import Verdict
from tests.integration.backfill_data import Dataset

pytestmark = pytest.mark.skipif(
    shutil.which("prometheus") is None or shutil.which("promtool") is None,
    reason="needs the prometheus and promtool binaries (scripts/setup.sh)",
)

#: The toy: requests served per second, at least ``threshold``; its series are read the way a
#: built-in counter kind reads them (``series: counter``), its verdict is its own judge's.
TOY = SliKind(
    "served_rate",
    family="served_rate",
    series="counter",
    required=("threshold",),
    default_metric="http_requests_total",
    words="requests served per second",
)


def judge_served(b: Builder, data: SliData) -> SloResult:
    """The toy's judge: the requests counted over the window's seconds, against the threshold."""
    series = list(data.series or [])
    if not series:
        return b.result(Verdict.NO_DATA, "toy judge: no requests counted", unit="requests/s")
    n = sum_deltas(series, b.window.start, b.window.read_until).total
    rate = n / b.window.seconds
    text = f"toy judge: {rate:.2f} requests/s served, threshold {b.slo.threshold:g}"
    if rate >= (b.slo.threshold or 0.0):
        return b.result(Verdict.PASS, text, value=rate, samples=n, unit="requests/s")
    return b.result(Verdict.FAIL, text, value=rate, samples=n, unit="requests/s")


SPEC = """\
version: 1
service: {name: demo}
prometheus:
  selector: job="demo"
  scrape_interval: 15s
slos:
  - {name: served-50, sli: served_rate, threshold: 50}
  - {name: served-60, sli: served_rate, threshold: 60}
  - {name: availability-99, sli: availability, objective: 99%}
"""


@pytest.fixture
def toy() -> Iterator[SliKind]:
    with kind_added(TOY, judge_served) as kind:
        yield kind
    assert "served_rate" not in KINDS and "served_rate" not in JUDGES  # undone


def test_unknown_until_registered() -> None:
    """Without its record the kind is refused as any unknown sli is."""
    with pytest.raises(SpecError) as e:
        parse_spec(SPEC)
    assert "slos[0].sli: expected one of 'availability'," in str(e.value)
    assert 'got "served_rate"' in str(e.value)


def test_validate_reads_it_back(
    toy: SliKind, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "slos.yaml"
    path.write_text(SPEC)
    assert main(["validate", "--slo", str(path)]) == 0
    out = capsys.readouterr().out
    # the record's words in the read-back, and the counter planner's series
    assert '- served-50: requests served per second on {job="demo"} against 50' in out
    assert 'PromQL:  sum(increase(http_requests_total{job="demo"}[$window]))' in out
    # its fields are its record's: a field it does not list means nothing for it
    with pytest.raises(SpecError, match=r"slos\[0\]\.percentile: has no meaning for sli served"):
        parse_spec(SPEC.replace("threshold: 50}", "threshold: 50, percentile: 95}"))
    with pytest.raises(SpecError, match=r"slos\[0\]\.threshold: required for sli served_rate"):
        parse_spec(SPEC.replace("threshold: 50}", "metric: x_total}"))


def test_verify_and_reports(
    toy: SliKind,
    tmp_path: Path,
    prom: ManagedPrometheus,
    data: Dataset,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "slos.yaml"
    path.write_text(SPEC)
    out = {name: tmp_path / name for name in ("report.json", "junit.xml", "summary.md")}
    code = main(
        [
            "verify",
            "--slo",
            str(path),
            "--prometheus-url",
            prom.url,
            "--start",
            str(data.start),
            "--end",
            str(data.end),
            "--json",
            str(out["report.json"]),
            "--junit",
            str(out["junit.xml"]),
            "--markdown",
            str(out["summary.md"]),
        ]
    )
    printed = capsys.readouterr()
    assert code == 1, printed.out + printed.err  # served-60 fails: 128,000 requests in 2,400 s
    report = {s["name"]: s for s in json.loads(out["report.json"].read_text())["slos"]}
    served, missed = report["served-50"], report["served-60"]
    assert (served["verdict"], missed["verdict"]) == ("pass", "fail")
    assert served["sli"] == "served_rate"
    assert served["value"] == pytest.approx(data.requests_in_window / (data.end - data.start))
    assert served["explanation"].startswith("toy judge: 53.33 requests/s")
    assert served["query"].startswith('http_requests_total{job="demo"}[')  # the counter planner's
    assert report["availability-99"]["verdict"] == "pass"  # the built-ins are unchanged
    cases = {c.get("name"): c for c in ET.parse(out["junit.xml"]).getroot().iter("testcase")}
    assert cases["served-60"].find("failure") is not None
    assert cases["served-50"].find("failure") is None
    summary = out["summary.md"].read_text()
    assert "served-60" in summary and "toy judge: 53.33 requests/s" in summary
    assert "served_rate" in printed.out


def test_rules_and_openslo_leave_it_out_saying_why(
    toy: SliKind, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Production rules and OpenSLO know the built-in kinds only: a new kind is left out with
    its reason, never a crash."""
    path = tmp_path / "slos.yaml"
    path.write_text(SPEC)
    assert main(["generate", "--slo", str(path), "--out", str(tmp_path / "gen")]) == 0
    to = ["convert", "--slo", str(path), "--to", "openslo", "--out", str(tmp_path / "o.yaml")]
    assert main(to) == 0
    printed = capsys.readouterr()
    text = printed.out + printed.err
    assert "no rule for served-50: sli served_rate has no production rule" in text
    assert "served-60: left out: OpenSLO has no indicator for sli served_rate" in text
