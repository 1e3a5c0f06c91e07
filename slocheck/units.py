"""Parsing of the units people write in SLO files and on the command line.

A leaf module: it imports nothing from slocheck, so both the verifier side
(``spec``) and the standalone reference service may use it.
"""

from __future__ import annotations

import math
import re

_DURATION_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(us|µs|ms|s|m|h)?\s*$")
_DURATION_FACTORS = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_RATIO_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(%)?\s*$")


def parse_duration(value: object, *, allow_bare_seconds: bool = True) -> float:
    """Return seconds for ``"500ms"``, ``"2s"``, ``"1.5m"``, ``"1h"`` or a plain number of seconds.

    Raises :class:`ValueError` with a message fit to show a user.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like 500ms, got {value!r}")
    if isinstance(value, (int, float)):
        if not allow_bare_seconds:
            raise ValueError(f"expected a duration with a unit like 500ms, got {value!r}")
        seconds = float(value)
    elif isinstance(value, str):
        match = _DURATION_RE.match(value)
        if not match:
            raise ValueError(f'expected a duration like 500ms, got "{value}"')
        number, unit = match.groups()
        if unit is None and not allow_bare_seconds:
            raise ValueError(f'expected a duration with a unit like 500ms, got "{value}"')
        seconds = float(number) * _DURATION_FACTORS[unit or "s"]
    else:
        raise ValueError(f"expected a duration like 500ms, got {type(value).__name__}")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"expected a non-negative finite duration, got {value!r}")
    return seconds


def parse_ratio(value: object) -> float:
    """Return a ratio in [0, 1] for ``"99.9%"``, ``"0.1%"`` or a plain number such as ``0.999``."""
    if isinstance(value, bool):
        raise ValueError(f"expected a ratio like 99.9% or 0.999, got {value!r}")
    if isinstance(value, (int, float)):
        ratio = float(value)
    elif isinstance(value, str):
        match = _RATIO_RE.match(value)
        if not match:
            raise ValueError(f'expected a ratio like 99.9% or 0.999, got "{value}"')
        number, percent = match.groups()
        ratio = float(number) / 100.0 if percent else float(number)
    else:
        raise ValueError(f"expected a ratio like 99.9% or 0.999, got {type(value).__name__}")
    if not math.isfinite(ratio) or not 0.0 <= ratio <= 1.0:
        raise ValueError(f"expected a ratio between 0% and 100%, got {value!r}")
    return ratio


def format_duration(seconds: float) -> str:
    """Short human form: ``0.25`` -> ``"250ms"``, ``2.0`` -> ``"2s"``."""
    if not math.isfinite(seconds):
        return str(seconds)
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3g}us"
    if seconds < 1.0:
        return f"{seconds * 1e3:.4g}ms"
    return f"{seconds:.4g}s"
