"""The built-in load shapes as pure maths (no Locust import: gevent must never be patched into
slocheck's own process); ``locustfiles/shapes.py`` applies them inside Locust."""

from __future__ import annotations

import math

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
