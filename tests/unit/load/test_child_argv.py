"""Issue 24, item 7: the Locust child gets its target URL, which may hold a password, by its
environment (``LOCUST_HOST``), never on its command line (``ps`` shows those to everyone)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from slocheck.load.config import LoadConfig
from slocheck.load.runner import run_load


class _Spawned(Exception):
    pass


@pytest.mark.parametrize("processes", [1, 3])
def test_the_target_url_travels_by_environment_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, processes: int
) -> None:
    seen: dict[str, Any] = {}

    def spawn(args: list[str], *, env: dict[str, str], log: Path) -> None:
        seen.update(args=args, env=env)
        raise _Spawned

    monkeypatch.setattr("slocheck.load.runner.spawn", spawn)
    host = "http://user:S3CRETPASS@127.0.0.1:8000"
    with pytest.raises(_Spawned):
        run_load(LoadConfig(host=host, processes=processes), tmp_path)
    assert not any("S3CRETPASS" in a for a in seen["args"]), seen["args"]
    assert "--host" not in seen["args"] and "-H" not in seen["args"]
    assert seen["env"]["LOCUST_HOST"] == host  # Locust reads it (its --host's variable)


def test_locust_reads_its_host_from_the_environment() -> None:
    """In a process of its own: importing locust patches this one with gevent."""
    code = (
        "from locust.argument_parser import parse_options\n"
        "print(parse_options(['-f', 'x.py', '--headless']).host)\n"
    )
    env = {**os.environ, "LOCUST_HOST": "http://user:pw@127.0.0.1:8000"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.stdout.strip().splitlines()[-1] == "http://user:pw@127.0.0.1:8000", out.stderr
