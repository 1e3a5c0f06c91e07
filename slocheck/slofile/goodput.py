"""``constraints:`` of a goodput SLO (``sli: goodput``): the latency objectives that one request
must meet all at once to count as good (DistServe's goodput; ``--goodput`` in ``vllm bench
serve`` and AIPerf)::

    - name: goodput
      sli: goodput
      objective: 95%            # of the requests meet every constraint
      constraints:
        ttft: 500ms             # time to first token
        tpot: 50ms              # time per output token after the first
        inter_token_latency:    # one statistic of the request's own gaps between tokens:
          p95: 100ms            #   p50, p90, p95, p99 or max
        e2e: 10s                # the whole request, end to end

Pure data, checked as the spec is read.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, model_validator

from slocheck.request_record import GAP_STATISTICS
from slocheck.slofile.bounds import MAX_LATENCY_S
from slocheck.units import format_duration, parse_duration


def _latency(value: Any) -> float:
    seconds = parse_duration(value)
    if not 0 < seconds <= MAX_LATENCY_S:
        raise ValueError(
            f"expected a latency above 0s and at most {MAX_LATENCY_S / 3600:g}h, e.g. 500ms, "
            f"got {seconds:g} s"
        )
    return seconds


Latency = Annotated[float, BeforeValidator(_latency)]


class GapBound(BaseModel):
    """``inter_token_latency: {p95: 100ms}``: a statistic of one request's gaps, at most."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    statistic: str
    threshold: float

    @model_validator(mode="before")
    @classmethod
    def _one_statistic(cls, data: Any) -> Any:
        if isinstance(data, dict) and set(data) == {"statistic", "threshold"}:
            return data
        names = " or ".join(GAP_STATISTICS)
        if not isinstance(data, dict) or len(data) != 1:
            raise ValueError(
                f"expected one statistic of a request's gaps and its bound, e.g. {{p95: 100ms}} "
                f"({names})"
            )
        (statistic, bound), *_ = data.items()
        if statistic not in GAP_STATISTICS:
            raise ValueError(f"unknown statistic {statistic!r}: expected {names}")
        return {"statistic": statistic, "threshold": _latency(bound)}

    def __str__(self) -> str:
        return f"{self.statistic} {format_duration(self.threshold)}"


class GoodputConstraints(BaseModel):
    """What one request must meet, all at once, to be good. At least one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ttft: Latency | None = None
    tpot: Latency | None = None
    inter_token_latency: GapBound | None = None
    e2e: Latency | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> GoodputConstraints:
        if not self.given():
            raise ValueError(
                "give at least one of ttft, tpot, inter_token_latency or e2e, e.g. ttft: 500ms"
            )
        return self

    def given(self) -> dict[str, float | GapBound]:
        """The constraints given, by name, in the order they are checked."""
        named = {
            "ttft": self.ttft,
            "tpot": self.tpot,
            "inter_token_latency": self.inter_token_latency,
            "e2e": self.e2e,
        }
        return {k: v for k, v in named.items() if v is not None}

    def __str__(self) -> str:
        return ", ".join(
            f"{name} {v}" if isinstance(v, GapBound) else f"{name} {format_duration(v)}"
            for name, v in self.given().items()
        )
