"""Unit traps: values a spec accepts that mean something else than a person likely meant
(``threshold: 500`` on a latency is 500 seconds, ``percentile: 0.95`` is P0.95). Found on the
values as written, before pydantic turns them into floats. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from slocheck.slofile.kinds import kind
from slocheck.slofile.lines import Lines, format_path
from slocheck.slofile.model import Spec

_BARE_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")


def _bare(value: Any) -> bool:
    """A number with no unit: ``500``, ``0.5`` or the string ``"500"``."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return isinstance(value, str) and bool(_BARE_NUMBER.match(value))


def _number(value: Any) -> float:
    return float(value) if not isinstance(value, float) else value


def unit_traps(written: Sequence[Any], spec: Spec, lines: Lines) -> list[str]:
    """One sentence per trap, ``file:line: slos[i].field: ...`` (``written``: the ``slos`` list
    as the file has it, after the compact form is normalised)."""
    found: list[tuple[int, str]] = []

    def say(i: int, name: str, text: str) -> None:
        path = ("slos", i, name)
        line = lines.line(path)
        where = f"{lines.file}:{line}" if line is not None else lines.file
        found.append((line or 0, f"{where}: {format_path(lines.written(path))}: {text}"))

    for i, (raw, slo) in enumerate(zip(written, spec.slos, strict=False)):
        if not isinstance(raw, Mapping):
            continue
        threshold, percentile = raw.get("threshold"), raw.get("percentile")
        if kind(slo.sli).threshold_unit == "duration" and _bare(threshold):
            seconds = _number(threshold)
            meant = f"; write {seconds:g}ms if you meant milliseconds" if seconds >= 1 else ""
            say(
                i,
                "threshold",
                f"{threshold} has no unit and is read as {seconds:g} seconds{meant} "
                f"(or {seconds:g}s to keep seconds and silence this)",
            )
        if _bare(percentile) and 0 < _number(percentile) < 1:
            p = _number(percentile)
            say(
                i,
                "percentile",
                f"{percentile} is P{p:g} (percentile is in percent, from 0 to 100): "
                f"write {p * 100:g} for P{p * 100:g}",
            )
        objective = raw.get("objective")
        if _bare(objective) and _number(objective) >= 1:
            say(
                i,
                "objective",
                f"{objective} is read as 100% (a ratio; one failure fails it): write "
                f"{_number(objective):g}% if you meant a percentage, or 100% to keep it",
            )
    return [text for _, text in sorted(found, key=lambda f: f[0])]  # in the file's order
