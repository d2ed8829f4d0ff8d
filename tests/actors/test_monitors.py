"""Monitors: one Down per monitor for every exit reason, at once for a dead target, demonitor."""

import re

import trio
import trio.testing

from arborist.actors import (
    Actor,
    ActorRef,
    Crashed,
    Down,
    Killed,
    Monitor,
    Normal,
    Shutdown,
)


class Watcher(Actor):
    """Monitors the refs it is asked to watch and records every Down it receives."""

    def __init__(self, downs: list[Down]) -> None:
        self.downs = downs
        self.monitors: dict[int, Monitor] = {}

    def on_receive(self, message: object) -> object:
        match message:
            case ("watch", ActorRef() as target):
                monitor = self.monitor(target)
                self.monitors[target.id] = monitor
                return monitor
            case ("unwatch", ActorRef() as target):
                self.demonitor(self.monitors.pop(target.id))
            case Down():
                self.downs.append(message)
        return None


class Target(Actor):
    async def on_receive(self, message: str) -> None:
        if message == "boom":
            raise ValueError("boom")
        if message == "forever":
            await trio.sleep_forever()


async def watched_target(system) -> tuple[ActorRef, ActorRef, list[Down]]:
    downs: list[Down] = []
    watcher = await system.spawn(Watcher, downs)
    target = await system.spawn(Target)
    await watcher.ask(("watch", target))
    return watcher, target, downs


async def test_a_monitor_receives_down_normal_when_the_target_stops(system):
    watcher, target, downs = await watched_target(system)

    await target.stop()
    await watcher.ask("sync")

    assert downs == [Down(target, Normal())]


async def test_a_monitor_receives_down_crashed_with_the_exception_when_the_target_crashes(system):
    watcher, target, downs = await watched_target(system)

    target.tell("boom")
    await target.wait_exit()
    await watcher.ask("sync")

    assert len(downs) == 1
    assert downs[0].ref is target
    assert isinstance(downs[0].reason, Crashed)
    assert str(downs[0].reason.exc) == "boom"


async def test_a_monitor_receives_down_killed_when_the_target_is_killed(system):
    watcher, target, downs = await watched_target(system)
    target.tell("forever")
    await trio.testing.wait_all_tasks_blocked()

    target.kill()
    await target.wait_exit()
    await watcher.ask("sync")

    assert downs == [Down(target, Killed())]


async def test_a_monitor_receives_down_shutdown_when_the_target_is_shut_down(system):
    watcher, target, downs = await watched_target(system)

    await target.shutdown()
    await watcher.ask("sync")

    assert downs == [Down(target, Shutdown())]


async def test_monitoring_an_already_dead_actor_delivers_down_at_once(system):
    downs: list[Down] = []
    watcher = await system.spawn(Watcher, downs)
    target = await system.spawn(Target)
    await target.stop()

    await watcher.ask(("watch", target))
    await watcher.ask("sync")

    assert downs == [Down(target, Normal())]


async def test_after_demonitor_no_down_is_delivered(system):
    watcher, target, downs = await watched_target(system)

    await watcher.ask(("unwatch", target))
    await target.stop()
    await watcher.ask("sync")

    assert downs == []


async def test_each_monitor_delivers_its_own_down(system):
    watcher, target, downs = await watched_target(system)
    await watcher.ask(("watch", target))

    await target.stop()
    await watcher.ask("sync")

    assert downs == [Down(target, Normal()), Down(target, Normal())]


async def test_down_arrives_after_the_messages_queued_before_it(system):
    events: list[object] = []

    class Ordered(Actor):
        def on_receive(self, message: object) -> object:
            if isinstance(message, tuple):
                return self.monitor(message[1])
            events.append(message)
            return None

    watcher = await system.spawn(Ordered)
    target = await system.spawn(Target)
    await watcher.ask(("watch", target))

    watcher.tell("before")
    await target.stop()
    await watcher.ask("sync")

    assert events == ["before", Down(target, Normal()), "sync"]


async def test_a_dead_watcher_leaves_nothing_behind_on_its_target(system):
    watcher, target, _ = await watched_target(system)

    await watcher.stop()

    assert target._cell.watchers == {}
    assert await target.stop() == Normal()


async def test_a_monitor_repr_names_its_target(system):
    watcher, target, _ = await watched_target(system)

    monitor = await watcher.ask(("watch", target))

    assert re.fullmatch(rf"<Monitor of {re.escape(repr(target))}>", repr(monitor))
