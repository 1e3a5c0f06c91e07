"""Runs every command of README.md and docs/*.md that runs offline and fast (validate, generate,
convert, init with no URL, --help), in a copy of examples/, benchmarks/ and deploy/, and
requires the exit status the docs give (0 unless the command's comment says `exit N`): a stale
example fails the suite. The others are skipped by rule, with the reason, and checked
statically by tests/unit/test_docs_static.py (files, commands, flags)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests import docs_blocks
from tests.docs_blocks import ROOT, Block


def _slocheck(args: list[str], work: Path) -> subprocess.CompletedProcess[str]:
    pythonpath = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "slocheck", *args],
        cwd=work,
        env={**os.environ, "PYTHONPATH": pythonpath},
        capture_output=True,
        text=True,
        timeout=600,  # a hang guard: the suite's other workers share the CPU
        check=False,
    )


def _specs(argvs: list[list[str]], work: Path) -> list[str]:
    """The spec files a command names that exist in its folder (the repository's or made by
    an earlier command of the block)."""
    specs = []
    for argv in argvs:
        if "--slo" in argv and argv.index("--slo") + 1 < len(argv):
            spec = argv[argv.index("--slo") + 1]
            if (work / spec).is_file():
                specs.append(spec)
    return specs


def _run_block(block: Block, work: Path) -> tuple[list[str], list[str], list[str]]:
    """(commands run, skipped with their reason, failures) of one block, in its own folder."""
    shutil.copytree(ROOT / "examples", work / "examples")
    shutil.copytree(ROOT / "benchmarks", work / "benchmarks")
    shutil.copytree(ROOT / "deploy", work / "deploy")
    for name, text in docs_blocks.named_files(block.doc).items():
        (work / name).write_text(text, encoding="utf-8")
    ran: list[str] = []
    skipped: list[str] = []
    failed: list[str] = []
    for command in block.commands:
        where = f"{command.doc.relative_to(ROOT)}:{command.line}: {command.text}"
        reason = docs_blocks.skip_reason(command)
        if reason is None:
            missing = [
                argv[argv.index("--slo") + 1]
                for argv in command.argvs
                if "--slo" in argv and not (work / argv[argv.index("--slo") + 1]).exists()
            ]
            stale = [spec for spec in missing if spec.startswith(docs_blocks.REPO_DIRS)]
            if stale:
                failed.append(f"{where}\n    {stale[0]} does not exist")
                continue
            if missing:
                reason = f"names the reader's own file {missing[0]}"
        if reason is not None:
            skipped.append(f"{where}\n    skipped: {reason}")
            if not command.synopsis:  # what it would load must still be a valid spec
                for spec in _specs(command.argvs, work):
                    done = _slocheck(["validate", "--slo", spec], work)
                    if done.returncode != 0:
                        failed.append(
                            f"{where}\n    its spec {spec} is not valid:\n"
                            f"    {done.stderr.strip()[-800:]}"
                        )
                    else:
                        ran.append(f"{where} (validate --slo {spec})")
            continue
        for argv in command.argvs:
            args = docs_blocks.slocheck_argv(argv)
            assert args is not None
            done = _slocheck(args, work)
            last = argv is command.argvs[-1]
            expected = command.expected_exit if last else 0
            if done.returncode != expected:
                failed.append(
                    f"{where}\n    exit {done.returncode}, the docs say {expected}\n"
                    f"    {(done.stderr or done.stdout).strip()[-800:]}"
                )
                break
        else:
            ran.append(where)
            printed = [line.strip() for line in (done.stdout + done.stderr).splitlines()]
            for documented in command.output:
                pattern = docs_blocks.output_pattern(documented)
                if not any(pattern.fullmatch(line) for line in printed):
                    failed.append(
                        f"{where}\n    does not print, as the docs show:\n    {documented}"
                    )
    return ran, skipped, failed


# a hang guard, not a bound on speed: its promtool runs share the CPU with the other workers
@pytest.mark.timeout(900)
def test_every_offline_command_of_the_docs_runs_as_documented(tmp_path: Path) -> None:
    found = docs_blocks.blocks()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(
            pool.map(lambda ib: _run_block(ib[1], tmp_path / f"block-{ib[0]}"), enumerate(found))
        )
    ran = [line for r in results for line in r[0]]
    skipped = [line for r in results for line in r[1]]
    failed = [line for r in results for line in r[2]]
    print(
        f"\ndocs: {len(found)} command blocks checked, {len(ran)} commands run, "
        f"{len(skipped)} skipped by rule"
    )
    print("\n".join(skipped))
    assert not failed, "doc commands that do not do what the docs say:\n" + "\n".join(failed)
    assert len(found) >= 18
    assert len(ran) >= 20
