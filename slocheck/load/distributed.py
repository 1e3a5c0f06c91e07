"""Distributed load on Locust's own master/worker: what the master hands its workers, and
what says a worker never came or was lost (``worker.py`` is ``slocheck worker``).

The workers run on other machines with slocheck installed, and download the run's locustfiles
from the master (Locust's ``-f -``). The first of those files is written here for each run: it
sets the run's ``SLOCHECK_*`` settings (API, mix, pacing, shape) before the built-in users
read them, and carries the text of the files the spec names (payloads, prompts), which a worker
host does not have, to be written into the worker's own temporary folder. What every worker
records comes back to the master as messages (``locustfiles/plugin.py``), so nothing has to be
shared between the machines but the master's port and the target's URL.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from slocheck.errors import LoadGeneratorError, UsageError

#: The settings whose value is a file path on the master: their text travels with the config.
FILE_SETTINGS = ("SLOCHECK_PAYLOAD", "SLOCHECK_PROMPTS", "SLOCHECK_TRACE", "SLOCHECK_TOKENIZER")
#: Settings that belong to the master's machine only.
LOCAL_SETTINGS = ("SLOCHECK_LOAD_DIR",)
#: Locust's master says this when its workers did not come in time.
GAVE_UP = "Gave up waiting for workers to connect"

_TEMPLATE = '''"""Written by slocheck run for its Locust workers: the run's settings, read by the
built-in users, and the text of the files the spec names. Loaded first, on the master and
every worker."""

import os
import tempfile

SETTINGS = {settings}
FILES = {files}

os.environ.update(SETTINGS)
if os.environ.get("SLOCHECK_WORKER") == "1":  # another machine: the files are not there
    _folder = tempfile.mkdtemp(prefix="slocheck-files-")
    for _name, (_base, _text) in FILES.items():
        _path = os.path.join(_folder, _base)
        with open(_path, "w", encoding="utf-8") as _f:
            _f.write(_text)
        os.environ[_name] = _path
'''


def parse_master(text: str, flag: str = "--master") -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) as a host and a port; UsageError naming
    ``flag`` otherwise."""
    host, sep, port = text.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"{flag}: expected HOST:PORT, got {text!r}")
    return host, int(port)


def config_source(settings: dict[str, str]) -> str:
    """The Python source of the workers' config file for these ``SLOCHECK_*`` settings."""
    kept = {k: v for k, v in sorted(settings.items()) if k not in LOCAL_SETTINGS}
    files: dict[str, tuple[str, str]] = {}
    for name in FILE_SETTINGS:
        path = kept.get(name)
        if path:
            files[name] = (Path(path).name, Path(path).read_text(encoding="utf-8"))
    return _TEMPLATE.format(settings=repr(kept), files=repr(files))


def write_config(workdir: Path, settings: dict[str, str]) -> Path:
    """The config file of one run, under a name no other run shares (workers write the files
    they download into one temporary folder by their base names)."""
    path = workdir / f"slocheck_run_{secrets.token_hex(6)}.py"
    path.write_text(config_source(settings), encoding="utf-8")
    return path


def gave_up_error(
    log_tail: str, workers: int, ready: int, bind: tuple[str, int], timeout: float
) -> LoadGeneratorError | None:
    """The error for a master whose workers did not all come within ``timeout``, if that is
    what its log says happened."""
    if GAVE_UP not in log_tail:
        return None
    host, port = bind
    return LoadGeneratorError(
        f"{ready} of {workers} Locust workers connected to the master on {host}:{port} within "
        f"{timeout:g} s: start each with `slocheck worker --master HOST:{port}` on a machine "
        "that reaches this one (and the target), or raise --workers-timeout"
    )


def lost_error(lost: dict[str, float], launched: float) -> LoadGeneratorError | None:
    """The error for workers lost while the test ran (quit, killed, or silent past Locust's
    heartbeat limit): their share of the load is missing, so the run cannot be judged."""
    if not lost:
        return None
    which = ", ".join(f"{node} ({t - launched:.1f} s into the load)" for node, t in lost.items())
    return LoadGeneratorError(
        f"lost {len(lost)} Locust worker(s) mid-run: {which}; their load is missing from the "
        "window, so the run is not judged"
    )
