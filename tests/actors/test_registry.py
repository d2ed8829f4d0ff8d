"""Registry: unique names, released at exit, taken by the next incarnation, reached by name."""

import re

import pytest
import trio

from arborist.actors import Actor, ActorDeadError, NameTakenError, Registry


class Echo(Actor):
    def __init__(self, tag: str = "") -> None:
        self.tag = tag

    def on_receive(self, message: object) -> object:
        if message == "boom":
            raise ValueError("boom")
        return (self.tag, message)


async def test_a_named_actor_is_found_by_its_name(system):
    ref = await system.spawn(Echo, name="echo")

    assert system.whereis("echo") is ref
    assert system.registry.whereis("echo") is ref


async def test_an_unknown_name_is_not_found(system):
    assert system.whereis("nobody") is None


async def test_a_name_held_by_a_live_actor_cannot_be_taken_again(system):
    holder = await system.spawn(Echo, name="echo")

    with pytest.raises(NameTakenError) as caught:
        await system.spawn(Echo, name="echo")

    assert str(caught.value) == (
        f"actor name 'echo' is already taken by {holder!r}; "
        "choose another name or stop the holder first"
    )
    assert (caught.value.name, caught.value.holder) == ("echo", holder)


async def test_name_taken_error_is_a_value_error(system):
    await system.spawn(Echo, name="echo")

    with pytest.raises(ValueError, match="already taken"):
        await system.spawn(Echo, name="echo")


async def test_a_refused_duplicate_never_runs_its_constructor(system):
    built: list[str] = []

    class Counted(Echo):
        def __init__(self) -> None:
            built.append("built")
            super().__init__()

    await system.spawn(Counted, name="echo")
    with pytest.raises(NameTakenError):
        await system.spawn(Counted, name="echo")

    assert built == ["built"]


async def test_the_name_is_released_when_the_actor_stops(system):
    ref = await system.spawn(Echo, name="echo")

    await ref.stop()

    assert system.whereis("echo") is None
    assert "echo" not in system.registry.names()


async def test_the_name_is_released_when_the_actor_crashes(system):
    ref = await system.spawn(Echo, name="echo")
    ref.tell("boom")

    await ref.wait_exit()

    assert system.whereis("echo") is None


async def test_a_new_incarnation_takes_the_name_of_one_that_ended(system):
    old = await system.spawn(Echo, "old", name="echo")
    await old.stop()

    new = await system.spawn(Echo, "new", name="echo")

    assert system.whereis("echo") is new
    assert new is not old


async def test_system_tell_by_name_reaches_whichever_incarnation_is_alive(system):
    log: list[object] = []

    class Logger(Actor):
        def on_receive(self, message: object) -> None:
            log.append((self.ref, message))

    old = await system.spawn(Logger, name="log")
    system.tell("log", "first")
    await old.stop()
    new = await system.spawn(Logger, name="log")
    system.tell("log", "second")
    await new.stop()

    assert log == [(old, "first"), (new, "second")]


async def test_system_ask_by_name_reaches_the_current_incarnation(system):
    old = await system.spawn(Echo, "old", name="echo")
    await old.stop()
    await system.spawn(Echo, "new", name="echo")

    assert await system.ask("echo", "hi") == ("new", "hi")


async def test_system_tell_and_ask_also_take_a_ref(system):
    ref = await system.spawn(Echo, "r")

    system.tell(ref, "told")
    assert await system.ask(ref, "asked") == ("r", "asked")


async def test_system_tell_to_an_unknown_name_raises_lookup_error_naming_it(system):
    with pytest.raises(LookupError, match="no live actor is registered as 'ghost'"):
        system.tell("ghost", "boo")


async def test_a_ref_to_a_dead_incarnation_raises_even_when_its_name_was_taken_again(system):
    old = await system.spawn(Echo, name="echo")
    await old.stop()
    await system.spawn(Echo, name="echo")

    with pytest.raises(ActorDeadError):
        old.tell("to the old one")


async def test_registry_names_lists_live_named_actors_sorted(system):
    await system.spawn(Echo, name="b")
    await system.spawn(Echo, name="a")
    await system.spawn(Echo)
    c = await system.spawn(Echo, name="c")
    await c.stop()

    assert system.registry.names() == ["a", "b"]
    assert len(system.registry) == 2


@pytest.mark.parametrize("name", ["", 42])
async def test_spawn_refuses_a_name_that_is_not_a_non_empty_string_before_constructing(
    system, name
):
    built: list[str] = []

    class Counted(Actor):
        def __init__(self) -> None:
            built.append("built")

    with pytest.raises(
        TypeError, match=re.escape(f"actor names are non-empty strings; got {name!r}")
    ):
        await system.spawn(Counted, name=name)

    assert built == []


async def test_unregister_by_a_stale_ref_keeps_the_newer_holder(system):
    old = await system.spawn(Echo)
    new = await system.spawn(Echo)
    registry = Registry()
    registry.register("x", new)

    registry.unregister("x", old)

    assert registry.whereis("x") is new


async def test_a_spawn_into_a_closed_nursery_leaves_the_name_free(system):
    async with trio.open_nursery() as closed:
        pass

    with pytest.raises(RuntimeError, match="closed"):
        await system.spawn(Echo, name="echo", nursery=closed)

    assert system.whereis("echo") is None
    assert (await system.spawn(Echo, name="echo")).name == "echo"
