"""Human forms of values, shared by every writer."""

from __future__ import annotations

import math

from slocheck.evaluate.verdicts import SloResult, pct
from slocheck.slofile.kinds import LATENCY_RATIO, QUANTILE, find
from slocheck.units import format_duration


def value_text(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if not math.isfinite(value):
        return str(value)
    if unit == "ratio":
        return pct(value)
    if unit == "seconds":
        return format_duration(value)
    if unit == "requests/s":
        return f"{value:,.2f} req/s"
    if unit == "tokens/s":
        return f"{value:,.1f} tokens/s"
    return f"{value:g}"


def sli_text(r: SloResult) -> str:
    """The SLI, with who measured it when not (only) the server: ``ttft (client)``."""
    source = r.details.get("source")
    return f"{r.sli} ({source})" if source in ("client", "both") else r.sli


def target_text(r: SloResult) -> str:
    """``>= 99.9%``, ``P95 <= 500ms``, ``<= 0.1%``, ``>= 100 req/s``, ``<= 300ms: >= 99%``."""
    k = find(r.sli)
    if k is not None and k.family == QUANTILE:
        return f"<= {value_text(r.threshold, 'seconds')}"
    if k is not None and k.family == LATENCY_RATIO:
        bound = r.details.get("threshold_seconds")
        within = f"within {value_text(bound, 'seconds')} " if isinstance(bound, float) else ""
        return f"{within}>= {value_text(r.objective, 'ratio')}"
    if k is not None and k.threshold_unit is None:  # an objective only
        return f">= {value_text(r.objective, 'ratio')}"
    return f"{r.op} {value_text(r.threshold, r.unit)}"


def result_value_text(r: SloResult) -> str:
    """The value, with the bucket a histogram quantile is known to lie in."""
    text = value_text(r.value, r.unit)
    lower, upper = r.details.get("bucket_lower"), r.details.get("bucket_upper")
    if isinstance(lower, float) and isinstance(upper, float) and r.value is not None:
        return f"~{text} in ({value_text(lower, 'seconds')}, {value_text(upper, 'seconds')}]"
    return text


def samples_text(r: SloResult) -> str:
    return "-" if r.samples is None else f"{r.samples:,}"
