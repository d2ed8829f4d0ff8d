"""Steps on an executor keep every semantic of a local step, on trio's clock.

The executor is ``ManualExecutor`` (``remote_fakes``): calls queue for a worker, "run" for a
duration of virtual time, and settle; a cancel drops a queued call, abandons a running one
(it is gone when its duration is over, like Dask) or kills it (``kill=True``, like Ray).
"""

from __future__ import annotations

import pytest
import trio
from remote_fakes import ManualExecutor

from arborist.runtime import (
    Again,
    ContinueWith,
    RemoteCallCancelled,
    Retry,
    Runtime,
    StepCancelled,
    StepFailed,
    StepFinished,
    StepStarted,
    StepTimeoutError,
    Workflow,
    WorkflowFailedError,
    result,
    value,
)
from arborist.runtime.engine._remote import await_call
from arborist.runtime.executors import CancelResult, NotSendableError, RemoteStepInfo
from arborist.runtime.executors._call import CallBase


class Declined(Exception):
    pass


class Fatal(Exception):
    pass


def one_step(fn, **options):
    wf = Workflow("remote", inputs=["x"])
    wf.step(fn, name="work", executor="manual", **options)
    wf.returns("work")
    return wf


def double(x):
    return 2 * x


async def run_with(manual, wf, *, events=None, **runtime_options):
    async with Runtime(executors={"manual": manual}, **runtime_options) as rt:
        if events is not None:
            rt.subscribe(events.append)
        return await rt.run(wf, x=21)


def of_type(events, kind):
    return [event for event in events if isinstance(event, kind)]


# -- values, errors, retries -------------------------------------------------------------------


async def test_a_remote_step_returns_the_functions_value_after_its_run_time(autojump_clock):
    manual = ManualExecutor(duration=3.0)

    assert await run_with(manual, one_step(double)) == 42
    assert trio.current_time() == 3.0
    assert [args for _, _, args in manual.submitted] == [{"x": 21}]


async def test_its_events_name_the_executor_and_local_steps_name_none(autojump_clock):
    wf = Workflow("remote", inputs=["x"])
    wf.step(double, executor="manual")
    wf.step(lambda x: x, name="here")
    events = []

    await run_with(ManualExecutor(), wf, events=events)

    started = {e.step: e.executor for e in of_type(events, StepStarted)}
    finished = {e.step: e.executor for e in of_type(events, StepFinished)}
    assert started == finished == {"double": "manual", "here": None}


async def test_executor_options_are_given_to_each_submission(autojump_clock):
    manual = ManualExecutor()

    await run_with(manual, one_step(double, executor_options={"priority": 5}))

    assert [dict(options) for options in manual.options] == [{"priority": 5}]


async def test_the_users_exception_is_retried_with_the_steps_backoff(autojump_clock):
    attempts = []

    def flaky(x, info: RemoteStepInfo):
        attempts.append((info.attempt, trio.current_time()))
        if info.attempt < 3:
            raise Declined("later")
        return "done"

    retry = Retry(attempts=3, delay=2.0, retry_on=(Declined,))
    manual = ManualExecutor(duration=1.0)

    assert await run_with(manual, one_step(flaky, retry=retry)) == "done"
    # each attempt runs 1 s, then the backoff of 2 s is waited here, holding nothing
    assert attempts == [(1, 1.0), (2, 4.0), (3, 7.0)]
    assert len(manual.submitted) == 3


async def test_an_error_outside_retry_on_fails_at_once_with_the_users_error_as_cause(
    autojump_clock,
):
    def fatal(x):
        raise Fatal("no")

    manual = ManualExecutor()

    with pytest.raises(WorkflowFailedError) as caught:
        await run_with(manual, one_step(fatal, retry=Retry(attempts=5, retry_on=(Declined,))))

    assert caught.value.step == "work"
    assert isinstance(caught.value.__cause__, Fatal)
    assert len(manual.submitted) == 1


async def test_compensate_sees_the_remote_exception_and_may_continue_with_a_value(autojump_clock):
    def fails(x):
        raise Declined("card declined")

    wf = one_step(fails)
    seen = []

    @wf.steps["work"].compensate
    def handle(error):
        seen.append(error)
        return ContinueWith("fallback")

    assert await run_with(ManualExecutor(), wf) == "fallback"
    assert [type(error) for error in seen] == [Declined]


async def test_the_info_gives_the_run_the_attempt_and_a_key_stable_across_attempts(
    autojump_clock,
):
    infos = []

    def flaky(x, info: RemoteStepInfo):
        infos.append(info)
        if info.attempt == 1:
            raise Declined("again")
        return x

    await run_with(ManualExecutor(), one_step(flaky, retry=Retry(attempts=2)))

    first, second = infos
    run_id = first.run_id
    assert (first.workflow, first.step, second.run_id) == ("remote", "work", run_id)
    assert (first.attempt, second.attempt) == (1, 2)
    assert first.idempotency_key == second.idempotency_key == f"remote/{run_id}/work"


async def test_a_trio_object_made_by_a_step_fails_the_remote_step_at_once_naming_it(
    autojump_clock,
):
    wf = Workflow("remote", inputs=[])

    @wf.step
    async def make_event():
        return trio.Event()

    @wf.step(executor="manual", retry=Retry(attempts=3))
    def use(make_event):
        return None

    manual = ManualExecutor()
    async with Runtime(executors={"manual": manual}) as rt:
        with pytest.raises(WorkflowFailedError) as caught:
            await rt.run(wf)

    cause = caught.value.__cause__
    assert isinstance(cause, NotSendableError)
    assert "step 'use'" in str(cause)
    assert "argument 'make_event'" in str(cause)
    assert manual.submitted == []  # refused before sending, and not retried


# -- timeouts and what cancel did ----------------------------------------------------------------


async def test_a_timeout_abandons_the_call_and_the_retry_waits_until_it_is_gone(autojump_clock):
    def first_runs_long(fn, args, kwargs):
        return 5.0 if len(manual.submitted) == 1 else 1.0

    manual = ManualExecutor(duration=first_runs_long)
    events = []
    wf = one_step(double, timeout=2.0, retry=Retry(attempts=2))

    assert await run_with(manual, wf, events=events) == 42

    (cancelled,) = of_type(events, RemoteCallCancelled)
    assert cancelled.cancel is CancelResult.ABANDONED
    assert (cancelled.gone, cancelled.waited, cancelled.time) == (True, 3.0, 5.0)
    assert (cancelled.step, cancelled.attempt, cancelled.executor) == ("work", 1, "manual")
    assert cancelled.element is None
    failed = of_type(events, StepFailed)[0]
    assert isinstance(failed.error, StepTimeoutError)
    assert [e.time for e in of_type(events, StepStarted)] == [0.0, 5.0]  # the retry: once gone
    assert trio.current_time() == 6.0


async def test_an_abandoned_call_keeps_its_pool_slot_until_it_is_gone(autojump_clock):
    manual = ManualExecutor(duration=lambda fn, args, kwargs: 5.0 if kwargs["x"] == 0 else 1.0)
    wf = Workflow("remote", inputs=["x"])
    slow = wf.step(
        double, name="slow", args={"x": value(0)}, executor="manual", pool="one", timeout=2.0
    )
    slow.compensate(lambda error: ContinueWith("timed out"))

    @wf.step
    async def later():
        await trio.sleep(2.5)  # "slow" has timed out, but its call still runs until 5.0

    wf.step(double, name="after", executor="manual", pool="one", wait_for=["later"])

    async with Runtime(executors={"manual": manual}) as rt:
        rt.pool("one", limit=1)
        await rt.run(wf, x=1)

    assert manual.peak == 1
    assert [(label.split("#")[0], at) for label, at in manual.finished] == [
        ("slow", 5.0),
        ("after", 6.0),
    ]


async def test_a_killing_executor_is_not_waited_for(autojump_clock):
    manual = ManualExecutor(duration=10.0, kill=True)
    events = []

    with pytest.raises(WorkflowFailedError):
        await run_with(manual, one_step(double, timeout=2.0), events=events)

    (cancelled,) = of_type(events, RemoteCallCancelled)
    assert (cancelled.cancel, cancelled.gone, cancelled.waited) == (CancelResult.KILLED, None, 0.0)
    assert trio.current_time() == 2.0


async def test_a_queued_call_that_times_out_is_dropped_before_it_starts(autojump_clock):
    manual = ManualExecutor(workers=1, duration=10.0)
    wf = Workflow("remote", inputs=["x"])
    wf.step(double, name="first", executor="manual")

    @wf.step
    async def warm_up():
        await trio.sleep(0.5)  # "first" holds the only worker by now

    wf.step(double, name="second", executor="manual", timeout=1.0, wait_for=["warm_up"])
    events = []

    async with Runtime(executors={"manual": manual}) as rt:
        rt.subscribe(events.append)
        with pytest.raises(WorkflowFailedError) as caught:
            await rt.run(wf, x=1)

    assert caught.value.step == "second"
    dropped = [e for e in of_type(events, RemoteCallCancelled) if e.step == "second"]
    assert [(e.cancel, e.waited) for e in dropped] == [(CancelResult.NOT_STARTED, 0.0)]


async def test_the_wait_for_an_abandoned_call_is_bounded_by_the_shutdown_timeout(autojump_clock):
    manual = ManualExecutor(duration=100.0)
    events = []

    with pytest.raises(WorkflowFailedError):
        await run_with(manual, one_step(double, timeout=1.0), events=events, shutdown_timeout=4.0)

    (cancelled,) = of_type(events, RemoteCallCancelled)
    assert (cancelled.gone, cancelled.waited) == (False, 4.0)
    assert trio.current_time() == 5.0


async def test_an_engine_that_cannot_report_gone_is_not_waited_for(autojump_clock):
    manual = ManualExecutor(duration=100.0, track_gone=False)
    events = []

    with pytest.raises(WorkflowFailedError):
        await run_with(manual, one_step(double, timeout=1.0), events=events)

    (cancelled,) = of_type(events, RemoteCallCancelled)
    assert cancelled.cancel is CancelResult.ABANDONED
    assert (cancelled.gone, cancelled.waited) == (None, 0.0)


class _DoneCall(CallBase):
    def _engine_cancel(self) -> CancelResult:
        return CancelResult.ABANDONED


async def test_a_call_that_had_returned_when_its_attempt_was_cancelled_gives_its_value(
    autojump_clock,
):
    call = _DoneCall("done")
    call._settle_value("kept")
    reports = []

    with trio.CancelScope() as scope:
        scope.cancel()
        got = await await_call(call, hold=1.0, report=lambda *report: reports.append(report))

    assert got == "kept"
    assert call.cancel_result is CancelResult.ALREADY_DONE
    assert reports == [(call, None, 0.0)]


# -- concurrency bounds --------------------------------------------------------------------------


def fan_out(width, **options):
    wf = Workflow("wide", inputs=["x"])
    for n in range(width):
        wf.step(double, name=f"work_{n}", executor="manual", **options)
    return wf


async def test_a_pool_bounds_the_remote_calls_in_flight(autojump_clock):
    manual = ManualExecutor(duration=1.0)

    async with Runtime(executors={"manual": manual}) as rt:
        rt.pool("cluster", limit=2)
        await rt.run(fan_out(6, pool="cluster"), x=1)

    assert manual.peak == 2
    assert trio.current_time() == 3.0


async def test_max_concurrency_bounds_the_remote_calls_in_flight(autojump_clock):
    manual = ManualExecutor(duration=1.0)

    async with Runtime(executors={"manual": manual}) as rt:
        await rt.run(fan_out(6), x=1, max_concurrency=3)

    assert manual.peak == 3
    assert trio.current_time() == 2.0


# -- fail fast, undo -----------------------------------------------------------------------------


async def test_a_failure_cancels_the_remote_steps_in_flight_and_waits_until_they_are_gone(
    autojump_clock,
):
    manual = ManualExecutor(duration=10.0)
    wf = fan_out(3)

    @wf.step
    async def breaks():
        await trio.sleep(1.0)
        raise Fatal("down")

    events = []
    async with Runtime(executors={"manual": manual}, shutdown_timeout=20.0) as rt:
        rt.subscribe(events.append)
        with pytest.raises(WorkflowFailedError) as caught:
            await rt.run(wf, x=1)

    assert caught.value.step == "breaks"
    assert sorted(caught.value.cancelled) == ["work_0", "work_1", "work_2"]
    cancels = of_type(events, RemoteCallCancelled)
    assert sorted(e.step for e in cancels) == ["work_0", "work_1", "work_2"]
    assert {(e.cancel, e.gone, e.waited) for e in cancels} == {(CancelResult.ABANDONED, True, 9.0)}
    assert {e.executor for e in of_type(events, StepCancelled)} == {"manual"}
    assert trio.current_time() == 10.0  # the run ended once the abandoned calls were gone


async def test_a_completed_remote_step_is_undone_here_with_its_result(autojump_clock):
    wf = Workflow("saga", inputs=["x"])
    wf.step(double, name="reserve", executor="manual")
    undone = []

    @wf.steps["reserve"].undo
    async def release(result, arguments):
        undone.append((result, dict(arguments)))

    @wf.step
    async def charge(reserve):
        raise Fatal("card")

    async with Runtime(executors={"manual": ManualExecutor()}) as rt:
        with pytest.raises(WorkflowFailedError) as caught:
            await rt.run(wf, x=4)

    assert undone == [(8, {"x": 4})]
    assert list(caught.value.undone) == ["reserve"]


async def test_remote_results_feed_dependent_steps(autojump_clock):
    wf = Workflow("chain", inputs=["x"])
    wf.step(double, name="a", executor="manual")
    wf.step(lambda a: a + 1, name="b", executor="manual")
    wf.step(lambda v: v * 10, name="c", args={"v": result("b")})
    wf.returns("c")

    assert await run_with(ManualExecutor(duration=1.0), wf) == 430
    assert trio.current_time() == 2.0


async def test_a_remote_step_may_poll_with_again_like_a_local_one(autojump_clock):
    polls = []

    def poll(x):
        polls.append(trio.current_time())
        return Again(after=5.0) if len(polls) < 3 else "ready"

    assert await run_with(ManualExecutor(duration=1.0), one_step(poll)) == "ready"
    assert polls == [1.0, 7.0, 13.0]  # each call runs 1 s, then 5 s pass holding nothing
