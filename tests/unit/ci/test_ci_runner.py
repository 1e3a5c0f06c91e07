"""The stand-in runner the template tests use (tests/integration/ci_runner.py): its
expressions and ``if:`` follow GitHub's rules on the cases the templates have."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.ci_runner import _key_values, condition, evaluate, interpolate

CTX: dict[str, Any] = {
    "inputs": {"prometheus-url": "", "slo": "slos.yaml", "python-version": "3.11"},
    "steps": {"gate": {"outputs": {"exit-code": "1"}}},
    "github": {"run_id": "42"},
}


@pytest.mark.parametrize(
    ("expr", "value"),
    [
        ("inputs.slo", "slos.yaml"),
        ("inputs.missing", None),
        ("inputs.prometheus-url == ''", True),
        ("inputs.python-version != ''", True),
        ("inputs.prometheus-url || 'default'", "default"),
        ("inputs.slo && 'yes'", "yes"),
        ("!(inputs.slo == 'SLOS.YAML')", False),  # comparisons ignore case
        ("steps.gate.outputs.exit-code", "1"),
    ],
)
def test_expressions(expr: str, value: object) -> None:
    assert evaluate(expr, CTX) == value


def test_interpolation() -> None:
    assert (
        interpolate("out/nightly-${{ github.run_id }}-${{ inputs.none }}", CTX) == "out/nightly-42-"
    )
    assert interpolate(3.11, CTX) == "3.11"


def test_if_adds_success_unless_a_status_function_is_named() -> None:
    assert condition(None, CTX, failed=False) and not condition(None, CTX, failed=True)
    assert not condition("inputs.python-version != ''", CTX, failed=True)
    assert condition("always()", CTX, failed=True)
    assert condition("${{ always() && inputs.slo != '' }}", CTX, failed=True)
    assert not condition("always() && inputs.prometheus-url != ''", CTX, failed=True)
    assert condition("failure()", CTX, failed=True) and not condition("failure()", CTX, False)


def test_output_files() -> None:
    assert _key_values("a=1\nb=x=y\nc<<EOF\nline 1\nline 2\nEOF\n") == {
        "a": "1",
        "b": "x=y",
        "c": "line 1\nline 2",
    }
