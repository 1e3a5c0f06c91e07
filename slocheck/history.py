"""Benchmark history: a SQLite file of run records, safe with concurrent writers (WAL, one
transaction per run: a kill mid-write leaves the file as it was), exported and imported as JSON
lines for CI caches. Runs are compared only with runs of the same configuration fingerprint."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sqlite3
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from slocheck.errors import UsageError
from slocheck.load.stats import merged, new_histogram
from slocheck.regress import RunRecord
from slocheck.run import RunResult

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


def git_sha() -> str | None:
    for var in ("SLOCHECK_GIT_SHA", "GITHUB_SHA", "CI_COMMIT_SHA"):
        if os.environ.get(var):
            return os.environ[var]
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def fingerprint(result: RunResult) -> str:
    """What must be equal for two runs to be comparable: the spec (its SLOs, load, Prometheus
    and service settings, but not ``service.faults``, which stand for the build under test),
    the load shape, the target and the host."""
    cfg = result.load.config
    spec = result.spec.spec.model_dump(mode="json", exclude={"service": {"faults"}})
    facts = {
        "spec": hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest(),
        "scenario": cfg.scenario,
        "users": cfg.users,
        "rate": cfg.rate,
        "duration": cfg.duration,
        "warmup": cfg.warmup,
        "processes": cfg.processes,
        "mix": cfg.mix,
        "target": "embedded" if result.embedded else result.target_url,
        "host": {"cpus": os.cpu_count(), "machine": platform.machine()},
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:16]


def record_of(result: RunResult, run_id: str | None = None) -> RunRecord:
    """The regression record of a run: window latencies (all requests), TTFT, counts."""
    snap, lo = result.load.snapshot, result.load.window_start
    table = merged(snap.requests.values())
    latency = new_histogram()
    per_second: list[int] = []
    requests = errors = 0
    for sec in sorted(table):
        if sec < lo:
            continue
        slot = table[sec]
        slot.add_to(latency)
        requests += slot.count
        errors += slot.errors
        per_second.append(slot.count)
    if per_second:
        per_second = per_second[:-1] or per_second  # the last second is partial
    ttft = new_histogram()
    for sec, slot in snap.metrics.get("ttft", {}).items():
        if sec >= lo:
            slot.add_to(ttft)
    created = time.time()
    labels = {k: v for k, v in (("git_sha", git_sha()), ("spec", result.spec.path)) if v}
    return RunRecord(
        run_id=run_id or time.strftime("%Y%m%dT%H%M%S", time.gmtime(created)) + f"-{os.getpid()}",
        created_at=created,
        fingerprint=fingerprint(result),
        latency_hdr=latency.encode().decode() if latency.get_total_count() else None,
        ttft_hdr=ttft.encode().decode() if ttft.get_total_count() else None,
        requests=requests,
        errors=errors,
        per_second=per_second,
        verdict=result.verdict,
        labels=labels,
    )


def record_to_dict(r: RunRecord) -> dict[str, Any]:
    return {
        "run_id": r.run_id,
        "created_at": r.created_at,
        "fingerprint": r.fingerprint,
        "latency_hdr": r.latency_hdr,
        "ttft_hdr": r.ttft_hdr,
        "requests": r.requests,
        "errors": r.errors,
        "per_second": list(r.per_second),
        "verdict": r.verdict,
        "labels": r.labels,
    }


def record_from_dict(d: dict[str, Any]) -> RunRecord:
    try:
        return RunRecord(
            run_id=str(d["run_id"]),
            created_at=float(d["created_at"]),
            fingerprint=str(d["fingerprint"]),
            latency_hdr=d.get("latency_hdr"),
            ttft_hdr=d.get("ttft_hdr"),
            requests=int(d["requests"]),
            errors=int(d["errors"]),
            per_second=[int(x) for x in d.get("per_second", [])],
            verdict=str(d.get("verdict", "")),
            labels={str(k): str(v) for k, v in (d.get("labels") or {}).items()},
        )
    except (KeyError, TypeError, ValueError) as e:
        raise UsageError(f"not a slocheck run record: {e}") from None


def summary_of(r: RunRecord) -> dict[str, Any]:
    from hdrh.histogram import HdrHistogram

    out: dict[str, Any] = {
        "requests": r.requests,
        "errors": r.errors,
        "throughput": r.throughput if r.per_second else None,
    }
    if r.latency_hdr:
        h = HdrHistogram.decode(r.latency_hdr)
        for p in (50, 95, 99):
            out[f"p{p}_s"] = h.get_value_at_percentile(p) / 1e6
    return out


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
        from slocheck.report.atomic import write_atomic

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
        self, spec: str, current: RunRecord, any_fingerprint: bool = False
    ) -> list[RunRecord]:
        """``last-pass``, ``median:N`` (the last N runs, pooled), a run id or a report file."""
        fp = None if any_fingerprint else current.fingerprint
        others = [r for r in self.runs(fp) if r.run_id != current.run_id]
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
