"""Locust users for the fixed-rate phases of ``service_throughput.py``.

Each user POSTs ``--body-file`` to /v1/classify at ``--rate-per-user`` requests/s
(``constant_throughput``), so ``-u U`` users offer ``U * rate`` requests/s. Locust starts
all ``-r U`` users at once, and constant_throughput keeps each user's phase, so each user first
sleeps a random fraction of its period: otherwise the load comes as one burst of U requests per
period instead of a steady stream. Every request's
start time, exact latency (ms, unrounded) and status go to ``--latency-out`` (JSON) at exit;
Locust's own, rounded, percentiles are not used.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

from locust import FastHttpUser, events, task
from locust.env import Environment
from locust.user.wait_time import constant_throughput

_hooks: Any = events  # locust's add_listener is untyped
_body = ""
_start_s: list[float] = []
_latency_ms: list[float] = []
_status: list[int] = []  # 0 when no response came, -1 when a 2xx was failed anyway


def _add_options(parser: Any, **_: Any) -> None:
    parser.add_argument("--rate-per-user", type=float, default=1.0, help="requests/s per user")
    parser.add_argument("--body-file", default="", help="JSON body to POST")
    parser.add_argument("--latency-out", default="", help="where to write every latency")


def _load_body(environment: Environment, **_: Any) -> None:
    global _body  # noqa: PLW0603
    assert environment.parsed_options is not None
    _body = Path(environment.parsed_options.body_file).read_text()


def _record(
    start_time: float,
    response_time: float,
    response: Any,
    exception: BaseException | None,
    **_: Any,
) -> None:
    status = int(getattr(response, "status_code", 0) or 0)
    _start_s.append(start_time)
    _latency_ms.append(response_time)
    _status.append(-1 if exception is not None and 200 <= status < 300 else status)


def _dump(environment: Environment, **_: Any) -> None:
    out = environment.parsed_options and environment.parsed_options.latency_out
    if out:
        data = {"start_s": _start_s, "latency_ms": _latency_ms, "status": _status}
        Path(out).write_text(json.dumps(data))


_hooks.init_command_line_parser.add_listener(_add_options)
_hooks.init.add_listener(_load_body)
_hooks.request.add_listener(_record)
_hooks.quitting.add_listener(_dump)


class Classify(FastHttpUser):
    def on_start(self) -> None:
        time.sleep(random.uniform(0.0, 1.0 / self._rate()))  # a random phase (gevent-patched)
        self._cp_last_run = time.perf_counter()  # the pacing clock of constant_throughput

    def wait_time(self) -> float:
        return constant_throughput(self._rate())(self)

    def _rate(self) -> float:
        rate: float = self.environment.parsed_options.rate_per_user
        return rate

    @task
    def classify(self) -> None:
        self.client.post("/v1/classify", data=_body, headers={"Content-Type": "application/json"})
