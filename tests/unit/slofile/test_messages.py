"""pydantic's errors in slocheck's words (issue 25): every error type a spec can hit names file,
line and field, says what was expected and what was found, and no pydantic phrase leaks."""

from __future__ import annotations

import pytest

from slocheck.errors import SpecError
from slocheck.slofile import parse_spec

S = "version: 1\nslos:\n  - {name: a, sli: availability, objective: 99%}\n"
LATENCY = "version: 1\nslos:\n  - {name: a, sli: latency, percentile: 95, threshold: 1s}\n"
#: pydantic's own phrasing, which must never reach a user
PYDANTIC = (
    "Input should",
    "should have",
    "instance of",
    "after validation",
    "unable to",
    "Value error",
    "valid dictionary",
)

CASES = [
    # (spec, line, field, message): one per pydantic error type a spec can hit
    ("version: 1\nslos: []\n", 2, "slos", "needs at least one SLO, e.g. slos: [{name:"),
    (S.replace("version: 1\n", ""), 1, "version", "field required, e.g. version: 1"),
    (S.replace("name: a, ", ""), 3, "slos[0].name", "field required, e.g. name: availability"),
    (S.replace("version: 1", "version: 2"), 1, "version", "expected version: 1"),
    (S.replace("name: a", "name: ''"), 3, "slos[0].name", "must not be empty"),
    (S.replace("name: a", "name: " + "x" * 300), 3, "slos[0].name", "longer than 200 characters"),
    (S.replace("name: a", "name: null"), 3, "slos[0].name", "expected text, got nothing (null)"),
    (S.replace("name: a", "name: 5"), 3, "slos[0].name", "expected text (quote it), got 5"),
    (S + "load: {users: 0}\n", 4, "load.users", "expected at least 1, got 0"),
    (S + "load: {users: 100000}\n", 4, "load.users", "expected at most 10000, got 100000"),
    (S + "load: {rate: 0}\n", 4, "load.rate", "expected more than 0, got 0"),
    (LATENCY.replace("95", "100"), 3, "slos[0].percentile", "expected less than 100, got 100"),
    (S + "period: 10m\n", 4, "period", "expected at least 1h, got 10m"),
    (S + "load: {users: many}\n", 4, "load.users", 'expected a whole number, got "many"'),
    (S + "load: {users: 1.5}\n", 4, "load.users", "expected a whole number, got 1.5"),
    (S + "load: {rate: fast}\n", 4, "load.rate", 'expected a number, got "fast"'),
    (S + "load: {rate: .inf}\n", 4, "load.rate", "expected a finite number, got inf"),
    (S + "target: {stream: maybe}\n", 4, "target.stream", 'expected true or false, got "maybe"'),
    (S + "load: [1]\n", 4, "load", "expected a mapping (field: value), got a list"),
    ("version: 1\nslos:\n  - 3\n", 3, "slos[0]", "expected a mapping (field: value), got 3"),
    ("version: 1\nslos: hello\n", 2, "slos", 'expected a list, e.g. [a, b], got "hello"'),
    (S + "prometheus: {headers: [a]}\n", 4, "prometheus.headers", "expected a mapping (key:"),
    (S + "load: {arrival: ajar}\n", 4, "load.arrival", "expected one of 'closed' or 'open'"),
    (S.replace("name: a", "name: a, foo: 1"), 3, "slos[0].foo", "unknown field"),
    (S + "load: {seed: 1e400}\n", 4, "load.seed", "expected a whole number"),
]


@pytest.mark.parametrize(("text", "line", "field", "message"), CASES)
def test_pydantic_errors_read_as_slochecks_sentences(
    text: str, line: int, field: str, message: str
) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(text, "slos.yaml")
    shown = str(info.value) + (info.value.hint or "")
    assert str(info.value).startswith(f"slos.yaml:{line}: {field}: "), shown
    assert message in shown
    for phrase in PYDANTIC:
        assert phrase not in shown


def test_every_error_of_several_is_in_slochecks_words() -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(S + "load: {rate: x, users: y}\n", "slos.yaml")
    shown = str(info.value) + (info.value.hint or "")
    assert 'load.users: expected a whole number, got "y"' in shown
    assert 'also: load.rate: expected a number, got "x"' in shown
