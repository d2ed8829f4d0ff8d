"""DynamicSupervisor: children at run time, max_children, one child per key, restarts, stop."""

import pytest
import trio
from sup_helpers import FailingWorker, Log, Worker, make_exit, settle, worker

from arborist.actors import ActorRef, Crashed
from arborist.supervision import (
    ChildNotFoundError,
    ChildSpec,
    ChildStartError,
    DynamicSupervisorRef,
    DynamicSupervisorSpec,
    Restart,
    SupervisorGaveUpError,
    SupervisorSpec,
    TooManyChildrenError,
    start_dynamic_supervisor,
    start_supervisor,
)


async def test_a_dynamic_supervisor_starts_with_no_children_and_adds_them_from_specs(system):
    log: Log = []
    dyn = await start_dynamic_supervisor(system)

    a = await dyn.start_child(worker("a", log))
    b = await dyn.start_child(worker("b", log))

    assert [(i.id, i.ref, i.state) for i in await dyn.which_children()] == [
        ("a", a, "running"),
        ("b", b, "running"),
    ]
    assert log == [("start", "a"), ("start", "b")]


async def test_start_child_with_arguments_extends_the_template(system):
    log: Log = []
    dyn = await start_dynamic_supervisor(
        system, DynamicSupervisorSpec(ChildSpec("user", Worker, ()))
    )

    await dyn.start_child("u1", log)

    assert log == [("start", "u1")]


async def test_start_child_without_a_spec_or_template_says_what_to_pass(system):
    dyn = await start_dynamic_supervisor(system)

    with pytest.raises(TypeError, match=r"start_child\('x'\): .* has no template .* a ChildSpec"):
        await dyn.start_child("x")


async def test_children_may_share_an_id_and_are_addressed_by_ref(system):
    log: Log = []
    dyn = await start_dynamic_supervisor(system)
    first = await dyn.start_child(worker("w", log))
    second = await dyn.start_child(worker("w", log))

    await dyn.terminate_child(first)

    assert [i.ref for i in await dyn.which_children()] == [second]
    assert log == [("start", "w"), ("start", "w"), ("stop", "w", "shutdown")]


async def test_terminating_a_ref_that_is_not_a_child_raises_not_found(system):
    dyn = await start_dynamic_supervisor(system, name="users")
    stranger = await system.spawn(Worker, "s", [])

    with pytest.raises(ChildNotFoundError, match="supervisor 'users' has no child"):
        await dyn.terminate_child(stranger)


async def test_max_children_refuses_one_more_saying_the_limit(system):
    dyn = await start_dynamic_supervisor(system, DynamicSupervisorSpec(max_children=2))
    await dyn.start_child(worker("a", []))
    await dyn.start_child(worker("b", []))

    with pytest.raises(TooManyChildrenError, match="max_children=2") as caught:
        await dyn.start_child(worker("c", []))

    assert caught.value.max_children == 2
    assert (await dyn.count_children()).specs == 2


async def test_max_children_counts_a_child_that_is_waiting_to_restart(system, autojump_clock):
    from arborist.supervision import Backoff

    spec = DynamicSupervisorSpec(
        max_children=1, backoff=Backoff(initial=1.0, factor=1.0, max=1.0, jitter=0.0)
    )
    dyn = await start_dynamic_supervisor(system, spec)
    ref = await dyn.start_child(worker("a", []))
    await make_exit(ref, "crash")
    assert [i.state for i in await dyn.which_children()] == ["restarting"]

    with pytest.raises(TooManyChildrenError):
        await dyn.start_child(worker("b", []))


async def test_a_crashed_dynamic_child_is_restarted_alone(system):
    log: Log = []
    dyn = await start_dynamic_supervisor(system)
    a = await dyn.start_child(worker("a", log))
    b = await dyn.start_child(worker("b", log))
    log.clear()

    await make_exit(a, "crash")

    infos = await dyn.which_children()
    assert log == [("stop", "a", "crashed"), ("start", "a")]
    assert infos[1].ref is b
    assert infos[0].ref is not a


async def test_a_dynamic_child_that_exits_for_good_is_forgotten(system):
    dyn = await start_dynamic_supervisor(system)
    ref = await dyn.start_child(worker("t", [], Restart.TRANSIENT))

    await make_exit(ref, "normal")

    assert await dyn.which_children() == []


async def test_a_failing_start_child_raises_and_keeps_nothing(system):
    dyn = await start_dynamic_supervisor(system)

    with pytest.raises(ChildStartError, match="could not start child 'x'"):
        await dyn.start_child(ChildSpec("x", FailingWorker, ("x", [])))

    assert await dyn.which_children() == []


async def test_get_or_start_from_two_concurrent_callers_starts_one_child(system, autojump_clock):
    log: Log = []
    dyn = await start_dynamic_supervisor(system)
    refs: list[ActorRef] = []

    def factory(key):
        return ChildSpec(key, Worker, (key, log, 1.0))  # a slow start widens the race

    async def caller() -> None:
        refs.append(await dyn.get_or_start("user-1", factory))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(caller)
        nursery.start_soon(caller)

    assert refs[0] is refs[1]
    assert log == [("start", "user-1")]
    assert len(await dyn.which_children()) == 1


async def test_get_or_start_with_the_template_passes_the_key(system):
    log: Log = []
    dyn = await start_dynamic_supervisor(system, DynamicSupervisorSpec(ChildSpec("u", Worker)))

    ref = await dyn.get_or_start("alice", ChildSpec("alice", Worker, ("alice", log)))
    again = await dyn.get_or_start("alice")

    assert again is ref
    other = await dyn.get_or_start("bob", lambda key: ChildSpec(key, Worker, (key, log)))
    assert other is not ref
    assert log == [("start", "alice"), ("start", "bob")]


async def test_get_or_start_follows_a_keyed_child_across_its_restart(system, autojump_clock):
    from arborist.supervision import Backoff

    log: Log = []
    spec = DynamicSupervisorSpec(backoff=Backoff(initial=2.0, factor=1.0, max=2.0, jitter=0.0))
    dyn = await start_dynamic_supervisor(system, spec)
    first = await dyn.get_or_start("k", ChildSpec("k", Worker, ("k", log)))
    await make_exit(first, "crash")

    second = await dyn.get_or_start("k")  # waits out the 2 s backoff

    assert trio.current_time() == 2.0
    assert second is not first
    assert second.is_alive


async def test_a_terminated_keyed_child_is_started_afresh_by_get_or_start(system):
    log: Log = []
    dyn = await start_dynamic_supervisor(system)
    spec = ChildSpec("k", Worker, ("k", log))
    first = await dyn.get_or_start("k", spec)

    await dyn.terminate_child(first)
    second = await dyn.get_or_start("k", spec)

    assert second is not first
    assert log == [("start", "k"), ("stop", "k", "shutdown"), ("start", "k")]


async def test_a_dynamic_supervisor_gives_up_past_its_intensity(system):
    dyn = await start_dynamic_supervisor(system, DynamicSupervisorSpec(max_restarts=1))
    ref = await dyn.start_child(worker("a", []))
    await make_exit(ref, "crash")

    await make_exit((await dyn.which_children())[0].ref, "crash")

    reason = await dyn.wait_exit()
    assert isinstance(reason, Crashed)
    assert isinstance(reason.exc, SupervisorGaveUpError)


async def test_stopping_a_dynamic_supervisor_shuts_its_children_down_concurrently(
    system, autojump_clock
):
    dyn = await start_dynamic_supervisor(system)
    refs = [await dyn.start_child(worker(x, [], shutdown=3.0)) for x in "abc"]
    for ref in refs:
        ref.tell(("hang", 100.0))
    await settle()

    await dyn.shutdown()

    assert trio.current_time() == 3.0  # not 9.0: each got its 3 s at the same time
    assert not any(ref.is_alive for ref in refs)


async def test_a_dynamic_supervisor_nests_under_a_static_one(system):
    root = await start_supervisor(
        system, SupervisorSpec([ChildSpec("users", DynamicSupervisorSpec(max_children=5))])
    )
    users = DynamicSupervisorRef((await root.which_children())[0].ref)

    await users.start_child(worker("u", []))

    tree = await root.tree()
    assert [node.id for _, node in tree.walk()] == ["Supervisor", "users", "u"]


def test_dynamic_spec_validation_names_the_rule():
    with pytest.raises(ValueError, match="max_children must be an int >= 0"):
        DynamicSupervisorSpec(max_children=-1)
    with pytest.raises(TypeError, match="template must be a ChildSpec"):
        DynamicSupervisorSpec(Worker)


async def test_a_dynamic_supervisor_ref_only_wraps_a_dynamic_supervisor(system):
    ref = await system.spawn(Worker, "w", [])

    with pytest.raises(TypeError, match="DynamicSupervisorRef wraps the ActorRef of a Dynamic"):
        DynamicSupervisorRef(ref)
