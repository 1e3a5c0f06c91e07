"""Inference-aware Locust users for the reference service (and services shaped like it).

* ``ClassifyUser``: ``POST /v1/classify`` with a random 28x28 image.
* ``GenerateUser``: ``POST /v1/generate`` with ``stream: true``; records client-side time to
  first token (``ttft``) and inter-token latency (``itl``) from the server-sent events.

``SLOCHECK_MIX`` (``classify=9,generate=1``) weights them; both are paced by ``common.Paced``
(``SLOCHECK_RATE_PER_USER``). Copy this file to test your own endpoints (see ``scenarios/``).
"""

from __future__ import annotations

import json
import os
import random
import time
from typing import Any

from locust import task

from slocheck.load.locustfiles.common import Paced as _Paced
from slocheck.load.locustfiles.common import stream_lines
from slocheck.load.locustfiles.plugin import record_count, record_metric

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
            tokens = 0
            for line in stream_lines(r):
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
                tokens += 1
            if last is None:
                r.failure("the stream carried no token")
            else:
                record_count("output_tokens", tokens)
