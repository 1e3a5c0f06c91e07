"""Trace replay: the requests of a published LLM inference trace, at their timestamps.

Pure (standard library only), so that ``slocheck run`` checks the file, with the same code,
before Locust starts. Two formats, as they are published:

* JSONL, one request a line, as the Mooncake traces (kvcache-ai/Mooncake, FAST'25) and
  AIPerf's ``mooncake_trace`` datasets: ``timestamp`` in MILLISECONDS, ``input_length`` and
  ``output_length`` in tokens (``input_tokens`` and ``output_tokens`` are read too), an
  optional ``session_id`` (or ``session``), and ``hash_ids``: the prompt's blocks of 512
  tokens, each id one block's content. The prompt sent is those blocks' words (the same id,
  the same words), so requests that share ids share a prefix, as the trace's did;
* CSV with a header, as the Azure LLM inference traces (2023, 2024): ``TIMESTAMP`` (a date
  and time, ``2023-11-16 18:15:46.6805900``, or a number of SECONDS), ``ContextTokens``,
  ``GeneratedTokens``.

Times are made relative to the earliest request; rows are replayed in time order (a stable
sort: rows of one timestamp keep their file order). An output length of 0 is sent as
``max_tokens: 1`` (no server accepts 0). Errors are ``ValueError`` naming the line; the runner
prefixes the spec field.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import random
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from slocheck.load.locustfiles.datasets import read_text_file

#: The most requests a trace may hold: a bound on the memory and the work of reading it.
MAX_ROWS = 1_000_000
#: The most tokens one request may ask for or send (a typo guard, not a model limit).
MAX_TOKENS = 10_000_000
#: The tokens of one ``hash_ids`` block, as the Mooncake traces hash them (and AIPerf's
#: ``--isl-block-size`` defaults to).
BLOCK_TOKENS = 512
_BLOCK_WORDS = ("the", "a", "of", "river", "stone", "light", "green", "seven", "old", "bridge")
CSV_SUFFIXES = (".csv",)
_INPUT_KEYS = ("input_length", "input_tokens")
_OUTPUT_KEYS = ("output_length", "output_tokens")
_SESSION_KEYS = ("session_id", "session")
_CSV_COLUMNS = ("TIMESTAMP", "ContextTokens", "GeneratedTokens")


@dataclass(frozen=True)
class TraceRow:
    """One request of a trace: when (seconds after the trace's first request), its prompt
    and answer lengths in tokens, and its session when the trace names one."""

    at: float
    input_tokens: int
    output_tokens: int
    session: str | None = None
    #: Mooncake's ``hash_ids``: the prompt's blocks of ``BLOCK_TOKENS``, each id one block's
    #: content, so that requests sharing ids share a prefix (a server's prefix cache)
    hash_ids: tuple[int, ...] = ()


def read_trace(path: Path) -> list[TraceRow]:
    """The requests of the trace at ``path``, in time order, times from 0."""
    text = read_text_file(path, encoding="utf-8-sig")  # Azure's CSVs may start with a BOM
    rows = _csv_rows(text) if path.suffix.lower() in CSV_SUFFIXES else _jsonl_rows(text)
    if not rows:
        raise ValueError("holds no request")
    first = min(r.at for r in rows)
    ordered = sorted(rows, key=lambda r: r.at)
    return [
        TraceRow(r.at - first, r.input_tokens, r.output_tokens, r.session, r.hash_ids)
        for r in ordered
    ]


def span_s(rows: list[TraceRow]) -> float:
    """Seconds from the first request to the last."""
    return rows[-1].at - rows[0].at if rows else 0.0


def _jsonl_rows(text: str) -> list[TraceRow]:
    rows: list[TraceRow] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        _bounded(rows, number)
        try:
            item = json.loads(line)
        except ValueError as e:
            raise ValueError(f"line {number}: not JSON ({e})") from None
        if not isinstance(item, dict):
            raise ValueError(f"line {number}: expected an object, got {type(item).__name__}")
        at = _number(item.get("timestamp"), number, "timestamp") / 1000.0
        session = next((item[k] for k in _SESSION_KEYS if item.get(k) is not None), None)
        rows.append(
            TraceRow(
                at,
                _tokens(item, _INPUT_KEYS, number, least=1),
                _tokens(item, _OUTPUT_KEYS, number, least=0),
                None if session is None else str(session)[:200],
                _hash_ids(item.get("hash_ids"), number),
            )
        )
    return rows


def _csv_rows(text: str) -> list[TraceRow]:
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in _CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(
            f"line 1: the header lacks {', '.join(missing)} (expected the Azure trace's "
            f"{', '.join(_CSV_COLUMNS)})"
        )
    rows: list[TraceRow] = []
    for item in reader:
        number = reader.line_num
        _bounded(rows, number)
        at = _csv_time(item.get("TIMESTAMP") or "", number)
        rows.append(
            TraceRow(
                at,
                _tokens(item, ("ContextTokens",), number, least=1),
                _tokens(item, ("GeneratedTokens",), number, least=0),
            )
        )
    return rows


def _hash_ids(value: object, number: int) -> tuple[int, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(
        isinstance(h, int) and not isinstance(h, bool) for h in value
    ):
        raise ValueError(f"line {number}: hash_ids must be a list of whole numbers")
    return tuple(value)


@functools.lru_cache(maxsize=4096)
def block_text(hash_id: int) -> str:
    """The words of one ``hash_ids`` block: the same id, the same words, in every request and
    every run."""
    rng = random.Random(f"block-{hash_id}")
    return " ".join(rng.choice(_BLOCK_WORDS) for _ in range(BLOCK_TOKENS))


def prompt_of(row: TraceRow, rng: random.Random) -> str:
    """A prompt of the row's input length in words (about as many tokens): its ``hash_ids``
    blocks in order (shared with the requests that share them), the rest drawn with
    ``rng``."""
    words = " ".join(block_text(h) for h in row.hash_ids).split()[: row.input_tokens]
    words += [rng.choice(_BLOCK_WORDS) for _ in range(row.input_tokens - len(words))]
    return " ".join(words)


def _bounded(rows: list[TraceRow], number: int) -> None:
    if len(rows) >= MAX_ROWS:
        raise ValueError(f"line {number}: more than {MAX_ROWS:,} requests; split the trace")


def _csv_time(text: str, number: int) -> float:
    """A CSV timestamp: seconds, or a date and time (as seconds since the epoch, UTC)."""
    try:
        return _number(float(text), number, "TIMESTAMP")
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise ValueError(
            f"line {number}: TIMESTAMP {text[:40]!r} is neither seconds nor a date and time"
        ) from None


def _number(value: object, number: int, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"line {number}: {key} must be a finite number, got {value!r:.40}")
    if value < 0:
        raise ValueError(f"line {number}: {key} must not be negative, got {value!r}")
    return float(value)


def _tokens(item: dict[str, object], keys: tuple[str, ...], number: int, least: int) -> int:
    """A token count under the first of ``keys`` present: a whole number from ``least``;
    0 output tokens becomes 1 (``max_tokens`` must be at least 1)."""
    key = next((k for k in keys if item.get(k) not in (None, "")), None)
    if key is None:
        raise ValueError(f"line {number}: missing {' or '.join(keys)}")
    value = item[key]
    if isinstance(value, str):
        text = value.strip()
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"line {number}: {key} {text[:20]!r} is not a whole number") from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"line {number}: {key} must be a whole number, got {value!r:.40}")
    if not least <= value <= MAX_TOKENS:
        raise ValueError(f"line {number}: {key} must be {least} to {MAX_TOKENS:,}, got {value}")
    return max(1, value)
