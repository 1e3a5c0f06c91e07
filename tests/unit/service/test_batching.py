import asyncio
from collections.abc import Sequence

import pytest

from slocheck.service.batching import Batcher, BatcherStopped, QueueFull


def _double(items: Sequence[int]) -> list[int]:
    return [2 * i for i in items]


async def test_concurrent_requests_are_batched() -> None:
    sizes: list[int] = []
    b = Batcher(
        "t",
        _double,
        max_batch_size=8,
        max_wait_s=0.05,
        max_queue=100,
        on_batch=lambda n, _s: sizes.append(n),
    )
    b.start()
    try:
        outcomes = await asyncio.gather(*(b.submit(i) for i in range(20)))
    finally:
        await b.stop()
    assert [o.value for o in outcomes] == [2 * i for i in range(20)]
    assert sum(sizes) == 20
    assert max(sizes) == 8  # full batches do not wait
    assert all(o.batch_size > 1 for o in outcomes)
    assert all(o.enqueued_ns <= o.started_ns <= o.finished_ns for o in outcomes)


async def test_batch_size_one_turns_batching_off() -> None:
    sizes: list[int] = []
    b = Batcher(
        "t",
        _double,
        max_batch_size=1,
        max_wait_s=0.05,
        max_queue=100,
        on_batch=lambda n, _s: sizes.append(n),
    )
    b.start()
    try:
        await asyncio.gather(*(b.submit(i) for i in range(5)))
    finally:
        await b.stop()
    assert sizes == [1] * 5


async def test_a_lone_request_waits_for_company_then_runs_alone() -> None:
    b = Batcher("t", _double, max_batch_size=64, max_wait_s=0.02, max_queue=10)
    b.start()
    try:
        # the batch of 64 never fills: the request runs alone once max_wait has passed (the
        # wait_for is only a hang guard; the batch's own timeline shows the wait)
        outcome = await asyncio.wait_for(b.submit(3), timeout=60)
        assert outcome.value == 6 and outcome.batch_size == 1
        assert outcome.started_ns - outcome.enqueued_ns >= 0.019e9
    finally:
        await b.stop()


async def test_full_queue_sheds_and_decode_steps_bypass_it() -> None:
    depths: list[int] = []
    b = Batcher("t", _double, max_batch_size=1, max_wait_s=0.0, max_queue=2, on_depth=depths.append)
    b.start()
    try:
        # Fill the queue before the loop runs: the loop is not scheduled until we await.
        first = [asyncio.ensure_future(b.submit(i)) for i in range(2)]
        await asyncio.sleep(0)
        assert b.depth == 2 and b.saturated
        with pytest.raises(QueueFull):
            await b.submit(99)
        bypass = asyncio.ensure_future(b.submit(5, admit=False))
        results = await asyncio.gather(*first, bypass)
        assert [r.value for r in results] == [0, 2, 10]
    finally:
        await b.stop()
    assert max(depths) >= 2 and depths[-1] == 0


async def test_model_errors_reach_every_caller_and_the_loop_survives() -> None:
    calls = 0

    def flaky(items: Sequence[int]) -> list[int]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ValueError("boom")
        return list(items)

    b = Batcher("t", flaky, max_batch_size=4, max_wait_s=0.01, max_queue=10)
    b.start()
    try:
        results = await asyncio.gather(b.submit(1), b.submit(2), return_exceptions=True)
        assert all(isinstance(r, ValueError) for r in results)
        assert (await b.submit(7)).value == 7
        assert b.running
    finally:
        await b.stop()


async def test_wrong_result_count_is_an_error() -> None:
    b: Batcher[int, int] = Batcher(
        "t", lambda items: [], max_batch_size=4, max_wait_s=0.0, max_queue=10
    )
    b.start()
    try:
        with pytest.raises(RuntimeError, match="0 results for 1 items"):
            await b.submit(1)
    finally:
        await b.stop()


async def test_stop_fails_waiting_callers_and_submit_after_stop() -> None:
    b = Batcher("t", _double, max_batch_size=4, max_wait_s=600.0, max_queue=10)
    b.start()
    waiting = asyncio.ensure_future(b.submit(1))
    await asyncio.sleep(0.01)
    await b.stop()
    with pytest.raises(BatcherStopped):
        await waiting
    with pytest.raises(BatcherStopped):
        await b.submit(2)
    assert not b.running


async def test_an_injected_delay_holds_the_worker_for_its_whole_batch() -> None:
    """The latency fault is model time: the batch holding a delayed item keeps the one worker
    busy, so the next batch starts after it (capacity is lost), and its batch-mates finish with
    it. Lower bounds only: they hold however slow the machine."""
    seconds: list[float] = []
    b = Batcher(
        "t",
        _double,
        max_batch_size=2,
        max_wait_s=60,  # a batch runs when two items are waiting
        max_queue=10,
        on_batch=lambda _n, s: seconds.append(s),
    )
    b.start()
    try:
        first = asyncio.gather(b.submit(1, delay=0.2), b.submit(2))
        await asyncio.sleep(0)  # both queued: they fill the first batch
        second = asyncio.gather(b.submit(3), b.submit(4))
        (slow, mate), (after, _) = await asyncio.wait_for(asyncio.gather(first, second), timeout=60)
    finally:
        await b.stop()
    assert slow.value == 2 and mate.value == 4 and after.value == 6
    assert slow.batch_size == mate.batch_size == 2 and slow.started_ns == mate.started_ns
    assert mate.finished_ns - mate.started_ns >= 0.2e9  # the batch-mate waited for the delay
    assert after.started_ns >= slow.finished_ns  # the worker was held: the next batch waited
    assert seconds[0] >= 0.2 and len(seconds) == 2  # the model time includes the delay
