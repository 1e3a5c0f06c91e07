import pytest

from slocheck.errors import (
    ExitCode,
    InfrastructureError,
    LoadGeneratorError,
    PrometheusError,
    ServiceStartError,
    SpecError,
    UsageError,
    exit_code_for,
)


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (UsageError("x"), 2),
        (SpecError("x"), 2),
        (InfrastructureError("x"), 3),
        (ServiceStartError("x"), 3),
        (PrometheusError("x"), 3),
        (LoadGeneratorError("x"), 3),
        (RuntimeError("unexpected"), 3),
    ],
)
def test_exit_codes(exc: BaseException, code: int) -> None:
    assert exit_code_for(exc) == code


def test_exit_code_values_are_the_documented_ones() -> None:
    assert [int(c) for c in ExitCode] == [0, 1, 2, 3, 130]


def test_spec_error_names_file_line_and_field() -> None:
    e = SpecError(
        'expected a duration like 500ms, got "fast"',
        file="slos.yaml",
        line=12,
        field="slos[2].threshold",
    )
    assert str(e) == 'slos.yaml:12: slos[2].threshold: expected a duration like 500ms, got "fast"'


def test_hint_is_shown() -> None:
    assert "hint: install it" in str(PrometheusError("no prometheus", hint="install it"))
