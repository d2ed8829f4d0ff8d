"""wait_remote: trio keeps running, no thread per pending call, cancel maps to the call."""

import threading

import pytest
import trio
import trio.testing

from arborist.runtime.executors import CancelResult, ThreadExecutor, wait_remote


@pytest.fixture
async def threads():
    executor = ThreadExecutor(max_workers=2)
    await executor.open()
    yield executor
    await executor.aclose()


async def test_trio_keeps_ticking_while_a_remote_call_runs(threads, autojump_clock):
    release = threading.Event()
    ticks = []

    async def ticker():
        for _ in range(5):
            await trio.sleep(0.01)
            ticks.append(trio.current_time())
        release.set()  # the remote call can only end if trio ran the ticker meanwhile

    async with trio.open_nursery() as nursery:
        nursery.start_soon(ticker)
        value = await wait_remote(threads.submit(lambda: release.wait() and "done"))

    assert value == "done"
    assert len(ticks) == 5


async def test_a_thousand_pending_calls_hold_no_thread_each(threads):
    gate = threading.Event()
    before = threading.active_count()
    results = []

    async def wait_one(call):
        results.append(await wait_remote(call))

    async with trio.open_nursery() as nursery:
        for i in range(1_000):
            nursery.start_soon(wait_one, threads.submit(lambda i=i: gate.wait() and i))
        await trio.testing.wait_all_tasks_blocked()
        during = threading.active_count()
        gate.set()

    assert during - before <= 2  # the pool's two workers, not one thread per call
    assert sorted(results) == list(range(1_000))


async def test_a_trio_timeout_cancels_the_remote_call_and_says_what_it_did(threads):
    started, release = threading.Event(), threading.Event()

    def run():
        started.set()
        release.wait()

    call = threads.submit(run)
    await trio.to_thread.run_sync(started.wait)

    with trio.move_on_after(0.01) as scope:
        await wait_remote(call)

    assert scope.cancelled_caught
    assert call.cancel_result is CancelResult.ABANDONED
    release.set()


async def test_a_cancelled_wait_on_a_queued_call_drops_it(autojump_clock):
    executor = ThreadExecutor(max_workers=1)
    await executor.open()
    release = threading.Event()
    executor.submit(release.wait)
    queued = executor.submit(lambda: "never")

    with trio.move_on_after(1):
        await wait_remote(queued)

    assert queued.cancel_result is CancelResult.NOT_STARTED
    release.set()
    await executor.aclose()


async def test_holding_until_gone_keeps_the_waiter_until_an_abandoned_function_returns(threads):
    started, release = threading.Event(), threading.Event()

    def run():
        started.set()
        release.wait()

    call = threads.submit(run)
    await trio.to_thread.run_sync(started.wait)
    ended = trio.Event()

    async def waiter(scope_box):
        with trio.CancelScope() as scope:
            scope_box.append(scope)
            await wait_remote(call, hold_until_gone=True)
        ended.set()

    async with trio.open_nursery() as nursery:
        box = []
        nursery.start_soon(waiter, box)
        await trio.testing.wait_all_tasks_blocked()
        box[0].cancel()
        await trio.testing.wait_all_tasks_blocked()
        held = not ended.is_set()
        release.set()

    assert held
    assert ended.is_set()
    assert call.cancel_result is CancelResult.ABANDONED


async def test_holding_is_bounded_by_the_gone_timeout(threads, autojump_clock):
    started, release = threading.Event(), threading.Event()

    def run():
        started.set()
        release.wait()

    call = threads.submit(run)
    await trio.to_thread.run_sync(started.wait)

    with trio.move_on_after(1):
        await wait_remote(call, hold_until_gone=True, gone_timeout=5)

    assert trio.current_time() == pytest.approx(6)
    release.set()


async def test_waiting_on_a_finished_call_returns_its_value(threads):
    call = threads.submit(lambda: 7)
    await wait_remote(call)

    assert await wait_remote(call) == 7
