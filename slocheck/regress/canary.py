"""The canary rule of ML services' guides, on point estimates. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Sequence

from slocheck.regress.compare import RunRecord, both_recorded, decode_hdr, pooled_hdr


def canary(
    current: RunRecord,
    baseline: Sequence[RunRecord],
    *,
    max_error_points: float = 0.05,
    max_p95_increase_s: float = 0.1,
) -> list[str]:
    """The canary rule of ML services' guides: flag an error-ratio increase above 5 points or a
    P95 increase above 100 ms (point estimates, both configurable). Empty: the canary is fine."""
    flags = []
    base_req = sum(r.requests for r in baseline)
    if current.requests and base_req:
        d = current.error_ratio - sum(r.errors for r in baseline) / base_req
        if d > max_error_points:
            flags.append(f"error ratio up {d * 100:.2f} points (limit {max_error_points * 100:g})")
    cur, base = decode_hdr(current.latency_hdr), pooled_hdr([r.latency_hdr for r in baseline])
    if both_recorded(cur, base):
        assert cur is not None and base is not None
        up = (cur.get_value_at_percentile(95) - base.get_value_at_percentile(95)) / 1e6
        if up > max_p95_increase_s:
            flags.append(f"P95 up {up * 1000:.1f} ms (limit {max_p95_increase_s * 1000:g} ms)")
    return flags


def canary_lines(current: RunRecord, baseline: Sequence[RunRecord]) -> list[str]:
    """What the canary rule compared, in words: each side's requests, error ratio and P95, and
    the change ("canary: ok" alone says nothing of how close it came)."""

    def side(records: Sequence[RunRecord]) -> tuple[int, float | None, float | None]:
        requests = sum(r.requests for r in records)
        ratio = sum(r.errors for r in records) / requests if requests else None
        hdr = pooled_hdr([r.latency_hdr for r in records])
        p95 = hdr.get_value_at_percentile(95) / 1e6 if hdr is not None and hdr.total_count else None
        return requests, ratio, p95

    def shown(requests: int, ratio: float | None, p95: float | None) -> str:
        r = f"{ratio:.3%}" if ratio is not None else "-"
        p = f"{p95 * 1000:.1f} ms" if p95 is not None else "-"
        return f"{requests:,} requests, error ratio {r}, P95 {p}"

    cur, base = side([current]), side(baseline)
    ids = ", ".join(r.run_id for r in baseline)
    lines = [
        f"canary {current.run_id}: {shown(*cur)}",
        f"baseline ({len(baseline)} run(s): {ids}): {shown(*base)}",
    ]
    changes = []
    if cur[1] is not None and base[1] is not None:
        changes.append(f"error ratio {(cur[1] - base[1]) * 100:+.2f} points")
    if cur[2] is not None and base[2] is not None:
        changes.append(f"P95 {(cur[2] - base[2]) * 1000:+.1f} ms")
    if changes:
        lines.append("change: " + ", ".join(changes))
    return lines
