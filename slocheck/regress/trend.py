"""Change points in a nightly series (pure): where did a step change begin?"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def change_points(
    values: Sequence[float], *, min_size: int = 3, min_step: float = 0.1
) -> list[int]:
    """Indices where a new level starts (PELT from ruptures on the log of the series); steps
    smaller than ``min_step`` (relative) are ignored."""
    import ruptures

    clean = [v for v in values if math.isfinite(v) and v > 0]
    if len(clean) != len(values) or len(values) < 2 * min_size:
        return []
    signal = np.log(np.asarray(values, dtype=np.float64)).reshape(-1, 1)
    scale = float(np.median(np.abs(np.diff(signal[:, 0])))) or 1e-3
    algo = ruptures.Pelt(model="l2", min_size=min_size, jump=1).fit(signal / scale)
    ends = algo.predict(pen=3 * math.log(len(values)) * 2)[:-1]
    out = []
    start = 0
    for end in ends:
        nxt = next((e for e in ends if e > end), len(values))
        before = float(np.median(values[start:end]))
        after = float(np.median(values[end:nxt]))
        if before > 0 and abs(after / before - 1) >= min_step:
            out.append(end)
        start = end
    return out
