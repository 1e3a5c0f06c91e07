"""The plots of a run's HTML page: requests, latency, error ratio, and for streams time to first
token and inter-token latency over time, each with the spec's thresholds drawn on it, and one
latency distribution per latency SLO, from the load generator's HDR histograms."""

from __future__ import annotations

from slocheck.load.stats import SecondStats, merged, new_histogram, timeline
from slocheck.report.plots import Level, XAxis, distribution_plot, percentile_curve, svg_plot
from slocheck.report.run_report import finite
from slocheck.results import RunResult
from slocheck.slofile.kinds import QUANTILE, family_of, kind
from slocheck.slofile.model import SloSpec
from slocheck.units import format_duration

THRESHOLD = "#cf222e"
#: the streams' plots over time: the latency SLIs the client measures in tables of their own
_STREAM_PLOTS = {"ttft": "Time to first token", "inter_token_latency": "Inter-token"}


def _ms(v: float | None) -> float | None:
    x = finite(v)
    return None if x is None else x * 1000


def latency_levels(slos: list[SloSpec], sli: str) -> list[Level]:
    """Each threshold of the SLOs of ``sli`` as a level in ms, named with its percentile."""
    out = []
    for s in slos:
        if s.sli == sli and s.threshold is not None:
            p = f"P{s.percentile:g} " if s.percentile is not None else ""
            out.append(
                (f"{s.name}: {p}{format_duration(s.threshold)}", THRESHOLD, s.threshold * 1e3)
            )
    return out


def ratio_levels(slos: list[SloSpec]) -> list[Level]:
    """The error ratio each SLO allows, in %: an error_ratio threshold, or what an
    availability objective leaves."""
    out = []
    for s in slos:
        if s.sli == "error_ratio" and s.threshold is not None:
            out.append((f"{s.name}: {s.threshold:.2%}", THRESHOLD, s.threshold * 100))
        elif s.sli == "availability" and s.objective is not None:
            allowed = 1 - s.objective
            out.append(
                (f"{s.name}: {s.objective:.2%} leaves {allowed:.2%}", "#9a6700", allowed * 100)
            )
    return out


def _table(r: RunResult, sli: str) -> dict[int, SecondStats]:
    snap = r.load.snapshot
    name = kind(sli).client_table
    return merged(snap.requests.values()) if name is None else snap.metrics.get(name, {})


def over_time(title: str, points: list[dict[str, float]], levels: list[Level], start: float) -> str:
    xs = [p["t"] for p in points]
    return svg_plot(
        title,
        xs,
        [
            ("p50", "#1a7f37", [_ms(p["p50_s"]) for p in points]),
            ("p95", "#bf8700", [_ms(p["p95_s"]) for p in points]),
        ],
        "ms, client side",
        x=XAxis(shade_from=start),
        levels=levels,
    )


def run_plots(r: RunResult) -> str:
    """Every plot of the run page, in the order they are read."""
    slos = list(r.loaded.spec.slos)
    start = float(r.load.window_start)
    table = merged(r.load.snapshot.requests.values())
    points = timeline(table)
    xs = [p["t"] for p in points]
    out = [
        svg_plot(
            "Requests per second",
            xs,
            [
                ("requests/s", "#0969da", [p["requests"] for p in points]),
                ("errors/s", "#cf222e", [p["errors"] for p in points]),
            ],
            "requests/s, client side",
            x=XAxis(shade_from=start),
        ),
        over_time("Latency", points, latency_levels(slos, "latency"), start),
        svg_plot(
            "Error ratio",
            xs,
            [
                (
                    "errors / requests",
                    "#cf222e",
                    [p["errors"] / p["requests"] * 100 if p["requests"] else None for p in points],
                )
            ],
            "%, client side",
            x=XAxis(shade_from=start),
            levels=ratio_levels(slos),
        ),
    ]
    for sli, title in _STREAM_PLOTS.items():
        stream = _table(r, sli)
        if stream:
            out.append(over_time(title, timeline(stream), latency_levels(slos, sli), start))
    out.append(distributions(r, slos))
    return "".join(out)


def distributions(r: RunResult, slos: list[SloSpec]) -> str:
    """One percentile curve per latency SLO, over the judged window, its threshold across and
    its percentile marked."""
    out = []
    curves: dict[str, tuple[int, list[tuple[float, float]]]] = {}  # one decoding per table
    for s in slos:
        if family_of(s.sli) != QUANTILE:  # the latency SLIs, a client's table each
            continue
        if s.sli not in curves:
            hist = new_histogram()
            for sec, slot in _table(r, s.sli).items():
                if sec >= r.load.window_start:
                    slot.add_to(hist)
            curve = [(p, v / 1000) for p, v in percentile_curve(hist)]  # microseconds -> ms
            curves[s.sli] = (hist.get_total_count(), curve)
        count, curve = curves[s.sli]
        marks = [(f"P{s.percentile:g}", "#57606a", s.percentile)] if s.percentile else []
        out.append(
            distribution_plot(
                f"{s.name}: {s.sli.replace('_', ' ')} distribution ({count:,} measured)",
                curve,
                "ms, client side",
                levels=latency_levels([s], s.sli),
                marks=marks,
            )
        )
    if not out:
        return ""
    return "<h2>Latency distributions</h2>" + "".join(out)
