"""abort_on_fail: the load stops once an SLO can no longer pass, after its abort_delay; the
SLO then fails with that reason, and a cross-check keeps the run failed."""

from __future__ import annotations

import pytest

from slocheck.errors import SpecError
from slocheck.evaluate.abort import budget_spent
from slocheck.evaluate.counts import failed_in
from slocheck.load.config import LoadConfig
from slocheck.load.stats import SecondStats, Snapshot
from slocheck.slofile import parse_spec
from slocheck.slofile.model import SloSpec
from slocheck.workflows.abort import abort_rule

SPEC = """\
version: 1
load: {rate: 20, duration: 60s, warmup: 2s}
slos:
  - {name: availability, sli: availability, objective: 99%, abort_on_fail: true,
     abort_delay: 2s}
  - {name: errors, sli: error_ratio, threshold: 5%}
"""


def snapshot(failures_at: dict[int, int], start: float = 1000.0) -> Snapshot:
    seconds = {sec: SecondStats(count=20, errors=n) for sec, n in failures_at.items()}
    seconds[999] = SecondStats(count=20, errors=20)  # the warm-up: not counted
    return Snapshot(requests={"/v1/classify": seconds}, marks={"test_start": start})


def test_the_budget_is_spent_when_even_a_perfect_rest_cannot_clear_the_objective() -> None:
    slo = SloSpec.model_validate({"name": "a", "sli": "availability", "objective": "99%"})
    assert budget_spent(slo, 4, 1000) is None  # 4 of at most 1,100 may still pass
    why = budget_spent(slo, 5, 1000)
    assert why is not None and "can no longer pass: 5 requests failed" in why
    ratio = SloSpec.model_validate({"name": "e", "sli": "error_ratio", "threshold": "5%"})
    assert budget_spent(ratio, 30, 1000) is None and budget_spent(ratio, 60, 1000) is not None


def test_the_load_stops_abort_delay_after_the_budget_is_spent() -> None:
    spec = parse_spec(SPEC).spec
    config = LoadConfig(host="http://x", rate=20, duration=60, warmup=2)
    now = [0.0]
    rule = abort_rule(spec, config, launched=1000.0, clock=lambda: now[0])
    assert rule is not None
    healthy = snapshot({1002: 0, 1003: 1})
    assert failed_in(healthy.requests, 1002) == 1 and rule(healthy) is None
    spent = snapshot({1002: 5, 1003: 5})  # 10 failures: at most 1,320 requests allow 6
    now[0] = 1004.0
    assert rule(spent) is None  # spent now; its delay runs
    now[0] = 1005.9
    assert rule(spent) is None
    now[0] = 1006.0
    early = rule(spent)
    assert early is not None and early.by == "availability"
    assert (early.since, early.at) == (1004.0, 1006.0)
    assert "abort_on_fail, 2.0 s after" in early.reason


def test_no_rule_without_an_armed_slo_or_a_rate() -> None:
    spec = parse_spec(SPEC.replace("abort_on_fail: true,\n     abort_delay: 2s", "")).spec
    assert abort_rule(spec, LoadConfig(host="http://x", rate=20), 0.0) is None


def test_a_warning_slo_cannot_stop_the_load() -> None:
    """A warning never fails the gate; stopping the load on it would fail the run (the load
    ended early): a contradiction refused in the spec, naming the field."""
    text = SPEC.replace("abort_delay: 2s}", "abort_delay: 2s, severity: warning}")
    with pytest.raises(SpecError, match=r"slos\[0\]\.abort_on_fail.*warning SLO never fails"):
        parse_spec(text)
