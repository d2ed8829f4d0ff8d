"""A function child runs in its actor's own task: what reaches its mailbox, and its start.

The function replaces the actor's message loop; a message, an ask, a stop marker or a
shutdown interrupts it and is then handled as by an actor without ``on_receive``.
"""

import pytest
import trio
import trio.testing

from arborist.actors import ActorDiedError, ActorStartError, Crashed, Normal, Shutdown
from arborist.supervision._function import function_actor_class


def forever_recording(cancelled: list[str]):
    async def forever() -> None:
        try:
            await trio.sleep_forever()
        except trio.Cancelled:
            cancelled.append("cancelled")
            raise

    return forever


async def test_a_message_told_to_a_function_child_cancels_it_and_crashes_it_with_no_on_receive(
    system,
):
    cancelled: list[str] = []
    ref = await system.spawn(function_actor_class(forever_recording(cancelled)))
    await trio.testing.wait_all_tasks_blocked()

    ref.tell("hello")
    reason = await ref.wait_exit()

    assert isinstance(reason, Crashed)
    assert isinstance(reason.exc, TypeError)
    assert "defines no on_receive" in str(reason.exc)
    assert cancelled == ["cancelled"]


async def test_an_ask_to_a_function_child_fails_with_its_death(system):
    ref = await system.spawn(function_actor_class(forever_recording([])))
    await trio.testing.wait_all_tasks_blocked()

    with pytest.raises(ActorDiedError):
        await ref.ask("ping")


async def test_stop_ends_a_function_child_normally_and_cancels_the_function(system):
    cancelled: list[str] = []
    ref = await system.spawn(function_actor_class(forever_recording(cancelled)))
    await trio.testing.wait_all_tasks_blocked()

    assert await ref.stop() == Normal()
    assert cancelled == ["cancelled"]


async def test_a_shutdown_ends_a_function_child_with_shutdown_and_cancels_the_function(system):
    cancelled: list[str] = []
    ref = await system.spawn(function_actor_class(forever_recording(cancelled)))
    await trio.testing.wait_all_tasks_blocked()

    assert await ref.shutdown() == Shutdown()
    assert cancelled == ["cancelled"]


async def test_a_function_child_returning_ends_normally(system):
    async def job() -> None:
        await trio.lowlevel.checkpoint()

    ref = await system.spawn(function_actor_class(job))

    assert await ref.wait_exit() == Normal()


async def test_a_shutdown_after_a_task_status_function_started_cancels_it(system, autojump_clock):
    log: list[str] = []

    async def slow_start(task_status=trio.TASK_STATUS_IGNORED) -> None:
        await trio.sleep(1.0)
        task_status.started()
        try:
            await trio.sleep_forever()
        except trio.Cancelled:
            log.append("cancelled")
            raise

    ref = await system.spawn(function_actor_class(slow_start))

    assert trio.current_time() == 1.0
    assert await ref.shutdown() == Shutdown()
    assert log == ["cancelled"]


async def test_a_task_status_function_returning_before_it_started_fails_its_start(system):
    async def never_starts(task_status=trio.TASK_STATUS_IGNORED) -> None:
        await trio.lowlevel.checkpoint()

    with pytest.raises(ActorStartError) as caught:
        await system.spawn(function_actor_class(never_starts))

    assert "without calling task_status.started()" in str(caught.value.__cause__)


async def test_a_task_status_function_raising_before_it_started_fails_its_start(system):
    error = ValueError("no start")

    async def fails(task_status=trio.TASK_STATUS_IGNORED) -> None:
        await trio.lowlevel.checkpoint()
        raise error

    with pytest.raises(ActorStartError) as caught:
        await system.spawn(function_actor_class(fails))

    assert caught.value.__cause__ is error


async def test_a_started_function_child_keeps_nothing_of_the_nursery_trio_started_it_in(
    system, live
):
    before = live(trio.Nursery)
    for _ in range(10):
        await system.spawn(function_actor_class(trio.sleep_forever))
    await trio.testing.wait_all_tasks_blocked()

    assert live(trio.Nursery) == before


async def test_a_task_status_function_child_keeps_nothing_of_its_start_once_started(system, live):
    async def starts(task_status=trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        await trio.sleep_forever()

    before = live(trio.Nursery)
    for _ in range(10):
        await system.spawn(function_actor_class(starts))
    await trio.testing.wait_all_tasks_blocked()

    assert live(trio.Nursery) == before
