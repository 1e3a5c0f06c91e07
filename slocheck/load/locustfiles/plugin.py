"""Loaded into every Locust process (master and workers) by ``slocheck run``.

Records every request into per-second HDR histograms (exact counts, no rounding of Locust's
own percentiles), by request name, plus client-side measurements that are not requests (TTFT,
inter-token latency, time per output token) and per-second counts (tokens), and writes a
snapshot of them every second to ``$SLOCHECK_LOAD_DIR/client-<pid>.json`` (atomically), so the
parent process can show live progress, merge the processes, and still have data when a run is
interrupted. Every request is also kept whole (:class:`slocheck.request_record.RequestRecord`:
its send and end times, status, TTFT, gaps, tokens), appended every second to
``requests-<pid>.jsonl`` beside the snapshot. Runs inside Locust (gevent): it imports nothing
of slocheck but this folder and the record's leaf module.

Distributed load (``slocheck worker`` on other machines): a worker has no
``$SLOCHECK_LOAD_DIR``; it sends what changed since its last snapshot (the seconds still open,
the counts, the marks, the request records not sent yet) to the master as a
``slocheck_snapshot`` message every second and a final one when it stops, before Locust's own
``client_stopped``. The master merges each worker's messages exactly as the worker recorded
them and writes ``client-w-<worker>.json`` (and appends ``requests-w-<worker>.jsonl``) beside
its own file, so the parent reads every worker like a local process. The master also tracks its
workers: one that quits or stops answering heartbeats while the test runs is recorded as lost,
and the parent stops the run as an error.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import gevent
from hdrh.histogram import HdrHistogram
from locust import events
from locust.runners import STATE_MISSING, STATE_RUNNING, STATE_SPAWNING, MasterRunner, WorkerRunner

from slocheck.load.locustfiles.snapshots import RECORDS, merge_delta, records_file, worker_file
from slocheck.request_record import REJECTED, UNANSWERED, Gaps, RequestRecord, status_kind

LOWEST_US, HIGHEST_US, DIGITS = 1, 3_600_000_000, 3  # 1 us to 1 h, 3 significant digits
OUT_DIR = os.environ.get("SLOCHECK_LOAD_DIR", "")
MESSAGE = "slocheck_snapshot"  #: a worker's snapshot, sent to the master


class _Second:
    """One second of one name. Latencies are first kept as whole microseconds in ``values`` (a
    list append is the cheapest record there is) and moved into the HDR histogram, counted by
    distinct value, when a snapshot is encoded (every second, on the dump greenlet). Once the
    second is over only its compressed histogram (tens of bytes) is kept: an open HDR histogram
    takes ~185 KB, and a soak lasts hours."""

    __slots__ = ("count", "encoded", "errors", "hist", "rejected", "unanswered", "values")

    def __init__(self) -> None:
        self.count = 0
        self.errors = 0
        self.unanswered = 0  # no HTTP answer at all: connection refused or reset, timeout
        self.rejected = 0  # answered 4xx: the server refused the request, it did not fail it
        self.values: list[int] = []  # latencies (us) not yet in ``hist``
        self.hist: HdrHistogram | None = None  # made at the first flush
        self.encoded = ""

    def flush(self) -> None:
        """Move ``values`` into the histogram (exactly: every value, with its count)."""
        values, self.values = self.values, []
        if self.hist is None:  # the first flush, or the clock stepped back into a closed second
            self.hist = (
                HdrHistogram.decode(self.encoded)
                if self.encoded
                else HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)
            )
        record = self.hist.record_value
        for us, n in Counter(values).items():
            record(min(max(us, LOWEST_US), HIGHEST_US), n)


_KINDS: dict[str, int] = {}  # status label -> its _kind, computed once per label


class Recorder:
    def __init__(self) -> None:
        self.requests: dict[str, dict[int, _Second]] = {}
        self.metrics: dict[str, dict[int, _Second]] = {}
        self.status: dict[str, dict[str, int]] = {}
        #: per name, per status: the requests that failed by the service's fault (5xx, 424,
        #: 429, a 200 whose stream carried an error or broke, no answer at all)
        self.failed: dict[str, dict[str, int]] = {}
        self.counts: dict[str, dict[int, int]] = {}
        self.marks: dict[str, float] = {}
        self.done = False
        self.records: list[dict[str, Any]] = []  #: request records not written or sent yet

    def request(
        self, name: str, seconds: float, ok: bool, status: str, at: float | None = None
    ) -> None:
        """Count one request that ended at ``at`` (now when None): the same second its
        record's ``end`` says, so that the records and the tables agree at every boundary."""
        slot = self._add(self.requests, name, seconds, ok, at)
        kind = _KINDS.get(status)
        if kind is None:
            kind = _KINDS[status] = status_kind(status)
        if kind:
            if kind == UNANSWERED:
                slot.unanswered += 1
            else:
                slot.rejected += 1
        if not ok and kind != REJECTED:
            failed = self.failed.setdefault(name, {})
            failed[status] = failed.get(status, 0) + 1
        counts = self.status.get(name)
        if counts is None:
            counts = self.status[name] = {}
        counts[status] = counts.get(status, 0) + 1

    def keep(self, record: RequestRecord) -> None:
        """Keep one request whole, until the next snapshot writes (or sends) it."""
        self.records.append(record.to_json())

    def take_records(self) -> list[dict[str, Any]]:
        records, self.records = self.records, []
        return records

    def metric(self, name: str, seconds: float) -> None:
        self._add(self.metrics, name, seconds, True)

    def count(self, name: str, n: int) -> None:
        """Add ``n`` to this second's count of ``name`` (``output_tokens``, ``input_tokens``)."""
        seconds = self.counts.setdefault(name, {})
        sec = int(time.time())
        seconds[sec] = seconds.get(sec, 0) + n

    @staticmethod
    def _add(
        table: dict[str, dict[int, _Second]],
        name: str,
        seconds: float,
        ok: bool,
        at: float | None = None,
    ) -> _Second:
        """Count one request (or measurement) in the second it completes, its latency in whole
        microseconds; the histogram gets it at the next encoding (``_Second.flush``)."""
        sec = int(time.time() if at is None else at)
        slots = table.get(name)
        if slots is None:
            slots = table[name] = {}
        slot = slots.get(sec)
        if slot is None:
            slot = slots[sec] = _Second()
        slot.count += 1
        if not ok:
            slot.errors += 1
        slot.values.append(round(seconds * 1e6))
        return slot

    @staticmethod
    def _encode(table: dict[str, dict[int, _Second]], delta: bool = False) -> dict[str, Any]:
        """Every second of every name; with ``delta``, only the seconds that were still open
        (those that changed since the last encoding: a closed second never changes again)."""
        out: dict[str, dict[str, Any]] = {}
        closed = int(time.time()) - 1  # requests are recorded in the second they complete
        for name, seconds in table.items():
            for sec, slot in seconds.items():
                if slot.values:
                    slot.flush()  # reopens a closed second the clock stepped back into
                if delta and slot.hist is None:
                    continue
                if slot.hist is not None:
                    slot.encoded = slot.hist.encode().decode("ascii")
                    if sec < closed:
                        slot.hist = None
                out.setdefault(name, {})[str(sec)] = [
                    slot.count,
                    slot.errors,
                    slot.encoded,
                    slot.unanswered,
                    slot.rejected,
                ]
        return out

    def snapshot(self, delta: bool = False) -> dict[str, Any]:
        """What this process recorded; with ``delta``, the seconds that changed since the last
        snapshot (and every count, status and mark: they are small)."""
        return {
            "pid": os.getpid(),
            "written_at": time.time(),
            "done": self.done,
            "marks": self.marks,
            "requests": self._encode(self.requests, delta),
            "metrics": self._encode(self.metrics, delta),
            "status": self.status,
            "failed": self.failed,
            "counts": {
                name: {str(sec): n for sec, n in seconds.items()}
                for name, seconds in self.counts.items()
            },
        }

    def dump(self) -> None:
        if REMOTE.runner is not None:  # a worker of another machine's master
            delta = self.snapshot(delta=True)
            delta[RECORDS] = self.take_records()
            # a send that fails (the master is gone) loses nothing the run could still judge
            with contextlib.suppress(Exception):
                REMOTE.runner.send_message(MESSAGE, delta)
            return
        if not OUT_DIR:
            return
        append_records(os.path.join(OUT_DIR, f"requests-{os.getpid()}.jsonl"), self.take_records())
        snap = self.snapshot()
        if MASTER.runner is not None:
            snap["role"] = "master"
            snap["workers"] = MASTER.workers()
        write_atomically(os.path.join(OUT_DIR, f"client-{os.getpid()}.json"), snap)


def write_atomically(path: str, data: dict[str, Any]) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def append_records(path: str, records: list[dict[str, Any]]) -> None:
    """Append request records to a JSON-lines file, whole lines only."""
    if records:
        with open(path, "a") as f:
            f.write("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records))


class Master:
    """On the master: every worker's merged snapshot, and which workers were lost mid-test."""

    def __init__(self) -> None:
        self.runner: MasterRunner | None = None
        self.snapshots: dict[str, dict[str, Any]] = {}
        self.seen: set[str] = set()
        self.lost: dict[str, float] = {}  # worker id -> when it was found gone

    def on_snapshot(self, environment: Any, msg: Any, **_: Any) -> None:
        node = str(msg.node_id)
        delta = dict(msg.data or {})
        records = delta.pop(RECORDS, None)
        snap = merge_delta(self.snapshots.setdefault(node, {}), delta)
        snap["worker"] = node
        snap["role"] = "worker"
        if OUT_DIR:
            with contextlib.suppress(OSError):
                if isinstance(records, list):
                    append_records(os.path.join(OUT_DIR, records_file(node)), records)
                write_atomically(os.path.join(OUT_DIR, worker_file(node)), snap)

    def track(self) -> None:
        """While the test runs, a worker that was there and is now gone (it quit, or missed
        its heartbeats) is lost: its share of the load is missing from the run."""
        runner = self.runner
        if runner is None or runner.state not in (STATE_SPAWNING, STATE_RUNNING):
            return
        present = {str(c.id) for c in runner.clients.all if c.state != STATE_MISSING}
        self.seen |= present
        for node in self.seen - present:
            self.lost.setdefault(node, time.time())

    def workers(self) -> dict[str, Any]:
        runner = self.runner
        ready = len(runner.clients.ready) if runner is not None else 0
        return {
            "seen": sorted(self.seen),
            "lost": {node: t for node, t in sorted(self.lost.items())},
            "ready": ready,
        }


class Remote:
    """On a worker with no load directory: the runner its snapshots go through."""

    runner: WorkerRunner | None = None


RECORDER = Recorder()
MASTER = Master()
REMOTE = Remote()


def record_metric(name: str, seconds: float) -> None:
    """Record a client-side measurement that is not a request (``ttft``, ``itl``, ``tpot``)."""
    RECORDER.metric(name, seconds)


def record_count(name: str, n: int) -> None:
    """Count things per second (``output_tokens``, ``input_tokens``)."""
    RECORDER.count(name, n)


#: The key of a request's ``context`` under which a user leaves what it measured of it
#: (:class:`Measured`), for its record.
MEASURED = "slocheck"


@dataclass
class Measured:
    """What a user measured of one request besides its latency (streams, tokens), and when an
    open loop meant to send it; it puts this in the request's context (``MEASURED``)."""

    intended: float | None = None
    ttft: float | None = None
    tpot: float | None = None
    gaps: list[float] | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    max_tokens: int | None = None
    prompt_tokens: int | None = None  #: ``load.tokenizer``: the prompt's tokens, client-counted
    session: str | None = None  #: ``turns: all``: the conversation being played
    turn: int | None = None  #: its turn, from 1


def measured(context: Any) -> Measured:
    """The request's :class:`Measured`, put into its ``context`` dict (a new dict: Locust's
    default context is one shared object)."""
    found = context.get(MEASURED) if isinstance(context, dict) else None
    return found if isinstance(found, Measured) else Measured()


def with_measured(context: Any, what: Measured) -> dict[str, Any]:
    """``context`` (a dict, or None) with ``what`` in it, as a new dict."""
    return {**(context if isinstance(context, dict) else {}), MEASURED: what}


def _record(
    name: str,
    seconds: float,
    status: str,
    exception: BaseException | None,
    context: Any,
    start_time: Any,
) -> RequestRecord:
    """The record of a request that just ended; ``start_time``: Locust's unix time of its
    send (``seconds`` in an open loop runs from the intended time instead)."""
    end = time.time()
    m = measured(context)
    sent = float(start_time) if isinstance(start_time, (int, float)) else end - seconds
    return RequestRecord(
        name=name,
        sent=sent,
        end=end,
        latency=seconds,
        status=status,
        ok=exception is None,
        intended=m.intended,
        ttft=m.ttft,
        tpot=m.tpot,
        itl=Gaps.of(m.gaps or ()),
        input_tokens=m.input_tokens,
        output_tokens=m.output_tokens,
        max_tokens=m.max_tokens,
        prompt_tokens=m.prompt_tokens,
        session=m.session,
        turn=m.turn,
        error=None if exception is None else str(exception)[:200],
    )


@events.request.add_listener
def _on_request(
    request_type: str,
    name: str,
    response_time: float,
    response_length: int,
    exception: BaseException | None = None,
    response: Any = None,
    context: Any = None,
    start_time: Any = None,
    **_: Any,
) -> None:
    status = getattr(response, "status_code", None)
    label = str(status) if status else ("error" if exception else "0")
    seconds = response_time / 1000.0
    record = _record(name, seconds, label, exception, context, start_time)
    RECORDER.request(name, seconds, exception is None, label, at=record.end)
    RECORDER.keep(record)


@events.test_start.add_listener
def _on_test_start(**_: Any) -> None:
    RECORDER.marks.setdefault("test_start", time.time())


@events.spawning_complete.add_listener
def _on_spawned(user_count: int, **_: Any) -> None:
    RECORDER.marks.setdefault("spawning_complete", time.time())
    RECORDER.marks["peak_users"] = max(RECORDER.marks.get("peak_users", 0), user_count)


@events.test_stop.add_listener
def _on_test_stop(**_: Any) -> None:
    RECORDER.marks["test_stop"] = time.time()
    RECORDER.done = True
    RECORDER.dump()


@events.quitting.add_listener
def _on_quitting(**_: Any) -> None:
    RECORDER.done = True
    RECORDER.dump()


def _dump_every_second() -> None:
    while True:
        gevent.sleep(1.0)
        MASTER.track()
        with contextlib.suppress(OSError):
            RECORDER.dump()


@events.init.add_listener
def _on_init(environment: Any = None, **_: Any) -> None:
    RECORDER.marks["init"] = time.time()
    runner = getattr(environment, "runner", None)
    if isinstance(runner, MasterRunner):
        MASTER.runner = runner
        runner.register_message(MESSAGE, MASTER.on_snapshot)
    elif isinstance(runner, WorkerRunner) and not OUT_DIR:
        REMOTE.runner = runner
    gevent.spawn(_dump_every_second)


@events.init.add_listener
def _hold_until_started(environment: Any = None, **_: Any) -> None:
    """``SLOCHECK_START_FILE`` (set by ``slocheck run``): the test starts once that file exists,
    and no earlier than the unix time it holds. Locust is started before the service is ready
    and Prometheus' first scrape is due, so that its own start-up (imports, ~0.4 s) overlaps
    those waits; the ``test_start`` mark, and so the window, come after. Workers never wait:
    their master starts the test. The wait ends with slocheck, which stops Locust."""
    path = os.environ.get("SLOCHECK_START_FILE", "")
    options = getattr(environment, "parsed_options", None)
    if not path or getattr(options, "worker", False):
        return
    while True:
        try:
            with open(path) as f:
                start_at = float(f.read())
            break
        except (OSError, ValueError):
            gevent.sleep(0.01)
    gevent.sleep(max(0.0, start_at - time.time()))
