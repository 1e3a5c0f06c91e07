"""Reports from a fixed verification: compared with golden files, and hostile names escaped.

Regenerate the golden files after an intended change with ``SLOCHECK_UPDATE_GOLDEN=1 pytest``.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from slocheck.evaluate import SliData, Window, evaluate_slo, overall, plan
from slocheck.evaluate.counters import Series
from slocheck.report import to_json, to_junit, to_markdown, write_atomic
from slocheck.results import VerifyResult
from slocheck.slofile.model import SloSpec
from slocheck.verdict import Verdict

GOLDEN = Path(__file__).parent / "golden"
W = Window(1_700_000_000.0, 1_700_000_600.0)


def _series(ok: float, bad: float) -> list[Series]:
    return [
        Series({"status": s}, [(W.start - 5, 0.0), (W.end, n)])
        for s, n in (("200", ok), ("500", bad))
    ]


def _hist() -> list[Series]:
    counts = {"0.1": 9000, "0.25": 9400, "0.5": 9900, "1": 10000, "+Inf": 10000}
    return [Series({"le": le}, [(W.start - 5, 0.0), (W.end, c)]) for le, c in counts.items()]


def fixed_result(
    names: tuple[str, str, str] = ("availability", "p95 latency", "custom"),
) -> VerifyResult:
    specs = [
        (
            SloSpec(name=names[0], sli="availability", objective=0.999),
            SliData(series=_series(9950, 50), query="http_requests_total[660s]"),
        ),
        (
            SloSpec(name=names[1], sli="latency", percentile=95, threshold=0.3),
            SliData(series=_hist(), query="http_request_duration_seconds_bucket[660s]"),
        ),
        (
            SloSpec(name=names[2], sli="promql", query="sum(x)", op="<", threshold=1.0),
            SliData(values=[], query="sum(x)"),
        ),
    ]
    results = [evaluate_slo(s, plan(s, 'job="demo"'), d, W) for s, d in specs]
    return VerifyResult(
        spec_path="examples/slos.yaml",
        spec_sha256="0" * 64,
        prometheus_url="http://127.0.0.1:9090",
        window=W,
        results=results,
        verdict=overall(results),
        evaluated_at=W.end + 1,
    )


def _stable_json(text: str) -> str:
    data = json.loads(text)
    data["environment"] = {"python": "X", "platform": "X"}
    data["tool"]["version"] = "X"
    return json.dumps(data, indent=2) + "\n"


@pytest.mark.parametrize(
    ("name", "render"),
    [
        ("report.json", lambda r: _stable_json(to_json(r))),
        ("report.xml", to_junit),
        ("report.md", to_markdown),
    ],
)
def test_golden(name: str, render, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    text = render(fixed_result())
    golden = GOLDEN / name
    if os.environ.get("SLOCHECK_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()


def test_json_schema_fields() -> None:
    data = json.loads(to_json(fixed_result()))
    assert data["schema_version"] == 1 and data["verdict"] == "fail"
    first = data["slos"][0]
    assert {
        "name",
        "sli",
        "verdict",
        "value",
        "threshold",
        "query",
        "samples",
        "explanation",
    } <= set(first)
    assert [s["verdict"] for s in data["slos"]] == ["fail", "inconclusive", "no_data"]


def test_junit_has_one_testcase_per_slo() -> None:
    root = ET.fromstring(to_junit(fixed_result()))
    cases = root.findall("testcase")
    assert [c.get("name") for c in cases] == ["availability", "p95 latency", "custom"]
    assert root.get("tests") == "3" and root.get("failures") == "3"
    failure = cases[0].find("failure")
    assert failure is not None and "99.5%" in (failure.get("message") or "")
    assert ">= 99.9%" in (failure.get("message") or "")


HOSTILE = ("<script>alert(1)</script>", "a|b`c` **bold** [x](http://evil)", "\"&'<>]]>\x1b[31m")


def test_hostile_names_are_escaped() -> None:
    result = fixed_result(HOSTILE)
    md = to_markdown(result)
    assert "<script>" not in md and "| a|b" not in md and "[x](http" not in md
    root = ET.fromstring(to_junit(result))  # parses: escaped, control characters replaced
    names = [c.get("name") for c in root.findall("testcase")]
    assert names[0] == HOSTILE[0] and names[2] == "\"&'<>]]>"  # ESC[31m removed
    assert json.loads(to_json(result))["slos"][0]["name"] == HOSTILE[0]


def test_write_atomic_replaces_whole_files(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "report.json"
    write_atomic(target, "first")
    write_atomic(target, "second")
    assert target.read_text() == "second"
    assert [p.name for p in target.parent.iterdir()] == ["report.json"]  # no temp file left
    assert target.stat().st_mode & 0o044 == 0o044  # readable by others, as with open()


def _run_result(names: tuple[str, str, str]) -> Any:
    from slocheck.load import LoadConfig
    from slocheck.load.runner import LoadResult
    from slocheck.load.stats import Snapshot
    from slocheck.results import CrossCheck, RunResult
    from slocheck.slofile import parse_spec

    load = LoadResult(
        config=LoadConfig(host="http://127.0.0.1:1", scenario=names[1]),
        snapshot=Snapshot(),
        launched_at=1_000.0,
        stopped_at=1_040.0,
        window_start=1_005.0,
        returncode=0,
    )
    return RunResult(
        verdict=Verdict.ERROR,
        verify=fixed_result(names),
        load=load,
        checks=[CrossCheck(names[0], False, names[2])],
        target_url="http://127.0.0.1:1/" + names[0],
        prometheus_url="http://127.0.0.1:9",
        embedded=False,
        out_dir=Path("."),
        loaded=parse_spec("version: 1\nslos: [{name: a, sli: availability, objective: 99%}]\n"),
        error=names[0] + names[2],
    )


def test_hostile_names_are_escaped_in_run_reports() -> None:
    from html.parser import HTMLParser

    from slocheck.report.html import to_html
    from slocheck.report.run_report import run_to_json, run_to_markdown

    result = _run_result(HOSTILE)
    page = to_html(result)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page

    seen: list[str] = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag: str, attrs: Any) -> None:
            seen.append(tag)

    Tags().feed(page)
    assert "script" not in seen and "h1" in seen  # no element injected anywhere
    md = run_to_markdown(result)
    assert "<script>" not in md and "[x](http" not in md and "\x1b" not in md
    assert json.loads(run_to_json(result))["error"] == HOSTILE[0] + HOSTILE[2]


def test_a_cross_check_that_keeps_the_run_from_passing_is_a_junit_failure() -> None:
    """All SLOs pass, yet the server did not count the client's failures: the run fails, and
    so must the JUnit suite a CI job reads."""
    import xml.etree.ElementTree as ET

    from slocheck.evaluate.verdicts import Window
    from slocheck.report import to_junit
    from slocheck.results import CrossCheck, VerifyResult

    result = VerifyResult(
        spec_path="s.yaml",
        spec_sha256="0" * 64,
        prometheus_url="http://p",
        window=Window(0.0, 10.0),
        results=[],
        verdict=Verdict.PASS,
    )
    broken = CrossCheck("request_counts", False, "the server did not count 3", ceiling=Verdict.FAIL)
    suite = ET.fromstring(to_junit(result, [broken]))
    assert suite.get("failures") == "1" and suite.get("tests") == "1"
    (case,) = suite.findall("testcase")
    assert case.get("name") == "request_counts"
    assert case.find("failure") is not None
    assert ET.fromstring(to_junit(result)).get("failures") == "0"
