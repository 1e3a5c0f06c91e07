"""Built-in load shapes: steady, ramp, spike, step and soak, configured by ``SLOCHECK_*``
variables (set by ``slocheck run``). Total time: warm-up + duration; the warm-up runs at the
shape's starting level and is not judged."""

from __future__ import annotations

import os

from locust import LoadTestShape

from slocheck.load.scenarios import users_at


class SlocheckShape(LoadTestShape):
    scenario = os.environ.get("SLOCHECK_SCENARIO", "steady")
    users = int(os.environ.get("SLOCHECK_USERS", "1"))
    spawn_rate = float(os.environ.get("SLOCHECK_SPAWN_RATE", "0") or 0) or float(users)
    warmup = float(os.environ.get("SLOCHECK_WARMUP", "0"))
    duration = float(os.environ.get("SLOCHECK_DURATION", "10"))

    def tick(self) -> tuple[int, float] | None:
        wanted = users_at(
            self.scenario, self.users, self.get_run_time(), self.warmup, self.duration
        )
        return None if wanted is None else (wanted, self.spawn_rate)
