"""submit_many: one call per item, in order, chunks bounded by chunk_size, elements apart."""

import threading

import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st

from arborist.runtime.executors import (
    CancelResult,
    RemoteCancelledError,
    ThreadExecutor,
    wait_gone,
    wait_remote,
)
from arborist.runtime.executors._chunks import split


def check_positive(x, scale=1):
    if x < 0:
        raise ValueError(f"negative: {x}")
    return x * scale


@pytest.fixture
async def threads():
    executor = ThreadExecutor(max_workers=2)
    await executor.open()
    yield executor
    await executor.aclose()


@given(n=st.integers(0, 50), chunk_size=st.integers(1, 12))
def test_split_keeps_order_and_no_chunk_exceeds_chunk_size(n, chunk_size):
    items = [((i,), {}) for i in range(n)]

    chunks = split(items, chunk_size)

    assert [args for chunk in chunks for args, _ in chunk] == [(i,) for i in range(n)]
    assert all(1 <= len(chunk) <= chunk_size for chunk in chunks)
    assert len(chunks) == -(-n // chunk_size)


@pytest.mark.parametrize("chunk_size", [1, 3, 10])
async def test_submit_many_returns_one_call_per_item_in_order(threads, chunk_size):
    items = [((i,), {"scale": 10}) for i in range(10)]

    calls = threads.submit_many(check_positive, items, chunk_size=chunk_size)

    assert [await wait_remote(call) for call in calls] == [i * 10 for i in range(10)]


async def test_an_element_error_fails_only_that_element_of_its_chunk(threads):
    calls = threads.submit_many(check_positive, [((1,), {}), ((-1,), {}), ((2,), {})], chunk_size=3)

    assert await wait_remote(calls[0]) == 1
    with pytest.raises(ValueError, match="negative: -1"):
        await wait_remote(calls[1])
    assert await wait_remote(calls[2]) == 2


async def test_a_bad_chunk_size_is_refused(threads):
    with pytest.raises(ValueError, match="chunk_size must be an int >= 1; got 0"):
        threads.submit_many(check_positive, [((1,), {})], chunk_size=0)


async def test_one_cancelled_element_is_abandoned_while_its_chunk_runs_on():
    executor = ThreadExecutor(max_workers=1)
    await executor.open()
    started, release = threading.Event(), threading.Event()

    def element(x):
        started.set()
        release.wait()
        return x

    calls = executor.submit_many(element, [((i,), {}) for i in range(2)], chunk_size=2)
    await trio.to_thread.run_sync(started.wait)

    assert calls[0].cancel() is CancelResult.ABANDONED
    release.set()
    assert await wait_remote(calls[1]) == 1
    with pytest.raises(RemoteCancelledError):
        calls[0].result()
    assert await wait_gone(calls[0])
    await executor.aclose()


async def test_cancelling_every_element_of_a_queued_chunk_cancels_its_task():
    executor = ThreadExecutor(max_workers=1)
    await executor.open()
    release = threading.Event()
    executor.submit(release.wait)
    calls = executor.submit_many(check_positive, [((i,), {}) for i in range(3)], chunk_size=3)

    results = [call.cancel() for call in calls]

    assert results == [CancelResult.ABANDONED, CancelResult.ABANDONED, CancelResult.NOT_STARTED]
    release.set()
    await executor.aclose()
