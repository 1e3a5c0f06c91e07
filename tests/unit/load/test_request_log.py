"""``requests.jsonl.gz`` read back (``load/request_log.py``): the file a run writes, and the
per-second tables its records make, which ``slocheck verify --requests`` judges."""

from __future__ import annotations

from pathlib import Path

import pytest

from slocheck.load.request_log import read_requests_file, snapshot_of, write_records
from slocheck.load.stats import summarise
from slocheck.request_record import Gaps, RecordError, RequestRecord

T = 1_800_000_000.0
NAME = "/v1/chat/completions"


def rec(end: float, status: str = "200", ok: bool = True, **extra: object) -> RequestRecord:
    return RequestRecord(NAME, end - 0.5, end, 0.5, status, ok, **extra)  # type: ignore[arg-type]


RECORDS = [
    rec(T + 0.2, ttft=0.05, output_tokens=10, input_tokens=3, itl=Gaps.of([0.01, 0.02])),
    rec(T + 0.9, ttft=0.07, output_tokens=12, tpot=0.004),
    rec(T + 1.1, "503", ok=False, error="status 503"),
    rec(T + 1.5, "0", ok=False, error="no answer"),
    rec(T + 1.7, "400", ok=False, error="status 400"),
    rec(T + 1.8, "200", ok=False, output_tokens=4, error="the stream broke"),
]


def test_the_file_a_run_writes_reads_back_in_send_order(tmp_path: Path) -> None:
    path = write_records(reversed(RECORDS), tmp_path / "requests.jsonl.gz")
    assert read_requests_file(path) == RECORDS
    plain = tmp_path / "requests.jsonl"
    plain.write_text('{"name": "x"}\n')
    with pytest.raises(RecordError, match=r"requests\.jsonl, line 1"):
        read_requests_file(plain)


def test_each_record_counts_in_the_second_it_ended_with_its_status() -> None:
    snap = snapshot_of(RECORDS)
    first, second = snap.requests[NAME][int(T)], snap.requests[NAME][int(T) + 1]
    assert (first.count, first.errors) == (2, 0)
    # 503 and a broken stream are the service's failures; "0" got no answer; 400 is the client's
    assert (second.count, second.errors, second.unanswered, second.rejected) == (4, 4, 1, 1)
    assert snap.failed[NAME] == {"503": 1, "0": 1, "200": 1}
    assert snap.status[NAME] == {"200": 3, "503": 1, "0": 1, "400": 1}
    whole = summarise(snap.requests[NAME])
    assert whole.count == 6 and whole.percentile(50) == pytest.approx(0.5, rel=1e-3)
    assert summarise(snap.metrics["ttft"]).count == 2
    assert summarise(snap.metrics["tpot"]).count == 1
    assert "itl" not in snap.metrics  # a record keeps its gaps' quantiles, not every gap
    # tokens of the requests that succeeded only (as the load generator counts them)
    assert snap.counts["output_tokens"] == {int(T): 22}
    assert snap.counts["input_tokens"] == {int(T): 3}


def test_the_records_as_a_parquet_table_when_pyarrow_is_installed(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet", reason="the parquet extra: pip install -e '.[dev]'")
    from slocheck.load.request_log import write_parquet

    path = write_parquet(RECORDS, tmp_path / "requests.parquet")
    assert path is not None
    rows = pq.read_table(path).to_pylist()
    assert len(rows) == len(RECORDS)
    assert [r["status"] for r in rows] == [r.status for r in RECORDS]
    assert rows[0]["ttft"] == 0.05 and rows[0]["itl_n"] == 2 and rows[0]["itl_max"] == 0.02
    assert rows[2]["ttft"] is None and rows[2]["error"] == "status 503"  # unknown: null
    assert sum(r["output_tokens"] or 0 for r in rows if r["ok"]) == 22
