"""Significant children and auto_shutdown (OTP 24): a subtree that ends when its work is done."""

from sup_helpers import Log, make_exit, ref_of, worker

from arborist.actors import Normal
from arborist.supervision import (
    AutoShutdown,
    ChildSpec,
    Restart,
    SupervisorRef,
    SupervisorSpec,
    start_supervisor,
)


def significant(child_id: str, log: Log, restart: Restart = Restart.TRANSIENT) -> ChildSpec:
    return worker(child_id, log, restart, significant=True)


async def test_any_significant_ends_the_supervisor_normally_when_one_is_done(system):
    log: Log = []
    spec = SupervisorSpec(
        [worker("helper", log), significant("job", log), worker("other", log)],
        auto_shutdown=AutoShutdown.ANY_SIGNIFICANT,
    )
    sup = await start_supervisor(system, spec)
    log.clear()

    await make_exit(await ref_of(sup, "job"), "normal")

    assert await sup.wait_exit() == Normal()
    assert log == [
        ("stop", "job", "normal"),
        ("stop", "other", "shutdown"),
        ("stop", "helper", "shutdown"),
    ]


async def test_all_significant_waits_for_the_last_significant_child(system):
    log: Log = []
    spec = SupervisorSpec(
        [significant("a", log, Restart.TEMPORARY), significant("b", log, Restart.TEMPORARY)],
        auto_shutdown=AutoShutdown.ALL_SIGNIFICANT,
    )
    sup = await start_supervisor(system, spec)

    await make_exit(await ref_of(sup, "a"), "crash")
    assert sup.is_alive
    await make_exit(await ref_of(sup, "b"), "normal")

    assert await sup.wait_exit() == Normal()


async def test_a_significant_transient_child_that_crashes_is_restarted_not_counted_as_done(
    system,
):
    spec = SupervisorSpec([significant("job", [])], auto_shutdown=AutoShutdown.ANY_SIGNIFICANT)
    sup = await start_supervisor(system, spec)

    await make_exit(await ref_of(sup, "job"), "crash")

    assert sup.is_alive
    assert [i.state for i in await sup.which_children()] == ["running"]


async def test_a_non_significant_child_finishing_does_not_end_the_supervisor(system):
    spec = SupervisorSpec(
        [worker("t", [], Restart.TRANSIENT), significant("job", [])],
        auto_shutdown=AutoShutdown.ANY_SIGNIFICANT,
    )
    sup = await start_supervisor(system, spec)

    await make_exit(await ref_of(sup, "t"), "normal")

    assert sup.is_alive


async def test_terminating_a_significant_child_does_not_trigger_auto_shutdown(system):
    spec = SupervisorSpec([significant("job", [])], auto_shutdown=AutoShutdown.ANY_SIGNIFICANT)
    sup = await start_supervisor(system, spec)

    await sup.terminate_child("job")

    assert sup.is_alive


async def test_a_finished_subtree_is_not_restarted_by_a_transient_parent_spec(system):
    log: Log = []
    inner = SupervisorSpec([significant("job", log)], auto_shutdown=AutoShutdown.ANY_SIGNIFICANT)
    root = await start_supervisor(
        system,
        SupervisorSpec([ChildSpec("batch", inner, restart=Restart.TRANSIENT), worker("w", log)]),
    )
    batch = await ref_of(root, "batch")

    await make_exit(await ref_of(SupervisorRef(batch), "job"), "normal")

    assert batch.exit_reason == Normal()
    infos = {i.id: i.state for i in await root.which_children()}
    assert infos == {"batch": "stopped", "w": "running"}
