"""Memory: supervisors free the incarnations that ended, and their own collections do not grow
with the number of children (restarted, temporary, keyed) or jobs that came and went.

Each test drops its own references, runs ``gc.collect()`` and checks with ``weakref`` that the
dead actors are gone, or compares the lengths of every collection a supervisor holds (on the
actor and on its cell) after some finished children and after many more.
"""

from __future__ import annotations

import collections
import gc
import logging
import weakref
from typing import Any

import pytest
import trio
import trio.testing

from arborist.actors import Actor, ActorRef, ActorSystem
from arborist.supervision import (
    ChildSpec,
    DynamicSupervisorSpec,
    Restart,
    SupervisorSpec,
    TaskSupervisor,
    open_task_supervisor,
    start_dynamic_supervisor,
    start_supervisor,
)


class Tracked(Actor):
    """Registers a weak reference to each incarnation; stops or crashes when told."""

    def __init__(self, alive: list[weakref.ref[Any]], *args: Any) -> None:
        alive.append(weakref.ref(self))

    def on_receive(self, message: Any) -> Any:
        if message == "stop":
            self.stop()
        elif message == "crash":
            raise ValueError("crash")
        return message


class Payload:
    """Something a job holds on to; freed once nothing keeps the job."""


def alive(weak_refs: list[weakref.ref[Any]]) -> list[Any]:
    gc.collect()
    return [obj for ref in weak_refs if (obj := ref()) is not None]


def collection_sizes(*objects: object) -> dict[str, int]:
    """``len()`` of every dict, set, list or deque each object holds as an attribute."""
    sizes = {}
    for index, obj in enumerate(objects):
        names = list(getattr(obj, "__dict__", {}))
        for cls in type(obj).__mro__:
            slots = getattr(cls, "__slots__", ())
            names += [slots] if isinstance(slots, str) else list(slots)
        for name in names:
            value = getattr(obj, name, None)
            if isinstance(value, dict | set | list | collections.deque | weakref.WeakSet):
                sizes[f"{index}:{type(obj).__name__}.{name}"] = len(value)
    return sizes


def supervisor_sizes(ref: ActorRef) -> dict[str, int]:
    cell = ref._cell
    return collection_sizes(cell, cell.actor, cell.system, cell.system.registry)


@pytest.fixture
def quiet_crashes(caplog):
    """Crash logs keep tracebacks (and so the crashed actors) alive in pytest's log capture."""
    caplog.set_level(logging.CRITICAL, logger="arborist.supervision")


async def end(ref: ActorRef, how: str) -> None:
    ref.tell(how)
    await ref.wait_exit()
    await trio.testing.wait_all_tasks_blocked()


@pytest.mark.parametrize("how", ["stop", "crash"])
async def test_the_ended_incarnations_of_a_restarted_child_are_freed(
    system: ActorSystem, how: str, quiet_crashes: None
):
    weak_refs: list[weakref.ref[Any]] = []
    spec = SupervisorSpec([ChildSpec("w", Tracked, (weak_refs,))], max_restarts=100)
    sup = await start_supervisor(system, spec)

    for _ in range(5):
        [info] = await sup.which_children()
        await end(info.ref, how)
    del info

    [current] = alive(weak_refs)
    [info] = await sup.which_children()
    assert info.ref is not None
    assert current is info.ref._cell.actor


@pytest.mark.parametrize("how", ["stop", "crash"])
async def test_temporary_dynamic_children_that_ended_are_freed(
    system: ActorSystem, how: str, quiet_crashes: None
):
    weak_refs: list[weakref.ref[Any]] = []
    template = ChildSpec("t", Tracked, (weak_refs,), restart=Restart.TEMPORARY)
    sup = await start_dynamic_supervisor(system, DynamicSupervisorSpec(template))

    for _ in range(5):
        await end(await sup.start_child(), how)

    assert alive(weak_refs) == []
    assert (await sup.count_children()).specs == 0


async def test_a_dynamic_supervisors_collections_do_not_grow_with_children_that_ended(
    system: ActorSystem, quiet_crashes: None, autojump_clock: trio.testing.MockClock
):
    weak_refs: list[weakref.ref[Any]] = []
    template = ChildSpec("t", Tracked, (weak_refs,), restart=Restart.TRANSIENT)
    sup = await start_dynamic_supervisor(system, DynamicSupervisorSpec(template))

    async def come_and_go(count: int) -> None:
        for index in range(count):
            child = await sup.start_child()
            await end(child, "crash")  # restarted once (transient), then
            [info] = [i for i in await sup.which_children() if i.ref is not None]
            await end(info.ref, "stop")  # gone for good
            keyed = await sup.get_or_start(("user", index))
            await end(keyed, "stop")
            await trio.sleep(6)  # past the intensity window: its restarts are forgotten

    await come_and_go(3)
    before = supervisor_sizes(sup.ref)
    await come_and_go(30)

    assert supervisor_sizes(sup.ref) == before
    assert alive(weak_refs) == []


async def test_a_static_supervisors_collections_do_not_grow_with_restarts(
    system: ActorSystem, quiet_crashes: None, autojump_clock: trio.testing.MockClock
):
    weak_refs: list[weakref.ref[Any]] = []
    spec = SupervisorSpec(
        [ChildSpec("a", Tracked, (weak_refs,)), ChildSpec("b", Tracked, (weak_refs,))],
        strategy="one_for_all",
    )
    sup = await start_supervisor(system, spec)

    async def restarts(count: int) -> None:
        for _ in range(count):
            [a, _b] = await sup.which_children()
            await end(a.ref, "crash")
            await trio.sleep(6)  # past the intensity window: its restarts are forgotten

    await restarts(3)
    before = supervisor_sizes(sup.ref)
    await restarts(30)

    assert supervisor_sizes(sup.ref) == before
    assert len(alive(weak_refs)) == 2


async def test_jobs_that_ended_are_freed_and_leave_the_task_supervisors_collections_as_they_were(
    caplog,
):
    caplog.set_level(logging.CRITICAL, logger="arborist.supervision")
    payloads: list[weakref.ref[Any]] = []

    async def job(payload: Payload, how: str) -> None:
        await trio.lowlevel.checkpoint()
        if how == "fail":
            raise ValueError("failed")

    async def come_and_go(tasks: TaskSupervisor, count: int) -> None:
        for _ in range(count):
            for how in ("finish", "fail"):
                payload = Payload()
                payloads.append(weakref.ref(payload))
                tasks.start_child(job, payload, how)
                handle = tasks.start_task(job, payload, how)
                del payload
                if how == "finish":
                    await handle
                del handle
            await trio.testing.wait_all_tasks_blocked()

    async with open_task_supervisor() as tasks:
        await come_and_go(tasks, 3)
        before = collection_sizes(tasks, tasks.ref._cell)
        await come_and_go(tasks, 30)

        assert collection_sizes(tasks, tasks.ref._cell) == before
        assert alive(payloads) == []
        assert tasks.statistics().failed == 66


async def test_a_failed_task_whose_handle_was_dropped_unawaited_is_logged_when_freed(caplog):
    async def fail() -> None:
        raise ValueError("nobody looked")

    async with open_task_supervisor() as tasks:
        handle = tasks.start_task(fail)
        await trio.testing.wait_all_tasks_blocked()
        description = repr(handle)
        assert not [r for r in caplog.records if r.name == "arborist.supervision"]

        del handle
        gc.collect()

        [record] = [r for r in caplog.records if r.name == "arborist.supervision"]
    assert description in record.getMessage()
    assert "never awaited" in record.getMessage()
    assert str(record.exc_info[1]) == "nobody looked"
