"""The PromQL shapes an imported SLO (OpenSLO, Sloth) is recognised by, so that it is counted
exactly like slocheck's own SLIs rather than judged by Prometheus' extrapolated ``rate()``.
Pure text matching: a query that is none of these shapes is kept as it is (``sli: promql``).

Accepted, ``W`` being any range (``[5m]``, ``[{{.window}}]``, ``[$window]``), whitespace free:

* a counter: ``C{...}``, ``sum(C{...})``, ``sum(rate(C{...}[W]))``, ``sum(increase(C{...}[W]))``,
  ``rate(C{...}[W])``, ``increase(C{...}[W])``;
* a quantile: ``histogram_quantile(q, sum by (le) (rate(H_bucket{...}[W])))`` (or
  ``sum(rate(...)) by (le)``, or ``increase``);
* slow requests (Sloth's latency SLO): ``sum(rate(H_count{...}[W])) - sum(rate(H_bucket{...,
  le="0.25"}[W]))``, optionally in brackets;
* a rate (throughput): ``sum(rate(C{...}[W]))``.
"""

from __future__ import annotations

import re

from slocheck.promql import METRIC_NAME, STRING, Matcher, Selector, SelectorError

_SEL = rf'{METRIC_NAME}(?:\s*\{{(?:[^{{}}"]|{STRING})*\}})?'
#: a range: a PromQL duration, Sloth's template or slocheck's placeholder
WINDOW = r"\[\s*(?:\{\{\s*\.window\s*\}\}|\$window|[0-9]+(?:ms|s|m|h|d|w|y))\s*\]"
_FUNC = r"(?:rate|increase)"
_SUM_RATE = rf"sum\s*\(\s*{_FUNC}\s*\(\s*({_SEL})\s*{WINDOW}\s*\)\s*\)"

_COUNTER = [
    re.compile(rf"\s*({_SEL})\s*", re.DOTALL),
    re.compile(rf"\s*sum\s*\(\s*({_SEL})\s*\)\s*", re.DOTALL),
    re.compile(rf"\s*{_SUM_RATE}\s*", re.DOTALL),
    re.compile(rf"\s*{_FUNC}\s*\(\s*({_SEL})\s*{WINDOW}\s*\)\s*", re.DOTALL),
]
_RATE = re.compile(rf"\s*sum\s*\(\s*rate\s*\(\s*({_SEL})\s*{WINDOW}\s*\)\s*\)\s*", re.DOTALL)
_SLOW = [
    re.compile(rf"\s*{_SUM_RATE}\s*-\s*{_SUM_RATE}\s*", re.DOTALL),
    re.compile(rf"\s*\(\s*{_SUM_RATE}\s*-\s*{_SUM_RATE}\s*\)\s*", re.DOTALL),
]
_BY_LE = r"by\s*\(\s*le\s*\)"
_QUANTILE = [
    re.compile(
        rf"\s*histogram_quantile\s*\(\s*([0-9.]+)\s*,\s*sum\s*{_BY_LE}\s*"
        rf"\(\s*{_FUNC}\s*\(\s*({_SEL})\s*{WINDOW}\s*\)\s*\)\s*\)\s*",
        re.DOTALL,
    ),
    re.compile(
        rf"\s*histogram_quantile\s*\(\s*([0-9.]+)\s*,\s*sum\s*"
        rf"\(\s*{_FUNC}\s*\(\s*({_SEL})\s*{WINDOW}\s*\)\s*\)\s*{_BY_LE}\s*\)\s*",
        re.DOTALL,
    ),
]
_TEMPLATE = re.compile(r"\{\{\s*\.window\s*\}\}")


def parse_selector(text: str) -> Selector | None:
    """``metric{a="x", b=~"y"}`` -> a :class:`Selector` written without spaces; None when it is
    not one or names no metric."""
    try:
        sel = Selector.parse(text)
    except SelectorError:
        return None
    return sel.canonical() if sel.metric else None


def counter_of(query: str) -> Selector | None:
    """The counter a query sums (the accepted counter shapes), or None."""
    for pattern in _COUNTER:
        m = pattern.fullmatch(query)
        if m:
            return parse_selector(m.group(1))
    return None


def rate_of(query: str) -> Selector | None:
    """``sum(rate(C[W]))``: the counter whose per-second rate it is, or None."""
    m = _RATE.fullmatch(query)
    return parse_selector(m.group(1)) if m else None


def slow_of(query: str) -> tuple[Selector, Selector] | None:
    """``sum(rate(H_count[W])) - sum(rate(H_bucket{le=B}[W]))``: (count, bucket), or None."""
    for pattern in _SLOW:
        m = pattern.fullmatch(query)
        if m:
            count, bucket = parse_selector(m.group(1)), parse_selector(m.group(2))
            return (count, bucket) if count and bucket else None
    return None


def quantile_of(query: str) -> tuple[float, Selector] | None:
    """``histogram_quantile(q, sum by (le) (rate(H_bucket[W])))``: (q, the bucket selector)."""
    for pattern in _QUANTILE:
        m = pattern.fullmatch(query)
        if m:
            bucket = parse_selector(m.group(2))
            try:
                q = float(m.group(1))
            except ValueError:
                return None
            return (q, bucket) if bucket and 0 < q < 1 else None
    return None


def le_bound(matcher: Matcher | None) -> float | None:
    """The bucket bound of ``le="0.25"`` (or ``le=~"1.0|1"``, every spelling the same bound)."""
    if matcher is None or matcher.label != "le" or matcher.op not in ("=", "=~"):
        return None
    forms = matcher.value.replace("\\\\.", ".").replace("\\.", ".").split("|")
    try:
        values = {float(f) for f in forms} if matcher.op == "=~" else {float(matcher.value)}
    except ValueError:
        return None
    return values.pop() if len(values) == 1 else None


def to_slocheck_window(query: str) -> str:
    """Sloth's ``{{.window}}`` becomes slocheck's ``$window``."""
    return _TEMPLATE.sub("$window", query).strip()
