"""Inference-aware Locust users for the reference service (and services shaped like it).

* ``ClassifyUser``: ``POST /v1/classify`` with a random 28x28 image.
* ``GenerateUser``: ``POST /v1/generate`` with ``stream: true``; records client-side time to
  first token (``ttft``) and inter-token latency (``itl``) from the server-sent events.

``SLOCHECK_MIX`` (``classify=9,generate=1``) weights them; ``SLOCHECK_RATE_PER_USER`` paces each
user at a fixed rate (``constant_throughput``) from a random phase, so that the users do not
fire in bursts; without it, each user sends its next request as soon as it has an answer.
Copy this file to test your own endpoints (see ``scenarios/``).
"""

from __future__ import annotations

import json
import os
import random
import time
from typing import Any

import gevent
from locust import FastHttpUser, constant, constant_throughput, task

from slocheck.load.locustfiles.plugin import record_metric

RATE = float(os.environ.get("SLOCHECK_RATE_PER_USER", "0") or 0)
MIX = dict(
    (name, int(weight))
    for name, _, weight in (
        part.partition("=") for part in os.environ.get("SLOCHECK_MIX", "classify=1").split(",")
    )
)
_rng = random.Random(0)
IMAGES = [[[round(_rng.random(), 3) for _ in range(28)] for _ in range(28)] for _ in range(16)]
PROMPTS = [
    "describe the image",
    "a short story about a cat",
    "list three colours",
    "summarise the quarterly report in one line please",
]


class _Paced(FastHttpUser):
    abstract = True
    wait_time = constant_throughput(RATE) if RATE > 0 else constant(0)

    def on_start(self) -> None:
        if RATE > 0:  # a random phase: users spawned together must not fire together
            gevent.sleep(random.uniform(0, 1.0 / RATE))


class ClassifyUser(_Paced):
    weight = MIX.get("classify", 0) or 1
    abstract = MIX.get("classify", 0) == 0

    @task
    def classify(self) -> None:
        self.client.post("/v1/classify", json={"pixels": random.choice(IMAGES)})


class GenerateUser(_Paced):
    weight = MIX.get("generate", 0) or 1
    abstract = MIX.get("generate", 0) == 0
    max_tokens = int(os.environ.get("SLOCHECK_MAX_TOKENS", "16"))

    @task
    def generate(self) -> None:
        body: dict[str, Any] = {
            "prompt": random.choice(PROMPTS),
            "max_tokens": self.max_tokens,
            "stream": True,
        }
        started = time.perf_counter()
        with self.client.post("/v1/generate", json=body, stream=True, catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"status {r.status_code}")
                return
            last = None
            # SSE lines may end in a bare \n; geventhttpclient's readline() splits on \r\n
            raw = getattr(r, "_response", None)
            while True:
                line = raw.readline(b"\n") if raw is not None else r.readline()
                if not line:
                    break
                line = line.rstrip(b"\r\n")
                if not line.startswith(b"data: ") or line.startswith(b"data: [DONE]"):
                    continue
                event = json.loads(line[6:])
                if "token" not in event:
                    continue
                now = time.perf_counter()
                if last is None:
                    record_metric("ttft", now - started)
                else:
                    record_metric("itl", now - last)
                last = now
            if last is None:
                r.failure("the stream carried no token")
