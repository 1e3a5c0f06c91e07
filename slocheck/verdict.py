"""The one verdict vocabulary of slocheck, and the exit code each verdict means.

:class:`Verdict` is every word a judgement can end in: an SLO's, a gate's, a run's, a capacity
step's and a capacity search's. Its values are the strings the reports have always written
(``report.json``, JUnit, Markdown, the history), so that a verdict compares equal to its string
and serialises as it. Each judgement uses a documented subset of it (the sets below, checked by
the tests):

=====================  ================================================================
``SLO_VERDICTS``       one SLO: pass, warn, fail, no_data, inconclusive, error
``GATES``              what an SLO (or a window) does to the gate: pass, warn, fail
``RUN_VERDICTS``       ``slocheck run``: pass, warn, fail, inconclusive, interrupted, error
``STEP_VERDICTS``      one step of ``slocheck capacity``: pass, fail, inconclusive, error
``CAPACITY_VERDICTS``  the capacity search: pass, fail, interrupted, error
=====================  ================================================================

:class:`Change` is the vocabulary of a regression comparison (improved, unchanged, regressed,
inconclusive, no_baseline); :meth:`Change.gate` says what it does to the gate, under the spec's
``regression.on_inconclusive`` and ``--require-baseline``, and so its exit code.

The exit codes themselves stay defined in :mod:`slocheck.errors`; :attr:`Verdict.exit_code`
maps each verdict to one, and :func:`exit_code` derives a command's from its verdicts: the most
severe of them (130 interrupted > 3 infrastructure > 2 usage > 1 check failed > 0).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from slocheck.errors import ExitCode


class Verdict(StrEnum):
    """The outcome of a judgement; the value is the word every report writes."""

    PASS = "pass"
    WARN = "warn"  # met enough: a warning SLO missed, or a policy said warn (exit 0)
    FAIL = "fail"
    NO_DATA = "no_data"  # an SLO whose query matched nothing (the gate: on_no_data)
    INCONCLUSIVE = "inconclusive"  # too few samples, or a bound that cannot be told apart
    ERROR = "error"  # could not be judged: a broken run (exit 3), an SLO's answer (exit 2)
    INTERRUPTED = "interrupted"  # a stop signal ended it (exit 130)

    @property
    def exit_code(self) -> ExitCode:
        """The exit code of a command whose result has this verdict."""
        return _EXIT_CODES[self]

    @property
    def passed(self) -> bool:
        """Whether a gate with this verdict lets the build through (``pass`` or ``warn``)."""
        return self in (Verdict.PASS, Verdict.WARN)


_EXIT_CODES: dict[Verdict, ExitCode] = {
    Verdict.PASS: ExitCode.OK,
    Verdict.WARN: ExitCode.OK,
    Verdict.FAIL: ExitCode.CHECK_FAILED,
    Verdict.NO_DATA: ExitCode.CHECK_FAILED,
    Verdict.INCONCLUSIVE: ExitCode.CHECK_FAILED,
    Verdict.ERROR: ExitCode.INFRASTRUCTURE,
    Verdict.INTERRUPTED: ExitCode.INTERRUPTED,
}

#: One SLO's verdict (:class:`slocheck.evaluate.SloResult`).
SLO_VERDICTS = frozenset(Verdict) - {Verdict.INTERRUPTED}
#: What an SLO (its verdict under its policies) or a window of SLOs does to the gate.
GATES = frozenset({Verdict.PASS, Verdict.WARN, Verdict.FAIL})
#: ``slocheck run``'s verdict (:class:`slocheck.results.RunResult`).
RUN_VERDICTS = frozenset(Verdict) - {Verdict.NO_DATA}
#: One rate tried by ``slocheck capacity`` (a warn counts as a pass there).
STEP_VERDICTS = frozenset({Verdict.PASS, Verdict.FAIL, Verdict.INCONCLUSIVE, Verdict.ERROR})
#: The capacity search's verdict (:func:`slocheck.evaluate.search.capacity_verdict`).
CAPACITY_VERDICTS = frozenset({Verdict.PASS, Verdict.FAIL, Verdict.INTERRUPTED, Verdict.ERROR})


def as_gate(word: str) -> Verdict:
    """A policy of the spec (``on_no_data``, ``on_inconclusive``: pass, warn or fail) as the
    gate it sets."""
    verdict = Verdict(word)
    if verdict in GATES:
        return verdict
    raise ValueError(f"expected pass, warn or fail, got {word!r}")


class Change(StrEnum):
    """A regression comparison's verdict, of one metric or of them all."""

    IMPROVED = "improved"
    UNCHANGED = "unchanged"
    REGRESSED = "regressed"
    INCONCLUSIVE = "inconclusive"
    NO_BASELINE = "no_baseline"  # only for the whole comparison: nothing to compare with

    def gate(self, *, on_inconclusive: str = "warn", require_baseline: bool = False) -> Verdict:
        """What the change does to the gate: a regression fails it; an inconclusive one does
        what ``on_inconclusive`` says (fail, warn or pass); no baseline fails it only when
        one is required."""
        if self is Change.REGRESSED:
            return Verdict.FAIL
        if self is Change.INCONCLUSIVE:
            return as_gate(on_inconclusive)
        if self is Change.NO_BASELINE and require_baseline:
            return Verdict.FAIL
        return Verdict.PASS


#: One metric's comparison (only a whole comparison may say ``no_baseline``).
METRIC_CHANGES = frozenset(Change) - {Change.NO_BASELINE}


def exit_code(*verdicts: Verdict, slos: Iterable[Verdict] = ()) -> ExitCode:
    """A command's exit code from its verdicts (the result's, a comparison's gate, ...): the
    most severe of theirs. An SLO judged ``error`` among ``slos`` (its query answered in a
    shape that cannot be judged) is a usage error (2): the spec needs fixing."""
    codes = [v.exit_code for v in verdicts]
    if any(s == Verdict.ERROR for s in slos):
        codes.append(ExitCode.USAGE)
    return max(codes, default=ExitCode.OK)
