"""The direct reading of trio's run loop agrees with trio's public statistics."""

import math

import trio
import trio.testing

from arborist.actors._run_state import (
    idle_seconds,
    idle_seconds_from_statistics,
    runnable_now,
    runnable_now_from_statistics,
)


def test_the_run_loop_is_read_directly_on_this_trio():
    assert idle_seconds is not idle_seconds_from_statistics
    assert runnable_now is not runnable_now_from_statistics


async def test_nothing_runnable_and_no_deadline_is_idle_for_ever():
    await trio.testing.wait_all_tasks_blocked()
    assert idle_seconds() == idle_seconds_from_statistics() == math.inf
    assert runnable_now() is runnable_now_from_statistics() is False


async def test_a_runnable_task_leaves_no_idle_time():
    async with trio.open_nursery() as nursery:
        nursery.start_soon(trio.sleep, 0)  # queued to run in the next scheduler pass
        assert idle_seconds() == idle_seconds_from_statistics() == 0.0
        assert runnable_now() is runnable_now_from_statistics() is True


async def test_a_pending_run_sync_soon_callback_leaves_no_idle_time():
    await trio.testing.wait_all_tasks_blocked()
    trio.lowlevel.current_trio_token().run_sync_soon(lambda: None)
    assert idle_seconds() == idle_seconds_from_statistics() == 0.0
    assert runnable_now() is runnable_now_from_statistics() is True


async def test_idle_time_ends_at_the_next_deadline(autojump_clock: trio.testing.MockClock):
    async with trio.open_nursery() as nursery:
        nursery.start_soon(trio.sleep, 7)
        await trio.testing.wait_all_tasks_blocked()
        assert idle_seconds() == idle_seconds_from_statistics() == 7.0
        assert runnable_now() is runnable_now_from_statistics() is False
        nursery.cancel_scope.cancel()


async def test_a_deadline_passed_but_not_yet_processed_leaves_no_idle_time(
    mock_clock: trio.testing.MockClock,
):
    with trio.CancelScope(deadline=trio.current_time() + 1):  # noqa: ASYNC100 - never awaited on purpose
        mock_clock.jump(2)  # past the deadline; trio acts on it at the next scheduler pass
        assert idle_seconds() == idle_seconds_from_statistics() == 0.0
