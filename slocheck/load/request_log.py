"""The per-request records the Locust processes appended (``requests-<pid>.jsonl``, a
distributed master's ``requests-w-<worker>.jsonl``), merged into one list in send order, and
``requests.jsonl.gz``, the run's file of them (:mod:`slocheck.request_record`), read back and
turned into the per-second tables the client-side SLIs are judged from (:func:`snapshot_of`:
``slocheck verify --requests``)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from slocheck.load.stats import HIGHEST_US, LOWEST_US, SecondStats, Snapshot, new_histogram
from slocheck.request_record import REJECTED, UNANSWERED, RecordError, RequestRecord, status_kind

#: The run's file of request records, beside its reports.
REQUESTS_FILE = "requests.jsonl.gz"
#: The same records as a table, when pyarrow is installed (``pip install 'slocheck[parquet]'``).
PARQUET_FILE = "requests.parquet"
#: Its columns: a record's fields, its gaps' summary flattened (``itl_n``, ``itl_p50``, ...).
_GAP_COLUMNS = ("n", "p50", "p90", "p95", "p99", "max")
#: What the Locust processes append to in the load's folder.
PATTERN = "requests-*.jsonl"


def read_records(directory: Path) -> list[RequestRecord]:
    """Every process's records, in the order they were sent. A last line still being written
    (no newline yet) is left out; a line that is not a record is an error: the client's own
    figures are the run's truth and are never read past."""
    records: list[RequestRecord] = []
    for path in sorted(directory.glob(PATTERN)):
        text = path.read_text(errors="replace")
        complete = text[: text.rfind("\n") + 1]
        records.extend(_parse(complete.splitlines(), path))
    records.sort(key=lambda r: (r.sent, r.end))
    return records


def _parse(lines: Iterable[str], path: Path) -> Iterable[RequestRecord]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict):
                raise RecordError("a line that is not a JSON object")
            yield RequestRecord.from_json(data)
        except (ValueError, RecordError) as e:
            raise RecordError(f"{path.name}, line {number}: {e}") from None


def write_records(records: Iterable[RequestRecord], path: Path) -> Path:
    """Write ``records`` as gzipped JSON lines (reproducibly: no time in the gzip header),
    through a temporary file, so that a reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    with (
        open(tmp, "wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz,
    ):
        for r in records:
            gz.write(json.dumps(r.to_json(), separators=(",", ":")).encode() + b"\n")
    tmp.replace(path)
    return path


def write_parquet(records: Sequence[RequestRecord], path: Path) -> Path | None:
    """Write ``records`` as a Parquet table (one row a request, the columns of
    ``requests.jsonl.gz`` with ``itl`` flattened), through a temporary file; None, writing
    nothing, when pyarrow is not installed."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return None
    floats, ints, texts = pa.float64(), pa.int64(), pa.string()
    types: dict[str, Any] = {
        "name": texts, "sent": floats, "end": floats, "latency": floats, "status": texts,
        "ok": pa.bool_(), "intended": floats, "ttft": floats, "tpot": floats,
        **{f"itl_{k}": ints if k == "n" else floats for k in _GAP_COLUMNS},
        "input_tokens": ints, "output_tokens": ints, "max_tokens": ints, "prompt_tokens": ints,
        "session": texts, "turn": ints, "error": texts,
    }  # fmt: skip
    columns: dict[str, list[Any]] = {name: [] for name in types}
    for r in records:
        row = r.to_json()
        gaps = row.pop("itl", None) or {}
        for k in _GAP_COLUMNS:
            row[f"itl_{k}"] = gaps.get(k)
        for name in types:
            columns[name].append(row.get(name))
    schema = pa.schema([(name, kind) for name, kind in types.items()])
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(pa.table(columns, schema=schema), tmp)
    tmp.replace(path)
    return path


def read_requests_file(path: Path) -> list[RequestRecord]:
    """The records of a run's ``requests.jsonl.gz`` (or of a plain ``.jsonl``), in send order;
    a line that is not a record is an error naming it."""
    try:
        raw = path.read_bytes()
        text = (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode("utf-8")
    except (OSError, EOFError, gzip.BadGzipFile, UnicodeDecodeError) as e:
        raise RecordError(f"{path.name} cannot be read: {e}") from None
    records = list(_parse(text.splitlines(), path))
    records.sort(key=lambda r: (r.sent, r.end))
    return records


def snapshot_of(records: Iterable[RequestRecord]) -> Snapshot:
    """The per-second tables the Locust plugin would have written for ``records``: each request
    in the second it ended, under its name, with its status; the streams' ``ttft`` (in the
    second of the first token) and ``tpot`` as measurements; output and input tokens of the
    requests that succeeded as counts. Not the inter-token gaps: a record keeps only their
    quantiles (``itl``), so an ``inter_token_latency`` percentile cannot be recomputed from
    records (no data)."""
    snap = Snapshot()
    values: dict[tuple[str, str, int], list[float]] = {}
    for r in records:
        sec = int(r.end)
        slot = snap.requests.setdefault(r.name, {}).setdefault(sec, SecondStats())
        slot.count += 1
        kind = status_kind(r.status)
        slot.errors += not r.ok
        slot.unanswered += kind == UNANSWERED
        slot.rejected += kind == REJECTED
        values.setdefault(("requests", r.name, sec), []).append(r.latency)
        statuses = snap.status.setdefault(r.name, {})
        statuses[r.status] = statuses.get(r.status, 0) + 1
        if not r.ok and kind != REJECTED:
            failed = snap.failed.setdefault(r.name, {})
            failed[r.status] = failed.get(r.status, 0) + 1
        # a TTFT was measured at the first token, a TPOT at the end
        for metric, value, at in (
            ("ttft", r.ttft, None if r.ttft is None else int(r.sent + r.ttft)),
            ("tpot", r.tpot, sec),
        ):
            if value is not None and at is not None:
                m = snap.metrics.setdefault(metric, {}).setdefault(at, SecondStats())
                m.count += 1
                values.setdefault(("metrics", metric, at), []).append(value)
        if r.ok:
            for name, n in (("output_tokens", r.output_tokens), ("input_tokens", r.input_tokens)):
                if n is not None:
                    counts = snap.counts.setdefault(name, {})
                    counts[sec] = counts.get(sec, 0) + n
    for (table, name, sec), seconds in values.items():
        hist = new_histogram()
        for value in seconds:
            hist.record_value(min(max(round(value * 1e6), LOWEST_US), HIGHEST_US))
        target = snap.requests if table == "requests" else snap.metrics
        target[name][sec].encoded.append(hist.encode().decode("ascii"))
    return snap
