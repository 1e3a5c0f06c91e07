"""A run that did not run out writes every report, junit.xml included, marked with how it
ended: the SLOs it could not judge are <error> testcases, and so is the run's ending."""

from __future__ import annotations

import importlib.util
import json
import xml.etree.ElementTree as ET
from pathlib import Path

from slocheck.load import LoadConfig
from slocheck.load.runner import LoadResult
from slocheck.load.stats import Snapshot
from slocheck.report.gate import write_run_reports
from slocheck.results import Ending, RunResult
from slocheck.slofile import parse_spec

SPEC = """version: 1
slos:
  - {name: availability, sli: availability, objective: 99%}
  - {name: p95, sli: latency, percentile: 95, threshold: 1s}
"""


def _result(out: Path, ending: Ending | None, error: str | None = None) -> RunResult:
    load = LoadResult(
        config=LoadConfig(host="http://127.0.0.1:1"),
        snapshot=Snapshot(),
        launched_at=1_000.0,
        stopped_at=1_040.0,
        window_start=1_005.0,
        returncode=0,
    )
    verdict = "interrupted" if ending is not None and ending.signals else "error"
    return RunResult(
        verdict,  # type: ignore[arg-type]
        None,
        load,
        [],
        "http://127.0.0.1:1",
        "http://127.0.0.1:9",
        True,
        out,
        parse_spec(SPEC),
        error=error,
        ending=ending,
    )


def test_an_interrupted_run_writes_every_report_marked_with_its_ending(tmp_path: Path) -> None:
    ending = Ending("waiting for the final scrape", ("SIGTERM", "SIGINT"))
    written = write_run_reports(_result(tmp_path, ending))
    parquet = ["requests.parquet"] if importlib.util.find_spec("pyarrow") else []
    assert sorted(p.name for p in written) == [
        "junit.xml",
        "report.html",
        "report.json",
        "requests.jsonl.gz",  # every request the load generator saw end: none here
        *parquet,  # the same, as a table, where pyarrow is installed
        "summary.md",
    ]
    text = (
        "interrupted by SIGTERM while waiting for the final scrape (SIGINT after it: noted, "
        "the reports written); the SLOs were not judged"
    )
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["ending"] == {
        "stage": "waiting for the final scrape",
        "signals": ["SIGTERM", "SIGINT"],
        "error": None,
        "slos_judged": False,
        "text": text,
    }
    assert text in (tmp_path / "summary.md").read_text()
    assert text in (tmp_path / "report.html").read_text()
    suite = ET.fromstring((tmp_path / "junit.xml").read_text())
    assert suite.get("errors") == "3" and suite.get("tests") == "3"
    cases = {c.get("name"): c.find("error") for c in suite.iter("testcase")}
    assert set(cases) == {"availability", "p95", "run"}
    assert all(e is not None and e.get("type") == "interrupted" for e in cases.values())


def test_a_run_broken_by_an_error_names_it_in_junit(tmp_path: Path) -> None:
    error = "the load generator overran its 5 s by 30 s (it stopped answering); stopped it"
    write_run_reports(_result(tmp_path, Ending("the load", error=error), error=error))
    suite = ET.fromstring((tmp_path / "junit.xml").read_text())
    messages = [c.find("error").get("message") for c in suite.iter("testcase")]  # type: ignore[union-attr]
    assert messages[:2] == [f"not judged: {error}"[:200]] * 2
    assert json.loads((tmp_path / "report.json").read_text())["ending"]["error"] == error


def test_a_run_that_ran_out_has_no_ending(tmp_path: Path) -> None:
    write_run_reports(_result(tmp_path, None))
    assert json.loads((tmp_path / "report.json").read_text())["ending"] is None
    suite = ET.fromstring((tmp_path / "junit.xml").read_text())
    assert "run" not in {c.get("name") for c in suite.iter("testcase")}
