"""The Prometheus adapter: the client the verifier reads through, and the Prometheus that
slocheck starts (the local binary, or a container; ``scrape`` holds what both share)."""

from slocheck.prom.client import (
    AnswerError,
    FakePromClient,
    HttpPromClient,
    PromClient,
    SeriesAnswer,
    ValuesAnswer,
    redact_url,
)
from slocheck.prom.managed import ManagedPrometheus, backfill, find_binary, start_prometheus

__all__ = [
    "AnswerError",
    "FakePromClient",
    "HttpPromClient",
    "ManagedPrometheus",
    "PromClient",
    "SeriesAnswer",
    "ValuesAnswer",
    "backfill",
    "find_binary",
    "redact_url",
    "start_prometheus",
]
