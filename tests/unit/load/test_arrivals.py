"""The open-loop schedule's maths: intended send times, the lateness rule, the corrected
latency (``slocheck/load/locustfiles/arrivals.py``, pure: no Locust, no gevent)."""

from __future__ import annotations

import itertools
import math
import statistics
import subprocess
import sys

import pytest

from slocheck.errors import UsageError
from slocheck.load.config import LoadConfig
from slocheck.load.locustfiles.arrivals import (
    MAX_LATENESS_S,
    Schedule,
    constant_times,
    intended_latency,
    is_dropped,
)


def drain(s: Schedule) -> list[float]:
    out = []
    while (t := s.next()) is not None:
        out.append(t)
    return out


def test_constant_spacing_from_start_to_end() -> None:
    times = drain(Schedule(rate=4.0, start=100.0, end=102.0))
    assert times == constant_times(4.0, 100.0, 8) == [100 + k / 4 for k in range(8)]


def test_constant_does_not_drift_over_a_long_run() -> None:
    times = drain(Schedule(rate=3.0, start=0.0, end=3600.0))
    assert len(times) == 3 * 3600
    assert times[-1] == pytest.approx(3600 - 1 / 3, abs=1e-9)


def test_poisson_gaps_are_exponential_and_seeded() -> None:
    rate = 50.0
    times = drain(Schedule(rate, 0.0, 200.0, "poisson", seed=7))
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert times == sorted(times) and times[0] == 0.0 and times[-1] < 200.0
    # 10,000 sends expected; the count of a Poisson process has sd 100: 5 sd either side
    assert abs(len(times) - 10_000) < 500
    assert statistics.fmean(gaps) == pytest.approx(1 / rate, rel=0.05)
    # exponential: the standard deviation equals the mean (a constant schedule's is 0)
    assert statistics.stdev(gaps) == pytest.approx(1 / rate, rel=0.1)
    assert drain(Schedule(rate, 0.0, 200.0, "poisson", seed=7)) == times
    assert drain(Schedule(rate, 0.0, 200.0, "poisson", seed=8)) != times


def test_take_drops_only_what_is_more_than_max_lateness_late() -> None:
    s = Schedule(rate=10.0, start=0.0, end=10.0)  # 0.0, 0.1, ..., 9.9
    assert s.take(now=0.0) == (0.0, 0)
    # at 2.05 s a free user finds 0.1 .. 2.0 due; those before 1.05 are over 1 s late
    t, dropped = s.take(now=2.05, max_lateness=1.0)
    assert dropped == 10  # 0.1 .. 1.0
    assert t == pytest.approx(1.1)
    assert t is not None and not is_dropped(t, 2.05, 1.0)
    assert s.take(now=2.05, max_lateness=1.0)[0] == pytest.approx(1.2)  # late, not dropped


def test_take_ends_with_the_schedule_and_counts_the_drops_on_the_way() -> None:
    s = Schedule(rate=10.0, start=0.0, end=1.0)
    assert s.take(now=50.0) == (None, 10)
    assert s.take(now=50.0) == (None, 0)


def test_lateness_rule_and_corrected_latency() -> None:
    assert not is_dropped(10.0, 10.0 + MAX_LATENESS_S)
    assert is_dropped(10.0, 10.0 + MAX_LATENESS_S + 1e-6)
    # due at 10, sent at 10.7 (every user busy), answered in 0.3 s: the user waited 1.0 s
    assert intended_latency(10.0, 10.7, 0.3) == pytest.approx(1.0)
    # sent a little early by timer jitter: never less than the service time
    assert intended_latency(10.0, 9.99, 0.3) == 0.3


@pytest.mark.parametrize(
    ("rate", "distribution"), [(0.0, "constant"), (math.inf, "constant"), (1.0, "bursty")]
)
def test_schedules_that_cannot_work(rate: float, distribution: str) -> None:
    with pytest.raises(ValueError):
        Schedule(rate, 0.0, 1.0, distribution)


def test_load_config_pacing() -> None:
    closed = LoadConfig(host="http://127.0.0.1:1", users=4, rate=20.0)
    assert closed.pacing_env()["SLOCHECK_RATE_PER_USER"] == repr(5.0)
    assert closed.locust_users == 4 and not closed.open_loop
    opened = LoadConfig(
        host="http://127.0.0.1:1",
        users=16,
        rate=20.0,
        processes=2,
        arrival="open",
        distribution="poisson",
        max_in_flight=3,
    )
    env = opened.pacing_env()
    assert env["SLOCHECK_ARRIVAL"] == "open" and env["SLOCHECK_RATE_PER_USER"] == ""
    assert env["SLOCHECK_OPEN_RATE"] == repr(10.0) and env["SLOCHECK_DISTRIBUTION"] == "poisson"
    assert opened.locust_users == 3
    default_bound = LoadConfig(host="http://127.0.0.1:1", users=16, rate=20.0, arrival="open")
    assert default_bound.locust_users == 16
    with pytest.raises(UsageError, match=r"needs load\.rate"):
        LoadConfig(host="http://127.0.0.1:1", arrival="open").check_arrival()
    with pytest.raises(UsageError, match=r"load\.distribution"):
        LoadConfig(host="http://127.0.0.1:1", rate=1.0, distribution="x").check_arrival()


def test_arrivals_import_neither_locust_nor_gevent() -> None:
    code = (
        "import sys, slocheck.load.locustfiles.arrivals; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('locust', 'gevent')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("burstiness", [0.25, 1.0, 4.0])
def test_gamma_gaps_keep_the_rate_and_spread_by_the_burstiness(burstiness: float) -> None:
    """vLLM's --burstiness: gamma gaps of shape b and mean 1 / rate, so the rate holds and the
    gaps' coefficient of variation is 1 / sqrt(b) (b = 1: Poisson). 20,000 gaps: the mean
    within 3% and the CV within 5% of theirs, seeded (the same run draws the same gaps)."""
    rate = 50.0
    times = drain(Schedule(rate, 0.0, 400.0, "gamma", seed=11, burstiness=burstiness))
    gaps = [b - a for a, b in itertools.pairwise(times)]
    mean = statistics.fmean(gaps)
    assert mean == pytest.approx(1 / rate, rel=0.03)
    assert statistics.pstdev(gaps) / mean == pytest.approx(1 / math.sqrt(burstiness), rel=0.05)
    again = drain(Schedule(rate, 0.0, 400.0, "gamma", seed=11, burstiness=burstiness))
    assert again == times


def test_burstiness_must_be_positive_and_only_with_gamma() -> None:
    with pytest.raises(ValueError, match="burstiness"):
        Schedule(1.0, 0.0, 1.0, "gamma", burstiness=0.0)
    with pytest.raises(UsageError, match=r"load\.burstiness"):
        LoadConfig(host="http://x", arrival="open", rate=5, burstiness=-1).check_arrival()
    from slocheck.errors import SpecError
    from slocheck.slofile import parse_spec

    bad = "version: 1\nload: {arrival: open, rate: 5, burstiness: 0.5}\nslos:\n"
    with pytest.raises(SpecError, match="distribution: gamma"):
        parse_spec(bad + "  - {name: a, sli: availability, objective: 99%}\n")
