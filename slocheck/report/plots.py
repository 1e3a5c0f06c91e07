"""Inline SVG plots for the HTML reports (no script, no network, every label escaped): lines
over an x axis with tick labels and axis titles on both axes, thresholds drawn as labelled
dashed lines, a log scale when a threshold is far from the data, and a latency distribution
(the percentile curve of an HDR histogram)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from hdrh.histogram import HdrHistogram

W, H = 860, 260
LEFT, RIGHT, TOP, BOTTOM = 76, 24, 40, 48
#: a threshold this many times above (or below) the data's largest value: log scale, else
#: either the data or the threshold would sit flat against an axis
LOG_RATIO = 10.0
#: on every distribution curve the data supports, exactly
USUAL = (50.0, 90.0, 95.0, 99.0, 99.9, 99.99)

Line = tuple[str, str, list[float | None]]  # name, colour, y per x (None: a gap)
Level = tuple[str, str, float]  # name, colour, value (y for a threshold, x for a mark)


def linear_ticks(top: float) -> list[float]:
    """0 and round steps up to ``top`` (at most 6 ticks)."""
    if top <= 0 or not math.isfinite(top):
        return [0.0]
    base = 10 ** math.floor(math.log10(top))
    step = next(base * m for m in (0.1, 0.2, 0.5, 1, 2, 5, 10) if top / (base * m) <= 5)
    return [round(i * step, 12) for i in range(int(top / step + 1e-9) + 1)]


def log_ticks(lo: float, hi: float) -> list[float]:
    """Each decade from ``lo`` to ``hi`` (powers of ten), with 2 and 5 between when few."""
    first, last = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    decades = [10.0**e for e in range(first, last + 1)]
    if len(decades) > 3:
        return decades
    return [d * m for d in decades for m in (1, 2, 5) if d * m <= 10.0**last]


def wants_log(values: Sequence[float], levels: Sequence[float]) -> bool:
    """True when a threshold is ``LOG_RATIO`` times the data's typical (median) value or more,
    or that value ``LOG_RATIO`` times a threshold: on a linear axis one of them would be
    unreadable (the data flat on the axis, or the threshold)."""
    data = [v for v in values if v > 0 and math.isfinite(v)]
    marks = [v for v in levels if v > 0 and math.isfinite(v)]
    if not data or not marks:
        return False
    typical = sorted(data)[len(data) // 2]
    return any(m / typical >= LOG_RATIO or typical / m >= LOG_RATIO for m in marks)


def tick_text(t: float) -> str:
    return f"{t:,.0f}" if abs(t) >= 1000 else f"{t:g}"


def _seconds(x: float, x0: float) -> str:
    return f"{x - x0:.0f}s"


@dataclass(frozen=True)
class XAxis:
    """What the x axis shows: its title, its ticks (``ticks`` as given, or six even ones
    labelled ``text(x, first x)``), the judged window shaded from ``shade_from`` on, and
    ``marks``, vertical dashed lines with their label (a change point, a bracket)."""

    label: str = "seconds since the load started"
    text: Callable[[float, float], str] = _seconds
    ticks: Sequence[tuple[float, str]] | None = None
    shade_from: float | None = None
    marks: Sequence[Level] = ()


@dataclass(frozen=True)
class Frame:
    """Where data lands: the x range, the y range and scale, and the pixel of each value."""

    x0: float
    x1: float
    lo: float
    hi: float
    log: bool
    ticks: list[float]

    def px(self, x: float) -> float:
        return LEFT + (x - self.x0) / (self.x1 - self.x0) * (W - LEFT - RIGHT)

    def py(self, y: float) -> float:
        if self.log:
            span = math.log10(self.hi) - math.log10(self.lo)
            frac = (math.log10(max(y, self.lo)) - math.log10(self.lo)) / span
        else:
            frac = y / self.hi
        return H - BOTTOM - frac * (H - TOP - BOTTOM)


def _frame(xs: list[float], values: list[float], log: bool) -> Frame:
    """The frame for ``values`` (data and thresholds): log only when something is positive;
    zeros sit on a log axis a decade below anything measured."""
    positive = [v for v in values if v > 0]
    log = bool(log and positive)
    x0 = min(xs)
    x1 = max(xs) if max(xs) > x0 else x0 + 1
    if log:
        lo = 10 ** math.floor(math.log10(min(positive)))
        if min(values) <= 0:
            lo /= 10
        hi = 10 ** math.ceil(math.log10(max(positive) * 1.01))
        return Frame(x0, x1, lo, hi, True, log_ticks(lo, hi))
    ticks = linear_ticks(max(values) * 1.05)
    return Frame(x0, x1, 0.0, max(max(values) * 1.1, ticks[-1]) or 1.0, False, ticks)


def _shade(f: Frame, shade_from: float | None) -> list[str]:
    if shade_from is None or not f.x0 <= shade_from <= f.x1:
        return []
    x = f.px(shade_from)
    return [
        f'<rect x="{x:.1f}" y="{TOP}" width="{f.px(f.x1) - x:.1f}"'
        f' height="{H - TOP - BOTTOM}" fill="#ddf4ff"/>'
        f'<text x="{x + 4:.1f}" y="{H - BOTTOM - 6}" font-size="11" '
        'fill="#0969da">judged window</text>'
    ]


def _grid(f: Frame, x: XAxis) -> list[str]:
    """The y ticks with their grid lines, the x ticks."""
    parts = [
        f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{f.py(t):.1f}" y2="{f.py(t):.1f}" '
        f'stroke="#eaeef2"/><text class="ytick" x="{LEFT - 6}" y="{f.py(t) + 4:.1f}" '
        f'font-size="11" text-anchor="end">{escape(tick_text(t))}</text>'
        for t in f.ticks
    ]
    ticks = x.ticks
    if ticks is None:
        places = (f.x0 + (f.x1 - f.x0) * i / 5 for i in range(6))
        ticks = [(at, x.text(at, f.x0)) for at in places]
    parts += [
        f'<line x1="{f.px(at):.1f}" x2="{f.px(at):.1f}" y1="{H - BOTTOM}" y2="{H - BOTTOM + 4}" '
        f'stroke="#8c959f"/><text class="xtick" x="{f.px(at):.1f}" y="{H - BOTTOM + 16}" '
        f'font-size="11" text-anchor="middle">{escape(text)}</text>'
        for at, text in ticks
    ]
    return parts


def _axes(f: Frame, x_label: str, unit: str) -> str:
    middle = (TOP + H - BOTTOM) / 2
    scale = " (log scale)" if f.log else ""
    return (
        f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{H - BOTTOM}" stroke="#8c959f"/>'
        f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{H - BOTTOM}" y2="{H - BOTTOM}" '
        f'stroke="#8c959f"/>'
        f'<text class="xlabel" x="{(LEFT + W - RIGHT) / 2:.0f}" y="{H - 8}" font-size="12" '
        f'text-anchor="middle">{escape(x_label)}</text>'
        f'<text class="ylabel" x="14" y="{middle:.0f}" font-size="12" '
        f'text-anchor="middle" transform="rotate(-90 14 {middle:.0f})">'
        f"{escape(unit + scale)}</text>"
    )


def merged_levels(levels: Sequence[Level]) -> list[Level]:
    """Levels at one value drawn once, their names joined (two SLOs with one threshold would
    otherwise print their labels over each other), in their first order; the first's
    colour."""
    out: dict[float, Level] = {}
    for name, colour, value in levels:
        if value in out:
            first, first_colour, _ = out[value]
            out[value] = (f"{first}; {name}", first_colour, value)
        else:
            out[value] = (name, colour, value)
    return list(out.values())


def _guides(f: Frame, levels: Sequence[Level], marks: Sequence[Level]) -> list[str]:
    """Thresholds (horizontal, one line a value) and marks (vertical), each with its label."""
    levels = merged_levels(levels)
    parts = [
        f'<line class="threshold" x1="{LEFT}" x2="{W - RIGHT}" y1="{f.py(level):.1f}" '
        f'y2="{f.py(level):.1f}" stroke="{colour}" stroke-width="1.5" '
        f'stroke-dasharray="6 4"/><text x="{LEFT + 4}" y="{f.py(level) - 4:.1f}" '
        f'font-size="11" fill="{colour}">{escape(name)}</text>'
        for name, colour, level in levels
    ]
    for i, (name, colour, x) in enumerate(marks):
        # labels alternate left and right of their line: two marks close together stay legible
        side, anchor = (-4, "end") if i % 2 == 0 else (4, "start")
        if f.x0 <= x <= f.x1:
            parts.append(
                f'<line class="mark" x1="{f.px(x):.1f}" x2="{f.px(x):.1f}" y1="{TOP}" '
                f'y2="{H - BOTTOM}" stroke="{colour}" stroke-dasharray="2 3"/>'
                f'<text x="{f.px(x) + side:.1f}" y="{TOP + 12}" font-size="11" fill="{colour}" '
                f'text-anchor="{anchor}">{escape(name)}</text>'
            )
    return parts


def _line(f: Frame, n: int, line: Line, xs: list[float]) -> list[str]:
    """One line (broken where a value is missing: a lone point is a dot) and its legend."""
    name, colour, ys = line
    segments: list[list[str]] = [[]]
    for x, y in zip(xs, ys, strict=True):
        if y is None or not math.isfinite(y):
            segments.append([])
        else:
            segments[-1].append(f"{f.px(x):.1f},{f.py(y):.1f}")
    parts = []
    for seg in segments:
        if len(seg) == 1:
            cx, cy = seg[0].split(",")
            parts.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{colour}"/>')
        elif seg:
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                f'points="{" ".join(seg)}"/>'
            )
    parts.append(
        f'<rect x="{W - RIGHT - 150}" y="{8 + n * 16}" width="10" height="10" '
        f'fill="{colour}"/><text x="{W - RIGHT - 135}" y="{17 + n * 16}" '
        f'font-size="12">{escape(name)}</text>'
    )
    return parts


def svg_plot(
    title: str,
    xs: list[float],
    lines: Sequence[Line],
    unit: str,
    *,
    x: XAxis = XAxis(),
    levels: Sequence[Level] = (),
    log: bool | None = None,
) -> str:
    """Lines over ``xs`` (time, or any x the ``XAxis`` labels); ``None`` values break a line.
    ``levels``: horizontal dashed lines with their label (an SLO's threshold). ``log``: log y
    axis; None: chosen by ``wants_log``. ``unit`` titles the y axis."""
    data = [v for _, _, ys in lines for v in ys if v is not None and math.isfinite(v)]
    if not xs or not data:
        return f"<p>{escape(title)}: no data.</p>"
    level_values = [y for *_, y in levels if math.isfinite(y)]
    if log is None:
        log = wants_log(data, level_values)
    f = _frame(xs, data + level_values, log)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" '
        f'aria-label="{escape(title)}" font-family="system-ui, sans-serif">'
        f"<title>{escape(title)}</title>",
        *_shade(f, x.shade_from),
        *_grid(f, x),
        _axes(f, x.label, unit),
        *_guides(f, levels, x.marks),
    ]
    for n, line in enumerate(lines):
        parts += _line(f, n, line, xs)
    parts.append(
        f'<text x="{LEFT}" y="20" font-size="13" font-weight="bold">{escape(title)}</text></svg>'
    )
    return "".join(parts)


def nines(percentile: float) -> float:
    """The x of a percentile on a distribution plot: P90 1, P99 2, P99.9 3 (``-log10`` of the
    share above it), so that the tail gets the room."""
    return -math.log10(1 - percentile / 100)


def percentile_curve(hist: HdrHistogram, step: float = 0.05) -> list[tuple[float, float]]:
    """(percentile, value in the histogram's unit) from P0 up to the deepest percentile its
    count supports (P99 needs 100 values, P99.9 a thousand), every ``step`` nines."""
    count = hist.get_total_count()
    if not count:
        return []
    deepest = min(math.log10(count), 5.0)
    grid = {round(100 * (1 - 10 ** -(i * step)), 9) for i in range(int(deepest / step + 1e-9) + 1)}
    grid |= {p for p in USUAL if nines(p) <= deepest + 1e-9}
    return [(p, float(hist.get_value_at_percentile(p))) for p in sorted(grid)]


def distribution_plot(
    title: str,
    curve: list[tuple[float, float]],
    unit: str,
    *,
    levels: Sequence[Level] = (),
    marks: Sequence[Level] = (),
    colour: str = "#0969da",
) -> str:
    """A percentile curve (``percentile_curve``, values already in ``unit``): percentile on a
    nines axis, the value up; ``marks`` are percentiles (the SLO's), ``levels`` thresholds."""
    if not curve:
        return f"<p>{escape(title)}: no data.</p>"
    xs = [nines(p) for p, _ in curve]
    top = max(xs)
    ticks = [(nines(p), f"P{p:g}") for p in (0, 50, 90, 99, 99.9, 99.99, 99.999)]
    return svg_plot(
        title,
        xs,
        [("client, judged window", colour, [v for _, v in curve])],
        unit,
        x=XAxis(
            label="percentile (the share of requests at or below the value)",
            ticks=[(x, text) for x, text in ticks if x <= top + 1e-9],
            marks=[(name, c, nines(p)) for name, c, p in marks],
        ),
        levels=levels,
    )
