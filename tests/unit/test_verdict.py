"""The one verdict vocabulary (slocheck.verdict): its words are the reports' strings, each
verdict's exit code, the exit code of a command derived from its verdicts, a regression's
words and the gate they set, and the documented subsets each judgement keeps to."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from slocheck.errors import ExitCode
from slocheck.evaluate.search import (
    Bracket,
    StoppedBy,
    capacity_verdict,
    step_verdict,
    stopped_by,
)
from slocheck.verdict import (
    CAPACITY_VERDICTS,
    GATES,
    METRIC_CHANGES,
    RUN_VERDICTS,
    SLO_VERDICTS,
    STEP_VERDICTS,
    Change,
    Verdict,
    as_gate,
    exit_code,
)

PACKAGE = Path(__file__).resolve().parents[2] / "slocheck"


def test_the_words_are_the_strings_the_reports_always_wrote() -> None:
    assert [str(v) for v in Verdict] == [
        "pass",
        "warn",
        "fail",
        "no_data",
        "inconclusive",
        "error",
        "interrupted",
    ]
    assert [str(c) for c in Change] == [
        "improved",
        "unchanged",
        "regressed",
        "inconclusive",
        "no_baseline",
    ]
    assert [str(s) for s in StoppedBy] == [
        "precision",
        "max_rate",
        "min_rate_failed",
        "budget",
        "error",
        "interrupted",
    ]
    # byte-identical in JSON, f-strings, upper case and as a dict key
    assert json.dumps({"verdict": Verdict.NO_DATA}) == '{"verdict": "no_data"}'
    assert f"{Verdict.FAIL}|{Change.NO_BASELINE:>12}" == "fail| no_baseline"
    assert Verdict.INCONCLUSIVE.upper() == "INCONCLUSIVE"
    passed: Verdict = Verdict.PASS
    assert passed == "pass" and {"pass": 1}[passed] == 1
    assert Verdict("warn") is Verdict.WARN


@pytest.mark.parametrize(
    ("verdict", "code"),
    [
        (Verdict.PASS, 0),
        (Verdict.WARN, 0),
        (Verdict.FAIL, 1),
        (Verdict.NO_DATA, 1),
        (Verdict.INCONCLUSIVE, 1),
        (Verdict.ERROR, 3),
        (Verdict.INTERRUPTED, 130),
    ],
)
def test_each_verdict_has_its_exit_code(verdict: Verdict, code: int) -> None:
    assert verdict.exit_code == code
    assert isinstance(verdict.exit_code, ExitCode)
    assert verdict.passed == (code == 0)


def test_a_commands_exit_code_is_the_most_severe_of_its_verdicts() -> None:
    assert exit_code() == ExitCode.OK
    assert exit_code(Verdict.WARN, Verdict.PASS) == ExitCode.OK
    # a passing run whose comparison regressed fails
    assert exit_code(Verdict.PASS, Change.REGRESSED.gate()) == ExitCode.CHECK_FAILED
    # an SLO whose answer cannot be judged: fix the spec (2), over a fail (1)
    slos = [Verdict.PASS, Verdict.ERROR]
    assert exit_code(Verdict.FAIL, slos=slos) == ExitCode.USAGE
    assert exit_code(Verdict.FAIL, slos=[Verdict.FAIL, Verdict.NO_DATA]) == ExitCode.CHECK_FAILED
    # a run that broke (3) and one that was interrupted (130) beat everything else
    assert exit_code(Verdict.ERROR, Verdict.FAIL, slos=slos) == ExitCode.INFRASTRUCTURE
    assert exit_code(Verdict.INTERRUPTED, Verdict.ERROR, slos=slos) == ExitCode.INTERRUPTED


@pytest.mark.parametrize(
    ("change", "on_inconclusive", "require_baseline", "code"),
    [
        (Change.REGRESSED, "warn", False, 1),
        (Change.REGRESSED, "pass", False, 1),
        (Change.IMPROVED, "fail", True, 0),
        (Change.UNCHANGED, "fail", True, 0),
        (Change.INCONCLUSIVE, "fail", False, 1),
        (Change.INCONCLUSIVE, "warn", False, 0),
        (Change.INCONCLUSIVE, "pass", False, 0),
        (Change.NO_BASELINE, "fail", False, 0),
        (Change.NO_BASELINE, "warn", True, 1),
    ],
)
def test_a_regression_sets_the_gate_and_so_the_exit_code(
    change: Change, on_inconclusive: str, require_baseline: bool, code: int
) -> None:
    gate = change.gate(on_inconclusive=on_inconclusive, require_baseline=require_baseline)
    assert gate in GATES
    assert exit_code(gate) == code


def test_a_policy_word_is_a_gate() -> None:
    assert [as_gate(w) for w in ("pass", "warn", "fail")] == [
        Verdict.PASS,
        Verdict.WARN,
        Verdict.FAIL,
    ]
    with pytest.raises(ValueError, match="expected pass, warn or fail"):
        as_gate("no_data")


def test_the_subsets_are_the_documented_ones() -> None:
    assert GATES < SLO_VERDICTS and GATES < RUN_VERDICTS
    assert Verdict.INTERRUPTED not in SLO_VERDICTS  # an SLO is judged or not, never stopped
    assert Verdict.NO_DATA not in RUN_VERDICTS  # a run with no data is inconclusive or fails
    assert {Verdict.PASS, Verdict.FAIL, Verdict.INCONCLUSIVE, Verdict.ERROR} == STEP_VERDICTS
    assert {Verdict.PASS, Verdict.FAIL, Verdict.INTERRUPTED, Verdict.ERROR} == CAPACITY_VERDICTS
    assert Change.NO_BASELINE not in METRIC_CHANGES
    # a run's verdict as a capacity step's: warn passes, error and interrupted are errors
    assert {v: step_verdict(v) for v in RUN_VERDICTS} == {
        Verdict.PASS: Verdict.PASS,
        Verdict.WARN: Verdict.PASS,
        Verdict.FAIL: Verdict.FAIL,
        Verdict.INCONCLUSIVE: Verdict.INCONCLUSIVE,
        Verdict.ERROR: Verdict.ERROR,
        Verdict.INTERRUPTED: Verdict.ERROR,
    }


@pytest.mark.parametrize(
    ("bracket", "ended", "error", "require", "verdict", "why"),
    [
        (Bracket(40, 80, []), StoppedBy.PRECISION, None, None, "pass", "precision"),
        (Bracket(40, 80, []), StoppedBy.PRECISION, None, 50.0, "fail", "precision"),
        (Bracket(40, 80, []), StoppedBy.PRECISION, None, 40.0, "pass", "precision"),
        (Bracket(None, 10, []), StoppedBy.PRECISION, None, None, "fail", "min_rate_failed"),
        (Bracket(1000, None, []), StoppedBy.PRECISION, None, None, "pass", "max_rate"),
        (Bracket(40, None, []), StoppedBy.BUDGET, None, None, "pass", "budget"),
        (Bracket(40, None, []), StoppedBy.ERROR, "no Prometheus", None, "error", "error"),
        (Bracket(None, None, []), StoppedBy.INTERRUPTED, None, None, "interrupted", "interrupted"),
    ],
)
def test_the_capacity_searchs_verdict_and_why_it_stopped(
    bracket: Bracket,
    ended: StoppedBy,
    error: str | None,
    require: float | None,
    verdict: str,
    why: str,
) -> None:
    got = capacity_verdict(bracket, ended, error=error, require_rate=require)
    assert got == verdict and got in CAPACITY_VERDICTS
    assert stopped_by(ended, bracket) == why


def _literal_words(node: ast.AST) -> set[str]:
    return {
        c.value for c in ast.walk(node) if isinstance(c, ast.Constant) and isinstance(c.value, str)
    }


def test_no_module_spells_a_verdict_vocabulary_of_its_own() -> None:
    """Every verdict type is slocheck.verdict's (or a StrEnum that derives from it): no
    ``Literal["pass", ...]`` elsewhere. The spec's policies (on_no_data, on_inconclusive:
    what the user writes in the SLO file, validated by pydantic) are the one exception."""
    words = {str(v) for v in Verdict} | {str(c) for c in Change}
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Subscript)
                and isinstance(node.value, ast.Name)
                and node.value.id == "Literal"
                and len(_literal_words(node.slice) & words) >= 2
            ):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert [f for f in found if not f.startswith("slofile/")] == []
    assert len(found) == 1, found  # the spec's Policy
