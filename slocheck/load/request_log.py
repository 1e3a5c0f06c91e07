"""The per-request records the Locust processes appended (``requests-<pid>.jsonl``, a
distributed master's ``requests-w-<worker>.jsonl``), merged into one list in send order, and
``requests.jsonl.gz``, the run's file of them (:mod:`slocheck.request_record`)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from pathlib import Path

from slocheck.request_record import RecordError, RequestRecord

#: The run's file of request records, beside its reports.
REQUESTS_FILE = "requests.jsonl.gz"
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
