"""Statistics for verdicts (pure)."""

from __future__ import annotations

import math

Z95 = 1.959963984540054


def wilson_interval(good: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion (95% by default). ``n`` must be > 0."""
    if n <= 0:
        raise ValueError("n must be positive")
    p = min(max(good / n, 0.0), 1.0)
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def min_samples_for_quantile(q: float, tail: int = 10) -> int:
    """Enough observations that ``tail`` of them lie above the q-quantile (p95: 200)."""
    return math.ceil(tail / (1.0 - q) - 1e-9)
