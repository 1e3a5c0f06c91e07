"""Settings for the whole suite."""

from __future__ import annotations

from hypothesis import settings

# No per-example deadline: hypothesis' default (200 ms) measures the machine's speed, and a busy
# runner would turn a slow example into a failure. Tests bound their inputs instead.
settings.register_profile("slocheck", deadline=None)
settings.load_profile("slocheck")
