"""A worker's snapshots as its master merges them. Pure (no Locust, no gevent), so that it can
be tested without gevent's patching.

A worker sends, every second, only the seconds that changed since its last message (those
still open: a closed second never changes again) and its counts, statuses and marks whole
(they are small). The master rebuilds the worker's whole snapshot from those messages, in
order, exactly as the worker holds it.
"""

from __future__ import annotations

from typing import Any

#: The per-second tables, merged second by second; anything else is replaced whole.
TABLES = ("requests", "metrics")
#: A worker message's request records (appended to the worker's records file, not merged).
RECORDS = "records"


def merge_delta(into: dict[str, Any], delta: dict[str, Any]) -> dict[str, Any]:
    """A worker's whole snapshot, from its earlier ones (``into``) and its newest ``delta``:
    the delta's seconds replace the same seconds, everything else is replaced whole."""
    for key, value in delta.items():
        if key in TABLES and isinstance(value, dict):
            table = into.setdefault(key, {})
            for name, seconds in value.items():
                if isinstance(seconds, dict):
                    table.setdefault(str(name), {}).update(seconds)
        else:
            into[key] = value
    return into


def worker_file(node_id: str) -> str:
    """The file the master writes a worker's snapshot to: its id, made safe as a file name."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in node_id)[:120]
    return f"client-w-{safe}.json"


def records_file(node_id: str) -> str:
    """The file the master appends a worker's request records to."""
    return worker_file(node_id).replace("client-w-", "requests-w-", 1).replace(".json", ".jsonl")
