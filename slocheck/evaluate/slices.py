"""Slice verdicts (``slice: 10s`` on an SLO): the window is cut into slices, each judged
as the whole window is, and the SLO holds only when its whole window does and the share of
slices that pass reaches ``slices_objective`` (every slice by default). A 20-second collapse
inside a 5-minute run cannot hide in the total. Pure.

A slice is judged with the same rules as the window (interval, minimum samples): a slice too
short to decide is not a pass. So the SLO fails when too many slices failed for the share to
be reached whatever the undecided ones would say, and is inconclusive when only undecided
slices keep it from passing.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from slocheck.evaluate.details import SliceDetails, SloDetails
from slocheck.evaluate.verdicts import SloResult, Window, gate_of
from slocheck.slofile.model import SloSpec
from slocheck.units import format_duration
from slocheck.verdict import Verdict


def slice_windows(window: Window, seconds: float) -> list[Window]:
    """The window's slices of ``seconds``, from its start. A rest of at least half a slice is a
    last, shorter slice; a shorter rest joins the slice before it (a window rarely holds a
    whole number of slices: it starts on a whole second after the warm-up and ends when the
    load stopped). Only the last slice reads past its end (the window's ``settle``: the final
    scrape after the load stopped). None when the window is shorter than half a slice."""
    n = math.floor(window.seconds / seconds + 1e-9)
    rest = window.seconds - n * seconds
    if rest >= seconds / 2 - 1e-9:
        n += 1
    if n == 0:
        return []
    at = window.start
    slices = [Window(at + k * seconds, at + (k + 1) * seconds) for k in range(n - 1)]
    slices.append(Window(at + (n - 1) * seconds, window.end, window.settle))
    return slices


def _shown(r: SloResult, w: Window) -> SliceDetails:
    return {
        "start": w.start,
        "end": w.end,
        "verdict": r.verdict,
        "value": r.value,
        "samples": r.samples,
    }


def with_slices(
    slo: SloSpec, whole: SloResult, slices: Sequence[tuple[Window, SloResult]]
) -> SloResult:
    """``whole``'s verdict joined with its slices' (see the module)."""
    assert slo.slice is not None
    n = len(slices)
    passed = sum(1 for _, r in slices if r.verdict in (Verdict.PASS, Verdict.WARN))
    failed = [(w, r) for w, r in slices if r.verdict == Verdict.FAIL]
    need = slo.slices_objective
    details: SloDetails = {
        **whole.details,
        "slices": [_shown(r, w) for w, r in slices],
        "slices_passed": passed,
        "slices_objective": need,
    }
    size = format_duration(slo.slice)
    said = f"{passed} of {n} slices of {size} pass (needed: {need:.0%})"
    if failed:
        w, r = failed[0]
        start = slices[0][0].start
        said += (
            f"; the first failing slice, {w.start - start:g}s to {w.end - start:g}s into the "
            f"window: {r.explanation}"
        )
    verdict = whole.verdict
    if verdict == Verdict.PASS:
        if n == 0:
            verdict = Verdict.INCONCLUSIVE
            said = f"the window is shorter than half a slice of {size}: no slice to judge"
        elif passed / n >= need:
            verdict = Verdict.PASS
        elif (n - len(failed)) / n < need:
            verdict = Verdict.FAIL
        else:
            verdict = Verdict.INCONCLUSIVE
    if verdict == Verdict.FAIL and slo.severity == "warning":
        verdict = Verdict.WARN  # a warning SLO only ever warns
    return dataclasses.replace(
        whole,
        verdict=verdict,
        gate=gate_of(slo, verdict),
        explanation=f"{whole.explanation}; {said}",
        details=details,
    )
