"""Issue 24, item 8: SLO names reach the terminal, Markdown, HTML and junit.xml without control
characters (ESC and OSC sequences removed, C0/C1 controls and bidi overrides replaced); and
item 7: a run's URLs and error, as every report shows them, hold no password."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

from rich.console import Console

from slocheck.report import to_junit, to_markdown
from slocheck.report.terminal import verdict_table
from tests.unit.report.test_writers import _run_result, fixed_result

NAMES = ("a\x1b[2J\x1b]0;pwned\x07b", "rtl\u202eeulav", "c1\x9b31mx\x85y\x00")
CONTROLS = ("\x1b", "\x07", "\u202e", "\x9b", "\x85", "\x00")


def _clean(text: str) -> None:
    for c in CONTROLS:
        assert c not in text, repr(c)


def test_the_terminal_table_shows_names_without_controls() -> None:
    out = io.StringIO()
    Console(file=out, width=200, color_system=None, force_terminal=False).print(
        verdict_table(fixed_result(NAMES))
    )
    text = out.getvalue()
    _clean(text)
    assert "ab" in text and "rtl?eulav" in text and "c1x?y?" in text


def test_markdown_and_junit_show_names_without_controls() -> None:
    result = fixed_result(NAMES)
    md = to_markdown(result)
    _clean(md)
    assert "rtl?eulav" in md
    names = [c.get("name") or "" for c in ET.fromstring(to_junit(result)).findall("testcase")]
    assert names == ["ab", "rtl?eulav", "c1x?y?"]


def test_run_reports_show_names_without_controls() -> None:
    from slocheck.report.html import to_html
    from slocheck.report.run_report import run_to_markdown

    result = _run_result(NAMES)
    _clean(to_html(result).split("<table", 1)[1].split("</table>", 1)[0])
    _clean(run_to_markdown(result))


def test_a_run_result_never_holds_a_password() -> None:
    from dataclasses import replace

    from slocheck.report.html import to_html
    from slocheck.report.run_report import run_to_json, run_to_markdown

    base = _run_result(("a", "b", "c"))
    result = replace(
        base,
        target_url="http://user:S3CRETPASS@127.0.0.1:1",
        prometheus_url="https://gate:S3CRETPASS@prom:9090",
        error="Prometheus at https://gate:S3CRETPASS@prom:9090 answered 500",
    )
    assert result.target_url == "http://***@127.0.0.1:1"
    assert result.prometheus_url == "https://***@prom:9090"
    for text in (run_to_json(result), run_to_markdown(result), to_html(result)):
        assert "S3CRETPASS" not in text and "@127.0.0.1:1" in text
