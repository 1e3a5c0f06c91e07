"""A locustfile to copy: your own endpoints, recorded by slocheck like the built-in users."""

from __future__ import annotations

import time

from locust import FastHttpUser, between, task

from slocheck.load.locustfiles.plugin import record_metric


class MyModelUser(FastHttpUser):
    wait_time = between(0.05, 0.15)

    @task(9)
    def predict(self) -> None:
        self.client.post("/v1/classify", json={"pixels": [[0.5] * 28] * 28})

    @task(1)
    def health(self) -> None:
        started = time.perf_counter()
        self.client.get("/health/ready", name="readiness")
        record_metric("readiness_probe", time.perf_counter() - started)
