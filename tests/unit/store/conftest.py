"""Every history test runs against both stores (issue 28): a SQLite file, and a database of
its own in a real PostgreSQL started once per test session (``tests/postgres.py``; skipped,
saying why, where PostgreSQL or psycopg is missing)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres import Postgres, start_postgres, unavailable


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    why = unavailable()
    if why is not None:
        pytest.skip(why)
    # a folder of its own in the system's temporary directory: pytest's (0700, root's) is
    # closed to the postgres user the server runs as
    folder = Path(tempfile.mkdtemp(prefix="slocheck-postgres-"))
    server = start_postgres(folder)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgres"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a history is: a new SQLite file, or a new PostgreSQL database's URL."""
    if request.param == "sqlite":
        return str(tmp_path / "history.sqlite")
    server: Postgres = request.getfixturevalue("postgres")
    return server.new_database()
