"""Run records as plain dicts (the history's rows, the JSON-lines export, ``report.json``'s
``regression_record``) and their summary numbers. Pure: no I/O."""

from __future__ import annotations

from typing import Any

from hdrh.histogram import HdrHistogram

from slocheck.errors import UsageError
from slocheck.regress.compare import RunRecord


def record_to_dict(r: RunRecord) -> dict[str, Any]:
    return {
        "run_id": r.run_id,
        "created_at": r.created_at,
        "fingerprint": r.fingerprint,
        "latency_hdr": r.latency_hdr,
        "ttft_hdr": r.ttft_hdr,
        "requests": r.requests,
        "errors": r.errors,
        "per_second": list(r.per_second),
        "verdict": r.verdict,
        "labels": r.labels,
        "capacity_lower": r.capacity_lower,
        "capacity_upper": r.capacity_upper,
    }


def record_from_dict(d: dict[str, Any]) -> RunRecord:
    try:
        return RunRecord(
            run_id=str(d["run_id"]),
            created_at=float(d["created_at"]),
            fingerprint=str(d["fingerprint"]),
            latency_hdr=d.get("latency_hdr"),
            ttft_hdr=d.get("ttft_hdr"),
            requests=int(d["requests"]),
            errors=int(d["errors"]),
            per_second=[int(x) for x in d.get("per_second", [])],
            verdict=str(d.get("verdict", "")),
            labels={str(k): str(v) for k, v in (d.get("labels") or {}).items()},
            capacity_lower=_rate(d.get("capacity_lower")),
            capacity_upper=_rate(d.get("capacity_upper")),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise UsageError(f"not a slocheck run record: {e}") from None


def _rate(x: Any) -> float | None:
    return None if x is None else float(x)


def summary_of(r: RunRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "requests": r.requests,
        "errors": r.errors,
        "throughput": r.throughput if r.per_second else None,
    }
    if r.capacity_lower is not None:
        out["capacity_rps"] = r.capacity_lower
        out["capacity_upper_rps"] = r.capacity_upper
    if r.latency_hdr:
        h = HdrHistogram.decode(r.latency_hdr)
        for p in (50, 95, 99):
            out[f"p{p}_s"] = h.get_value_at_percentile(p) / 1e6
    return out
