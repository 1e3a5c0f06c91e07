"""Parsing of the units people write in SLO files and on the command line.

A leaf module: it imports nothing from slocheck, so both the verifier side
(``spec``) and the standalone reference service may use it.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

_DURATION_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(us|µs|ms|s|m|h|d|w)?\s*$")
_DURATION_FACTORS = {
    "us": 0.000001,
    "µs": 0.000001,
    "ms": 0.001,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
}
_RATIO_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(%)?\s*$")


def _finite_float(value: int | float) -> float:
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"number too large: {str(value)[:20]}...") from None


def parse_duration(value: object, *, allow_bare_seconds: bool = True) -> float:
    """Return seconds for ``"500ms"``, ``"2s"``, ``"1.5m"``, ``"1h"``, ``"28d"``, ``"1w"`` or a
    plain number of seconds.

    Raises :class:`ValueError` with a message fit to show a user.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like 500ms, got {value!r}")
    if isinstance(value, (int, float)):
        if not allow_bare_seconds:
            raise ValueError(f"expected a duration with a unit like 500ms, got {value!r}")
        seconds = _finite_float(value)
    elif isinstance(value, str):
        match = _DURATION_RE.match(value)
        if not match:
            raise ValueError(f'expected a duration like 500ms, got "{value}"')
        number, unit = match.groups()
        if unit is None and not allow_bare_seconds:
            raise ValueError(f'expected a duration with a unit like 500ms, got "{value}"')
        # Decimal: "350ms" must be exactly the float 0.35, the bucket bound it names
        seconds = float(Decimal(number) * Decimal(repr(_DURATION_FACTORS[unit or "s"])))
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
        ratio = _finite_float(value)
    elif isinstance(value, str):
        match = _RATIO_RE.match(value)
        if not match:
            raise ValueError(f'expected a ratio like 99.9% or 0.999, got "{value}"')
        number, percent = match.groups()
        ratio = float(Decimal(number) / 100) if percent else float(number)
    else:
        raise ValueError(f"expected a ratio like 99.9% or 0.999, got {type(value).__name__}")
    if not math.isfinite(ratio) or not 0.0 <= ratio <= 1.0:
        hint = (
            f" (a bare number is a fraction of 1: write {value:g}% for a percentage)"
            if isinstance(value, (int, float)) and 1 < value <= 100
            else ""
        )
        raise ValueError(f"expected a ratio between 0% and 100%, got {value!r}{hint}")
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


_RELATIVE_RE = re.compile(r"^\s*now\s*(?:([-+])\s*(.+?))?\s*$")


def parse_time(value: str, now: float) -> float:
    """Unix seconds for ``now``, ``now-10m``, ``1700000000`` or RFC 3339
    (``2026-11-23T10:00:00Z``, ``2026-11-23T10:00:00+01:00``)."""
    import datetime as dt

    text = value.strip()
    match = _RELATIVE_RE.match(text)
    if match:
        sign, offset = match.groups()
        if sign is None:
            return now
        seconds = parse_duration(offset)
        return now - seconds if sign == "-" else now + seconds
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(number) or number < 0:
            raise ValueError(f"expected a time, got {value!r}")
        return number
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"expected a time like 2026-11-23T10:00:00Z, 1700000000 or now-10m, got {value!r}"
        ) from None
    if parsed.tzinfo is None:
        raise ValueError(f"time {value!r} has no time zone; add Z or an offset like +01:00")
    return parsed.timestamp()


# -- text shown to people: no secrets, no control characters --------------------------------

#: ``scheme://user:password@``: the userinfo of a URL, up to its last ``@`` before the path.
_USERINFO_RE = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s?#'\"<>@]*(?:@[^/\s?#'\"<>@]*)*@")


def redact_urls(text: str) -> str:
    """``text`` with the user and password of every URL in it replaced by ``***``
    (``http://user:pw@host:8080/x`` -> ``http://***@host:8080/x``)."""
    return _USERINFO_RE.sub(r"\1***@", text)


#: Terminal escape sequences (ESC or the 8-bit CSI, with what they carry).
_ESCAPE_SEQ_RE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: titles, hyperlinks (BEL or ST ends it)
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS, SOS, PM, APC strings
    r"|\x1b[@-Z\\-_]"  # the other two-character escapes
    r"|\x9b[0-?]*[ -/]*[@-~]"  # the 8-bit CSI
)
#: C0 and C1 controls (tab and newline included), DEL, and the invisible bidirectional
#: formatting characters that reorder what a terminal shows.
_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` fit for a terminal or a report: escape sequences removed, then every other
    control character (C0, C1, DEL) and bidirectional override (U+202E ...) replaced by
    ``?``, so that an SLO name can neither colour, retitle nor reorder what is shown."""
    return _CONTROL_RE.sub("?", _ESCAPE_SEQ_RE.sub("", text))
