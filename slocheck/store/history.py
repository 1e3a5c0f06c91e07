"""The benchmark history: a SQLite file of run records, safe with concurrent writers (WAL, one
transaction per run: a kill mid-write leaves the file as it was), exported and imported as JSON
lines for CI caches. Runs are compared only with runs of the same configuration fingerprint."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from slocheck.errors import UsageError
from slocheck.regress import RunRecord
from slocheck.regress.records import record_from_dict, record_to_dict, summary_of
from slocheck.report.atomic import write_atomic

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    fingerprint TEXT NOT NULL,
    verdict TEXT NOT NULL,
    record TEXT NOT NULL,
    summary TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_fingerprint ON runs (fingerprint, created_at);
"""


class History:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA busy_timeout=30000")
            self.db.executescript(SCHEMA)
        except sqlite3.DatabaseError as e:
            raise UsageError(f"{self.path}: not a slocheck history database ({e})") from None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, r: RunRecord) -> None:
        with self.db:  # one transaction: all or nothing
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute(
                "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?)",
                (
                    r.run_id,
                    r.created_at,
                    r.fingerprint,
                    r.verdict,
                    json.dumps(record_to_dict(r)),
                    json.dumps(summary_of(r)),
                ),
            )

    def runs(self, fingerprint: str | None = None, limit: int = 1000) -> list[RunRecord]:
        """Newest first."""
        sql = "SELECT record FROM runs"
        args: tuple[Any, ...] = ()
        if fingerprint:
            sql += " WHERE fingerprint = ?"
            args = (fingerprint,)
        rows = self.db.execute(sql + " ORDER BY created_at DESC LIMIT ?", (*args, limit))
        return [record_from_dict(json.loads(row[0])) for row in rows]

    def get(self, run_id: str) -> RunRecord | None:
        row = self.db.execute("SELECT record FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return record_from_dict(json.loads(row[0])) if row else None

    def summaries(self, limit: int = 200) -> list[tuple[str, float, str, str, dict[str, Any]]]:
        rows = self.db.execute(
            "SELECT run_id, created_at, fingerprint, verdict, summary FROM runs"
            " ORDER BY created_at DESC LIMIT ?",
            (limit,),
        )
        return [(a, b, c, d, json.loads(e)) for a, b, c, d, e in rows]

    def export_jsonl(self, path: Path) -> int:
        records = self.runs(limit=1_000_000)
        write_atomic(path, "".join(json.dumps(record_to_dict(r)) + "\n" for r in records))
        return len(records)

    def import_jsonl(self, lines: Iterable[str]) -> int:
        n = 0
        for line in lines:
            if line.strip():
                self.add(record_from_dict(json.loads(line)))
                n += 1
        return n

    def baseline(
        self,
        spec: str,
        current: RunRecord | Sequence[RunRecord],
        any_fingerprint: bool = False,
    ) -> list[RunRecord]:
        """``last-pass``, ``median:N`` (the last N runs, pooled), a run id or a report file;
        never one of the ``current`` runs themselves."""
        group = [current] if isinstance(current, RunRecord) else list(current)
        fp = None if any_fingerprint else group[0].fingerprint
        mine = {r.run_id for r in group}
        others = [r for r in self.runs(fp) if r.run_id not in mine]
        if spec == "last-pass":
            return [r for r in others if r.verdict in ("pass", "warn")][:1]
        if spec.startswith("median:"):
            try:
                n = int(spec.split(":", 1)[1])
            except ValueError:
                raise UsageError(f"--baseline {spec}: expected median:N, N a number") from None
            usable = [r for r in others if r.verdict not in ("inconclusive", "interrupted")]
            return usable[: max(n, 1)]  # runs that did not get their load are no baseline
        found = self.get(spec)
        if found is not None:
            return [found]
        if Path(spec).is_file():
            return [load_record(Path(spec))]
        raise UsageError(f"--baseline {spec}: no such run in {self.path}, and no such file")


def load_record(path: Path) -> RunRecord:
    """A run record from a report.json written by ``slocheck run``."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise UsageError(f"{path}: cannot read a slocheck report ({e})") from None
    if not isinstance(data, dict) or "regression_record" not in data:
        raise UsageError(f"{path}: not a report of slocheck run (no regression_record)")
    return record_from_dict(data["regression_record"])
