"""Locust users for ``load_generator.py``: GET one cheap path as fast as possible (no wait),
with FastHttpUser, as slocheck's own scenarios do. The path comes from $SLOCHECK_BENCH_PATH."""

from __future__ import annotations

import os

from locust import FastHttpUser, task

PATH = os.environ.get("SLOCHECK_BENCH_PATH", "/health/live")


class Cheap(FastHttpUser):
    @task
    def get(self) -> None:
        self.client.get(PATH)
