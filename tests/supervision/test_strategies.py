"""The OTP matrix: restart type x exit reason x strategy, asserting exactly which children were
restarted and in what order (every start and stop is recorded in one log)."""

import pytest
from sup_helpers import Log, make_exit, ref_of, settle, worker

from arborist.supervision import Restart, Strategy, SupervisorSpec, start_supervisor

EXITS = ["normal", "shutdown", "crash", "killed"]
OWN_STOP = {"normal": "normal", "shutdown": "shutdown", "crash": "crashed"}


def is_restarted(restart: Restart, how: str) -> bool:
    if restart is Restart.PERMANENT:
        return True
    if restart is Restart.TRANSIENT:
        return how in ("crash", "killed")
    return False


def expected_log(restart: Restart, how: str, strategy: Strategy) -> Log:
    log: Log = [] if how == "killed" else [("stop", "b", OWN_STOP[how])]
    if not is_restarted(restart, how):
        return log
    if strategy is Strategy.ONE_FOR_ONE:
        return [*log, ("start", "b")]
    if strategy is Strategy.ONE_FOR_ALL:
        return [
            *log,
            ("stop", "c", "shutdown"),
            ("stop", "a", "shutdown"),
            ("start", "a"),
            ("start", "b"),
            ("start", "c"),
        ]
    return [*log, ("stop", "c", "shutdown"), ("start", "b"), ("start", "c")]


@pytest.mark.parametrize("strategy", list(Strategy), ids=str)
@pytest.mark.parametrize("how", EXITS)
@pytest.mark.parametrize("restart", list(Restart), ids=str)
async def test_the_middle_child_exiting_restarts_exactly_the_children_otp_restarts(
    system, restart, how, strategy
):
    log: Log = []
    spec = SupervisorSpec(
        [worker("a", log), worker("b", log, restart), worker("c", log)], strategy=strategy
    )
    sup = await start_supervisor(system, spec)
    before = {info.id: info.ref for info in await sup.which_children()}
    log.clear()

    await make_exit(before["b"], how)

    assert log == expected_log(restart, how, strategy)
    after = {info.id: info for info in await sup.which_children()}
    restarted = {entry[1] for entry in log if entry[0] == "start"}
    for child_id in ("a", "c"):
        assert after[child_id].state == "running"
        assert (after[child_id].ref is before[child_id]) == (child_id not in restarted)
    if is_restarted(restart, how):
        assert after["b"].state == "running"
        assert after["b"].ref is not before["b"]
    elif restart is Restart.TEMPORARY:
        assert "b" not in after
    else:
        assert after["b"].state == "stopped"
        assert after["b"].ref is None


async def test_when_the_first_child_crashes_rest_for_one_restarts_every_child_in_start_order(
    system,
):
    log: Log = []
    spec = SupervisorSpec([worker(x, log) for x in "abc"], strategy=Strategy.REST_FOR_ONE)
    sup = await start_supervisor(system, spec)
    log.clear()

    await make_exit(await ref_of(sup, "a"), "crash")

    assert log == [
        ("stop", "a", "crashed"),
        ("stop", "c", "shutdown"),
        ("stop", "b", "shutdown"),
        ("start", "a"),
        ("start", "b"),
        ("start", "c"),
    ]


async def test_when_the_last_child_crashes_rest_for_one_restarts_only_that_child(system):
    log: Log = []
    spec = SupervisorSpec([worker(x, log) for x in "abc"], strategy=Strategy.REST_FOR_ONE)
    sup = await start_supervisor(system, spec)
    log.clear()

    await make_exit(await ref_of(sup, "c"), "crash")

    assert log == [("stop", "c", "crashed"), ("start", "c")]


async def test_one_for_all_drops_temporary_siblings_instead_of_restarting_them(system):
    log: Log = []
    spec = SupervisorSpec(
        [worker("a", log), worker("t", log, Restart.TEMPORARY), worker("c", log)],
        strategy=Strategy.ONE_FOR_ALL,
    )
    sup = await start_supervisor(system, spec)
    log.clear()

    await make_exit(await ref_of(sup, "a"), "crash")

    assert log == [
        ("stop", "a", "crashed"),
        ("stop", "c", "shutdown"),
        ("stop", "t", "shutdown"),
        ("start", "a"),
        ("start", "c"),
    ]
    assert [info.id for info in await sup.which_children()] == ["a", "c"]


async def test_one_for_all_also_starts_a_sibling_that_was_terminated_as_otp_does(system):
    log: Log = []
    spec = SupervisorSpec([worker(x, log) for x in "abc"], strategy=Strategy.ONE_FOR_ALL)
    sup = await start_supervisor(system, spec)
    await sup.terminate_child("c")
    log.clear()

    await make_exit(await ref_of(sup, "a"), "crash")

    assert log == [
        ("stop", "a", "crashed"),
        ("stop", "b", "shutdown"),
        ("start", "a"),
        ("start", "b"),
        ("start", "c"),
    ]


async def test_a_stale_exit_of_a_sibling_the_supervisor_already_stopped_is_ignored(system):
    log: Log = []
    spec = SupervisorSpec(
        [worker(x, log) for x in "ab"], strategy=Strategy.ONE_FOR_ALL, max_restarts=1
    )
    sup = await start_supervisor(system, spec)
    a, b = await ref_of(sup, "a"), await ref_of(sup, "b")
    log.clear()

    # Both crash before the supervisor runs: b's Down is queued behind a's.
    a.tell("crash")
    b.tell("crash")
    await settle()

    assert sorted(log[:2]) == [("stop", "a", "crashed"), ("stop", "b", "crashed")]
    assert log[2:] == [("start", "a"), ("start", "b")]
    assert sup.is_alive  # one restart counted, not two (max_restarts=1)
