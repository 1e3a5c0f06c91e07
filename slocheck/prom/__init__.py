"""Stage 3: Prometheus: the client the verifier reads through, and a managed Prometheus."""

from slocheck.prom.client import FakePromClient, HttpPromClient, PromClient, redact_url
from slocheck.prom.managed import ManagedPrometheus, backfill, find_binary, start_prometheus

__all__ = [
    "FakePromClient",
    "HttpPromClient",
    "ManagedPrometheus",
    "PromClient",
    "backfill",
    "find_binary",
    "redact_url",
    "start_prometheus",
]
