"""Each run's own folder: default names that never collide, and a claim that refuses a folder
another live run writes to (exit 2) while a dead run's claim is free again."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

from slocheck.errors import ExitCode, UsageError
from slocheck.workflows.outdir import LOCK, claimed, default_out


def test_default_folders_started_in_the_same_millisecond_differ() -> None:
    names = {default_out(Path("r"), now=1_700_000_000.1234) for _ in range(50)}
    assert len(names) == 50
    (one, *_) = names
    assert one.parent == Path("r") and ".123-" in one.name  # to the millisecond, then random


def test_a_bench_gets_a_folder_of_its_own_too() -> None:
    one, two = (default_out(Path("r"), now=1_700_000_000.5, prefix="bench-") for _ in range(2))
    assert one != two and one.name.startswith("bench-") and two.name.startswith("bench-")


def test_a_claim_writes_its_pid_and_leaves_no_lock_behind(tmp_path: Path) -> None:
    out = tmp_path / "new" / "out"
    with claimed(out) as held:
        assert held == out
        assert (out / LOCK).read_text().strip() == str(os.getpid())
        with claimed(out):  # the same process: nested, not refused
            pass
        assert (out / LOCK).exists()
    assert not (out / LOCK).exists()


def test_a_folder_another_live_process_holds_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
            "fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, str(os.getpid()).encode()); "
            "print('held', flush=True); sys.stdin.read()",
            str(out / LOCK),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        refused = rf"in use: another slocheck run \(pid {holder.pid}\)"
        with pytest.raises(UsageError, match=refused), claimed(out):
            pass
        assert UsageError("x").exit_code == ExitCode.USAGE
    finally:
        holder.communicate("")
    with claimed(out):  # its holder is gone (its lock with it): stale, so free
        assert (out / LOCK).read_text().strip() == str(os.getpid())


def test_a_lock_file_left_by_a_dead_run_is_stale(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / LOCK).write_text("999999999\n")  # no process holds its flock
    with claimed(out):
        fd = os.open(out / LOCK, os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held by our claim now
        finally:
            os.close(fd)
