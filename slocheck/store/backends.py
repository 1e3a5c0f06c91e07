"""Where a history's rows live: a SQLite file (the default, one machine) or a PostgreSQL
database (``postgresql://`` URL, psycopg 3: ``pip install 'slocheck[postgres]'``; a fleet of
CI runners sharing one history). The same table and the same behaviour on both: a run's row is
written in one transaction (readers never see half of it, and a second write of the same run
replaces it: importing twice adds nothing), rows come back newest first, and a database written
by a newer slocheck (a higher schema version) is refused with a clear error.

Nothing here knows what a row means (``store.history`` does): these are the rows' storage.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from slocheck.errors import InfrastructureError, UsageError
from slocheck.units import redact_urls

#: The layout of the runs table this slocheck writes; a higher one is a newer slocheck's.
SCHEMA_VERSION = 1
#: The forward migrations, by the version they lead to: the statements that bring a history of
#: the version before to it (SQLite's, PostgreSQL's). None yet: version 1 is the first; a
#: history of no version (written before versions were recorded) is version 1's layout.
MIGRATIONS: dict[int, tuple[tuple[str, ...], tuple[str, ...]]] = {}
#: A row: (its id, run_id, created_at, fingerprint, verdict, record JSON, summary JSON).
Row = tuple[Any, ...]
POSTGRES_SCHEMES = ("postgresql", "postgres")
_COLUMNS = "run_id, created_at, fingerprint, verdict, record, summary"
_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    fingerprint TEXT NOT NULL,
    verdict TEXT NOT NULL,
    record TEXT NOT NULL,
    summary TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_fingerprint ON runs (fingerprint, created_at);
CREATE TABLE IF NOT EXISTS slocheck_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO slocheck_meta VALUES ('schema_version', '1');
"""
_POSTGRES_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS runs (
        id BIGSERIAL,
        run_id TEXT PRIMARY KEY,
        created_at DOUBLE PRECISION NOT NULL,
        fingerprint TEXT NOT NULL,
        verdict TEXT NOT NULL,
        record TEXT NOT NULL,
        summary TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS runs_by_fingerprint ON runs (fingerprint, created_at)",
    "CREATE TABLE IF NOT EXISTS slocheck_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "INSERT INTO slocheck_meta VALUES ('schema_version', '1') ON CONFLICT DO NOTHING",
)
#: Serialises the schema's creation among processes opening one PostgreSQL history at once
#: (``CREATE TABLE IF NOT EXISTS`` is not safe against itself there).
_SCHEMA_LOCK = 0x510C4EC


class Rows(Protocol):
    """A history's storage."""

    where: str  #: the file, or the database's URL without its password: for messages

    def put(self, row: Sequence[Any]) -> None:
        """Write one run's row (``_COLUMNS``), replacing a row of the same run, atomically."""

    def records(self, fingerprint: str | None) -> Iterator[Row]:
        """(id, run_id, record) of every row (of ``fingerprint``), newest first."""

    def one(self, run_id: str) -> Row | None:
        """(id, run_id, record) of one run."""

    def summaries(self) -> Iterator[Row]:
        """(id, run_id, created_at, fingerprint, verdict, summary), newest first."""

    def migrate(self) -> tuple[int, int]:
        """Run the migrations from the stored version to :data:`SCHEMA_VERSION`, each in one
        transaction: (the version before, after)."""

    def close(self) -> None: ...


def is_postgres(location: str | Path) -> bool:
    return isinstance(location, str) and urlsplit(location).scheme in POSTGRES_SCHEMES


def open_rows(location: str | Path) -> Rows:
    """The storage at ``location``: a ``postgresql://`` URL, else a SQLite file's path."""
    if is_postgres(location):
        return PostgresRows(str(location))
    return SqliteRows(Path(location))


def _checked_version(version: object, where: str) -> None:
    try:
        found = int(str(version))
    except ValueError:
        raise UsageError(f"{where}: not a slocheck history (schema version {version!r})") from None
    if found > SCHEMA_VERSION:
        raise UsageError(
            f"{where}: a history of schema version {found}, written by a newer slocheck (this "
            f"one reads version {SCHEMA_VERSION})",
            hint="upgrade slocheck on this machine to the version the others run",
        )


class SqliteRows:
    """A SQLite file, safe with concurrent writers (WAL; a kill mid-write leaves it whole)."""

    def __init__(self, path: Path) -> None:
        self.where = str(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(path, timeout=30.0, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA busy_timeout=30000")
            self.db.executescript(_SQLITE_SCHEMA)
            (version,) = self.db.execute(
                "SELECT value FROM slocheck_meta WHERE key = 'schema_version'"
            ).fetchone()
        except sqlite3.DatabaseError as e:
            raise UsageError(f"{path}: not a slocheck history database ({e})") from None
        _checked_version(version, self.where)
        self.version = int(str(version))

    def migrate(self) -> tuple[int, int]:
        before = self.version
        for version in range(before + 1, SCHEMA_VERSION + 1):
            with self.db:
                self.db.execute("BEGIN IMMEDIATE")
                for statement in MIGRATIONS[version][0]:
                    self.db.execute(statement)
                self.db.execute(
                    "UPDATE slocheck_meta SET value = ? WHERE key = 'schema_version'", (version,)
                )
            self.version = version
        return before, self.version

    def put(self, row: Sequence[Any]) -> None:
        with self.db:  # one transaction: all or nothing
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute(
                f"INSERT OR REPLACE INTO runs ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)", row
            )

    def records(self, fingerprint: str | None) -> Iterator[Row]:
        where, args = (" WHERE fingerprint = ?", (fingerprint,)) if fingerprint else ("", ())
        sql = f"SELECT rowid, run_id, record FROM runs{where} ORDER BY created_at DESC"
        yield from self.db.execute(sql, args)

    def one(self, run_id: str) -> Row | None:
        row: Row | None = self.db.execute(
            "SELECT rowid, run_id, record FROM runs WHERE run_id = ?", (run_id,)
        ).fetchone()
        return row

    def summaries(self) -> Iterator[Row]:
        yield from self.db.execute(
            "SELECT rowid, run_id, created_at, fingerprint, verdict, summary FROM runs"
            " ORDER BY created_at DESC"
        )

    def close(self) -> None:
        self.db.close()


class PostgresRows:
    """A PostgreSQL database: many machines' runs in one history. The password comes from
    ``PGPASSWORD`` or ``~/.pgpass`` (libpq reads both), never from the URL, which messages show
    without it."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.where = redact_urls(url)
        if parts.password:
            raise UsageError(
                f"{self.where}: a password in the history's URL would be printed and kept in "
                "shell histories",
                hint="give it in PGPASSWORD or ~/.pgpass, and the URL without it",
            )
        try:
            import psycopg
        except ImportError:
            raise UsageError(
                f"{self.where}: a PostgreSQL history needs psycopg",
                hint="pip install 'slocheck[postgres]'",
            ) from None
        self._errors = psycopg.Error
        try:
            self.db = psycopg.connect(url, autocommit=True, connect_timeout=10)
            with self.db.transaction():
                self.db.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                for statement in _POSTGRES_SCHEMA:
                    self.db.execute(statement)
            found = self.db.execute(
                "SELECT value FROM slocheck_meta WHERE key = 'schema_version'"
            ).fetchone()
        except psycopg.Error as e:
            raise InfrastructureError(
                f"{self.where}: cannot open the history: {_first_line(e)}"
            ) from None
        version = found[0] if found else None
        _checked_version(version, self.where)
        self.version = int(str(version))

    def migrate(self) -> tuple[int, int]:
        before = self.version
        for version in range(before + 1, SCHEMA_VERSION + 1):
            try:
                with self.db.transaction():
                    self.db.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                    for statement in MIGRATIONS[version][1]:
                        self.db.execute(statement)
                    self.db.execute(
                        "UPDATE slocheck_meta SET value = %s WHERE key = 'schema_version'",
                        (str(version),),
                    )
            except self._errors as e:
                raise InfrastructureError(f"{self.where}: {_first_line(e)}") from None
            self.version = version
        return before, self.version

    def put(self, row: Sequence[Any]) -> None:
        self._run(
            f"INSERT INTO runs ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (run_id) DO UPDATE SET created_at = EXCLUDED.created_at, "
            "fingerprint = EXCLUDED.fingerprint, verdict = EXCLUDED.verdict, "
            "record = EXCLUDED.record, summary = EXCLUDED.summary",
            row,
        )

    def records(self, fingerprint: str | None) -> Iterator[Row]:
        where, args = (" WHERE fingerprint = %s", (fingerprint,)) if fingerprint else ("", ())
        yield from self._stream(
            f"SELECT id, run_id, record FROM runs{where} ORDER BY created_at DESC", args
        )

    def one(self, run_id: str) -> Row | None:
        rows = self._rows("SELECT id, run_id, record FROM runs WHERE run_id = %s", (run_id,))
        return rows[0] if rows else None

    def summaries(self) -> Iterator[Row]:
        yield from self._stream(
            "SELECT id, run_id, created_at, fingerprint, verdict, summary FROM runs"
            " ORDER BY created_at DESC",
            (),
        )

    def _run(self, sql: str, args: Sequence[Any]) -> None:
        try:
            with self.db.transaction():  # one transaction: all or nothing
                self.db.execute(sql, args)
        except self._errors as e:
            raise InfrastructureError(f"{self.where}: {_first_line(e)}") from None

    def _stream(self, sql: str, args: Sequence[Any]) -> Iterator[Row]:
        """The rows of ``sql`` as the reader takes them, a batch at a time (a server-side
        cursor): a reader that stops after the newest few never loads a fleet's whole
        history, as SQLite's cursor does not either."""
        try:
            with self.db.transaction(), self.db.cursor(name="slocheck_rows") as cursor:
                cursor.itersize = 100
                cursor.execute(sql, args)
                yield from cursor
        except self._errors as e:
            raise InfrastructureError(f"{self.where}: {_first_line(e)}") from None

    def _rows(self, sql: str, args: Sequence[Any]) -> list[Row]:
        try:
            return list(self.db.execute(sql, args).fetchall())
        except self._errors as e:
            raise InfrastructureError(f"{self.where}: {_first_line(e)}") from None

    def close(self) -> None:
        self.db.close()


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0][:200]


def history_location(given: str | None, default: str) -> str:
    """The history a command uses: ``--history``, else ``SLOCHECK_HISTORY``, else ``default``."""
    return given or os.environ.get("SLOCHECK_HISTORY") or default
