"""One self-contained HTML file: verdict table, cross-checks, and latency and RPS over time as
inline SVG (no script, no network), every value escaped."""

from __future__ import annotations

import re
from html import escape

from slocheck.report.format import result_value_text, samples_text, sli_text, target_text
from slocheck.report.run_plots import run_plots
from slocheck.report.run_report import CLIENT_HEADINGS, client_texts, run_alerts_lines
from slocheck.results import RunResult
from slocheck.units import printable
from slocheck.verdict import Verdict

COLOURS: dict[str, str] = {
    Verdict.PASS: "#1a7f37",
    Verdict.WARN: "#9a6700",
    Verdict.FAIL: "#cf222e",
    Verdict.NO_DATA: "#cf222e",
    Verdict.INCONCLUSIVE: "#9a6700",
    Verdict.ERROR: "#cf222e",
    Verdict.INTERRUPTED: "#9a6700",
}


def prose(text: str) -> str:
    """``text`` escaped, its `quoted` parts (a flag, a command, a field) set as code: no
    literal backtick reaches the page."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text)).replace("`", "&#96;")


def verdict_html(verdict: str, text: str | None = None) -> str:
    """A verdict in its colour (green pass, amber warn/inconclusive, red fail/no data)."""
    colour = COLOURS.get(verdict, "#1f2328")
    return (
        f'<span class="v-{escape(verdict)}" style="color:{colour};font-weight:bold">'
        f"{escape(text or verdict)}</span>"
    )


def client_lines(r: RunResult) -> str:
    """What the load generator measured beyond the table: streams, open-loop latencies."""
    out = [
        f"<p>{CLIENT_HEADINGS[what]}: {escape(text)}.</p>" for what, text in client_texts(r.client)
    ]
    if r.alerts is not None:
        items = "".join(f"<li>{prose(line)}</li>" for line in run_alerts_lines(r))
        out.append(f"<p>Production alerts (<code>--with-rules</code>):</p><ul>{items}</ul>")
    return "".join(out)


def to_html(r: RunResult) -> str:
    rows = []
    for s in r.verify.results if r.verify else []:
        rows.append(
            f"<tr><td>{escape(printable(s.name))}</td><td>{escape(sli_text(s))}</td>"
            f"<td>{verdict_html(s.verdict)}</td>"
            f"<td>{escape(result_value_text(s))}</td><td>{escape(target_text(s))}</td>"
            f"<td>{escape(samples_text(s))}</td><td>{prose(s.explanation)}<br>"
            f"<code>{escape(s.promql)}</code></td></tr>"
        )
    checks = "".join(
        f"<li>{verdict_html('pass', 'ok') if c.ok else verdict_html('fail', 'not ok')}: "
        f"{escape(c.name)}: {prose(c.message)}</li>"
        for c in r.checks
    )
    warnings = "".join(f"<li>{prose(w)}</li>" for w in (r.verify.warnings if r.verify else []))
    if warnings:
        warnings = f"<h2>Warnings</h2><ul>{warnings}</ul>"
    cfg = r.load.config
    rate = f" at {cfg.rate:g} requests/s" if cfg.rate else ""
    error = (
        f'\n<p class="error"><strong>The run could not be judged:</strong> {prose(r.error)}</p>'
        if r.error
        else ""
    )
    if r.ending is not None:
        error = (
            f'\n<p class="ending"><strong>Ended early:</strong> {prose(r.ending.text)}.</p>' + error
        )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>slocheck: {escape(r.verdict)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #1f2328; max-width: 1100px; }}
table {{ border-collapse: collapse; width: 100%; font-size: 14px; }}
th, td {{ border: 1px solid #d0d7de; padding: 6px 8px; text-align: left; vertical-align: top; }}
th {{ background: #f6f8fa; }} code {{ font-size: 12px; color: #57606a; word-break: break-all; }}
.verdict {{ font-size: 28px; font-weight: bold; color: {COLOURS.get(r.verdict, "#1f2328")}; }}
svg {{ width: 100%; height: auto; border: 1px solid #d0d7de; margin: 8px 0; }}
</style></head><body>
<h1>slocheck run <span class="verdict">{escape(r.verdict.upper())}</span></h1>
<p>Spec <code>{escape(r.loaded.path)}</code> (sha256 {escape(r.loaded.sha256[:12])}), target
<code>{escape(r.target_url)}</code>{" (embedded)" if r.embedded else ""}. Load:
{escape(cfg.scenario)}, {cfg.users} users{escape(rate)}, {cfg.warmup:g} s warm-up +
{cfg.duration:g} s.</p>{error}
<h2>SLOs</h2>
<table><tr><th>SLO</th><th>SLI</th><th>verdict</th><th>value</th><th>target</th><th>samples</th>
<th>explanation and PromQL</th></tr>{"".join(rows)}</table>
<h2>Cross-checks</h2><ul>{checks}</ul>{warnings}{client_lines(r)}
<h2>Over time</h2>
<p>Dashed lines: the thresholds of the spec's SLOs; shaded: the window judged.</p>
{run_plots(r)}
</body></html>
"""
