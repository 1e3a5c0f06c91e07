"""Each run's own folder: the default name (to the millisecond, with a short unique suffix) and
the claim a run holds on its folder while it runs, so that two runs never write into one."""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

from slocheck.errors import UsageError

ROOT = Path("slocheck-results")
LOCK = ".slocheck.lock"  #: in the folder while a run writes there: its pid, under flock

_held: dict[Path, int] = {}  # the folders this process holds, and how many claims on each


def default_out(root: Path = ROOT, now: float | None = None, prefix: str = "") -> Path:
    """``slocheck-results/<prefix><YYYYmmddTHHMMSS>.<ms>-<6 hex>``: runs started together (even
    in the same millisecond) get folders of their own, which still sort by their start."""
    t = time.time() if now is None else now
    stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime(t)) + f".{int(t * 1000) % 1000:03d}"
    return root / f"{prefix}{stamp}-{secrets.token_hex(3)}"


def _holder(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        text = os.pread(fd, 32, 0).decode().strip()
        if text.isdigit():
            return f"pid {text}"
    return "another process"


@contextlib.contextmanager
def claimed(out: Path) -> Iterator[Path]:
    """Hold ``out`` (created if missing) for one run: ``.slocheck.lock`` there, locked with
    flock and holding our pid. A folder that another live run holds is a UsageError (exit 2);
    the lock of a run that died (even by SIGKILL) is free again, whatever its file says. Claims
    by this process nest (``slocheck run`` holds the folder until its reports are written)."""
    out.mkdir(parents=True, exist_ok=True)
    key = out.resolve()
    if key in _held:
        _held[key] += 1
        try:
            yield out
        finally:
            _held[key] -= 1
        return
    path = out / LOCK
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise UsageError(
                f"{out} is in use: another slocheck run ({holder}) is writing its reports there",
                hint="give another --out, or none: each run then gets a folder of its own",
            ) from None
        try:  # its owner may have released and removed it meanwhile: lock the file in place
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    _held[key] = 1
    try:
        yield out
    finally:
        _held[key] -= 1
        if _held[key] == 0:
            del _held[key]
            with contextlib.suppress(OSError):
                path.unlink()
            os.close(fd)
