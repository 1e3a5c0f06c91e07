"""The load adapter. Locust in its own process; client-side HDR histograms; the load window."""

from slocheck.load.runner import BUILTIN_SCENARIOS, LoadConfig, LoadResult, Progress, run_load
from slocheck.load.stats import LatencySummary, Snapshot, read_snapshot, summarise

__all__ = [
    "BUILTIN_SCENARIOS",
    "LatencySummary",
    "LoadConfig",
    "LoadResult",
    "Progress",
    "Snapshot",
    "read_snapshot",
    "run_load",
    "summarise",
]
