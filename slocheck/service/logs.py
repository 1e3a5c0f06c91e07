"""Structured JSON logs: one object a line on stderr; request bodies are never logged."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

#: ``extra=`` keys copied into the JSON object when present on a record.
_FIELDS = (
    "request_id",
    "trace_id",
    "span_id",
    "method",
    "endpoint",
    "status",
    "latency_ms",
    "model",
    "batch_size",
    "error_type",
    "event",
    "faults",
    "host",
    "port",
    "backend",
    "device",
    "models",
)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str, version: str) -> None:
        super().__init__()
        self.service = service
        self.version = version

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            "version": self.version,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in _FIELDS:
            value = record.__dict__.get(key)
            if value is not None:
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, separators=(",", ":"))


def configure_logging(service: str, version: str, level: str = "info") -> None:
    """Send the service's and uvicorn's logs, as JSON lines, to stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service, version))
    for name in ("slocheck.service", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False
    logging.getLogger("uvicorn.access").disabled = True  # our own access log replaces it
