"""JSON, JUnit XML and Markdown reports of a verification."""

from __future__ import annotations

import datetime as dt
import json
import math
import platform
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

from slocheck._version import __version__
from slocheck.evaluate.alerts import AlertSeen, alert_text
from slocheck.evaluate.verdicts import SloResult, Window
from slocheck.report.format import result_value_text, samples_text, sli_text, target_text
from slocheck.results import CrossCheck, VerifyResult
from slocheck.units import printable
from slocheck.verdict import Verdict

SCHEMA_VERSION = 1


def _iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, tz=dt.UTC).isoformat().replace("+00:00", "Z")


def _num(v: Any) -> Any:
    """JSON has no NaN or Infinity: write them as strings."""
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if isinstance(v, dict):
        return {k: _num(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_num(x) for x in v]
    return v


def slo_dict(r: SloResult) -> dict[str, Any]:
    out: dict[str, Any] = _num(
        {
            "name": r.name,
            "sli": r.sli,
            "severity": r.severity,
            "verdict": r.verdict,
            "gate": r.gate,
            "value": r.value,
            "threshold": r.threshold,
            "objective": r.objective,
            "op": r.op,
            "unit": r.unit,
            "query": r.query,
            "promql": r.promql,
            "samples": r.samples,
            "explanation": r.explanation,
            "details": r.details,
        }
    )
    return out


def to_dict(result: VerifyResult) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "slocheck", "version": __version__},
        "verdict": result.verdict,
        "spec": {"path": result.spec_path, "sha256": result.spec_sha256},
        "prometheus": {"url": result.prometheus_url},
        "window": {
            "start": _iso(result.window.start),
            "end": _iso(result.window.end),
            "start_unix": result.window.start,
            "end_unix": result.window.end,
            "seconds": result.window.seconds,
        },
        "evaluated_at": _iso(result.evaluated_at),
        "environment": {"python": platform.python_version(), "platform": platform.platform()},
        "warnings": result.warnings,
        "slos": [slo_dict(r) for r in result.results],
        "alerts": [a.to_dict() for a in result.alerts] if result.alerts is not None else None,
    }


def to_json(result: VerifyResult) -> str:
    return json.dumps(to_dict(result), indent=2, sort_keys=False, allow_nan=False) + "\n"


_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """Text XML 1.0 can hold: control characters become U+FFFD (ElementTree escapes the rest)."""
    return _XML_INVALID.sub("\ufffd", text)


def to_junit(
    result: VerifyResult,
    broken: Sequence[CrossCheck] = (),
    ending: tuple[str, str] | None = None,
) -> str:
    """One testsuite, one testcase per SLO; a failing gate is a <failure>. ``broken``: the
    run's cross-checks that did not hold and cap its verdict (``slocheck run``), each one more
    testcase with its <failure>, so that the suite fails whenever the run cannot pass.
    ``ending``: (verdict, what happened) of a run that did not run out (interrupted, error):
    one more testcase, an <error>."""
    failures = sum(1 for r in result.results if r.gate == Verdict.FAIL) + len(broken)
    suite = ET.Element(
        "testsuite",
        {
            "name": "slocheck",
            "tests": str(len(result.results) + len(broken) + (ending is not None)),
            "failures": str(failures),
            "errors": str(int(ending is not None)),
            "skipped": "0",
            "timestamp": _iso(result.evaluated_at),
            "time": f"{result.window.seconds:.3f}",
        },
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("spec", result.spec_path),
        ("spec_sha256", result.spec_sha256),
        ("prometheus", result.prometheus_url),
        ("verdict", result.verdict),
        ("window_start", _iso(result.window.start)),
        ("window_end", _iso(result.window.end)),
    ):
        ET.SubElement(props, "property", {"name": name, "value": xml_text(value)})
    for r in result.results:
        case = ET.SubElement(
            suite,
            "testcase",
            {"classname": f"slocheck.{r.sli}", "name": xml_text(printable(r.name)), "time": "0"},
        )
        summary = xml_text(
            f"{r.verdict}: {result_value_text(r)} (target {target_text(r)}, "
            f"samples {samples_text(r)})"
        )
        if r.gate == Verdict.FAIL:
            failure = ET.SubElement(case, "failure", {"message": summary, "type": r.verdict})
            failure.text = xml_text(f"{r.explanation}\nquery: {r.query}\npromql: {r.promql}")
        out = ET.SubElement(case, "system-out")
        out.text = xml_text(f"{summary}\n{r.explanation}\nquery: {r.query}\npromql: {r.promql}")
    for c in broken:
        case = ET.SubElement(
            suite, "testcase", {"classname": "slocheck.crosscheck", "name": c.name, "time": "0"}
        )
        failure = ET.SubElement(
            case, "failure", {"message": xml_text(c.message[:200]), "type": c.ceiling}
        )
        failure.text = xml_text(c.message)
    if ending is not None:
        _ending_case(suite, *ending)
    return _xml(suite)


def _xml(suite: ET.Element) -> str:
    ET.indent(suite)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
    )


def _ending_case(suite: ET.Element, verdict: str, text: str) -> None:
    """The run's own testcase: an <error> saying how it ended (interrupted, an error)."""
    case = ET.SubElement(suite, "testcase", {"classname": "slocheck.run", "name": "run"})
    error = ET.SubElement(case, "error", {"message": xml_text(text[:200]), "type": verdict})
    error.text = xml_text(text)


def junit_not_judged(
    slos: Sequence[tuple[str, str]],
    reason: str,
    *,
    spec_path: str,
    verdict: str,
    timestamp: float,
    ending: tuple[str, str] | None = None,
) -> str:
    """The suite of a run whose SLOs could not be judged (interrupted before its window was
    judged, a dead Prometheus, a frozen load generator): each SLO (name, SLI) an <error>
    saying why, so that a CI job reading it fails as the exit code does; ``ending`` as for
    :func:`to_junit`."""
    suite = ET.Element(
        "testsuite",
        {
            "name": "slocheck",
            "tests": str(len(slos) + (ending is not None)),
            "failures": "0",
            "errors": str(len(slos) + (ending is not None)),
            "skipped": "0",
            "timestamp": _iso(timestamp),
            "time": "0.000",
        },
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (("spec", spec_path), ("verdict", verdict)):
        ET.SubElement(props, "property", {"name": name, "value": xml_text(value)})
    for name, sli in slos:
        case = ET.SubElement(
            suite, "testcase", {"classname": f"slocheck.{sli}", "name": xml_text(name), "time": "0"}
        )
        error = ET.SubElement(
            case, "error", {"message": xml_text(f"not judged: {reason}"[:200]), "type": verdict}
        )
        error.text = xml_text(f"not judged: {reason}")
    if ending is not None:
        _ending_case(suite, *ending)
    return _xml(suite)


_MD_ESCAPE = str.maketrans(
    {
        "|": "\\|",
        "<": "&lt;",
        ">": "&gt;",
        "`": "'",
        "\n": " ",
        "*": "\\*",
        "_": "\\_",
        "[": "\\[",
        "]": "\\]",
    }
)


def md(text: str) -> str:
    """Text safe inside a Markdown table cell: Markdown escaped, escape sequences removed,
    control characters and bidirectional overrides replaced (:func:`printable`)."""
    return printable(text.translate(_MD_ESCAPE))


def _code(text: str) -> str:
    inner = text.replace("`", "'").replace("\n", " ").replace("|", "\\|")
    return "`" + printable(inner) + "`"


ICONS = {
    Verdict.PASS: "PASS",
    Verdict.WARN: "WARN",
    Verdict.FAIL: "FAIL",
    Verdict.NO_DATA: "NO DATA",
    Verdict.INCONCLUSIVE: "INCONCLUSIVE",
    Verdict.ERROR: "ERROR",
}


def to_markdown(result: VerifyResult) -> str:
    lines = [
        f"## slocheck: {ICONS[result.verdict]}",
        "",
        f"Window {_iso(result.window.start)} to {_iso(result.window.end)} "
        f"({result.window.seconds:,.1f} s), spec {md(result.spec_path)}.",
        "",
        "| SLO | SLI | verdict | value | target | samples | explanation |",
        "| --- | --- | --- | ---: | --- | ---: | --- |",
    ]
    for r in result.results:
        lines.append(
            f"| {md(r.name)} | {sli_text(r)} | **{ICONS[r.verdict]}** "
            f"| {md(result_value_text(r))} | {md(target_text(r))} | {samples_text(r)} "
            f"| {md(r.explanation)} |"
        )
    lines += ["", "<details><summary>Queries</summary>", ""]
    for r in result.results:
        lines += [f"- {md(r.name)}: {_code(r.query)}; as PromQL: {_code(r.promql)}"]
    lines += ["", "</details>", ""]
    if result.warnings:
        lines += ["Warnings:", ""] + [f"- {md(w)}" for w in result.warnings] + [""]
    if result.alerts is not None:
        lines += ["Production alerts (`--with-rules`):", ""]
        lines += [f"- {md(line)}" for line in alerts_lines(result.alerts, result.window)] + [""]
    return "\n".join(lines)


def alerts_lines(alerts: list[AlertSeen], window: Window) -> list[str]:
    """Each alert of the generated rules that went pending or fired in the window, or that
    none did."""
    seen = [a for a in alerts if a.in_window]
    if not seen:
        return ["no production alert went pending or fired during the window"]
    return [alert_text(a, window) for a in seen]
