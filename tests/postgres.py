"""A real PostgreSQL for the tests: the Debian package's ``initdb`` and ``pg_ctl`` in a
temporary folder, on a free local port, trust authentication, no fsync (a test database). As
root, the server runs as the ``postgres`` user (PostgreSQL refuses root). None when the binaries
or psycopg are missing: the tests that need it skip, saying so."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import free_port

USER = "slocheck"


def binaries() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl`` (the newest installed PostgreSQL)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def unavailable() -> str | None:
    """Why no PostgreSQL can be started here; None when one can."""
    if binaries() is None:
        return "needs PostgreSQL's initdb and pg_ctl (apt-get install postgresql)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "needs psycopg (pip install -e '.[dev]')"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "runs as root without runuser: PostgreSQL refuses to run as root"
    return None


@dataclass
class Postgres:
    folder: Path
    port: int

    def _as_owner(self, *args: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)

    def _run(self, *args: str, check: bool = True) -> None:
        subprocess.run(self._as_owner(*args), capture_output=True, timeout=120, check=check)

    def start(self) -> None:
        bin_dir = binaries()
        assert bin_dir is not None
        data = str(self.folder / "data")
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        self._run(str(bin_dir / "initdb"), "-D", data, "-A", "trust", "-U", USER, "--no-sync")
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=50"
        )
        log = str(self.folder / "log")
        self._run(str(bin_dir / "pg_ctl"), "-D", data, "-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        bin_dir = binaries()
        assert bin_dir is not None
        data = str(self.folder / "data")
        self._run(str(bin_dir / "pg_ctl"), "-D", data, "-m", "immediate", "stop", check=False)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A database of its own for one test; its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(f"CREATE DATABASE {name}")
        return self.url(name)


def start_postgres(folder: Path) -> Postgres:
    folder.mkdir(parents=True, exist_ok=True)
    server = Postgres(folder, free_port())
    server.start()
    return server
