"""Restart backoff: exact delays on the mock clock, streaks, jitter, and the intensity that
still applies."""

import random

import pytest
import trio
from sup_helpers import Log, Worker, make_exit, ref_of, settle, worker

from arborist.actors import Crashed
from arborist.supervision import (
    Backoff,
    ChildRestarted,
    ChildSpec,
    Strategy,
    SupervisorGaveUpError,
    SupervisorSpec,
    start_supervisor,
)

EXACT = Backoff(initial=1.0, factor=2.0, max=5.0, jitter=0.0)


def test_delays_grow_by_the_factor_and_stop_at_the_cap():
    rng = random.Random(0)

    assert [EXACT.delay(n, rng) for n in range(1, 7)] == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]


def test_a_huge_attempt_number_is_capped_not_an_overflow():
    assert EXACT.delay(100_000, random.Random(0)) == 5.0


def test_jitter_drops_a_random_part_of_the_delay_up_to_its_fraction():
    backoff = Backoff(initial=1.0, factor=1.0, max=10.0, jitter=0.5)
    rng = random.Random(1)

    delays = [backoff.delay(1, rng) for _ in range(200)]

    assert all(0.5 <= d <= 1.0 for d in delays)
    assert len(set(delays)) == 200
    assert min(delays) < 0.6
    assert max(delays) > 0.9


def test_full_jitter_draws_anywhere_below_the_delay():
    backoff = Backoff(initial=2.0, factor=1.0, max=2.0, jitter=True)
    rng = random.Random(3)

    delays = [backoff.delay(1, rng) for _ in range(200)]

    assert backoff.jitter == 1.0
    assert all(0.0 <= d <= 2.0 for d in delays)
    assert min(delays) < 0.2
    assert max(delays) > 1.8


def test_an_infinite_max_means_no_cap():
    uncapped = Backoff(initial=1.0, factor=10.0, max=float("inf"), jitter=0.0)

    assert uncapped.delay(4) == 1000.0


def test_reset_after_defaults_to_the_cap():
    assert EXACT.reset_after == 5.0


async def test_a_crash_loop_waits_the_exact_backoff_before_each_restart(system, autojump_clock):
    spec = SupervisorSpec([worker("a", [])], backoff=EXACT, max_restarts=10, max_seconds=100)
    sup = await start_supervisor(system, spec)
    restarts = []
    restarted = trio.Event()

    def on_event(event):
        nonlocal restarted
        if isinstance(event, ChildRestarted):
            restarts.append((event.time, event.delay))
            restarted.set()

    sup.subscribe(on_event)

    for _ in range(5):
        restarted = trio.Event()
        await make_exit(await ref_of(sup, "a"), "crash")
        await restarted.wait()

    assert restarts == [(1.0, 1.0), (3.0, 2.0), (7.0, 4.0), (12.0, 5.0), (17.0, 5.0)]


async def test_during_the_backoff_the_child_is_restarting_without_a_ref(system, autojump_clock):
    spec = SupervisorSpec([worker("a", [])], backoff=EXACT)
    sup = await start_supervisor(system, spec)

    await make_exit(await ref_of(sup, "a"), "crash")

    [info] = await sup.which_children()
    assert (info.state, info.ref) == ("restarting", None)
    assert (await sup.count_children()).active == 0
    await trio.sleep(1.0)
    await settle()
    assert [i.state for i in await sup.which_children()] == ["running"]


async def test_an_incarnation_that_ran_long_enough_starts_a_new_streak(system, autojump_clock):
    spec = SupervisorSpec([worker("a", [])], backoff=EXACT, max_restarts=10)
    sup = await start_supervisor(system, spec)
    delays = []
    sup.subscribe(lambda e: isinstance(e, ChildRestarted) and delays.append(e.delay))
    await make_exit(await ref_of(sup, "a"), "crash")
    await trio.sleep(1.0)
    await settle()
    await make_exit(await ref_of(sup, "a"), "crash")  # ran 0 s: the streak goes on
    await trio.sleep(2.0)
    await settle()
    await trio.sleep(5.0)  # runs 5 s = reset_after

    await make_exit(await ref_of(sup, "a"), "crash")
    await trio.sleep(1.0)
    await settle()

    assert delays == [1.0, 2.0, 1.0]


async def test_the_intensity_is_counted_when_the_restart_is_decided_not_after_the_delay(
    system, autojump_clock
):
    spec = SupervisorSpec([worker("a", [])], backoff=EXACT, max_restarts=1)
    sup = await start_supervisor(system, spec)
    await make_exit(await ref_of(sup, "a"), "crash")
    await trio.sleep(1.0)
    await settle()

    await make_exit(await ref_of(sup, "a"), "crash")

    reason = await sup.wait_exit()
    assert trio.current_time() == 1.0
    assert isinstance(reason.exc, SupervisorGaveUpError)


async def test_terminating_a_child_during_its_backoff_cancels_the_restart(system, autojump_clock):
    log: Log = []
    sup = await start_supervisor(system, SupervisorSpec([worker("a", log)], backoff=EXACT))
    await make_exit(await ref_of(sup, "a"), "crash")

    await sup.terminate_child("a")
    await trio.sleep(10.0)

    assert [i.state for i in await sup.which_children()] == ["stopped"]
    assert log == [("start", "a"), ("stop", "a", "crashed")]


async def test_one_for_all_stops_siblings_at_once_and_restarts_all_after_the_delay(
    system, autojump_clock
):
    log: Log = []
    spec = SupervisorSpec(
        [ChildSpec(x, Worker, (x, log)) for x in "abc"],
        strategy=Strategy.ONE_FOR_ALL,
        backoff=EXACT,
    )
    sup = await start_supervisor(system, spec)
    log.clear()

    await make_exit(await ref_of(sup, "b"), "crash")
    assert log == [("stop", "b", "crashed"), ("stop", "c", "shutdown"), ("stop", "a", "shutdown")]
    assert {i.state for i in await sup.which_children()} == {"restarting"}
    await trio.sleep(1.0)
    await settle()

    assert log[3:] == [("start", "a"), ("start", "b"), ("start", "c")]


class FailsAfterFirst(Worker):
    starts = 0

    async def on_start(self) -> None:
        type(self).starts += 1
        self.log.append(("start attempt", type(self).starts))
        if type(self).starts > 1:
            raise ValueError("cannot come back")


async def test_a_child_failing_to_restart_is_retried_as_counted_restarts_until_give_up(system):
    log: Log = []
    FailsAfterFirst.starts = 0
    spec = SupervisorSpec([ChildSpec("a", FailsAfterFirst, ("a", log))], max_restarts=3)
    sup = await start_supervisor(system, spec)

    await make_exit(await ref_of(sup, "a"), "crash")
    await settle()

    reason = await sup.wait_exit()
    assert isinstance(reason, Crashed)
    assert isinstance(reason.exc, SupervisorGaveUpError)
    assert [entry for entry in log if entry[0] == "start attempt"] == [
        ("start attempt", n) for n in range(1, 5)
    ]


async def test_a_failed_restart_waits_a_longer_backoff_before_the_retry(system, autojump_clock):
    log: Log = []
    FailsAfterFirst.starts = 0
    spec = SupervisorSpec(
        [ChildSpec("a", FailsAfterFirst, ("a", log))], backoff=EXACT, max_restarts=2
    )
    sup = await start_supervisor(system, spec)

    await make_exit(await ref_of(sup, "a"), "crash")
    reason = await sup.wait_exit()

    # restart 1 after 1 s fails; retry (restart 2) after 2 s more fails; retry 3 gives up.
    assert trio.current_time() == 3.0
    assert isinstance(reason.exc, SupervisorGaveUpError)


@pytest.mark.parametrize(
    "bad", [{"initial": -1.0}, {"max": float("nan")}, {"reset_after": 0.0}, {"jitter": 1.5}]
)
def test_backoff_rejects_bad_numbers(bad):
    with pytest.raises(ValueError, match="Backoff"):
        Backoff(**bad)


async def test_a_restart_due_while_the_system_closes_does_not_crash_the_supervisor(
    autojump_clock,
):
    from arborist.actors import Shutdown, open_actor_system

    async with open_actor_system(shutdown_timeout=5.0) as system:
        every_second = Backoff(initial=1.0, factor=1.0, max=1.0, jitter=0.0)
        spec = SupervisorSpec([worker("a", [])], backoff=every_second)
        sup = await start_supervisor(system, spec)
        slow = await system.spawn(Worker, "slow", [])  # shut down first, takes 5 s
        slow.tell(("hang", 100.0))
        await make_exit(await ref_of(sup, "a"), "crash")
        # leaving the block closes the system; restarts fall due while `slow` is stopping:
        # they must not be retried (and counted) until the supervisor gives up

    assert sup.ref.exit_reason == Shutdown()


def failing_restarts(failures: int) -> type[Worker]:
    """A worker class whose restarts (not its first start) fail ``failures`` times."""

    class FailsToRestart(Worker):
        starts = 0

        async def on_start(self) -> None:
            type(self).starts += 1
            if 1 < type(self).starts <= 1 + failures:
                self.log.append(("failed start", self.child_id))
                raise ValueError(f"{self.child_id} cannot come back")
            await super().on_start()

    return FailsToRestart


@pytest.mark.parametrize("strategy", [Strategy.ONE_FOR_ALL, Strategy.REST_FOR_ONE], ids=str)
async def test_a_sibling_failing_to_restart_is_retried_as_counted_restarts_until_give_up(
    system, strategy
):
    log: Log = []
    spec = SupervisorSpec(
        [worker("a", log), ChildSpec("b", failing_restarts(100), ("b", log))],
        strategy=strategy,
        max_restarts=3,
    )
    sup = await start_supervisor(system, spec)

    await make_exit(await ref_of(sup, "a"), "crash")
    reason = await sup.wait_exit()

    assert isinstance(reason, Crashed)
    assert isinstance(reason.exc, SupervisorGaveUpError)
    assert reason.exc.child_id == "b"
    assert isinstance(reason.exc.__cause__, ValueError)
    assert "b cannot come back" in str(reason.exc)
    assert log.count(("failed start", "b")) == 3  # the restart, then 2 retries; the 4th is over


@pytest.mark.parametrize("strategy", [Strategy.ONE_FOR_ALL, Strategy.REST_FOR_ONE], ids=str)
async def test_a_sibling_that_fails_to_restart_once_is_retried_and_the_tree_heals(
    system, strategy
):
    log: Log = []
    spec = SupervisorSpec(
        [worker("a", log), ChildSpec("b", failing_restarts(1), ("b", log))],
        strategy=strategy,
        max_restarts=3,
    )
    sup = await start_supervisor(system, spec)
    log.clear()

    await make_exit(await ref_of(sup, "a"), "crash")
    await settle()

    assert sup.is_alive
    assert [info.state for info in await sup.which_children()] == ["running", "running"]
    assert ("failed start", "b") in log
    assert log[-1] == ("start", "b")
