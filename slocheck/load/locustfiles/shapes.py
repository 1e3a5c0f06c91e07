"""Built-in load shapes: steady, ramp, spike, step and soak, configured by ``SLOCHECK_*``
variables (set by ``slocheck run``). Total time: warm-up + duration; the warm-up runs at the
shape's starting level and is not judged."""

from __future__ import annotations

import math
import os

from locust import LoadTestShape

SCENARIOS = ("steady", "ramp", "spike", "step", "soak")


def users_at(scenario: str, users: int, t: float, warmup: float, duration: float) -> int | None:
    """Users wanted ``t`` seconds into the run; None once it is over."""
    if t >= warmup + duration:
        return None
    frac = max(0.0, t - warmup) / duration if duration > 0 else 1.0
    if scenario in ("steady", "soak"):
        return users
    if scenario == "ramp":
        return max(1, math.ceil(users * max(frac, 1e-9)))
    if scenario == "spike":
        base = max(1, users // 4)
        return users if 0.4 <= frac < 0.6 else base
    if scenario == "step":
        return max(1, math.ceil(users * (min(int(frac * 4), 3) + 1) / 4))
    raise ValueError(f"unknown scenario {scenario!r}")


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
