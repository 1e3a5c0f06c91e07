"""The result of ``slocheck run``: the verdicts, the load the client recorded, the
cross-checks and where it all ran."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from slocheck.evaluate.alerts import AlertSeen
from slocheck.evaluate.crosscheck import CrossCheck
from slocheck.load import ClientStats, LoadResult
from slocheck.results.verify_result import VerifyResult
from slocheck.slofile import LoadedSpec
from slocheck.units import redact_urls
from slocheck.verdict import Verdict


@dataclass(frozen=True)
class Ending:
    """How a run that did not go to its planned end ended: in which stage (``the load``,
    ``waiting for the final scrape``, ``verifying``, ``stopping``), by which stop signals (in
    the order they came: a second one is noted, the reports are still written) or by which
    error. ``judged``: whether the SLOs were judged (over the window that ran)."""

    stage: str
    signals: tuple[str, ...] = ()
    error: str | None = None
    judged: bool = False

    @property
    def text(self) -> str:
        when = f"{'during' if self.stage.startswith('the ') else 'while'} {self.stage}"
        if self.signals:
            what = f"interrupted by {self.signals[0]} {when}"
            if len(self.signals) > 1:
                what += f" ({', '.join(self.signals[1:])} after it: noted, the reports written)"
            if self.error:
                what += f", after an error: {self.error}"
        else:
            what = f"ended by an error {when}: {self.error}"
        judged = (
            "the SLOs were judged over the window that ran"
            if self.judged
            else "the SLOs were not judged"
        )
        return f"{what}; {judged}"

    def to_dict(self) -> dict[str, object]:
        return {
            "stage": self.stage,
            "signals": list(self.signals),
            "error": self.error,
            "slos_judged": self.judged,
            "text": self.text,
        }


@dataclass
class RunResult:
    verdict: Verdict
    verify: VerifyResult | None
    load: LoadResult
    checks: list[CrossCheck]
    target_url: str
    prometheus_url: str
    embedded: bool
    out_dir: Path
    loaded: LoadedSpec  #: the SLO file as loaded (its ``spec``, its path, its traps)
    #: what the load generator measured; None: nothing recorded (``report.json``: ``{}``)
    client: ClientStats | None = None
    error: str | None = None  # verdict "error": what broke after the load ran (exit 3)
    #: ``--with-rules``: the production alerts that went pending or fired; None: not asked
    alerts: list[AlertSeen] | None = None
    #: what ended the run before its planned end (a stop signal, an error); None: it ran out
    ending: Ending | None = None

    def __post_init__(self) -> None:
        # what every report shows: never a password (the command line's URLs may hold one)
        self.target_url = redact_urls(self.target_url)
        self.prometheus_url = redact_urls(self.prometheus_url)
        if self.error is not None:
            self.error = redact_urls(self.error)

    @property
    def not_ok(self) -> list[CrossCheck]:
        """The cross-checks that did not hold: each keeps the run from passing."""
        return [c for c in self.checks if not c.ok]
