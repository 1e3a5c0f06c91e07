"""The load adapter. Locust in its own process; client-side HDR histograms; the load window."""

from slocheck.load.client_stats import ClientStats, client_stats
from slocheck.load.runner import BUILTIN_SCENARIOS, LoadConfig, LoadResult, Progress, run_load
from slocheck.load.stats import LatencySummary, Snapshot, read_snapshot, summarise

__all__ = [
    "BUILTIN_SCENARIOS",
    "ClientStats",
    "LatencySummary",
    "LoadConfig",
    "LoadResult",
    "Progress",
    "Snapshot",
    "client_stats",
    "read_snapshot",
    "run_load",
    "summarise",
]
