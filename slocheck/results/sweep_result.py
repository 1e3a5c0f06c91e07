"""What ``slocheck sweep`` produces: its settings, the curve's points and their runs (plain
data; the curve's rules are :mod:`slocheck.evaluate.sweep`, the workflow
:mod:`slocheck.workflows.sweep`)."""

from __future__ import annotations

from dataclasses import dataclass

from slocheck.evaluate.sweep import Axis, CurvePoint, best, cost_per_million_tokens, sweep_verdict
from slocheck.results.run_result import RunResult
from slocheck.results.run_settings import SweepOptions
from slocheck.slofile import LoadedSpec
from slocheck.units import redact_urls
from slocheck.verdict import Verdict


@dataclass
class SweepResult:
    loaded: LoadedSpec
    options: SweepOptions
    points: list[CurvePoint]
    runs: list[RunResult]
    started_at: float
    finished_at: float
    interrupted: bool = False
    error: str | None = None

    def __post_init__(self) -> None:
        if self.error is not None:  # what the reports show: never a password
            self.error = redact_urls(self.error)

    @property
    def axis(self) -> Axis:
        return Axis.RATE if self.options.rates else Axis.CONCURRENCY

    @property
    def planned(self) -> tuple[float, ...]:
        """The loads asked for, in order."""
        return tuple(float(x) for x in (self.options.rates or self.options.concurrency))

    @property
    def best(self) -> CurvePoint | None:
        """The highest load that met every SLO."""
        return best(self.points)

    @property
    def cost_per_million_tokens(self) -> float | None:
        """With ``cost:`` in the spec, a million output tokens' cost at :attr:`best`."""
        cost, top = self.loaded.spec.cost, self.best
        if cost is None or top is None:
            return None
        return cost_per_million_tokens(cost.per_hour, top.output_tokens_per_s)

    @property
    def verdict(self) -> Verdict:
        """The sweep's verdict (:func:`slocheck.evaluate.sweep.sweep_verdict`)."""
        return sweep_verdict(
            self.points,
            planned=len(self.planned),
            error=self.error,
            interrupted=self.interrupted,
        )
