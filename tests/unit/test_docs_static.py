"""The docs' command blocks name files, commands and flags that exist, and parse; every relative
link of README.md and docs/ resolves (tests/integration/test_docs_commands.py runs them)."""

from __future__ import annotations

import argparse

import pytest

from slocheck.cli import build_parser
from slocheck.errors import SlocheckError
from tests import docs_blocks
from tests.docs_blocks import ROOT, Command


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _problems(command: Command, parsers: dict[str, argparse.ArgumentParser]) -> list[str]:
    problems = []
    for argv in command.argvs:
        problems += [
            f"{p} does not exist" for p in docs_blocks.repo_paths(argv) if not (ROOT / p).exists()
        ]
        args = docs_blocks.slocheck_argv(argv)
        if args is None:
            continue
        sub = docs_blocks.subcommand(args)
        if sub is None:
            continue
        if sub not in parsers:
            problems.append(f"slocheck has no command {sub!r}")
            continue
        known = set(parsers[sub]._option_string_actions)
        problems += [
            f"slocheck {sub} has no flag {f}" for f in docs_blocks.flags(args) if f not in known
        ]
        # --master-bind's type binds the address: a doc's example address is not this machine's
        if command.synopsis or {"--help", "-h", "--master-bind"} & set(args) or problems:
            continue
        try:
            build_parser().parse_args(args)
        except SlocheckError as error:
            problems.append(f"does not parse: {error}")
    return problems


def test_every_doc_command_names_files_commands_and_flags_that_exist() -> None:
    parsers = _subparsers()
    found = docs_blocks.blocks()
    commands = [command for block in found for command in block.commands]
    stale = [
        f"{c.doc.relative_to(ROOT)}:{c.line}: {c.text}\n    {problem}"
        for c in commands
        for problem in _problems(c, parsers)
    ]
    assert not stale, "stale examples in the docs:\n" + "\n".join(stale)
    print(f"docs: {len(found)} command blocks, {len(commands)} commands checked statically")
    assert len(found) >= 18


def test_every_repository_path_the_docs_quote_exists() -> None:
    missing = [
        f"{doc.relative_to(ROOT)}:{line}: `{path}`"
        for doc in docs_blocks.DOC_FILES
        for line, path in docs_blocks.quoted_repo_paths(doc)
        if not (ROOT / path).exists()
    ]
    assert not missing, "the docs quote files that do not exist:\n" + "\n".join(missing)


def test_every_relative_link_in_the_docs_resolves() -> None:
    broken = [
        f"{doc.relative_to(ROOT)}:{line}: ({target})"
        for doc in docs_blocks.DOC_FILES
        for line, target in docs_blocks.relative_links(doc)
        if target and not (doc.parent / target).exists()
    ]
    assert not broken, "links to files that do not exist:\n" + "\n".join(broken)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            ["slocheck validate --slo examples/x.yaml   # exit 2"],
            [(["slocheck", "validate", "--slo", "examples/x.yaml"], 2, False)],
        ),
        (
            ["slocheck run --slo FILE [--rate RPS]", "             [--out DIR]"],
            [(["slocheck", "run", "--slo", "FILE", "--rate", "RPS", "--out", "DIR"], 0, True)],
        ),
        (
            ["# a comment", "T=1 slocheck convert --slo a.yaml \\", "    [--out b.yaml]"],
            [(["slocheck", "convert", "--slo", "a.yaml", "--out", "b.yaml"], 0, False)],
        ),
    ],
)
def test_commands_are_split_joined_and_classified(
    body: list[str], expected: list[tuple[list[str], int, bool]]
) -> None:
    commands = docs_blocks._commands(ROOT / "README.md", 1, "bash", body)
    assert [(c.argvs[0], c.expected_exit, c.synopsis) for c in commands] == expected


def test_a_missing_example_file_is_a_problem() -> None:
    command = docs_blocks._commands(
        ROOT / "README.md", 1, "bash", ["slocheck validate --slo examples/gone.yaml"]
    )[0]
    assert _problems(command, _subparsers()) == ["examples/gone.yaml does not exist"]
    flag = docs_blocks._commands(
        ROOT / "README.md", 1, "bash", ["slocheck validate --slo x.yaml --nope"]
    )[0]
    assert _problems(flag, _subparsers()) == ["slocheck validate has no flag --nope"]


def test_a_transcript_keeps_what_the_command_prints() -> None:
    body = ["$ slocheck validate --slo a.yaml", "valid: a.yaml (sha256 0123456789ab)", "- x: ..."]
    (command,) = docs_blocks._commands(ROOT / "README.md", 1, "text", body)
    assert command.argvs == [["slocheck", "validate", "--slo", "a.yaml"]]
    assert command.output == ["valid: a.yaml (sha256 0123456789ab)", "- x: ..."]
    first, second = (docs_blocks.output_pattern(line) for line in command.output)
    assert first.fullmatch("valid: a.yaml (sha256 fedcba987654)")
    assert not first.fullmatch("valid: b.yaml (sha256 fedcba987654)")
    assert second.fullmatch("- x: anything at all")
    assert not second.fullmatch("- y: anything")
