"""A spec read back as a person would say it (``slocheck validate``): one sentence per SLO, and
warnings for what cannot be decided at the spec's load. Pure."""

from __future__ import annotations

import math

from slocheck.evaluate.search import samples_needed
from slocheck.evaluate.verdicts import pct
from slocheck.promql import parse_matchers
from slocheck.slofile.kinds import LATENCY_RATIO, QUANTILE, REQUESTS, kind
from slocheck.slofile.model import SloSpec, Source, Spec

#: the families whose verdict needs a count of requests (or of scrapes) to be decided
_COUNTED = (REQUESTS, QUANTILE, LATENCY_RATIO)

#: labels whose value names the requests a selector keeps (``on /v1/classify``)
_ROUTE_LABELS = ("endpoint", "handler", "route", "path", "url", "uri", "model", "model_name")
_FROM = {
    "server": "from the server",
    "client": "from the client (the load generator)",
    "both": "from the server and the client (the stricter wins)",
}


def seconds_text(seconds: float) -> str:
    """``0.5`` -> ``500 ms``, ``2.0`` -> ``2 s``, ``90`` -> ``90 s``."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.4g} us"
    if seconds < 1.0:
        return f"{seconds * 1e3:.4g} ms"
    return f"{seconds:.4g} s"


def _duration_text(seconds: float) -> str:
    """A duration to write in a spec: whole seconds, minutes or hours."""
    seconds = math.ceil(seconds)
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds >= 120:
        return f"{math.ceil(seconds / 60)}m"
    return f"{seconds}s"


def _on(selector: str) -> str:
    equal = {m.label: m.value for m in reversed(parse_matchers(selector)) if m.op == "="}
    for label in _ROUTE_LABELS:
        if label in equal:
            return f" on {equal[label]}"
    return f" on {{{selector}}}" if selector else ""


def sentence(slo: SloSpec, source: Source, selector: str = "") -> str:
    """``P95 of latency on /v1/classify at or below 500 ms, from the server and the client``."""
    k = kind(slo.sli)
    on = "" if k.own_series or source == "client" else _on(selector)
    threshold = slo.threshold if slo.threshold is not None else math.nan
    objective = slo.objective if slo.objective is not None else math.nan
    if slo.sli == "availability" and slo.measurement == "uptime":
        what = (
            f"uptime{on} (the share of scrapes that found the target up) at least {pct(objective)}"
        )
    elif slo.sli == "availability":
        what = f"availability{on} (requests not answered 5xx) at least {pct(objective)}"
    elif k.family == QUANTILE:
        p = slo.percentile if slo.percentile is not None else math.nan
        what = f"P{p:g} of {k.words}{on} at or below {seconds_text(threshold)}"
    elif slo.sli == "latency_ratio":
        what = (
            f"at least {pct(objective)} of requests{on} answered within {seconds_text(threshold)}"
        )
    elif slo.sli == "error_ratio":
        what = f"error ratio{on} (server errors / requests) at or below {pct(threshold)}"
    elif slo.sli == "throughput":
        what = f"throughput{on} at least {threshold:g} requests/s"
    elif slo.sli == "token_throughput":
        what = f"generated tokens{on} at least {threshold:g} tokens/s"
    elif slo.sli == "ratio":
        share = f"{slo.good} / {slo.total}" if slo.good else f"1 - {slo.bad} / {slo.total}"
        what = f"{share} at least {pct(objective)}"
    elif slo.sli == "promql":
        what = f"the query's value {slo.op} {threshold:g}"
    else:  # a kind of its own: its words, and its threshold or objective
        goal = f"at least {pct(objective)}" if k.threshold_unit is None else f"{threshold:g}"
        what = f"{k.words}{on} against {goal}"
    return f"{what}, {_FROM[source]}"


def undecidable(slo: SloSpec, spec: Spec) -> str | None:
    """Why ``slo`` cannot be decided at the spec's rate and duration (a healthy service, no
    error), with the duration that would decide it; None when it can, or when the count of
    requests cannot be known before the load (an unpaced closed loop: see :func:`unpaced`)."""
    load = spec.load
    k = kind(slo.sli)
    if k.rate_of is not None or k.family not in _COUNTED:
        return None
    if slo.sli == "availability" and slo.measurement == "uptime":
        interval = spec.prometheus.scrape_interval
        have = math.floor(load.duration / interval)
        need = samples_needed([slo])
        if have >= need:
            return None
        return (
            f"cannot be decided in load.duration {_duration_text(load.duration)}: "
            f"{have:,} scrapes (one every {seconds_text(interval)}), and {pct(slo.objective or 0)} "
            f"needs {need:,} with the target up in every one; a duration of "
            f"{_duration_text(need * interval * 1.25)} would decide it"
        )
    if load.rate is None:
        return None
    have = math.floor(load.rate * load.duration)
    need = samples_needed([slo])
    if have >= need:
        return None
    if slo.min_samples and slo.min_samples >= need:
        why = f"min_samples asks for {need:,}"
    elif slo.percentile is not None:
        why = f"P{slo.percentile:g} needs {need:,}"
    elif slo.sli == "error_ratio":
        why = f"an error ratio of at most {pct(slo.threshold or 0)} needs {need:,} with no error"
    else:
        why = f"{pct(slo.objective or 0)} needs {need:,} with no failure"
    return (
        f"cannot be decided at load.rate {load.rate:g} requests/s for load.duration "
        f"{_duration_text(load.duration)}: about {have:,} requests, and {why} to pass; "
        f"a duration of {_duration_text(need * 1.25 / load.rate)} would decide it"
    )


def unpaced(spec: Spec) -> str | None:
    """A closed loop with users and no rate: as fast as the service answers, so neither the
    load nor the number of requests is known before the run."""
    load = spec.load
    if load.arrival != "closed" or load.rate is not None:
        return None
    return (
        f"load: {load.users} users and no load.rate: an unpaced closed loop sends as fast as "
        "the service answers (the load, and so the latency, depends on the machine); set "
        "load.rate (requests/s in all), e.g. a safe fraction of what the service sustains"
    )
