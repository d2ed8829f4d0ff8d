"""ActorSystem: ordered shutdown, no task left behind, bare errors, and spawn input checks."""

import logging
import math
import re

import pytest
import trio
import trio.lowlevel
import trio.testing

from arborist.actors import (
    Actor,
    ActorDiedError,
    ActorSystem,
    Killed,
    NameTakenError,
    Shutdown,
    open_actor_system,
)


class Stopping(Actor):
    """Records its label when it stops; sleeps forever on "hang"."""

    def __init__(self, label: str, stopped: list[object]) -> None:
        self.label = label
        self.stopped = stopped

    async def on_receive(self, message: object) -> None:
        if message == "hang":
            await trio.sleep_forever()

    def on_stop(self, reason: object) -> None:
        self.stopped.append((self.label, reason))


def every_task() -> set[trio.lowlevel.Task]:
    """All tasks of this trio run, found by walking the task tree from the root."""
    found: set[trio.lowlevel.Task] = set()
    pending = [trio.lowlevel.current_root_task()]
    while pending:
        task = pending.pop()
        if task is None:
            continue
        found.add(task)
        for nursery in task.child_nurseries:
            pending.extend(nursery.child_tasks)
    return found


# --- shutdown --------------------------------------------------------------------------------


async def test_leaving_the_block_shuts_actors_down_in_reverse_spawn_order():
    stopped: list[object] = []

    async with open_actor_system() as system:
        for label in "abc":
            await system.spawn(Stopping, label, stopped)

    assert stopped == [("c", Shutdown()), ("b", Shutdown()), ("a", Shutdown())]


async def test_no_task_outlives_the_block():
    class Busy(Actor):
        owns_nursery = True

        def on_start(self) -> None:
            self.nursery.start_soon(trio.sleep_forever)
            self.send_interval(1.0, "tick")

    before = every_task()
    async with open_actor_system() as system:
        for _ in range(3):
            await system.spawn(Busy)
        assert len(every_task()) > len(before)

    assert every_task() == before


async def test_an_actor_stuck_at_exit_is_killed_after_exactly_the_shutdown_timeout(
    autojump_clock,
):
    stopped: list[object] = []
    async with open_actor_system(shutdown_timeout=1.5) as system:
        ref = await system.spawn(Stopping, "stuck", stopped)
        ref.tell("hang")
        await trio.testing.wait_all_tasks_blocked()
        start = trio.current_time()

    assert trio.current_time() - start == 1.5
    assert ref.exit_reason == Killed()
    assert stopped == []


async def test_an_error_in_the_block_shuts_the_actors_down_and_propagates_bare():
    stopped: list[object] = []

    async def fail_inside() -> None:
        async with open_actor_system() as system:
            await system.spawn(Stopping, "a", stopped)
            raise KeyError("oops")

    with pytest.raises(KeyError, match="oops"):
        await fail_inside()

    assert stopped == [("a", Shutdown())]


async def test_an_error_from_the_block_keeps_its_own_cause():
    class Fragile(Actor):
        def on_receive(self, message: object) -> None:
            raise ValueError("boom")

    async def ask_inside() -> None:
        async with open_actor_system() as system:
            ref = await system.spawn(Fragile)
            await ref.ask("go")

    with pytest.raises(ActorDiedError) as caught:
        await ask_inside()

    assert isinstance(caught.value.__cause__, ValueError)


async def test_cancelling_the_block_shuts_the_actors_down(autojump_clock):
    stopped: list[object] = []

    with trio.move_on_after(1.0):
        async with open_actor_system() as system:
            await system.spawn(Stopping, "a", stopped)
            await trio.sleep_forever()

    assert stopped == [("a", Shutdown())]


async def test_spawn_after_the_system_closed_is_refused():
    async with open_actor_system() as system:
        pass

    with pytest.raises(RuntimeError, match="this actor system is closed"):
        await system.spawn(Stopping, "late", [])


async def test_actors_lists_live_top_level_actors_in_spawn_order(system):
    a = await system.spawn(Stopping, "a", [])
    b = await system.spawn(Stopping, "b", [])
    c = await system.spawn(Stopping, "c", [])
    await b.stop()

    assert system.actors() == [a, c]


async def test_an_actor_spawned_into_another_nursery_lives_there_not_under_the_system(system):
    async with trio.open_nursery() as nursery:
        ref = await system.spawn(Stopping, "elsewhere", [], nursery=nursery)

        assert system.actors() == []
        nursery.cancel_scope.cancel()

    assert ref.exit_reason == Killed()


async def test_an_unwatched_crash_is_logged(system, caplog):
    class Fragile(Actor):
        def on_receive(self, message: object) -> None:
            raise ValueError("nobody is watching")

    ref = await system.spawn(Fragile)
    with caplog.at_level(logging.ERROR, logger="arborist.actors"):
        ref.tell("go")
        await ref.wait_exit()

    assert "crashed" in caplog.text
    assert "nobody is watching" in caplog.text


async def test_the_system_exposes_the_trio_token_of_its_run(system):
    assert system.token is trio.lowlevel.current_trio_token()


async def test_the_system_repr_counts_its_actors_and_says_whether_it_is_open():
    async with open_actor_system() as system:
        await system.spawn(Stopping, "a", [])
        assert repr(system) == "<ActorSystem 1 actors open>"

    assert repr(system) == "<ActorSystem 0 actors closed>"


async def test_an_actor_system_has_no_public_constructor():
    with pytest.raises(
        TypeError, match=re.escape("use `async with open_actor_system() as system:`")
    ):
        ActorSystem()


@pytest.mark.parametrize("timeout", [-1.0, math.nan])
async def test_open_actor_system_refuses_a_negative_or_nan_shutdown_timeout(timeout):
    with pytest.raises(
        ValueError,
        match=re.escape(f"shutdown_timeout must be a number of seconds >= 0; got {timeout!r}"),
    ):
        async with open_actor_system(shutdown_timeout=timeout):
            pass


# --- spawn input -----------------------------------------------------------------------------


class NotAnActor:
    pass


@pytest.mark.parametrize("bad", [NotAnActor, NotAnActor(), "Stopping", Stopping("x", [])])
async def test_spawn_refuses_anything_but_an_actor_subclass_naming_it(system, bad):
    with pytest.raises(TypeError, match=re.escape("spawn() takes an Actor subclass")) as caught:
        await system.spawn(bad)

    assert repr(bad) in str(caught.value)


@pytest.mark.parametrize("size", [0, -1, True, 1.5, "3"])
async def test_spawn_refuses_a_mailbox_size_that_is_not_a_positive_int_naming_it(system, size):
    rule = f"mailbox_size must be a positive int, or None for unbounded; got {size!r}"
    with pytest.raises((TypeError, ValueError), match=re.escape(rule)):
        await system.spawn(Stopping, "x", [], mailbox_size=size)


async def test_spawn_refuses_a_name_already_taken(system):
    await system.spawn(Stopping, "a", [], name="taken")

    with pytest.raises(NameTakenError, match="actor name 'taken' is already taken"):
        await system.spawn(Stopping, "b", [], name="taken")


async def test_spawn_passes_positional_and_keyword_arguments_to_the_constructor(system):
    stopped: list[object] = []

    ref = await system.spawn(Stopping, "kw", stopped=stopped)
    await ref.stop()

    assert [label for label, _ in stopped] == ["kw"]


@pytest.mark.parametrize("trap_exits", ["yes", 1, 0])
async def test_spawn_refuses_a_trap_exits_that_is_not_a_bool_or_none(system, trap_exits):
    with pytest.raises(TypeError, match=re.escape(f"got {trap_exits!r}")):
        await system.spawn(Stopping, "x", [], trap_exits=trap_exits)
