"""What ``slocheck capacity`` produces: the search's settings and its steps, runs and bracket
(plain data; the search is :mod:`slocheck.evaluate.capacity`, the workflow
:mod:`slocheck.workflows.capacity`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from slocheck.evaluate.capacity import Bracket, Step
from slocheck.results.run_result import RunResult
from slocheck.results.run_settings import CapacityOptions
from slocheck.slofile import LoadedSpec
from slocheck.units import redact_urls


@dataclass
class CapacityResult:
    loaded: LoadedSpec
    options: CapacityOptions
    steps: list[Step]
    runs: list[RunResult]
    bracket: Bracket
    started_at: float
    finished_at: float
    stopped_by: str  # "precision", "max_rate", "min_rate_failed", "budget", "error", "interrupted"
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.error is not None:  # what the reports show: never a password
            self.error = redact_urls(self.error)

    @property
    def found(self) -> bool:
        return self.bracket.lower is not None

    @property
    def verdict(self) -> str:
        """``pass``: a capacity was found (at or above ``require_rate`` when given); ``fail``:
        the minimum already fails (or the capacity is below ``require_rate``); ``error``."""
        if self.error is not None:
            return "error"
        if self.stopped_by == "interrupted":
            return "interrupted"
        if not self.found:
            return "fail"
        need = self.options.require_rate
        if need is not None and (self.bracket.lower or 0.0) < need:
            return "fail"
        return "pass"
