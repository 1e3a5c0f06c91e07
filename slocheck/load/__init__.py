"""The load adapter. Locust in its own process; client-side HDR histograms; the load window.

Its public names are imported lazily: every Locust process imports this package first (the
built-in users live in ``slocheck.load.locustfiles``) and must not pull in the runner, httpx
and the statistics (~0.35 s of CPU before every load starts). The function
``client_stats`` is imported from its module, whose name it shares.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from slocheck.load.client_stats import ClientStats
    from slocheck.load.runner import (
        BUILTIN_SCENARIOS,
        LoadConfig,
        LoadResult,
        Progress,
        run_load,
    )
    from slocheck.load.stats import LatencySummary, Snapshot, read_snapshot, summarise

_EXPORTS = {
    "BUILTIN_SCENARIOS": "slocheck.load.runner",
    "ClientStats": "slocheck.load.client_stats",
    "LatencySummary": "slocheck.load.stats",
    "LoadConfig": "slocheck.load.runner",
    "LoadResult": "slocheck.load.runner",
    "Progress": "slocheck.load.runner",
    "Snapshot": "slocheck.load.stats",
    "read_snapshot": "slocheck.load.stats",
    "run_load": "slocheck.load.runner",
    "summarise": "slocheck.load.stats",
}

__all__ = [
    "BUILTIN_SCENARIOS",
    "ClientStats",
    "LatencySummary",
    "LoadConfig",
    "LoadResult",
    "Progress",
    "Snapshot",
    "read_snapshot",
    "run_load",
    "summarise",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'slocheck.load' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
