"""Memory: an actor that has ended is freed, and the kernel's collections do not grow with the
number of actors that came and went (monitors, links, names, timers, the system's own lists).

Each test drops its own references, runs ``gc.collect()`` and checks with ``weakref`` that the
dead actors are gone, or compares the sizes of the kernel's collections before and after.
"""

from __future__ import annotations

import collections
import gc
import threading
import weakref
from typing import Any

import trio
import trio.testing

from arborist.actors import Actor, ActorRef, ActorSystem, Down, Exit, ThreadActor

GUARD = 5  # seconds; a generous guard for real threads, never a timing assertion


class Tracked(Actor):
    """An actor that registers a weak reference to each instance and keeps a timer running."""

    def __init__(self, alive: list[weakref.ref[Any]]) -> None:
        alive.append(weakref.ref(self))

    def on_start(self) -> None:
        self.send_interval(3600, "tick")

    def on_receive(self, message: Any) -> Any:
        if message == "stop":
            self.stop()
        return None


class Watcher(Actor):
    """Monitors or links to the refs it is sent, and counts (but keeps no) Down and Exit."""

    trap_exits = True

    def __init__(self) -> None:
        self.downs = 0
        self.exits = 0

    def on_receive(self, message: Any) -> Any:
        match message:
            case ("monitor", ActorRef() as target):
                self.monitor(target)
            case ("demonitor", ActorRef() as target):
                self.demonitor(self.monitor(target))
            case ("link", ActorRef() as target):
                self.link(target)
            case ("timer", ActorRef()):
                self.send_after(3600, "late").cancel()
            case Down():
                self.downs += 1
            case Exit():
                self.exits += 1
        return None


def alive(weak_refs: list[weakref.ref[Any]]) -> list[Any]:
    gc.collect()
    return [obj for ref in weak_refs if (obj := ref()) is not None]


def collection_sizes(obj: object) -> dict[str, int]:
    """``len()`` of every dict, set, list or deque the object holds as an attribute."""
    names = list(getattr(obj, "__dict__", {}))
    for cls in type(obj).__mro__:
        slots = getattr(cls, "__slots__", ())
        names += [slots] if isinstance(slots, str) else list(slots)
    sizes = {}
    for name in names:
        value = getattr(obj, name, None)
        if isinstance(value, dict | set | list | collections.deque | weakref.WeakSet):
            sizes[f"{type(obj).__name__}.{name}"] = len(value)
    return sizes


def kernel_sizes(system: ActorSystem, *refs: ActorRef) -> dict[str, int]:
    sizes = collection_sizes(system) | collection_sizes(system.registry)
    sizes["active timers"] = len(system._timers)
    for ref in refs:
        sizes |= {f"{ref.id}:{k}": v for k, v in collection_sizes(ref._cell).items()}
        sizes |= {f"{ref.id}:{k}": v for k, v in collection_sizes(ref._cell.actor).items()}
    return sizes


async def come_and_go(system: ActorSystem, watcher: ActorRef, how: str, count: int) -> list[Any]:
    """Spawn ``count`` actors the watcher watches ``how``, stop each one; return weak refs."""
    weak_refs: list[weakref.ref[Any]] = []
    for index in range(count):
        target = await system.spawn(Tracked, weak_refs, name=f"tracked-{index}")
        await watcher.ask((how, target))
        await target.stop()
        await watcher.ask("sync")  # the Down or Exit is handled
    return weak_refs


async def test_a_stopped_actor_that_a_live_actor_monitored_is_freed(system):
    watcher = await system.spawn(Watcher)

    weak_refs = await come_and_go(system, watcher, "monitor", 3)

    assert alive(weak_refs) == []
    assert watcher._cell.actor.downs == 3


async def test_a_fired_monitor_is_forgotten_by_its_watcher(system):
    watcher = await system.spawn(Watcher)
    target = await system.spawn(Watcher)
    await watcher.ask(("monitor", target))

    await target.stop()
    await watcher.ask("sync")

    assert not watcher._cell._watching
    assert not target._cell._watchers


async def test_a_demonitored_actor_is_freed_once_stopped(system):
    watcher = await system.spawn(Watcher)

    weak_refs = await come_and_go(system, watcher, "demonitor", 3)

    assert alive(weak_refs) == []
    assert watcher._cell.actor.downs == 0


async def test_a_stopped_actor_that_a_live_actor_linked_to_is_freed(system):
    watcher = await system.spawn(Watcher)

    weak_refs = await come_and_go(system, watcher, "link", 3)

    assert alive(weak_refs) == []


async def test_actors_that_came_and_went_leave_the_kernels_collections_as_they_were(system):
    watcher = await system.spawn(Watcher)
    for how in ("monitor", "link", "demonitor", "timer"):
        await come_and_go(system, watcher, how, 5)
    before = kernel_sizes(system, watcher)

    for how in ("monitor", "link", "demonitor", "timer"):
        await come_and_go(system, watcher, how, 50)

    assert kernel_sizes(system, watcher) == before


async def test_a_crashed_actor_is_freed_once_its_watchers_handled_the_down(system):
    class Crasher(Tracked):
        def on_receive(self, message: Any) -> Any:
            raise ValueError("boom")

    watcher = await system.spawn(Watcher)
    weak_refs: list[weakref.ref[Any]] = []
    for _ in range(3):
        target = await system.spawn(Crasher, weak_refs)
        await watcher.ask(("monitor", target))
        target.tell("crash")
        await target.wait_exit()
        await watcher.ask("sync")
    del target

    assert alive(weak_refs) == []


class TrackedThread(ThreadActor):
    def __init__(self, alive: list[weakref.ref[Any]]) -> None:
        alive.append(weakref.ref(self))

    def on_receive(self, message: Any) -> Any:
        return message


async def test_a_stopped_thread_actor_is_freed_once_its_thread_ended(system):
    weak_refs: list[weakref.ref[Any]] = []
    with trio.fail_after(GUARD):
        for _ in range(3):
            ref = await system.spawn(TrackedThread, weak_refs)
            assert await ref.ask("ping") == "ping"
            thread_name = f"TrackedThread#{ref.id}"
            await ref.stop()
            [thread] = [t for t in threading.enumerate() if t.name == thread_name] or [None]
            if thread is not None:
                await trio.to_thread.run_sync(thread.join, GUARD)
        del ref

    assert alive(weak_refs) == []


class Idle(Actor):
    def on_receive(self, message: Any) -> Any:
        return message


class IdleWithNursery(Idle):
    owns_nursery = True


async def test_a_started_actor_keeps_nothing_of_the_nursery_trio_started_it_in(system, live):
    before = live(trio.Nursery)
    refs = [await system.spawn(Idle) for _ in range(20)]
    await trio.testing.wait_all_tasks_blocked()

    assert live(trio.Nursery) == before
    assert [await ref.ask(i) for i, ref in enumerate(refs)] == list(range(20))


async def test_an_actor_that_owns_a_nursery_keeps_only_its_own(system, live):
    before = live(trio.Nursery)
    for _ in range(20):
        await system.spawn(IdleWithNursery)
    await trio.testing.wait_all_tasks_blocked()

    assert live(trio.Nursery) == before + 20


async def test_a_started_thread_actor_keeps_nothing_of_the_nursery_trio_started_it_in(system, live):
    before = live(trio.Nursery)
    with trio.fail_after(GUARD):
        refs = [await system.spawn(TrackedThread, []) for _ in range(3)]
        assert [await ref.ask(i) for i, ref in enumerate(refs)] == [0, 1, 2]

    assert live(trio.Nursery) == before
