"""Dynamic batching with a bounded queue.

Requests submitted concurrently are grouped until ``max_batch_size`` items are waiting or
``max_wait_s`` has passed since the first of them arrived, then run as one call of ``fn`` in a
single worker thread (one model instance, like one GPU stream). When ``max_queue`` items are
already waiting, :meth:`Batcher.submit` raises :class:`QueueFull` at once: the caller answers
503 instead of letting latency grow without bound.

An item may carry a ``delay`` (the injected latency fault): its batch then holds the worker that
much longer after ``fn`` (the longest delay of the batch's items), as a slower model would, so
the delay costs serving capacity and its batch-mates wait for it too.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")


class QueueFull(Exception):
    """The batcher's queue holds ``max_queue`` items already."""


class BatcherStopped(Exception):
    """The batcher is not running (not started yet, or shut down)."""


@dataclass(frozen=True)
class Outcome(Generic[ResultT]):
    """One item's result and the timeline of its batch (``time.perf_counter_ns`` values)."""

    value: ResultT
    enqueued_ns: int
    started_ns: int
    finished_ns: int
    batch_size: int


@dataclass
class _Pending(Generic[ItemT, ResultT]):
    item: ItemT
    future: asyncio.Future[Outcome[ResultT]]
    enqueued_ns: int
    delay: float = 0.0


BatchObserver = Callable[[int, float], None]
"""Called after each batch with (batch size, seconds in ``fn``)."""


class Batcher(Generic[ItemT, ResultT]):
    def __init__(
        self,
        name: str,
        fn: Callable[[Sequence[ItemT]], Sequence[ResultT]],
        *,
        max_batch_size: int,
        max_wait_s: float,
        max_queue: int,
        on_batch: BatchObserver | None = None,
        on_depth: Callable[[int], None] | None = None,
    ) -> None:
        self.name = name
        self._fn = fn
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_s
        self.max_queue = max_queue
        self._on_batch = on_batch
        self._on_depth = on_depth
        self._pending: deque[_Pending[ItemT, ResultT]] = deque()
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self.batches_run = 0

    @property
    def depth(self) -> int:
        """Items waiting for a batch (not counting the batch being run)."""
        return len(self._pending)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def saturated(self) -> bool:
        return self.depth >= self.max_queue

    def start(self) -> None:
        if self.running:
            return
        self._wakeup = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"batch-{self.name}")
        self._task = asyncio.get_running_loop().create_task(
            self._loop(), name=f"batcher-{self.name}"
        )

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        while self._pending:
            p = self._pending.popleft()
            if not p.future.done():
                p.future.set_exception(BatcherStopped(f"{self.name} batcher stopped"))
        self._report_depth()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    async def submit(
        self, item: ItemT, *, admit: bool = True, delay: float = 0.0
    ) -> Outcome[ResultT]:
        """Queue ``item`` and wait for its result.

        ``admit=False`` bypasses the queue bound; it is for work that belongs to a request
        already admitted (the decode steps of a stream), which must not be shed half-way.
        ``delay`` seconds are added to the model time of the batch that runs ``item``.
        """
        if not self.running or self._wakeup is None:
            raise BatcherStopped(f"{self.name} batcher is not running")
        if admit and len(self._pending) >= self.max_queue:
            raise QueueFull(f"{self.name} queue is full ({self.max_queue} waiting)")
        fut: asyncio.Future[Outcome[ResultT]] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(item, fut, time.perf_counter_ns(), delay))
        self._report_depth()
        self._wakeup.set()
        return await fut

    def _report_depth(self) -> None:
        if self._on_depth is not None:
            self._on_depth(len(self._pending))

    async def _next_batch(self) -> list[_Pending[ItemT, ResultT]]:
        assert self._wakeup is not None
        while not self._pending:
            self._wakeup.clear()
            await self._wakeup.wait()
        first_ns = self._pending[0].enqueued_ns
        deadline = first_ns / 1e9 + self.max_wait_s
        while len(self._pending) < self.max_batch_size:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                break
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), timeout=remaining)
            except TimeoutError:
                break
        batch: list[_Pending[ItemT, ResultT]] = []
        while self._pending and len(batch) < self.max_batch_size:
            p = self._pending.popleft()
            if not p.future.done():  # skip callers that went away (cancelled)
                batch.append(p)
        self._report_depth()
        return batch

    def _run(self, items: Sequence[ItemT], delay: float) -> Sequence[ResultT]:
        """In the worker thread: the model, then the injected delay, which holds the worker."""
        results = self._fn(items)
        if delay > 0:
            time.sleep(delay)
        return results

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._next_batch()
            if not batch:
                continue
            items = [p.item for p in batch]
            delay = max(p.delay for p in batch)
            started = time.perf_counter_ns()
            try:
                results = await loop.run_in_executor(self._executor, self._run, items, delay)
                if len(results) != len(batch):
                    raise RuntimeError(
                        f"{self.name}: {len(results)} results for {len(batch)} items"
                    )
            except asyncio.CancelledError:
                for p in batch:
                    if not p.future.done():
                        p.future.set_exception(BatcherStopped(f"{self.name} batcher stopped"))
                raise
            except Exception as e:
                for p in batch:
                    if not p.future.done():
                        p.future.set_exception(e)
                continue
            finished = time.perf_counter_ns()
            self.batches_run += 1
            if self._on_batch is not None:
                self._on_batch(len(batch), (finished - started) / 1e9)
            for p, r in zip(batch, results, strict=True):
                if not p.future.done():
                    p.future.set_result(Outcome(r, p.enqueued_ns, started, finished, len(batch)))
