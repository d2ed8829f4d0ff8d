"""Supervisor: ordered start and stop, start failures, shutdown kinds, intensity and escalation,
names across restarts, runtime child management and events."""

import math

import pytest
import trio
import trio.testing
from sup_helpers import FailingWorker, Log, Worker, make_exit, ref_of, settle, worker

from arborist.actors import ActorStartError, Crashed, Killed, Normal, Shutdown
from arborist.supervision import (
    BRUTAL,
    INFINITY,
    ChildExistsError,
    ChildExited,
    ChildNotFoundError,
    ChildRestarted,
    ChildSpec,
    ChildStarted,
    ChildStartError,
    ChildStateError,
    Kind,
    Restart,
    Strategy,
    SupervisorGaveUp,
    SupervisorGaveUpError,
    SupervisorRef,
    SupervisorSpec,
    start_supervisor,
)

# --- ordered start and stop -------------------------------------------------------------------


async def test_children_start_one_after_another_each_once_its_on_start_returned(
    system, autojump_clock
):
    log: Log = []
    spec = SupervisorSpec(
        [ChildSpec(x, Worker, (x, log, 1.0)) for x in "abc"]  # each on_start takes 1 s
    )

    await start_supervisor(system, spec)

    assert log == [("start", "a"), ("start", "b"), ("start", "c")]
    assert trio.current_time() == 3.0


async def test_a_supervisor_stops_its_children_in_reverse_start_order(system):
    log: Log = []
    sup = await start_supervisor(system, SupervisorSpec([worker(x, log) for x in "abc"]))
    log.clear()

    reason = await sup.shutdown()

    assert reason == Shutdown()
    assert log == [("stop", "c", "shutdown"), ("stop", "b", "shutdown"), ("stop", "a", "shutdown")]


async def test_a_child_failing_to_start_fails_the_start_naming_it_and_stops_the_started_ones(
    system,
):
    log: Log = []
    spec = SupervisorSpec(
        [worker("a", log), ChildSpec("b", FailingWorker, ("b", log)), worker("c", log)]
    )

    with pytest.raises(ChildStartError) as caught:
        await start_supervisor(system, spec, name="app")

    error = caught.value
    assert error.child_id == "b"
    assert str(error) == "supervisor 'app' could not start child 'b': ValueError: b cannot start"
    assert isinstance(error.__cause__, ValueError)
    assert isinstance(error, ActorStartError)
    assert log == [("start", "a"), ("failing start", "b"), ("stop", "a", "shutdown")]
    assert system.whereis("app") is None


async def test_a_nested_start_failure_chains_each_supervisor_down_to_the_cause(system):
    log: Log = []
    inner = SupervisorSpec([ChildSpec("db", FailingWorker, ("db", log))])
    spec = SupervisorSpec([worker("a", log), ChildSpec("sub", inner)])

    with pytest.raises(ChildStartError) as caught:
        await start_supervisor(system, spec, name="app")

    assert caught.value.child_id == "sub"
    assert isinstance(caught.value.__cause__, ChildStartError)
    assert caught.value.__cause__.child_id == "db"
    assert isinstance(caught.value.__cause__.__cause__, ValueError)
    assert log == [("start", "a"), ("failing start", "db"), ("stop", "a", "shutdown")]


# --- shutdown kinds ---------------------------------------------------------------------------


async def test_a_child_ignoring_shutdown_is_killed_after_exactly_its_shutdown_time(
    system, autojump_clock
):
    log: Log = []
    sup = await start_supervisor(system, SupervisorSpec([worker("a", log, shutdown=2.5)]))
    ref = await ref_of(sup, "a")
    ref.tell(("hang", 100.0))
    await settle()
    started = trio.current_time()

    await sup.terminate_child("a")

    assert trio.current_time() - started == 2.5
    assert ref.exit_reason == Killed()
    assert ("stop", "a", "shutdown") not in log


async def test_a_worker_gets_five_seconds_to_stop_by_default(system, autojump_clock):
    sup = await start_supervisor(system, SupervisorSpec([worker("a", [])]))
    ref = await ref_of(sup, "a")
    ref.tell(("hang", 100.0))
    await settle()

    await sup.terminate_child("a")

    assert trio.current_time() == 5.0
    assert ref.exit_reason == Killed()


async def test_a_brutal_child_is_killed_at_once_without_its_on_stop(system, autojump_clock):
    log: Log = []
    sup = await start_supervisor(system, SupervisorSpec([worker("a", log, shutdown=BRUTAL)]))
    ref = await ref_of(sup, "a")
    log.clear()

    await sup.terminate_child("a")

    assert trio.current_time() == 0.0
    assert ref.exit_reason == Killed()
    assert log == []


async def test_an_infinity_child_is_waited_for_as_long_as_it_takes(system, autojump_clock):
    log: Log = []
    sup = await start_supervisor(system, SupervisorSpec([worker("a", log, shutdown=INFINITY)]))
    ref = await ref_of(sup, "a")
    ref.tell(("hang", 1000.0))
    await settle()

    await sup.terminate_child("a")

    assert trio.current_time() == 1000.0
    assert ref.exit_reason == Shutdown()
    assert log[-1] == ("stop", "a", "shutdown")


# --- intensity --------------------------------------------------------------------------------


async def crash_at(sup: SupervisorRef, child_id: str, when: float) -> None:
    await trio.sleep_until(when)
    await make_exit(await ref_of(sup, child_id), "crash")


async def test_a_restart_exactly_max_seconds_after_the_first_still_counts(system, autojump_clock):
    spec = SupervisorSpec([worker("a", [])], max_restarts=3, max_seconds=5.0)
    sup = await start_supervisor(system, spec)
    for when in (1.0, 2.0, 3.0):
        await crash_at(sup, "a", when)
    assert sup.is_alive

    await crash_at(sup, "a", 6.0)  # 6.0 - 1.0 == max_seconds: the first restart counts

    reason = await sup.wait_exit()
    assert isinstance(reason, Crashed)
    assert isinstance(reason.exc, SupervisorGaveUpError)


async def test_a_restart_just_past_max_seconds_after_the_first_no_longer_counts_it(
    system, autojump_clock
):
    spec = SupervisorSpec([worker("a", [])], max_restarts=3, max_seconds=5.0)
    sup = await start_supervisor(system, spec)
    for when in (1.0, 2.0, 3.0):
        await crash_at(sup, "a", when)

    await crash_at(sup, "a", 6.0 + 2**-20)

    assert sup.is_alive
    assert [info.state for info in await sup.which_children()] == ["running"]


async def test_max_restarts_zero_gives_up_on_the_first_restart(system):
    log: Log = []
    sup = await start_supervisor(system, SupervisorSpec([worker("a", log)], max_restarts=0))

    await make_exit(await ref_of(sup, "a"), "crash")

    assert isinstance((await sup.wait_exit()).exc, SupervisorGaveUpError)
    assert log == [("start", "a"), ("stop", "a", "crashed")]


async def test_giving_up_stops_every_child_in_reverse_order_and_names_the_culprit(system):
    log: Log = []
    spec = SupervisorSpec([worker(x, log) for x in "abc"], max_restarts=1)
    sup = await start_supervisor(system, spec, name="app")
    await make_exit(await ref_of(sup, "b"), "crash")
    log.clear()

    await make_exit(await ref_of(sup, "b"), "crash")

    reason = await sup.wait_exit()
    assert log == [("stop", "b", "crashed"), ("stop", "c", "shutdown"), ("stop", "a", "shutdown")]
    error = reason.exc
    assert isinstance(error, SupervisorGaveUpError)
    assert (error.supervisor, error.child_id, error.max_restarts) == ("'app'", "b", 1)
    assert isinstance(error.reason, Crashed)
    assert isinstance(error.__cause__, ValueError)
    assert str(error) == (
        "supervisor 'app' gave up: more than 1 restarts within 5 s; "
        "the last was child 'b' (crashed: ValueError: b crashed)"
    )


async def test_a_permanent_child_that_keeps_exiting_normally_is_restarted_and_counted(system):
    log: Log = []
    sup = await start_supervisor(system, SupervisorSpec([worker("a", log)], max_restarts=2))

    for _ in range(2):
        await make_exit(await ref_of(sup, "a"), "normal")
    assert sup.is_alive
    await make_exit(await ref_of(sup, "a"), "normal")

    reason = await sup.wait_exit()
    assert isinstance(reason.exc, SupervisorGaveUpError)
    assert reason.exc.reason == Normal()
    assert log.count(("start", "a")) == 3


async def test_a_nested_supervisor_that_gives_up_is_restarted_by_its_parent(system):
    log: Log = []
    inner = SupervisorSpec([worker("w", log)], max_restarts=1)
    root = await start_supervisor(
        system, SupervisorSpec([worker("a", log), ChildSpec("sub", inner)]), name="root"
    )
    events = []
    root.subscribe(events.append)
    old_sub = await ref_of(root, "sub")
    sub = SupervisorRef(old_sub)
    await make_exit(await ref_of(sub, "w"), "crash")
    log.clear()

    await make_exit(await ref_of(sub, "w"), "crash")

    assert isinstance(old_sub.exit_reason.exc, SupervisorGaveUpError)
    assert old_sub.exit_reason.exc.supervisor == "'sub'"
    assert log == [("stop", "w", "crashed"), ("start", "w")]
    new_sub = await ref_of(root, "sub")
    assert new_sub is not old_sub
    gave_up = [e for e in events if isinstance(e, SupervisorGaveUp)]
    assert [(e.supervisor, e.id) for e in gave_up] == [(old_sub, "w")]
    restarted = [e for e in events if isinstance(e, ChildRestarted) and e.id == "sub"]
    assert [(e.ref, e.restart_count) for e in restarted] == [(new_sub, 1)]


async def test_a_transient_nested_supervisor_that_gives_up_is_still_restarted(system):
    inner = SupervisorSpec([worker("w", [])], max_restarts=0)
    root = await start_supervisor(
        system, SupervisorSpec([ChildSpec("sub", inner, restart=Restart.TRANSIENT)])
    )
    old_sub = await ref_of(root, "sub")

    await make_exit(await ref_of(SupervisorRef(old_sub), "w"), "crash")

    assert (await ref_of(root, "sub")) is not old_sub


# --- names ------------------------------------------------------------------------------------


async def test_a_named_child_keeps_its_name_across_restarts(system):
    sup = await start_supervisor(system, SupervisorSpec([worker("a", [], name="cache")]))
    first = system.whereis("cache")

    await make_exit(first, "crash")

    second = system.whereis("cache")
    assert second is not None
    assert second is not first
    assert second is await ref_of(sup, "a")
    assert await system.ask("cache", "ping") == "ping"


# --- run-time child management ------------------------------------------------------------------


async def test_start_child_appends_a_child_that_stops_first(system):
    log: Log = []
    sup = await start_supervisor(system, SupervisorSpec([worker("a", log)]))

    ref = await sup.start_child(worker("b", log))

    assert [(i.id, i.ref) for i in await sup.which_children()][-1] == ("b", ref)
    log.clear()
    await sup.shutdown()
    assert log == [("stop", "b", "shutdown"), ("stop", "a", "shutdown")]


async def test_start_child_with_an_existing_id_is_refused_with_its_state(system):
    sup = await start_supervisor(system, SupervisorSpec([worker("a", [])]))

    with pytest.raises(ChildExistsError, match=r"already has a child 'a' \(running\)"):
        await sup.start_child(worker("a", []))


async def test_start_child_that_fails_raises_and_keeps_no_spec(system):
    sup = await start_supervisor(system, SupervisorSpec([]))

    with pytest.raises(ChildStartError, match="could not start child 'x'"):
        await sup.start_child(ChildSpec("x", FailingWorker, ("x", [])))

    assert await sup.which_children() == []
    assert sup.is_alive


async def test_terminate_then_restart_then_delete_a_child(system):
    log: Log = []
    sup = await start_supervisor(system, SupervisorSpec([worker("a", log)]))

    await sup.terminate_child("a")
    assert [(i.state, i.ref) for i in await sup.which_children()] == [("stopped", None)]
    ref = await sup.restart_child("a")
    assert ref.is_alive
    with pytest.raises(ChildStateError, match="cannot delete_child child 'a': it is running"):
        await sup.delete_child("a")
    await sup.terminate_child("a")
    await sup.delete_child("a")

    assert await sup.which_children() == []
    assert log == [("start", "a"), ("stop", "a", "shutdown")] * 2


async def test_terminating_a_temporary_child_drops_its_spec(system):
    sup = await start_supervisor(system, SupervisorSpec([worker("t", [], Restart.TEMPORARY)]))

    await sup.terminate_child("t")

    assert await sup.which_children() == []


async def test_requests_for_an_unknown_child_raise_at_the_caller_not_in_the_supervisor(system):
    sup = await start_supervisor(system, SupervisorSpec([]), name="app")

    with pytest.raises(ChildNotFoundError, match="supervisor 'app' has no child 'nope'"):
        await sup.terminate_child("nope")
    assert sup.is_alive


async def test_count_children_counts_specs_running_supervisors_and_workers(system):
    inner = SupervisorSpec([worker("w", [])])
    sup = await start_supervisor(
        system, SupervisorSpec([worker("a", []), worker("b", []), ChildSpec("sub", inner)])
    )
    await sup.terminate_child("b")

    counts = await sup.count_children()

    assert (counts.specs, counts.active, counts.supervisors, counts.workers) == (3, 2, 1, 2)


async def test_which_children_reports_kind_and_restart_type(system):
    inner = SupervisorSpec([])
    sup = await start_supervisor(
        system,
        SupervisorSpec([worker("a", [], Restart.TRANSIENT), ChildSpec("sub", inner)]),
    )

    infos = await sup.which_children()

    assert [(i.id, i.kind, i.restart) for i in infos] == [
        ("a", Kind.WORKER, Restart.TRANSIENT),
        ("sub", Kind.SUPERVISOR, Restart.PERMANENT),
    ]


# --- events -----------------------------------------------------------------------------------


async def test_a_crash_emits_exited_started_and_restarted_with_trio_times(system, autojump_clock):
    sup = await start_supervisor(system, SupervisorSpec([worker("a", [])]))
    events = []
    sup.subscribe(events.append)
    old = await ref_of(sup, "a")
    await trio.sleep(2.0)

    await make_exit(old, "crash")

    new = await ref_of(sup, "a")
    assert [type(e) for e in events] == [ChildExited, ChildStarted, ChildRestarted]
    exited, started, restarted = events
    assert (exited.supervisor, exited.id, exited.ref, exited.time) == (sup.ref, "a", old, 2.0)
    assert isinstance(exited.reason, Crashed)
    assert (started.ref, started.time) == (new, 2.0)
    assert (restarted.ref, restarted.restart_count, restarted.delay) == (new, 1, 0.0)


async def test_unsubscribing_stops_the_events(system):
    sup = await start_supervisor(system, SupervisorSpec([worker("a", [])]))
    events = []
    unsubscribe = sup.subscribe(events.append)
    unsubscribe()

    await make_exit(await ref_of(sup, "a"), "crash")

    assert events == []


async def test_a_failing_event_handler_is_logged_and_does_not_disturb_the_supervisor(
    system, caplog
):
    sup = await start_supervisor(system, SupervisorSpec([worker("a", [])]))
    events = []
    sup.subscribe(lambda event: 1 / 0)
    sup.subscribe(events.append)

    await make_exit(await ref_of(sup, "a"), "crash")

    assert len(events) == 3
    assert "event handler" in caplog.text
    assert sup.is_alive


# --- kinds of children --------------------------------------------------------------------------


async def test_an_async_function_child_returning_is_a_normal_exit_and_raising_a_crash(system):
    runs: list[str] = []

    async def job(tag: str) -> None:
        runs.append(tag)
        if len(runs) == 1:
            raise ValueError("first run fails")

    sup = await start_supervisor(
        system, SupervisorSpec([ChildSpec("job", job, ("x",), restart=Restart.TRANSIENT)])
    )
    await settle()

    assert runs == ["x", "x"]  # crashed once (restarted), then returned (transient: done)
    assert [i.state for i in await sup.which_children()] == ["stopped"]


async def test_a_function_child_is_cancelled_when_its_supervisor_stops_it(system, autojump_clock):
    cancelled = trio.Event()

    async def forever() -> None:
        try:
            await trio.sleep_forever()
        finally:
            cancelled.set()

    sup = await start_supervisor(system, SupervisorSpec([ChildSpec("f", forever)]))
    ref = await ref_of(sup, "f")
    assert repr(ref).startswith("<ActorRef forever#")

    await sup.terminate_child("f")

    assert cancelled.is_set()
    assert trio.current_time() == 0.0


async def test_a_function_taking_task_status_counts_as_started_when_it_says_so(
    system, autojump_clock
):
    log: Log = []

    async def slow_start(task_status=trio.TASK_STATUS_IGNORED) -> None:
        await trio.sleep(1.0)
        log.append(("start", "f", trio.current_time()))
        task_status.started()
        await trio.sleep_forever()

    class Late(Worker):
        async def on_start(self) -> None:
            log.append(("start", "late", trio.current_time()))

    await start_supervisor(
        system, SupervisorSpec([ChildSpec("f", slow_start), ChildSpec("late", Late, ("l", log))])
    )

    assert log == [("start", "f", 1.0), ("start", "late", 1.0)]


async def test_a_thread_actor_child_is_supervised_like_any_actor(system):
    from arborist.actors import ThreadActor

    class Blocking(ThreadActor):
        def on_receive(self, message: object) -> object:
            if message == "crash":
                raise ValueError("thread crash")
            return message

    sup = await start_supervisor(system, SupervisorSpec([ChildSpec("t", Blocking)]))
    old = await ref_of(sup, "t")

    with pytest.raises(Exception):  # noqa: B017,PT011 - the ask fails with the actor's death
        await old.ask("crash")
    await old.wait_exit()
    await settle()

    new = await ref_of(sup, "t")
    assert new is not old
    assert await new.ask("ping") == "ping"


async def test_the_default_shutdown_is_five_seconds_for_workers_and_infinity_for_supervisors():
    assert ChildSpec("w", Worker, ("w", [])).shutdown == 5.0
    assert math.isinf(ChildSpec("s", SupervisorSpec([])).shutdown)
    assert ChildSpec("s", SupervisorSpec([])).kind is Kind.SUPERVISOR


async def test_nested_supervisor_events_reach_the_root_subscribers(system):
    inner = SupervisorSpec([worker("w", [])])
    root = await start_supervisor(system, SupervisorSpec([ChildSpec("sub", inner)]))
    events = []
    root.subscribe(events.append)
    sub = await ref_of(root, "sub")

    await make_exit(await ref_of(SupervisorRef(sub), "w"), "crash")

    assert [(type(e).__name__, e.supervisor, e.id) for e in events] == [
        ("ChildExited", sub, "w"),
        ("ChildStarted", sub, "w"),
        ("ChildRestarted", sub, "w"),
    ]


async def test_strategy_names_compare_to_otp_words():
    assert str(Strategy.REST_FOR_ONE) == "rest_for_one"
    assert SupervisorSpec([], strategy="one_for_all").strategy is Strategy.ONE_FOR_ALL


class CrashesRightAfterStart(Worker):
    async def on_start(self) -> None:
        await super().on_start()
        if self.log.count(("start", self.child_id)) == 1:
            self.ref.tell("crash")


async def test_a_child_crashing_right_after_its_start_is_already_watched(system, caplog):
    log: Log = []
    sup = await start_supervisor(
        system, SupervisorSpec([ChildSpec("a", CrashesRightAfterStart, ("a", log))])
    )
    await settle()

    assert log == [("start", "a"), ("stop", "a", "crashed"), ("start", "a")]
    assert [i.state for i in await sup.which_children()] == ["running"]
    unwatched = [r for r in caplog.records if r.name == "arborist.actors" and "crashed" in r.msg]
    assert unwatched == []  # the kernel logs a crash nobody watches; the supervisor was watching


async def test_a_function_childs_crash_reason_holds_the_exception_it_raised_not_a_group(system):
    from arborist.supervision._function import function_actor_class

    error = ValueError("boom")

    async def job() -> None:
        await trio.lowlevel.checkpoint()
        raise error

    ref = await system.spawn(function_actor_class(job))
    reason = await ref.wait_exit()

    assert isinstance(reason, Crashed)
    assert reason.exc is error


async def test_a_function_child_raising_while_it_is_killed_still_crashes_with_that_error(
    system, autojump_clock
):
    from arborist.supervision._function import function_actor_class

    error = ValueError("raised while cancelled")

    async def job() -> None:
        try:
            await trio.sleep_forever()
        except trio.Cancelled:
            raise error from None

    ref = await system.spawn(function_actor_class(job))
    await trio.testing.wait_all_tasks_blocked()
    ref.kill()
    reason = await ref.wait_exit()

    assert isinstance(reason, Crashed)
    assert reason.exc is error
