"""Links: non-normal exits propagate both ways, trap_exits turns them into Exit messages."""

import pytest
import trio
import trio.testing

from arborist.actors import Actor, ActorRef, Crashed, Exit, Killed, Normal


class Linker(Actor):
    """Links to or unlinks from the refs it is given; records Exit messages when trapping."""

    def __init__(self, exits: list[Exit] | None = None) -> None:
        self.exits = exits if exits is not None else []

    def on_receive(self, message: object) -> None:
        match message:
            case ("link", ActorRef() as other):
                self.link(other)
            case ("unlink", ActorRef() as other):
                self.unlink(other)
            case Exit():
                self.exits.append(message)
            case "boom":
                raise ValueError("boom")


class Trapper(Linker):
    trap_exits = True


async def test_a_crash_kills_a_non_trapping_linked_actor_with_the_same_reason(system):
    partner = await system.spawn(Linker)
    doomed = await system.spawn(Linker)
    await partner.ask(("link", doomed))

    doomed.tell("boom")
    crash = await doomed.wait_exit()

    assert isinstance(crash, Crashed)
    assert await partner.wait_exit() == crash


async def test_links_are_bidirectional(system):
    partner = await system.spawn(Linker)
    doomed = await system.spawn(Linker)
    await doomed.ask(("link", partner))

    partner.tell("boom")

    assert isinstance(await doomed.wait_exit(), Crashed)


async def test_a_killed_actor_kills_its_non_trapping_link(system):
    partner = await system.spawn(Linker)
    doomed = await system.spawn(Linker)
    await partner.ask(("link", doomed))

    doomed.kill()

    assert await partner.wait_exit() == Killed()


async def test_a_trapping_actor_receives_exit_with_the_ref_and_reason_and_lives_on(system):
    exits: list[Exit] = []
    trapper = await system.spawn(Trapper, exits)
    doomed = await system.spawn(Linker)
    await trapper.ask(("link", doomed))

    doomed.tell("boom")
    reason = await doomed.wait_exit()
    await trapper.ask("sync")

    assert exits == [Exit(doomed, reason)]
    assert trapper.is_alive


async def test_trap_exits_can_be_set_at_spawn(system):
    exits: list[Exit] = []
    trapper = await system.spawn(Linker, exits, trap_exits=True)
    doomed = await system.spawn(Linker)
    await trapper.ask(("link", doomed))

    doomed.tell("boom")
    await doomed.wait_exit()
    await trapper.ask("sync")

    assert [exit.ref for exit in exits] == [doomed]


async def test_a_trapping_actor_also_receives_exit_for_a_normal_exit(system):
    exits: list[Exit] = []
    trapper = await system.spawn(Trapper, exits)
    other = await system.spawn(Linker)
    await trapper.ask(("link", other))

    await other.stop()
    await trapper.ask("sync")

    assert exits == [Exit(other, Normal())]


async def test_a_normal_exit_does_not_kill_a_linked_actor(system):
    partner = await system.spawn(Linker)
    other = await system.spawn(Linker)
    await partner.ask(("link", other))

    await other.stop()
    await trio.testing.wait_all_tasks_blocked()

    assert partner.is_alive


async def test_after_unlink_a_crash_does_not_propagate(system):
    partner = await system.spawn(Linker)
    doomed = await system.spawn(Linker)
    await partner.ask(("link", doomed))
    await partner.ask(("unlink", doomed))

    doomed.tell("boom")
    await doomed.wait_exit()
    await trio.testing.wait_all_tasks_blocked()

    assert partner.is_alive


async def test_unlink_from_the_other_side_removes_the_link_both_ways(system):
    partner = await system.spawn(Linker)
    doomed = await system.spawn(Linker)
    await partner.ask(("link", doomed))
    await doomed.ask(("unlink", partner))

    doomed.tell("boom")
    await doomed.wait_exit()
    await trio.testing.wait_all_tasks_blocked()

    assert partner.is_alive


async def test_linking_to_an_actor_that_already_crashed_kills_at_once(system):
    doomed = await system.spawn(Linker)
    doomed.tell("boom")
    crash = await doomed.wait_exit()
    partner = await system.spawn(Linker)

    partner.tell(("link", doomed))

    assert await partner.wait_exit() == crash


async def test_an_actor_cannot_link_to_itself(system):
    class Narcissus(Actor):
        def on_receive(self, message: object) -> None:
            self.link(self.ref)

    ref = await system.spawn(Narcissus)

    with pytest.raises(Exception) as caught:  # noqa: PT011 - the cause is checked below
        await ref.ask("go")

    assert isinstance(caught.value.__cause__, ValueError)
    assert str(caught.value.__cause__) == "an actor cannot link to itself"


async def test_a_crash_propagates_along_a_chain_of_links(system):
    first = await system.spawn(Linker)
    middle = await system.spawn(Linker)
    last = await system.spawn(Linker)
    await first.ask(("link", middle))
    await middle.ask(("link", last))

    last.tell("boom")
    crash = await last.wait_exit()

    assert await middle.wait_exit() == crash
    assert await first.wait_exit() == crash


async def test_an_actor_taken_down_by_a_link_runs_no_hooks(system):
    hooks: list[str] = []

    class Hooked(Linker):
        def on_failure(self, exc: BaseException) -> None:
            hooks.append("on_failure")

        def on_stop(self, reason: object) -> None:
            hooks.append("on_stop")

    partner = await system.spawn(Hooked)
    doomed = await system.spawn(Linker)
    await partner.ask(("link", doomed))

    doomed.tell("boom")
    await partner.wait_exit()

    assert hooks == []
