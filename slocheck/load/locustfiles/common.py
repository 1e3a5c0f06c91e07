"""What every built-in user shares: fixed-rate pacing and reading a server-sent event stream.

``SLOCHECK_RATE_PER_USER`` paces each user at a fixed rate (``constant_throughput``) from a
random phase, so that users spawned together do not fire in bursts; without it, each user sends
its next request as soon as it has an answer (closed loop).
"""

from __future__ import annotations

import itertools
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gevent
from locust import FastHttpUser, constant, constant_throughput

from slocheck.load.locustfiles.bodies import read_payload

RATE = float(os.environ.get("SLOCHECK_RATE_PER_USER", "0") or 0)


class Paced(FastHttpUser):
    abstract = True
    wait_time = constant_throughput(RATE) if RATE > 0 else constant(0)

    def on_start(self) -> None:
        if RATE > 0:  # a random phase: users spawned together must not fire together
            gevent.sleep(random.uniform(0, 1.0 / RATE))


def stream_lines(response: Any) -> Iterator[bytes]:
    """The lines of a streamed body, without their ``\\n`` or ``\\r\\n``.

    SSE lines may end in a bare ``\\n``; geventhttpclient's ``readline()`` splits on ``\\r\\n``
    only, so the raw response is read with ``readline(b"\\n")``."""
    raw = getattr(response, "_response", None)
    while True:
        line = raw.readline(b"\n") if raw is not None else response.readline()
        if not line:
            return
        yield line.rstrip(b"\r\n")


class Payload:
    """The bodies of ``SLOCHECK_PAYLOAD``, handed out in turn (one turn per process)."""

    def __init__(self, bodies: list[bytes]) -> None:
        self.bodies = bodies
        self._turn = itertools.count()

    @classmethod
    def from_env(cls) -> Payload:
        path = os.environ.get("SLOCHECK_PAYLOAD", "")
        return cls(read_payload(Path(path)) if path else [])

    def next(self) -> bytes | None:
        if not self.bodies:
            return None
        return self.bodies[next(self._turn) % len(self.bodies)]
