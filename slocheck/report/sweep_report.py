"""Reports of ``slocheck sweep``: the latency-throughput curve as JSON, Markdown, CSV
(``curve.csv``, one row a load) and an HTML page with one plot per measure against the
offered load, the spec's thresholds drawn across each (an SLO's, and a goodput constraint's).
``curve_csv`` also writes ``capacity``'s steps as a curve."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from html import escape
from typing import Any

from slocheck._version import __version__
from slocheck.evaluate.sweep import MEASURES, Axis, CurvePoint, step_folder
from slocheck.report.html import prose, verdict_html
from slocheck.report.plots import Level, XAxis, svg_plot
from slocheck.report.run_plots import THRESHOLD, latency_levels, ratio_levels
from slocheck.report.writers import SCHEMA_VERSION, _iso, _num, md
from slocheck.results.sweep_result import SweepResult
from slocheck.slofile.model import CostSpec, SloSpec
from slocheck.units import format_duration
from slocheck.verdict import Verdict

#: How a point's load is named, by axis.
UNITS = {Axis.RATE: "requests/s", Axis.CONCURRENCY: "users"}


def point_to_dict(p: CurvePoint) -> dict[str, Any]:
    return {
        "at": p.at,
        "verdict": p.verdict,
        "broken_by": p.broken_by,
        "requests": p.requests,
        **{name: p.measure(name) for name in MEASURES},
    }


def curve_csv(points: Sequence[CurvePoint], axis: Axis) -> str:
    """``curve.csv``: the load, its verdict, its requests and every measure (empty: not
    measured); latencies in seconds, shares as fractions."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([axis.value, "verdict", "requests", *MEASURES, "broken_by"])
    for p in points:
        values = [p.measure(name) for name in MEASURES]
        writer.writerow(
            [
                f"{p.at:g}",
                p.verdict.value,
                p.requests,
                *("" if v is None else f"{v:.6g}" for v in values),
                ";".join(p.broken_by),
            ]
        )
    return out.getvalue()


def best_text(s: SweepResult) -> str:
    unit = UNITS[s.axis]
    top = s.best
    if top is None:
        return f"no load met every SLO (of {', '.join(f'{x:g}' for x in s.planned)} {unit})"
    text = f"every SLO met up to {top.at:g} {unit}"
    if top.output_tokens_per_s is not None:
        text += f" ({top.output_tokens_per_s:,.1f} output tokens/s)"
    cost = s.cost_per_million_tokens
    if cost is not None and s.loaded.spec.cost is not None:
        text += f"; {cost:,.2f} {s.loaded.spec.cost.currency} per million output tokens there"
    return text


def sweep_to_dict(s: SweepResult) -> dict[str, Any]:
    spec = s.loaded.spec
    top = s.best
    out: dict[str, Any] = _num(
        {
            "schema_version": SCHEMA_VERSION,
            "kind": "sweep",
            "tool": {"name": "slocheck", "version": __version__},
            "verdict": s.verdict,
            "error": s.error,
            "spec": {"path": s.loaded.path, "sha256": s.loaded.sha256},
            "sweep": {
                "axis": s.axis,
                "planned": list(s.planned),
                "step_duration_s": s.options.step_duration,
                "started_at": _iso(s.started_at),
                "finished_at": _iso(s.finished_at),
                "seconds": s.finished_at - s.started_at,
                "interrupted": s.interrupted,
            },
            "best": None if top is None else top.at,
            "cost": cost_to_dict(spec.cost, s.cost_per_million_tokens),
            "slos": [
                {
                    "name": slo.name,
                    "sli": slo.sli,
                    "severity": slo.severity,
                    "threshold": slo.threshold,
                    "objective": slo.objective,
                }
                for slo in spec.slos
            ],
            "points": [
                {**point_to_dict(p), "report": f"steps/{step_folder(n, p.at, s.axis)}/report.json"}
                for n, p in enumerate(s.points, 1)
            ],
        }
    )
    return out


def sweep_to_json(s: SweepResult) -> str:
    return json.dumps(sweep_to_dict(s), indent=2, allow_nan=False) + "\n"


def _ms(x: float | None) -> str:
    return "-" if x is None else format_duration(x)


def _share(x: float | None) -> str:
    return "-" if x is None else f"{x:.2%}"


def _number(x: float | None) -> str:
    return "-" if x is None else f"{x:,.1f}"


def _row(p: CurvePoint) -> list[str]:
    return [
        f"{p.at:g}",
        p.verdict.value,
        _number(p.achieved_rps),
        _ms(p.latency_p95_s),
        _ms(p.ttft_p95_s),
        _ms(p.itl_p95_s),
        _share(p.goodput),
        _number(p.output_tokens_per_s),
        _share(p.error_ratio),
    ]


HEADINGS = (
    "achieved/s",
    "latency P95",
    "TTFT P95",
    "inter-token P95",
    "goodput",
    "output tokens/s",
    "errors",
)


def sweep_to_markdown(s: SweepResult) -> str:
    unit = UNITS[s.axis]
    lines = [
        f"## slocheck sweep: {s.verdict.upper()}",
        "",
        f"{md(s.loaded.spec.service.name)}: **{md(best_text(s))}**.",
        "",
        f"{len(s.points)} of {len(s.planned)} loads run, each judged over "
        f"{format_duration(s.options.step_duration)} or more (a rate too low to decide every SLO "
        f"in that runs longer), in {s.finished_at - s.started_at:.0f} s.",
        "",
    ]
    if s.error:
        lines += [f"The sweep could not go on: {md(s.error)}", ""]
    lines += [
        f"| {unit} | verdict | " + " | ".join(HEADINGS) + " | broken by |",
        "| ---: | --- | " + " | ".join("---:" for _ in HEADINGS) + " | --- |",
    ]
    for p in s.points:
        lines.append("| " + " | ".join(_row(p)) + f" | {md(', '.join(p.broken_by)) or '-'} |")
    lines += [
        "",
        "Latency is end to end, from each request's due time in an open loop; TTFT and "
        "inter-token latency from the streams; goodput is the goodput SLO's attainment. The "
        "curve is `curve.csv`; each load's own reports are under `steps/`.",
        "",
    ]
    return "\n".join(lines)


def constraint_levels(slos: Sequence[SloSpec], constraint: str) -> list[Level]:
    """A goodput SLO's per-request bound on ``constraint`` (``ttft``, ``inter_token_latency``
    or ``e2e``) as a level in ms."""
    out: list[Level] = []
    for slo in slos:
        c = slo.constraints
        if c is None:
            continue
        if constraint == "inter_token_latency" and c.inter_token_latency is not None:
            bound = c.inter_token_latency
            name, value = f"{slo.name}: a request's {bound.statistic} gap", bound.threshold
        elif constraint in ("ttft", "e2e") and getattr(c, constraint) is not None:
            value = float(getattr(c, constraint))
            name = f"{slo.name}: each request's {constraint}"
        else:
            continue
        out.append((f"{name} {format_duration(value)}", "#9a6700", value * 1e3))
    return out


def objective_levels(slos: Sequence[SloSpec]) -> list[Level]:
    """Each goodput SLO's objective, in %."""
    return [
        (f"{s.name}: {s.objective:.2%}", THRESHOLD, s.objective * 100)
        for s in slos
        if s.sli == "goodput" and s.objective is not None
    ]


def curve_plots(
    points: Sequence[CurvePoint],
    slos: Sequence[SloSpec],
    axis: Axis,
    measures: Sequence[str] = tuple(MEASURES),
) -> list[str]:
    """One plot per measure of ``measures`` that any point has, against the load, with the
    thresholds of ``slos`` across it."""
    points = sorted(points, key=lambda p: p.at)
    xs = [p.at for p in points]
    slos = list(slos)
    unit = UNITS[axis]
    x = XAxis(f"offered load ({unit})", ticks=[(v, f"{v:g}") for v in xs])

    def ms(name: str) -> list[float | None]:
        return [None if (v := p.measure(name)) is None else v * 1e3 for p in points]

    def pct(name: str) -> list[float | None]:
        return [None if (v := p.measure(name)) is None else v * 100 for p in points]

    charts = [
        (
            "latency_p95_s",
            "Latency P95, end to end",
            [("p95", "#bf8700", ms("latency_p95_s"))],
            "ms",
            latency_levels(slos, "latency") + constraint_levels(slos, "e2e"),
        ),
        (
            "ttft_p95_s",
            "Time to first token P95",
            [("p95", "#0969da", ms("ttft_p95_s"))],
            "ms",
            latency_levels(slos, "ttft") + constraint_levels(slos, "ttft"),
        ),
        (
            "itl_p95_s",
            "Inter-token latency P95",
            [("p95", "#8250df", ms("itl_p95_s"))],
            "ms",
            latency_levels(slos, "inter_token_latency")
            + constraint_levels(slos, "inter_token_latency"),
        ),
        (
            "goodput",
            "Goodput attainment",
            [("goodput", "#1a7f37", pct("goodput"))],
            "%",
            objective_levels(slos),
        ),
        (
            "output_tokens_per_s",
            "Output tokens/s",
            [("output tokens/s", "#1a7f37", [p.output_tokens_per_s for p in points])],
            "tokens/s",
            [],
        ),
        (
            "error_ratio",
            "Error ratio",
            [("errors", "#cf222e", pct("error_ratio"))],
            "%",
            ratio_levels(slos),
        ),
    ]
    return [
        svg_plot(title, xs, lines, y_unit, x=x, levels=levels)
        for measure, title, lines, y_unit, levels in charts
        if measure in measures and any(v is not None for _, _, ys in lines for v in ys)
    ]


def sweep_to_html(s: SweepResult) -> str:
    unit = UNITS[s.axis]
    head = "".join(f"<th>{escape(h)}</th>" for h in (unit, "verdict", *HEADINGS, "broken by"))
    rows = "".join(
        "<tr>"
        + f"<td>{p.at:g}</td><td>{verdict_html(p.verdict)}</td>"
        + "".join(f"<td>{escape(v)}</td>" for v in _row(p)[2:])
        + f"<td>{escape(', '.join(p.broken_by)) or '-'}</td></tr>"
        for p in s.points
    )
    error = (
        f"<p><strong>The sweep could not go on:</strong> {prose(s.error)}</p>" if s.error else ""
    )
    plots = "\n".join(curve_plots(s.points, s.loaded.spec.slos, s.axis))
    plots = plots or "<p>No load was measured.</p>"
    name = escape(s.loaded.spec.service.name)
    body = f"""<p><code>{name}</code>: <strong>{escape(best_text(s))}</strong>.</p>
{error}
<p>Dashed lines: the thresholds of the spec's SLOs and the bounds of its goodput constraints.
The curve as CSV: <code>curve.csv</code>.</p>
{plots}
<table><tr>{head}</tr>{rows}</table>"""
    return curve_page("sweep", s.verdict, body)


def curve_page(command: str, verdict: Verdict, body: str) -> str:
    """The HTML page ``capacity`` and ``sweep`` write: its head and style, a heading with the
    command and its verdict, then ``body``."""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>slocheck {command}: {escape(verdict)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #1f2328; max-width: 1100px; }}
table {{ border-collapse: collapse; width: 100%; font-size: 14px; }}
th, td {{ border: 1px solid #d0d7de; padding: 6px 8px; text-align: left; }}
th {{ background: #f6f8fa; }}
svg {{ width: 100%; height: auto; border: 1px solid #d0d7de; margin: 8px 0; }}
</style></head><body>
<h1>slocheck {command} {verdict_html(verdict, verdict.upper())}</h1>
{body}
</body></html>
"""


def cost_to_dict(cost: CostSpec | None, per_million: float | None) -> dict[str, Any] | None:
    """``report.json``'s ``cost`` of ``capacity`` and ``sweep``: the spec's price and what a
    million output tokens cost at the best load (None: no ``cost:`` in the spec)."""
    if cost is None:
        return None
    return {
        "per_hour": cost.per_hour,
        "currency": cost.currency,
        "per_million_output_tokens": per_million,
    }
