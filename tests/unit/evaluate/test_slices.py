"""Slice verdicts: the window's whole slices, each judged as the window is; the SLO holds when
the window does and enough slices pass, fails when too many failed, and is inconclusive when
only undecided slices stand in the way."""

from __future__ import annotations

from typing import Any

import pytest

from slocheck.evaluate.slices import slice_windows, with_slices
from slocheck.evaluate.verdicts import SloResult, Window
from slocheck.slofile.model import SloSpec
from slocheck.verdict import Verdict


def test_slices_from_the_start_the_last_one_taking_the_rest_and_the_settle() -> None:
    w = Window(1000.0, 1062.0, settle=1.5)
    slices = slice_windows(w, 10.0)  # a 2 s rest joins the last slice
    assert [(s.start, s.end) for s in slices] == [
        (1000.0, 1010.0),
        (1010.0, 1020.0),
        (1020.0, 1030.0),
        (1030.0, 1040.0),
        (1040.0, 1050.0),
        (1050.0, 1062.0),
    ]
    assert [s.settle for s in slices] == [0.0] * 5 + [1.5]
    longer_rest = slice_windows(Window(1000.0, 1059.5), 10.0)  # 9.5 s: a slice of its own
    assert len(longer_rest) == 6 and longer_rest[-1].seconds == 9.5
    assert len(slice_windows(Window(1000.0, 1060.0), 20.0)) == 3
    assert slice_windows(Window(1000.0, 1004.0), 10.0) == []
    assert len(slice_windows(Window(1000.0, 1005.0), 10.0)) == 1


def slo(**kw: Any) -> SloSpec:
    base = {"name": "s", "sli": "availability", "objective": "99%", "slice": "10s"}
    return SloSpec.model_validate({**base, **kw})


def result(verdict: str, value: float | None = 1.0) -> SloResult:
    v = Verdict(verdict)
    return SloResult(
        name="s",
        sli="availability",
        severity="critical",
        verdict=v,
        gate=v,
        value=value,
        threshold=None,
        objective=0.99,
        op=">=",
        unit="ratio",
        query="q",
        promql="p",
        samples=100,
        explanation=f"it is {verdict}",
    )


def sliced(s: SloSpec, whole: str, parts: list[str]) -> SloResult:
    windows = slice_windows(Window(0.0, 10.0 * len(parts)), 10.0)
    return with_slices(
        s, result(whole), [(w, result(v)) for w, v in zip(windows, parts, strict=True)]
    )


@pytest.mark.parametrize(
    ("whole", "parts", "objective", "verdict"),
    [
        ("pass", ["pass"] * 6, "100%", "pass"),
        ("pass", ["pass"] * 5 + ["fail"], "100%", "fail"),  # a collapse the total hides
        ("pass", ["pass"] * 5 + ["inconclusive"], "100%", "inconclusive"),
        ("pass", ["pass"] * 5 + ["fail"], "80%", "pass"),  # 5 of 6 is 83%
        ("pass", ["pass"] * 3 + ["fail", "fail", "inconclusive"], "80%", "fail"),
        ("pass", ["pass"] * 4 + ["fail", "inconclusive"], "80%", "inconclusive"),
        ("pass", ["pass"] * 4 + ["inconclusive"] * 2, "80%", "inconclusive"),
        ("fail", ["pass"] * 6, "100%", "fail"),  # the window's own verdict stands
        ("inconclusive", ["pass"] * 6, "100%", "inconclusive"),
    ],
)
def test_the_slices_join_the_window_s_verdict(
    whole: str, parts: list[str], objective: str, verdict: str
) -> None:
    r = sliced(slo(slices_objective=objective), whole, parts)
    assert r.verdict == verdict
    assert r.details["slices_passed"] == parts.count("pass")
    assert [s["verdict"] for s in r.details["slices"]] == parts


def test_the_first_failing_slice_is_named_and_a_warning_slo_only_warns() -> None:
    r = sliced(slo(), "pass", ["pass", "pass", "fail", "pass"])
    assert "3 of 4 slices of 10s pass (needed: 100%)" in r.explanation
    assert "20s to 30s into the window: it is fail" in r.explanation
    assert r.gate == "fail"
    warned = sliced(slo(severity="warning"), "pass", ["pass", "fail"])
    assert warned.verdict == "warn" and warned.gate == "warn"


def test_a_window_shorter_than_a_slice_is_not_a_pass() -> None:
    assert with_slices(slo(), result("pass"), []).verdict == "inconclusive"
