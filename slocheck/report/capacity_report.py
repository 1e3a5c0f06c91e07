"""Reports of ``slocheck capacity``: the bracket, the SLO that broke first, and the whole sweep
(JSON, Markdown, and an HTML page with the throughput and latency knee plots)."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from slocheck._version import __version__
from slocheck.evaluate.search import StoppedBy
from slocheck.evaluate.sweep import Axis, step_folder
from slocheck.regress import Comparison
from slocheck.regress import to_dict as regress_to_dict
from slocheck.report.html import prose, verdict_html
from slocheck.report.plots import XAxis, svg_plot
from slocheck.report.run_plots import latency_levels, ratio_levels
from slocheck.report.sweep_report import cost_to_dict, curve_page, curve_plots
from slocheck.report.writers import SCHEMA_VERSION, _iso, _num, md
from slocheck.results import CapacityResult
from slocheck.units import format_duration

STOPPED = {
    StoppedBy.PRECISION: "the bracket is within the precision",
    StoppedBy.MAX_RATE: "every rate up to --max-rate passed",
    StoppedBy.MIN_RATE_FAILED: "the minimum rate already does not pass",
    StoppedBy.BUDGET: "the time budget ran out",
    StoppedBy.ERROR: "a step could not be judged (infrastructure error)",
    StoppedBy.INTERRUPTED: "interrupted",
}


def bracket_text(c: CapacityResult) -> str:
    b = c.bracket
    if b.lower is None:
        return f"below {c.options.min_rate or 0:g} requests/s (the minimum does not pass)"
    if b.upper is None:
        return f"at least {b.lower:g} requests/s (nothing up to {c.options.max_rate:g} failed)"
    broke = f", first broken by {', '.join(b.broken_by)}" if b.broken_by else ""
    return f"between {b.lower:g} and {b.upper:g} requests/s{broke}"


def capacity_to_dict(c: CapacityResult, comparison: Comparison | None = None) -> dict[str, Any]:
    spec = c.loaded.spec
    out: dict[str, Any] = _num(
        {
            "schema_version": SCHEMA_VERSION,
            "kind": "capacity",
            "tool": {"name": "slocheck", "version": __version__},
            "verdict": c.verdict,
            "error": c.error,
            "spec": {"path": c.loaded.path, "sha256": c.loaded.sha256},
            "capacity": {
                "lower_rps": c.bracket.lower,
                "upper_rps": c.bracket.upper,
                "broken_by": c.bracket.broken_by,
            },
            "search": {
                "min_rate": c.options.min_rate,
                "max_rate": c.options.max_rate,
                "precision": c.options.precision,
                "budget_s": c.options.budget_s,
                "step_duration_s": c.options.step_duration,
                "require_rate": c.options.require_rate,
                "stopped_by": c.stopped_by,
                "started_at": _iso(c.started_at),
                "finished_at": _iso(c.finished_at),
                "seconds": c.finished_at - c.started_at,
            },
            "slos": [
                {"name": s.name, "sli": s.sli, "severity": s.severity, "threshold": s.threshold}
                for s in spec.slos
            ],
            "steps": [
                {
                    "rate": s.rate,
                    "verdict": s.verdict,
                    "broken_by": s.broken_by,
                    "achieved_rps": s.achieved_rps,
                    "p95_s": s.p95_s,
                    "p99_s": s.p99_s,
                    "error_ratio": s.error_ratio,
                    "seconds": s.seconds,
                    "report": f"steps/{step_folder(n + 1, s.rate)}/report.json",
                }
                for n, s in enumerate(c.steps)
            ],
            "cost": cost_to_dict(spec.cost, c.cost_per_million_tokens),
            "comparison": regress_to_dict(comparison) if comparison else None,
        }
    )
    return out


def capacity_to_json(c: CapacityResult, comparison: Comparison | None = None) -> str:
    return json.dumps(capacity_to_dict(c, comparison), indent=2, allow_nan=False) + "\n"


def _ms(x: float | None) -> str:
    return "-" if x is None else format_duration(x)


def capacity_to_markdown(c: CapacityResult) -> str:
    lines = [
        f"## slocheck capacity: {c.verdict.upper()}",
        "",
        f"Capacity of {md(c.loaded.spec.service.name)}: **{md(bracket_text(c))}**.",
        "",
        f"Search: {c.options.min_rate or 0:g} to {c.options.max_rate:g} requests/s, open loop, "
        f"{format_duration(c.options.step_duration)} a step, {len(c.steps)} steps in "
        f"{c.finished_at - c.started_at:.0f} s of a {c.options.budget_s:.0f} s budget; "
        f"stopped: {STOPPED.get(c.stopped_by, c.stopped_by)}.",
        "",
    ]
    cost = c.cost_per_million_tokens
    if cost is not None and c.loaded.spec.cost is not None:
        lines += [
            f"At {c.bracket.lower:g} requests/s a million output tokens cost "
            f"**{cost:,.2f} {md(c.loaded.spec.cost.currency)}** "
            f"({c.loaded.spec.cost.per_hour:g} {md(c.loaded.spec.cost.currency)} an hour).",
            "",
        ]
    if c.error:
        lines += [f"The search could not go on: {md(c.error)}", ""]
    lines += [
        "| step | rate | verdict | achieved | P95 | P99 | error ratio | broken by |",
        "| ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for n, s in enumerate(c.steps, start=1):
        achieved = "-" if s.achieved_rps is None else f"{s.achieved_rps:.1f}"
        errors = "-" if s.error_ratio is None else f"{s.error_ratio:.2%}"
        lines.append(
            f"| {n} | {s.rate:g} | {s.verdict} | {achieved} | {_ms(s.p95_s)} | {_ms(s.p99_s)} "
            f"| {errors} | {md(', '.join(s.broken_by)) or '-'} |"
        )
    lines += [
        "",
        "Latencies are from each request's due time (open loop). The curve of every step is "
        "`curve.csv`; each step's own reports are under `steps/`.",
        "",
    ]
    return "\n".join(lines)


def capacity_to_html(c: CapacityResult) -> str:
    steps = sorted(c.steps, key=lambda s: s.rate)
    xs = [s.rate for s in steps]

    ticks = [(x, f"{x:g}/s") for x in xs]  # the rates tried
    bracket = [
        (f"{name} {rate:g}/s", colour, rate)
        for name, colour, rate in (
            ("passes at", "#1a7f37", c.bracket.lower),
            ("fails at", "#cf222e", c.bracket.upper),
        )
        if rate is not None
    ]

    throughput = svg_plot(
        "Throughput: achieved against requested",
        xs,
        [
            ("achieved", "#0969da", [s.achieved_rps for s in steps]),
            ("requested", "#8c959f", list(xs)),
        ],
        "achieved requests/s",
        x=XAxis("requested rate (requests/s)", ticks=ticks, marks=bracket),
    )
    slos = list(c.loaded.spec.slos)
    latency = svg_plot(
        "Latency against requested rate (from the due time)",
        xs,
        [
            ("p95", "#bf8700", [None if s.p95_s is None else s.p95_s * 1000 for s in steps]),
            ("p99", "#8250df", [None if s.p99_s is None else s.p99_s * 1000 for s in steps]),
        ],
        "ms, from the due time",
        x=XAxis("requested rate (requests/s)", ticks=ticks),
        levels=latency_levels(slos, "latency"),
    )
    errors = svg_plot(
        "Error ratio against requested rate",
        xs,
        [
            (
                "error ratio",
                "#cf222e",
                [None if s.error_ratio is None else s.error_ratio * 100 for s in steps],
            )
        ],
        "%",
        x=XAxis("requested rate (requests/s)", ticks=ticks),
        levels=ratio_levels(slos),
    )
    # the streams' measures and goodput, where the steps have them (LLM services)
    streams = "\n".join(
        curve_plots(
            c.curve, slos, Axis.RATE, ("ttft_p95_s", "itl_p95_s", "goodput", "output_tokens_per_s")
        )
    )
    rows = "".join(
        f"<tr><td>{n}</td><td>{s.rate:g}</td><td>{verdict_html(s.verdict)}</td>"
        f"<td>{'-' if s.achieved_rps is None else f'{s.achieved_rps:.1f}'}</td>"
        f"<td>{_ms(s.p95_s)}</td><td>{_ms(s.p99_s)}</td>"
        f"<td>{escape(', '.join(s.broken_by)) or '-'}</td></tr>"
        for n, s in enumerate(c.steps, start=1)
    )
    error = (
        f"<p><strong>The search could not go on:</strong> {prose(c.error)}</p>" if c.error else ""
    )
    body = f"""<p>Capacity of <code>{escape(c.loaded.spec.service.name)}</code>:
<strong>{escape(bracket_text(c))}</strong>. Stopped:
{escape(STOPPED.get(c.stopped_by, c.stopped_by))}.</p>{error}
<p>Dashed lines: the thresholds of the spec's SLOs.</p>
{throughput}
{latency}
{errors}
{streams}
<table><tr><th>step</th><th>rate</th><th>verdict</th><th>achieved</th><th>P95</th>
<th>P99</th><th>broken by</th></tr>{rows}</table>"""
    return curve_page("capacity", c.verdict, body)
