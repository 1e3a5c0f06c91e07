"""The Prometheus adapter: the client the verifier reads through, and the Prometheus that
slocheck starts (the local binary, or a container; ``scrape`` holds what both share)."""

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
