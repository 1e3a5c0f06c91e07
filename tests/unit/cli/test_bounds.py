"""Issue 24, item 8 (command-line side): every number a flag takes has a finite, documented
bound, and every such error names its flag; a password in a URL flag is never echoed."""

from __future__ import annotations

from pathlib import Path

import pytest

from slocheck.cli import main

SPEC = "version: 1\nslos:\n  - {name: a, sli: availability, objective: 99%}\n"


@pytest.mark.parametrize(
    ("command", "flag", "value", "bound"),
    [
        ("run", "--users", "100000", "from 1 to 10000"),
        ("run", "--users", "0", "from 1 to 10000"),
        ("run", "--users", "1.5", "whole number"),
        ("run", "--users", "9" * 400, "from 1 to 10000"),
        ("run", "--users", "9" * 5000, "from 1 to 10000"),
        ("run", "--rate", "nan", "above 0 to 1000000"),
        ("run", "--rate", "inf", "above 0 to 1000000"),
        ("run", "--rate", "-inf", "above 0"),
        ("run", "--rate", "0", "above 0"),
        ("run", "--rate", "1e400", "above 0"),
        ("run", "--duration", "0s", "from 1s to 7d"),
        ("run", "--duration", "1e300w", "from 1s to 7d"),
        ("run", "--duration", "8d", "from 1s to 7d"),
        ("run", "--duration", "soon", "like 30s"),
        ("run", "--warmup", "2d", "from 0s to 1d"),
        ("run", "--processes", "1000", "from 1 to 128"),
        ("run", "--processes", "0", "from 1 to 128"),
        ("run", "--expect-workers", "-1", "from 0 to 1000"),
        ("run", "--expect-workers", "5000", "from 0 to 1000"),
        ("run", "--workers-timeout", "0s", "above 0s to 1h"),
        ("run", "--master-bind", "999.1.1.1:5557", "cannot listen on '999.1.1.1'"),
        ("run", "--scenario", "stedy", "expected steady, ramp"),
        ("run", "--scenario", "nowhere.py", "a locustfile (.py) that exists"),
        ("run", "--master-bind", "localhost", "expected HOST:PORT"),
        ("run", "--master-bind", "*:70000", "expected HOST:PORT"),
        ("capacity", "--processes", "1000", "from 1 to 128"),
        ("capacity", "--max-rate", "inf", "above 0"),
        ("capacity", "--min-rate", "nan", "above 0"),
        ("capacity", "--step-duration", "0s", "from 1s to 7d"),
        ("capacity", "--warmup", "1e300w", "from 0s to 1d"),
        ("capacity", "--budget", "1e300w", "from 1s to 7d"),
        ("bench", "--duration", "0s", "from 1s to 7d"),
        ("bench", "--repeat", "1", "from 2 to 1000"),
    ],
)
def test_each_bound_is_an_error_naming_its_flag(
    command: str,
    flag: str,
    value: str,
    bound: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    spec = tmp_path / "slos.yaml"
    spec.write_text(SPEC)
    code = main([command, "--slo", str(spec), f"{flag}={value}", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"argument {flag}: " in err and bound in err, err
    assert "Name or service not known" not in err.split("(")[0]  # never the resolver alone
    assert not (tmp_path / "o").exists()  # refused before anything ran


def test_an_out_folder_with_a_comma_is_refused_for_workers_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With --expect-workers, the workers' config file is written under --out and given to
    Locust in its comma-separated -f list: a comma there would split it."""
    spec = tmp_path / "slos.yaml"
    spec.write_text(SPEC)
    out = tmp_path / "runs,nightly"
    code = main(["run", "--slo", str(spec), "--expect-workers", "2", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "--out: " in err and "holds a comma" in err, err
    assert not (out / "load").exists()  # refused before anything ran


def test_slocheck_installed_under_a_comma_is_refused_before_anything_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its own locustfiles (the plugin, the built-in users) are in every -f list."""
    import slocheck.workflows.run

    monkeypatch.setattr(slocheck.workflows.run, "LOCUSTFILES", tmp_path / "a,b" / "locustfiles")
    spec = tmp_path / "slos.yaml"
    spec.write_text(SPEC)
    code = main(["run", "--slo", str(spec), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "slocheck's own locustfiles" in err and "holds a comma" in err, err
    assert not (tmp_path / "o" / "load").exists()  # refused before anything ran


@pytest.mark.parametrize("flag", ["--target-url", "--prometheus-url"])
def test_a_bad_url_with_a_password_is_not_echoed(
    flag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "slos.yaml"
    spec.write_text(SPEC)
    code = main(["run", "--slo", str(spec), flag, "http://user:S3CRETPASS@host:port"])
    err = capsys.readouterr().err
    assert code == 2 and f"argument {flag}" in err, err
    assert "S3CRETPASS" not in err and "http://***@host:port" in err


def test_an_error_message_holding_a_url_with_a_password_is_redacted(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from slocheck.errors import ServiceStartError

    def fail(*args: object, **kwargs: object) -> None:
        raise ServiceStartError("the target service at http://u:S3CRETPASS@h:1/ was not ready")

    monkeypatch.setattr("slocheck.workflows.run.run", fail)
    spec = tmp_path / "slos.yaml"
    spec.write_text(SPEC)
    code = main(["run", "--slo", str(spec), "--target-url", "http://u:S3CRETPASS@h:1"])
    err = capsys.readouterr().err
    assert code == 3 and "http://***@h:1/ was not ready" in err and "S3CRETPASS" not in err


HOSTILE = "evil\\x1b]0;pwned\\x07\\x1b[2J\\u202eeman"  # as YAML writes it in double quotes


def test_validate_prints_slo_names_without_controls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "slos.yaml"
    spec.write_text(
        f'version: 1\nslos:\n  - {{name: "{HOSTILE}", sli: availability, objective: 99%}}\n'
    )
    assert main(["validate", "--slo", str(spec)]) == 0
    out = capsys.readouterr().out
    assert "evil?eman" in out
    assert all(c not in out for c in "\x1b\x07\u202e")


def test_an_error_naming_an_slo_prints_no_controls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "slos.yaml"
    slo = f'{{name: "{HOSTILE}", sli: availability, objective: 99%}}'
    spec.write_text(f"version: 1\nslos:\n  - {slo}\n  - {slo}\n")
    assert main(["validate", "--slo", str(spec)]) == 2
    err = capsys.readouterr().err
    assert "duplicate SLO name" in err and "evil" in err and "eman" in err
    assert all(c not in err for c in "\x1b\x07\u202e")
