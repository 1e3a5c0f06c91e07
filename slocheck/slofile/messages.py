"""pydantic's errors in slocheck's words: each error type a spec can hit becomes a sentence
that says what was expected and what was found (the loader adds file, line and field).
Pure."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from slocheck.slofile.bounds import bound_text

#: fields read as durations: their bounds are shown as durations (1h, not 3600)
DURATION_FIELDS = frozenset(
    {
        "duration",
        "warmup",
        "period",
        "ready_timeout",
        "timeout",
        "scrape_interval",
        "latency",
        "token_latency",
        "stall_every",
        "stall_for",
        "canary_p95_increase",
    }
)
#: what to write, for the fields a new spec most often lacks
_EXAMPLES = {
    "version": "version: 1",
    "slos": "slos: [{name: availability, sli: availability, objective: 99.9%}]",
    "name": "name: availability",
    "sli": "sli: availability",
    "mean": "mean: 128",
}


def shown_input(value: Any) -> str:
    """The value that was found, short: ``"fast"``, ``3``, ``nothing (null)``, ``a list``."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value:.60}"' + ("..." if len(value) > 60 else "")
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return f"{value!r:.60}"


def _bound(value: Any, field: str) -> str:
    if field in DURATION_FIELDS and isinstance(value, (int, float)) and math.isfinite(value):
        return bound_text(float(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def message(err: Mapping[str, Any]) -> str:
    """One pydantic error (``ValidationError.errors()``'s item) as slocheck's sentence."""
    kind = str(err["type"])
    ctx: Mapping[str, Any] = err.get("ctx") or {}
    loc = tuple(err.get("loc") or ())
    field = str(loc[-1]) if loc and isinstance(loc[-1], str) else ""
    got = shown_input(err.get("input"))
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        example = _EXAMPLES.get(field)
        return f"field required, e.g. {example}" if example else "field required"
    if kind == "literal_error":
        if field == "version":
            return f"expected version: 1 (the only schema version), got {got}"
        return f"expected one of {ctx.get('expected', '?')}, got {got}"
    bounds = {
        "greater_than": "more than",
        "greater_than_equal": "at least",
        "less_than": "less than",
        "less_than_equal": "at most",
    }
    if kind in bounds:
        limit = next(iter(ctx.values()), "?")
        found = _bound(err.get("input"), field) if field in DURATION_FIELDS else got
        return f"expected {bounds[kind]} {_bound(limit, field)}, got {found}"
    if kind == "too_short":
        least = ctx.get("min_length", 1)
        if field == "slos":
            return f"needs at least one SLO, e.g. {_EXAMPLES['slos']}"
        return f"needs at least {least} item(s), got {ctx.get('actual_length', 0)}"
    if kind == "too_long":
        return f"has more than {ctx.get('max_length', '?')} items"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"is longer than {ctx.get('max_length', '?')} characters"
    words = {
        "int_parsing": "a whole number",
        "int_type": "a whole number",
        "int_from_float": "a whole number",
        "int_parsing_size": "a whole number of a usable size",
        "float_parsing": "a number",
        "float_type": "a number",
        "finite_number": "a finite number",
        "bool_parsing": "true or false",
        "bool_type": "true or false",
        "string_type": "text"
        + (" (quote it)" if isinstance(err.get("input"), (int, float)) else ""),
        "list_type": "a list, e.g. [a, b]",
        "dict_type": "a mapping (key: value)",
        "model_type": "a mapping (field: value)",
        "model_attributes_type": "a mapping (field: value)",
    }
    if kind in words:
        return f"expected {words[kind]}, got {got}"
    # a type not seen yet: pydantic's words, in slocheck's form
    msg = str(err["msg"]).replace("Input should be ", "expected ")
    return f"{msg}, got {got}"
