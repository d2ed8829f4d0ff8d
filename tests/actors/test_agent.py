"""Agent: a state holder that applies functions of its state one at a time."""

import pytest
import trio

from arborist.actors import (
    ActorDeadError,
    ActorDiedError,
    ActorSystem,
    Agent,
    AgentRef,
    Crashed,
    Normal,
    spawn_agent,
)


async def test_get_returns_the_initial_state(system: ActorSystem):
    agent = await spawn_agent(system, 7)
    assert await agent.get() == 7


async def test_get_with_a_function_returns_the_function_of_the_state(system: ActorSystem):
    agent = await spawn_agent(system, {"a": 1, "b": 2})
    assert await agent.get(sorted) == ["a", "b"]


async def test_update_replaces_the_state_with_the_function_of_the_state(system: ActorSystem):
    agent = await spawn_agent(system, 1)
    assert await agent.update(lambda n: n * 10) is None
    assert await agent.get() == 10


async def test_get_and_update_returns_the_reply_and_keeps_the_new_state(system: ActorSystem):
    agent = await spawn_agent(system, [1, 2, 3])
    assert await agent.get_and_update(lambda xs: (xs[0], xs[1:])) == 1
    assert await agent.get() == [2, 3]


async def test_a_cast_is_applied_before_a_later_get_from_the_same_task(system: ActorSystem):
    agent = await spawn_agent(system, "a")
    agent.cast(lambda s: s + "b")
    agent.cast(lambda s: s + "c")
    assert await agent.get() == "abc"


async def test_a_hundred_concurrent_increments_give_exactly_a_hundred(system: ActorSystem):
    agent = await spawn_agent(system, 0)

    async def increment() -> None:
        await trio.lowlevel.checkpoint()  # interleave the callers
        await agent.update(lambda n: n + 1)

    async with trio.open_nursery() as nursery:
        for _ in range(100):
            nursery.start_soon(increment)
    assert await agent.get() == 100


async def test_a_raising_update_crashes_the_agent_and_chains_the_error_to_the_caller(
    system: ActorSystem,
):
    agent = await spawn_agent(system, 0)
    with pytest.raises(ActorDiedError) as info:
        await agent.update(lambda n: 1 / n)
    assert isinstance(info.value.__cause__, ZeroDivisionError)
    assert await agent.ref.wait_exit() == Crashed(info.value.__cause__)
    assert not agent.is_alive


async def test_requests_to_a_crashed_agent_raise_actor_dead_error(system: ActorSystem):
    agent = await spawn_agent(system, 0)
    agent.cast(lambda n: n.missing)
    assert isinstance(await agent.ref.wait_exit(), Crashed)
    with pytest.raises(ActorDeadError):
        await agent.get()
    with pytest.raises(ActorDeadError):
        agent.cast(lambda n: n)


async def test_get_and_update_whose_function_returns_no_pair_crashes_the_agent_naming_the_rule(
    system: ActorSystem,
):
    agent = await spawn_agent(system, 0)
    with pytest.raises(ActorDiedError) as info:
        await agent.get_and_update(lambda n: n + 1)
    assert isinstance(info.value.__cause__, TypeError)
    assert "must return a (reply, new_state) pair; it returned 1" in str(info.value.__cause__)


async def test_stop_ends_the_agent_normally(system: ActorSystem):
    agent = await spawn_agent(system, 0)
    assert await agent.stop() == Normal()
    assert not agent.is_alive


async def test_a_named_agent_is_reached_by_wrapping_the_ref_found_by_name(system: ActorSystem):
    await spawn_agent(system, "v1", name="config")
    ref = system.whereis("config")
    assert ref is not None
    assert await AgentRef(ref).get() == "v1"


async def test_an_agent_spawned_with_system_spawn_can_be_wrapped(system: ActorSystem):
    ref = await system.spawn(Agent, 3)
    assert await AgentRef[int](ref).get(lambda n: n + 1) == 4


async def test_agent_ref_repr_shows_the_actor_ref(system: ActorSystem):
    agent = await spawn_agent(system, 0, name="n")
    assert repr(agent) == f"<AgentRef of <ActorRef Agent#{agent.ref.id} 'n' alive>>"


async def test_agent_ref_refuses_the_ref_of_an_actor_that_is_not_an_agent(system: ActorSystem):
    from arborist.actors import Actor

    class Other(Actor):
        pass

    ref = await system.spawn(Other)
    with pytest.raises(TypeError, match="AgentRef wraps the ref of an Agent; got <ActorRef Other"):
        AgentRef(ref)


async def test_an_async_function_is_refused_at_the_call(system: ActorSystem):
    agent = await spawn_agent(system, 0)

    async def add_one(n: int) -> int:
        return n + 1

    with pytest.raises(TypeError, match=r"update\(\) takes a plain function.*is `async def`"):
        await agent.update(add_one)  # type: ignore[arg-type]
    assert agent.is_alive


async def test_a_value_that_is_not_a_function_is_refused_at_the_call(system: ActorSystem):
    agent = await spawn_agent(system, 0)
    with pytest.raises(TypeError, match=r"cast\(\) takes a function of the state; got 5"):
        agent.cast(5)  # type: ignore[arg-type]


async def test_a_message_told_to_an_agent_outside_its_protocol_crashes_it(system: ActorSystem):
    agent = await spawn_agent(system, 0)
    with pytest.raises(ActorDiedError) as info:
        await agent.ref.ask("hello")
    assert "takes requests only through AgentRef" in str(info.value.__cause__)
