"""The CLI's exit codes and messages for bad usage and unexpected failures (in-process)."""

from __future__ import annotations

from pathlib import Path

import pytest

from slocheck.cli import main

SPEC = "version: 1\nslos:\n  - {name: a, sli: availability, objective: 99%}\n"


def test_validate_prints_promql(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "br[").mkdir()
    path = tmp_path / "br[" / "x].yaml"  # "[/x]" is a closing tag to rich markup
    path.write_text(SPEC)
    assert main(["validate", "--slo", str(path)]) == 0
    out = capsys.readouterr().out
    assert "br[/x].yaml" in out and "http_requests_total" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [
                "verify",
                "--slo",
                "{spec}",
                "--prometheus-url",
                "localhost:9090",
                "--start",
                "now-1m",
            ],
            "URL",
        ),
        (
            [
                "verify",
                "--slo",
                "{spec}",
                "--prometheus-url",
                "http://127.0.0.1:9",
                "--start",
                "soon",
            ],
            "--start/--end",
        ),
        (
            [
                "verify",
                "--slo",
                "{spec}",
                "--prometheus-url",
                "http://127.0.0.1:9",
                "--start",
                "now",
                "--end",
                "now-1m",
            ],
            "window is empty",
        ),
        (["run", "--slo", "{spec}", "--users", "0"], "--users"),
        (["run", "--slo", "{spec}", "--prometheus-url", "http://127.0.0.1:9"], "--target-url"),
        (["verify", "--slo", "{spec}", "--start", "now-1m"], "no Prometheus URL"),
    ],
)
def test_usage_errors_exit_2(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "slos.yaml"
    spec.write_text(SPEC)
    code = main([a.replace("{spec}", str(spec)) for a in args])
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err


def test_unexpected_errors_exit_3_not_1(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import slocheck.slofile

    def boom(path: str) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(slocheck.slofile, "load_spec", boom)
    assert main(["validate", "--slo", str(tmp_path / "x.yaml")]) == 3
    assert "internal error: RuntimeError: a bug" in capsys.readouterr().err


def test_validate_warns_about_an_error_ratio_that_can_be_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "slos.yaml"
    path.write_text(
        "version: 1\nslos:\n  - name: errors\n    sli: promql\n    op: '<='\n    threshold: 0.01\n"
        "    query: 'sum(increase(app_errors_total[$window])) / "
        "sum(increase(app_requests_total[$window]))'\n"
    )
    assert main(["validate", "--slo", str(path)]) == 0  # a warning, not an invalid spec
    out = " ".join(capsys.readouterr().out.split())
    assert "warning" in out and "or vector(0)" in out
