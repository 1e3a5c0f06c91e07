"""What an importer (OpenSLO, Sloth) hands the loader: the spec's data in slocheck's own
shape, where each field came from, and notes on what was mapped how."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from slocheck.slofile.lines import Locator


@dataclass
class Imported:
    data: dict[str, Any]
    locator: Locator
    notes: list[str] = field(default_factory=list)
    format: str = "slocheck"


def objective_of(target: float | None, percent: float | None) -> float:
    """``target: 0.99`` or ``targetPercent: 99``: the share as a float, exactly as written."""
    if percent is not None:
        share = Decimal(repr(float(percent))) / 100
    else:
        share = Decimal(repr(float(target if target is not None else 0)))
    if not 0 < share <= 1:
        raise ValueError(f"expected a target in (0, 1] or a percentage in (0, 100], got {share}")
    return float(share)


def settings_of(
    settings: dict[str, Any],
    service: str,
    selector: str,
    slos: list[dict[str, Any]],
    locator: Locator,
) -> dict[str, Any]:
    """The spec's data: the service's name, the queries' shared matchers as
    ``prometheus.selector`` and any slocheck settings given beside them."""
    data: dict[str, Any] = {"version": 1, **settings, "slos": slos}
    svc = settings.get("service") or {}
    prom = settings.get("prometheus") or {}
    if not isinstance(svc, dict) or "name" in svc:
        raise locator.error(
            ("service",), "service: expected a mapping without name (the service's name is its own)"
        )
    if not isinstance(prom, dict) or "selector" in prom:
        raise locator.error(
            ("prometheus",),
            "prometheus: expected a mapping without selector "
            "(the label matchers are in the queries)",
        )
    data["service"] = {**svc, "name": service}
    data["prometheus"] = {**prom, "selector": selector}
    return data
