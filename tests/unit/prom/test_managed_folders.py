"""The temporary folder of a managed Prometheus names its owner's pid: one whose owner died
(slocheck killed by SIGKILL) is removed at the next start; a live owner's is kept."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from slocheck.prom.managed import TMP_PREFIX, remove_stale_folders


def test_only_the_folders_of_dead_owners_are_removed(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    gone = tmp_path / f"{TMP_PREFIX}{dead.stdout.strip()}-abc"
    mine = tmp_path / f"{TMP_PREFIX}{os.getpid()}-def"
    other = tmp_path / f"{TMP_PREFIX}notapid-x"
    for folder in (gone, mine, other):
        (folder / "data").mkdir(parents=True)
    assert remove_stale_folders(tmp_path) == [gone]
    assert not gone.exists() and mine.exists() and other.exists()
