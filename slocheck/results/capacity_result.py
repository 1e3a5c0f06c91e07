"""What ``slocheck capacity`` produces: the search's settings and its steps, runs and bracket
(plain data; the search is :mod:`slocheck.evaluate.search`, the workflow
:mod:`slocheck.workflows.capacity`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from slocheck.evaluate.search import Bracket, Step, StoppedBy, capacity_verdict
from slocheck.evaluate.sweep import CurvePoint, cost_per_million_tokens
from slocheck.results.run_result import RunResult
from slocheck.results.run_settings import CapacityOptions
from slocheck.slofile import LoadedSpec
from slocheck.units import redact_urls
from slocheck.verdict import Verdict


@dataclass
class CapacityResult:
    loaded: LoadedSpec
    options: CapacityOptions
    steps: list[Step]
    runs: list[RunResult]
    bracket: Bracket
    started_at: float
    finished_at: float
    stopped_by: StoppedBy
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    #: each step as a point of the latency-throughput curve, in the order run
    curve: list[CurvePoint] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.error is not None:  # what the reports show: never a password
            self.error = redact_urls(self.error)

    @property
    def found(self) -> bool:
        return self.bracket.lower is not None

    @property
    def cost_per_million_tokens(self) -> float | None:
        """With ``cost:`` in the spec, a million output tokens' cost at the highest rate that
        passed (the capacity's lower bound), from that step's output tokens/s."""
        cost = self.loaded.spec.cost
        at = self.bracket.lower
        point = next((p for p in self.curve if p.at == at and p.met), None)
        if cost is None or point is None:
            return None
        return cost_per_million_tokens(cost.per_hour, point.output_tokens_per_s)

    @property
    def verdict(self) -> Verdict:
        """The search's verdict (:func:`slocheck.evaluate.search.capacity_verdict`)."""
        return capacity_verdict(
            self.bracket, self.stopped_by, error=self.error, require_rate=self.options.require_rate
        )
