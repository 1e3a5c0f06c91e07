"""The benchmark history: run records in a SQLite file or a PostgreSQL database
(``store.backends``: one transaction per run, safe with concurrent writers, a kill mid-write
leaves it as it was), exported and imported as JSON lines (CI caches, moving between stores).
Runs are compared only with runs of the same configuration fingerprint."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from slocheck.errors import UsageError
from slocheck.regress import RunRecord
from slocheck.regress.compare import decode_hdr
from slocheck.regress.record_dicts import record_from_dict, record_to_dict, summary_of
from slocheck.report.atomic import write_atomic
from slocheck.store.backends import open_rows
from slocheck.units import printable
from slocheck.verdict import Verdict


class History:
    """The history at ``location``: a SQLite file's path, or a ``postgresql://`` URL
    (``store.backends``). A row that cannot be read back (not JSON, not a run record: a corrupt
    file, or one written by hand) is skipped, never fatal: ``on_skip`` gets one warning naming
    it, and :attr:`skipped` keeps them all."""

    def __init__(self, location: str | Path, on_skip: Callable[[str], None] | None = None) -> None:
        self.rows = open_rows(location)
        self.where = self.rows.where
        self.on_skip = on_skip
        self.skipped: list[str] = []
        self._skipped_rows: set[str] = set()

    def close(self) -> None:
        self.rows.close()

    def migrate(self) -> tuple[int, int]:
        """Bring the history's schema to this slocheck's: (the version before, after)."""
        return self.rows.migrate()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, r: RunRecord) -> None:
        """Write one run, in one transaction (a second write of the same run replaces it)."""
        self.rows.put(
            (
                r.run_id,
                r.created_at,
                r.fingerprint,
                r.verdict,
                json.dumps(record_to_dict(r)),
                json.dumps(summary_of(r)),
            )
        )

    def _skip(self, run_id: object, rowid: int, why: str) -> None:
        name = f"run {printable(str(run_id))[:80]!r}" if run_id is not None else f"row {rowid}"
        if name in self._skipped_rows:
            return
        self._skipped_rows.add(name)
        message = f"{self.where}: {name} skipped: {why}"
        self.skipped.append(message)
        if self.on_skip is not None:
            self.on_skip(message)

    def _record(self, rowid: int, run_id: object, text: object) -> RunRecord | None:
        """The row's record, or None (skipped with a warning) when it cannot be read."""
        try:
            data = json.loads(text) if isinstance(text, (str, bytes)) else None
            if not isinstance(data, dict):
                raise ValueError("its record is not a JSON object")
            record = record_from_dict(data)
            for hdr in (record.latency_hdr, record.ttft_hdr):
                if hdr is not None and not isinstance(hdr, str):
                    raise ValueError("a histogram that is not text")
                try:
                    decode_hdr(hdr)
                except Exception as e:
                    raise ValueError(f"a histogram that does not decode: {type(e).__name__}") from e
            return record
        except (ValueError, TypeError, AttributeError, RecursionError) as e:
            self._skip(run_id, rowid, f"its record is corrupt ({printable(str(e))[:120]})")
        except UsageError as e:
            self._skip(run_id, rowid, f"its record is corrupt ({printable(e.message)[:120]})")
        return None

    def runs(self, fingerprint: str | None = None, limit: int = 1000) -> list[RunRecord]:
        """Newest first: the ``limit`` newest runs that can be read (corrupt rows skipped)."""
        out: list[RunRecord] = []
        for rowid, run_id, text in self.rows.records(fingerprint):
            if len(out) >= limit:
                break
            record = self._record(rowid, run_id, text)
            if record is not None:
                out.append(record)
        return out

    def get(self, run_id: str) -> RunRecord | None:
        row = self.rows.one(run_id)
        return self._record(*row) if row else None

    def summaries(self, limit: int = 200) -> list[tuple[str, float, str, str, dict[str, Any]]]:
        """Newest first: the ``limit`` newest rows' summaries (corrupt rows skipped)."""
        out: list[tuple[str, float, str, str, dict[str, Any]]] = []
        for rowid, run_id, created, fp, verdict, text in self.rows.summaries():
            if len(out) >= limit:
                break
            try:
                summary = json.loads(text) if isinstance(text, (str, bytes)) else None
                if not isinstance(summary, dict):
                    raise ValueError("its summary is not a JSON object")
                if not isinstance(run_id, str) or isinstance(created, bool):
                    raise ValueError("its run id is not text")
                row = (run_id, float(created), str(fp), str(verdict), summary)
            except (ValueError, TypeError, RecursionError) as e:
                self._skip(run_id, rowid, f"it is corrupt ({printable(str(e))[:120]})")
                continue
            if not math.isfinite(row[1]):
                self._skip(run_id, rowid, "it is corrupt (its time is not a finite number)")
                continue
            out.append(row)
        return out

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
        flag: str = "--baseline",
    ) -> list[RunRecord]:
        """``last-pass``, ``median:N`` (the last N runs, pooled), a run id or a report file;
        never one of the ``current`` runs themselves."""
        group = [current] if isinstance(current, RunRecord) else list(current)
        fp = None if any_fingerprint else group[0].fingerprint
        mine = {r.run_id for r in group}
        others = [r for r in self.runs(fp) if r.run_id not in mine]
        if spec == "last-pass":
            return [r for r in others if r.verdict in (Verdict.PASS, Verdict.WARN)][:1]
        if spec.startswith("median:"):
            try:
                n = int(spec.split(":", 1)[1])
            except ValueError:
                raise UsageError(f"{flag} {spec}: expected median:N, N a number") from None
            usable = [
                r for r in others if r.verdict not in (Verdict.INCONCLUSIVE, Verdict.INTERRUPTED)
            ]
            return usable[: max(n, 1)]  # runs that did not get their load are no baseline
        found = self.get(spec)
        if found is not None:
            return [found]
        if Path(spec).is_file():
            return [load_record(Path(spec))]
        raise UsageError(f"{flag} {spec}: no such run in {self.where}, and no such file")


def load_record(path: Path) -> RunRecord:
    """A run record from a report.json written by ``slocheck run``."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise UsageError(f"{path}: cannot read a slocheck report ({e})") from None
    if not isinstance(data, dict) or "regression_record" not in data:
        raise UsageError(f"{path}: not a report of slocheck run (no regression_record)")
    return record_from_dict(data["regression_record"])
