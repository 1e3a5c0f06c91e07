"""One self-contained HTML file: verdict table, cross-checks, and latency and RPS over time as
inline SVG (no script, no network), every value escaped."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

from slocheck.report.format import result_value_text, samples_text, sli_text, target_text
from slocheck.report.run_report import (
    finite,
    generators_text,
    llm_text,
    open_loop_text,
    run_alerts_lines,
    run_timeline,
)
from slocheck.results import RunResult
from slocheck.units import printable

COLOURS = {
    "pass": "#1a7f37",
    "warn": "#9a6700",
    "fail": "#cf222e",
    "no_data": "#cf222e",
    "inconclusive": "#9a6700",
    "error": "#cf222e",
    "interrupted": "#9a6700",
}
W, H, PAD = 860, 240, 48


def _ticks(top: float) -> list[float]:
    if top <= 0:
        return [0.0]
    step = 10 ** math.floor(math.log10(top))
    for mult in (1, 2, 5, 10):
        if top / (step * mult) <= 5:
            step *= mult
            break
    return [i * step for i in range(int(top / step) + 1)]


def svg_plot(
    title: str,
    xs: list[float],
    lines: list[tuple[str, str, list[float | None]]],
    unit: str,
    shade_from: float | None = None,
    *,
    x_text: Callable[[float, float], str] = lambda x, x0: f"{x - x0:.0f}s",
    levels: Sequence[tuple[str, str, float]] = (),
) -> str:
    """Lines over time (or over ``xs`` of any kind, labelled by ``x_text(x, first x)``);
    ``None`` values break a line; ``levels``: dashed horizontal lines (name, colour, y), such
    as an SLO's threshold."""
    values = [v for _, _, ys in lines for v in ys if v is not None] + [y for *_, y in levels]
    if not xs or not values:
        return f"<p>{escape(title)}: no data.</p>"
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    top = max(values) * 1.1 or 1.0

    def px(x: float) -> float:
        return PAD + (x - x0) / (x1 - x0) * (W - 2 * PAD)

    def py(y: float) -> float:
        return H - PAD + -(y / top) * (H - 2 * PAD)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    if shade_from is not None and x0 <= shade_from <= x1:
        parts.append(
            f'<rect x="{px(shade_from):.1f}" y="{PAD}" width="{px(x1) - px(shade_from):.1f}"'
            f' height="{H - 2 * PAD}" fill="#ddf4ff"/>'
        )
        parts.append(
            f'<text x="{px(shade_from) + 4:.1f}" y="{PAD + 12}" font-size="11" '
            'fill="#0969da">judged window</text>'
        )
    for t in _ticks(top / 1.1):
        parts.append(
            f'<line x1="{PAD}" x2="{W - PAD}" y1="{py(t):.1f}" y2="{py(t):.1f}" stroke="#eee"/>'
        )
        parts.append(
            f'<text x="{PAD - 6}" y="{py(t) + 4:.1f}" font-size="11" text-anchor="end">{t:g}</text>'
        )
    for i in range(6):
        x = x0 + (x1 - x0) * i / 5
        parts.append(
            f'<text x="{px(x):.1f}" y="{H - PAD + 16}" font-size="11" '
            f'text-anchor="middle">{escape(x_text(x, x0))}</text>'
        )
    for name, colour, level in levels:
        parts.append(
            f'<line x1="{PAD}" x2="{W - PAD}" y1="{py(level):.1f}" y2="{py(level):.1f}" '
            f'stroke="{colour}" stroke-dasharray="6 4"/>'
            f'<text x="{PAD + 4}" y="{py(level) - 4:.1f}" font-size="11" fill="{colour}">'
            f"{escape(name)}</text>"
        )
    for n, (name, colour, ys) in enumerate(lines):
        segment: list[str] = []
        segments = []
        for x, y in zip(xs, ys, strict=True):
            if y is None:
                if segment:
                    segments.append(segment)
                segment = []
            else:
                segment.append(f"{px(x):.1f},{py(y):.1f}")
        if segment:
            segments.append(segment)
        for seg in segments:
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                f'points="{" ".join(seg)}"/>'
            )
        parts.append(
            f'<rect x="{W - PAD - 150}" y="{8 + n * 16}" width="10" height="10" '
            f'fill="{colour}"/><text x="{W - PAD - 135}" y="{17 + n * 16}" '
            f'font-size="12">{escape(name)}</text>'
        )
    parts.append(
        f'<text x="{PAD}" y="20" font-size="13" font-weight="bold">{escape(title)} '
        f"({escape(unit)})</text></svg>"
    )
    return "".join(parts)


def client_lines(r: RunResult) -> str:
    """What the load generator measured beyond the table: streams, open-loop latencies."""
    client = r.client if isinstance(r.client, dict) else {}
    out = []
    if client.get("llm"):
        out.append(f"<p>Client, streams: {escape(llm_text(client['llm']))}.</p>")
    if client.get("open_loop"):
        out.append(f"<p>Client, open loop: {escape(open_loop_text(client['open_loop']))}.</p>")
    if client.get("generators"):
        out.append(f"<p>Load generators: {escape(generators_text(client['generators']))}.</p>")
    if r.alerts is not None:
        items = "".join(f"<li>{escape(line)}</li>" for line in run_alerts_lines(r))
        out.append(f"<p>Production alerts (<code>--with-rules</code>):</p><ul>{items}</ul>")
    return "".join(out)


def to_html(r: RunResult) -> str:
    rows = []
    for s in r.verify.results if r.verify else []:
        rows.append(
            f"<tr><td>{escape(printable(s.name))}</td><td>{escape(sli_text(s))}</td>"
            f'<td style="color:{COLOURS[s.verdict]};font-weight:bold">{escape(s.verdict)}</td>'
            f"<td>{escape(result_value_text(s))}</td><td>{escape(target_text(s))}</td>"
            f"<td>{escape(samples_text(s))}</td><td>{escape(s.explanation)}<br>"
            f"<code>{escape(s.promql)}</code></td></tr>"
        )
    checks = "".join(
        f"<li>{'ok' if c.ok else '<b>not ok</b>'}: {escape(c.name)}: {escape(c.message)}</li>"
        for c in r.checks
    )
    points = run_timeline(r)
    xs = [p["t"] for p in points]
    rps = svg_plot(
        "Requests per second",
        xs,
        [
            ("requests/s", "#0969da", [p["requests"] for p in points]),
            ("errors/s", "#cf222e", [p["errors"] for p in points]),
        ],
        "client side",
        float(r.load.window_start),
    )
    latency = svg_plot(
        "Latency",
        xs,
        [
            (
                "p50",
                "#1a7f37",
                [None if finite(p["p50_s"]) is None else p["p50_s"] * 1000 for p in points],
            ),
            (
                "p95",
                "#bf8700",
                [None if finite(p["p95_s"]) is None else p["p95_s"] * 1000 for p in points],
            ),
        ],
        "ms, client side",
        float(r.load.window_start),
    )
    cfg = r.load.config
    rate = f" at {cfg.rate:g} requests/s" if cfg.rate else ""
    error = (
        f'\n<p class="error"><strong>The run could not be judged:</strong> '
        f"<code>{escape(r.error)}</code></p>"
        if r.error
        else ""
    )
    if r.ending is not None:
        error = (
            f'\n<p class="ending"><strong>Ended early:</strong> {escape(r.ending.text)}.</p>'
            + error
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
<p>Spec <code>{escape(r.spec.path)}</code> (sha256 {escape(r.spec.sha256[:12])}), target
<code>{escape(r.target_url)}</code>{" (embedded)" if r.embedded else ""}. Load:
{escape(cfg.scenario)}, {cfg.users} users{escape(rate)}, {cfg.warmup:g} s warm-up +
{cfg.duration:g} s.</p>{error}
<h2>SLOs</h2>
<table><tr><th>SLO</th><th>SLI</th><th>verdict</th><th>value</th><th>target</th><th>samples</th>
<th>explanation and PromQL</th></tr>{"".join(rows)}</table>
<h2>Cross-checks</h2><ul>{checks}</ul>{client_lines(r)}
<h2>Over time</h2>{rps}{latency}
</body></html>
"""
