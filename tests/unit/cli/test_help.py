"""``--help`` documents every option with its default; an unknown flag names the command's own
help and the closest flag (issue 25)."""

from __future__ import annotations

import argparse

import pytest

from slocheck.cli import build_parser, main
from slocheck.cli.common import DefaultsFormatter


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(subs) == 1
    return dict(subs[0].choices)


def _options() -> list[tuple[str, argparse.Action]]:
    return [
        (name, action)
        for name, command in _commands().items()
        for action in command._actions
        if not isinstance(action, argparse._HelpAction)
    ]


def test_there_are_commands_and_options_to_check() -> None:
    commands = _commands()
    assert {"run", "verify", "validate", "bench", "history", "capacity", "serve"} <= set(commands)
    assert len(_options()) > 80


@pytest.mark.parametrize(
    ("command", "action"),
    _options(),
    ids=[f"{c}:{(a.option_strings or [a.dest])[0]}" for c, a in _options()],
)
def test_every_option_has_help_that_names_its_default(
    command: str, action: argparse.Action
) -> None:
    assert action.help and action.help.strip(), f"slocheck {command} {action.option_strings}"
    shown = DefaultsFormatter("x")._get_help_string(action) or ""
    has_default = action.default not in (None, argparse.SUPPRESS) and action.nargs != 0
    if has_default:
        assert "default" in shown, f"slocheck {command} {action.option_strings}: {shown}"


def test_every_commands_help_renders_with_the_defaults() -> None:
    for name, command in _commands().items():
        text = command.format_help()
        assert text.startswith(f"usage: slocheck {name}"), name
    bench = _commands()["bench"].format_help()
    assert "(default: 5)" in " ".join(bench.split())


@pytest.mark.parametrize(
    ("argv", "flag", "closest"),
    [
        (["run", "--slo", "x.yaml", "--userz", "3"], "--userz", "--users"),
        (["run", "--slo", "x.yaml", "--durration=3s"], "--durration=3s", "--duration"),
        (["validate", "--sol", "x.yaml"], "--sol", "--slo"),  # before "--slo is required"
        (["history", "--histroy", "h.sqlite"], "--histroy", "--history"),
        (["bench", "--slo", "x.yaml", "--reppeat", "3"], "--reppeat", "--repeat"),
    ],
)
def test_an_unknown_flag_names_the_commands_help_and_the_closest_flag(
    argv: list[str], flag: str, closest: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"slocheck {argv[0]}: unrecognized argument: {flag}" in err
    assert f"did you mean {closest}? see 'slocheck {argv[0]} --help'" in err


def test_an_unknown_flag_with_nothing_close_still_names_the_commands_help(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["verify", "--slo", "x.yaml", "--zzzzzz"]) == 2
    err = capsys.readouterr().err
    assert "unrecognized argument: --zzzzzz" in err and "did you mean" not in err
    assert "see 'slocheck verify --help'" in err


def test_an_abbreviated_flag_still_works(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--sl", "/nonexistent/slos.yaml"]) == 2  # the file, not the flag
    assert "cannot read the SLO file" in capsys.readouterr().err
