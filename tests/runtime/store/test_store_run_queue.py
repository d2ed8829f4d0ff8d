"""The writer's direct reading of trio's run queue agrees with trio's public statistics."""

import trio
import trio.testing

from arborist.runtime.store._run_queue import runnable_from_statistics, tasks_runnable


def test_the_run_queue_is_read_directly_on_this_trio():
    assert tasks_runnable is not runnable_from_statistics


async def test_no_task_queued_reads_zero_both_ways():
    await trio.testing.wait_all_tasks_blocked()
    assert tasks_runnable() == runnable_from_statistics() == 0


async def test_queued_tasks_are_counted_both_ways():
    async with trio.open_nursery() as nursery:
        for _ in range(3):
            nursery.start_soon(trio.sleep, 0)
        assert tasks_runnable() == runnable_from_statistics() == 3
