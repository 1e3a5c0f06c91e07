"""The result of judging a spec's SLOs over one window (``slocheck verify``, and within
``slocheck run``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from slocheck.evaluate.alerts import AlertSeen
from slocheck.evaluate.verdicts import SloResult, Window
from slocheck.verdict import Verdict


@dataclass(frozen=True)
class VerifyResult:
    spec_path: str
    spec_sha256: str
    prometheus_url: str
    window: Window
    results: list[SloResult]
    verdict: Verdict
    warnings: list[str] = field(default_factory=list)
    evaluated_at: float = field(default_factory=time.time)
    #: ``--with-rules``: the alerts of the generated rules seen in the window; None: not asked
    alerts: list[AlertSeen] | None = None
