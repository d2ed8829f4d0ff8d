"""BaseExceptions in supervised children and task-supervisor jobs (the policy of arborist.actors).

- ``KeyboardInterrupt`` / ``SystemExit`` from a child (actor, function child, thread actor) or
  a job: the tree is shut down in order, nothing is restarted, and ``open_actor_system()`` or
  ``open_task_supervisor()`` raises the original object, bare.
- ``GeneratorExit``, a user's ``BaseException`` subclass or a stale ``trio.Cancelled``: a crash
  of that child (restarted by the normal rules) or a failure of that job only.

No test lets an interrupt escape into pytest: each catches what the block raised and compares.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio
import trio.testing
from sup_helpers import Log, Worker, worker

from arborist.actors import Crashed, ThreadActor, open_actor_system
from arborist.supervision import (
    ChildRestarted,
    ChildSpec,
    JobState,
    SupervisorSpec,
    TaskFailed,
    open_task_supervisor,
    start_supervisor,
)

GUARD = 5  # seconds, for thread actors on the real clock; never a timing assertion


class UserBaseException(BaseException):
    """A user's own BaseException subclass."""


async def stale_cancelled() -> trio.Cancelled:
    """A real ``trio.Cancelled``, caught and kept, to be re-raised later when nothing is."""
    caught: list[trio.Cancelled] = []
    with trio.CancelScope() as scope:
        scope.cancel()
        try:
            await trio.lowlevel.checkpoint()
        except trio.Cancelled as exc:
            caught.append(exc)
            raise
    return caught[0]


async def raised_by(body: Callable[[], Awaitable[None]]) -> BaseException | None:
    try:
        await body()
    except BaseException as exc:  # an interrupt too: never let it reach pytest
        return exc
    return None


async def raise_after_start(exc: BaseException) -> None:
    await trio.lowlevel.checkpoint()
    raise exc


class RaisesWhenTold(Worker):
    def on_receive(self, message: Any) -> Any:
        if isinstance(message, BaseException):
            raise message
        return super().on_receive(message)


class ThreadRaiser(ThreadActor):
    def on_receive(self, message: Any) -> Any:
        raise message


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt("ctrl-c"), SystemExit(4)], ids=repr)
async def test_an_interrupt_in_a_function_child_stops_the_tree_in_order_and_comes_out_bare(
    interrupt,
):
    log: Log = []
    inner = SupervisorSpec([worker("x", log), ChildSpec("f", raise_after_start, (interrupt,))])
    spec = SupervisorSpec([worker("a", log), ChildSpec("inner", inner), worker("b", log)])

    async def body() -> None:
        async with open_actor_system() as system:
            await start_supervisor(system, spec)
            await trio.sleep_forever()

    raised = await raised_by(body)

    assert raised is interrupt
    starts = [("start", "a"), ("start", "x"), ("start", "b")]
    stops = [("stop", "b", "shutdown"), ("stop", "x", "shutdown"), ("stop", "a", "shutdown")]
    assert log == starts + stops  # nothing restarted; stopped in reverse start order


async def test_an_interrupt_in_a_worker_child_comes_out_of_open_actor_system_bare():
    log: Log = []
    interrupt = KeyboardInterrupt()
    spec = SupervisorSpec([ChildSpec("w", RaisesWhenTold, ("w", log)), worker("v", log)])

    async def body() -> None:
        async with open_actor_system() as system:
            sup = await start_supervisor(system, spec)
            [w, _] = await sup.which_children()
            w.ref.tell(interrupt)
            await trio.sleep_forever()

    assert await raised_by(body) is interrupt
    assert log[2:] == [("stop", "w", "crashed"), ("stop", "v", "shutdown")]


async def test_an_interrupt_in_a_thread_actor_child_comes_out_of_open_actor_system_bare():
    interrupt = SystemExit(5)
    spec = SupervisorSpec([ChildSpec("t", ThreadRaiser)])

    async def body() -> None:
        with trio.fail_after(GUARD):
            async with open_actor_system() as system:
                sup = await start_supervisor(system, spec)
                [t] = await sup.which_children()
                t.ref.tell(interrupt)
                await trio.sleep_forever()

    assert await raised_by(body) is interrupt


def other_base_exceptions() -> list[Any]:
    return [
        pytest.param(lambda: GeneratorExit("closed"), id="GeneratorExit"),
        pytest.param(lambda: UserBaseException("mine"), id="user BaseException"),
        pytest.param(None, id="stale trio.Cancelled"),
    ]


@pytest.mark.parametrize("make", other_base_exceptions())
async def test_another_base_exception_in_a_worker_is_a_crash_restarted_by_the_normal_rules(
    system, make
):
    exc = make() if make is not None else await stale_cancelled()
    log: Log = []
    events: list[Any] = []
    sup = await start_supervisor(
        system, SupervisorSpec([ChildSpec("w", RaisesWhenTold, ("w", log))])
    )
    sup.subscribe(events.append)
    [w] = await sup.which_children()

    w.ref.tell(exc)

    assert await w.ref.wait_exit() == Crashed(exc)
    await trio.testing.wait_all_tasks_blocked()
    assert [type(e) for e in events if isinstance(e, ChildRestarted)] == [ChildRestarted]
    assert log == [("start", "w"), ("stop", "w", "crashed"), ("start", "w")]
    assert system.interrupted is None


@pytest.mark.parametrize("make", other_base_exceptions())
async def test_another_base_exception_in_a_function_child_is_a_crash_restarted(system, make):
    exc = make() if make is not None else await stale_cancelled()
    exits: list[Any] = []
    runs: list[int] = []

    async def once(exc: BaseException) -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            await raise_after_start(exc)
        await trio.sleep_forever()

    sup = await start_supervisor(system, SupervisorSpec([ChildSpec("f", once, (exc,))]))
    sup.subscribe(lambda e: exits.append(e.reason) if hasattr(e, "reason") else None)
    await trio.testing.wait_all_tasks_blocked()

    assert exits == [Crashed(exc)]
    assert runs == [0, 1]
    assert [info.state for info in await sup.which_children()] == ["running"]


# -- task supervisor -------------------------------------------------------------------------


@pytest.mark.parametrize("start", ["start_child", "start_task"])
@pytest.mark.parametrize("interrupt", [KeyboardInterrupt("ctrl-c"), SystemExit(6)], ids=repr)
async def test_an_interrupt_in_a_job_comes_out_of_open_task_supervisor_bare(start, interrupt):
    others: list[Any] = []

    async def body() -> None:
        async with open_task_supervisor() as tasks:
            others.append(tasks.start_task(trio.sleep_forever))
            getattr(tasks, start)(raise_after_start, interrupt)
            await trio.sleep_forever()

    assert await raised_by(body) is interrupt
    [other] = others
    assert other.state is JobState.CANCELLED


async def test_an_interrupt_in_a_job_of_a_given_system_comes_out_of_open_actor_system_bare():
    interrupt = KeyboardInterrupt()

    async def body() -> None:
        async with open_actor_system() as system, open_task_supervisor(system) as tasks:
            tasks.start_child(raise_after_start, interrupt)
            await trio.sleep_forever()

    assert await raised_by(body) is interrupt


@pytest.mark.parametrize("make", other_base_exceptions())
async def test_another_base_exception_fails_only_its_task_and_awaiting_raises_runtime_error(
    make,
):
    exc = make() if make is not None else await stale_cancelled()
    failed: list[BaseException] = []

    async with open_task_supervisor() as tasks:
        tasks.subscribe(lambda e: failed.append(e.exc) if isinstance(e, TaskFailed) else None)
        bystander = tasks.start_task(trio.sleep, 1)
        handle = tasks.start_task(raise_after_start, exc)

        with pytest.raises(
            RuntimeError, match="not an Exception; it failed this task only"
        ) as info:
            await handle

        assert info.value.__cause__ is exc
        assert failed == [exc]
        assert await bystander is None
        assert tasks.statistics().failed == 1


@pytest.mark.parametrize("make", other_base_exceptions())
async def test_another_base_exception_fails_only_its_fire_and_forget_job(make, caplog):
    exc = make() if make is not None else await stale_cancelled()

    async with open_task_supervisor() as tasks:
        job = tasks.start_child(raise_after_start, exc)
        await trio.testing.wait_all_tasks_blocked()

        assert job.state is JobState.FAILED
        assert tasks.start_task(trio.lowlevel.checkpoint) is not None  # still running
    [record] = [r for r in caplog.records if "failed" in r.getMessage()]
    assert record.exc_info[1] is exc


async def test_an_interrupt_while_the_tree_starts_lets_the_start_finish_then_stops_it_in_order(
    autojump_clock,
):
    log: Log = []
    interrupt = KeyboardInterrupt()
    spec = SupervisorSpec(
        [
            worker("a", log),
            ChildSpec("f", raise_after_start, (interrupt,)),
            ChildSpec("slow", Worker, ("slow", log, 1.0)),  # on_start takes 1 s
            worker("b", log),
        ]
    )

    async def body() -> None:
        async with open_actor_system() as system:
            await start_supervisor(system, spec)  # the interrupt comes during this call
            await trio.sleep_forever()

    assert await raised_by(body) is interrupt
    assert log == [
        ("start", "a"),
        ("start", "slow"),
        ("start", "b"),
        ("stop", "b", "shutdown"),
        ("stop", "slow", "shutdown"),
        ("stop", "a", "shutdown"),
    ]


async def test_an_interrupt_during_a_start_that_never_ends_still_comes_out_after_the_timeout(
    autojump_clock,
):
    interrupt = KeyboardInterrupt()
    spec = SupervisorSpec(
        [
            ChildSpec("f", raise_after_start, (interrupt,)),
            ChildSpec("hangs", Worker, ("h", [], 1e9)),
        ]
    )

    async def body() -> None:
        async with open_actor_system(shutdown_timeout=2.0) as system:
            await start_supervisor(system, spec)

    assert await raised_by(body) is interrupt
    assert trio.current_time() == 2.0
