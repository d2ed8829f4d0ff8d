"""Sagas in detail: what is undone on failure and cancellation, undo errors and retries,
compensation retries with their exact backoff, and ContinueWith."""

import inspect

import pytest
import trio

from arborist.runtime import (
    DEFAULT_COMPENSATE_ATTEMPTS,
    MAX_UNDO_ATTEMPTS,
    ContinueWith,
    Retry,
    RetryStep,
    Runtime,
    StepFailed,
    StepFinished,
    StepUndoFailed,
    StepUndone,
    UndoRetryLimitError,
    Workflow,
    WorkflowCancelledError,
    WorkflowFailedError,
)


class Boom(Exception):
    pass


class UndoBoom(Exception):
    pass


def undoable(wf, log, name, *, after, needs=(), undo_result=None):
    """Add step ``name``: sleeps ``after`` s, records ("do", name, t); its undo records
    ("undo", name, t) and returns ``undo_result`` (or raises it if it is an exception)."""

    async def do(**kwargs):
        await trio.sleep(after)
        log.append(("do", name, trio.current_time()))
        return name

    do.__name__ = name
    do.__signature__ = _keyword_signature(needs)
    step = wf.step(do)

    @step.undo
    async def undo(result, arguments):
        log.append(("undo", result, trio.current_time()))
        if isinstance(undo_result, BaseException):
            raise undo_result
        return undo_result

    return step


def failing(wf, *, after, needs=()):
    """Add step ``broken``: sleeps ``after`` s after ``needs`` finished, then raises Boom."""

    async def broken(**kwargs):
        await trio.sleep(after)
        raise Boom("broken")

    broken.__signature__ = _keyword_signature(needs)
    return wf.step(broken)


def _keyword_signature(names):
    return inspect.Signature([inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY) for n in names])


async def test_the_undo_log_rolls_back_in_reverse_completion_order_not_declaration_order(
    autojump_clock,
):
    log = []
    wf = Workflow("order")
    undoable(wf, log, "slowest", after=3.0)
    undoable(wf, log, "fastest", after=1.0)
    undoable(wf, log, "middle", after=2.0)
    failing(wf, after=4.0)
    async with Runtime(seed=0) as rt:
        with pytest.raises(WorkflowFailedError) as info:
            await rt.run(wf)
    assert info.value.completed == ("fastest", "middle", "slowest")
    assert info.value.undone == ("slowest", "middle", "fastest")
    assert [entry for entry in log if entry[0] == "undo"] == [
        ("undo", "slowest", 4.0),
        ("undo", "middle", 4.0),
        ("undo", "fastest", 4.0),
    ]


async def test_an_undo_receives_the_steps_result_and_the_arguments_it_ran_with(autojump_clock):
    seen = []
    wf = Workflow("args", inputs=["amount"])

    @wf.step
    async def charge(amount):
        return {"charge_id": "ch_1", "amount": amount}

    @charge.undo
    async def refund(result, arguments):
        seen.append((result, dict(arguments)))

    failing(wf, after=1.0, needs=["charge"])
    async with Runtime(seed=0) as rt:
        with pytest.raises(WorkflowFailedError):
            await rt.run(wf, amount=5)
    assert seen == [({"charge_id": "ch_1", "amount": 5}, {"amount": 5})]


async def test_a_step_in_flight_that_completes_during_the_cancellation_is_undone(autojump_clock):
    log = []
    wf = Workflow("late")

    @wf.step
    async def reserve():
        with trio.CancelScope(shield=True):  # finishes its write although cancelled
            await trio.sleep(2.0)
        log.append(("do", "reserve", trio.current_time()))
        return "seat 12"

    @reserve.undo
    async def release(seat, arguments):
        log.append(("undo", seat, trio.current_time()))

    failing(wf, after=1.0)
    async with Runtime(seed=0) as rt:
        with pytest.raises(WorkflowFailedError) as info:
            await rt.run(wf)
        assert trio.current_time() == 2.0
    assert info.value.completed == ("reserve",)
    assert info.value.cancelled == ()
    assert info.value.undone == ("reserve",)
    assert log == [("do", "reserve", 2.0), ("undo", "seat 12", 2.0)]


async def test_a_step_cancelled_in_flight_is_listed_as_cancelled_and_not_undone(autojump_clock):
    log = []
    wf = Workflow("cut")
    undoable(wf, log, "quick", after=0.5)
    undoable(wf, log, "slow", after=10.0)
    failing(wf, after=1.0)
    async with Runtime(seed=0) as rt:
        with pytest.raises(WorkflowFailedError) as info:
            await rt.run(wf)
    assert info.value.cancelled == ("slow",)
    assert info.value.undone == ("quick",)
    assert log == [("do", "quick", 0.5), ("undo", "quick", 1.0)]


async def test_a_step_waiting_to_retry_is_cancelled_and_not_undone(autojump_clock):
    log = []
    wf = Workflow("waiting")

    @wf.step(retry=Retry(attempts=3, delay=5.0))
    async def flaky():
        log.append(("do", "flaky", trio.current_time()))
        raise Boom("try later")

    @flaky.undo
    async def never(result, arguments):
        log.append(("undo", "flaky", trio.current_time()))

    failing(wf, after=1.0)
    async with Runtime(seed=0) as rt:
        with pytest.raises(WorkflowFailedError) as info:
            await rt.run(wf)
        assert trio.current_time() == 1.0
    assert info.value.cancelled == ("flaky",)
    assert info.value.undone == ()
    assert log == [("do", "flaky", 0.0)]


async def test_undo_errors_are_collected_and_the_rollback_goes_on(autojump_clock):
    log = []
    events = []
    wf = Workflow("errors")
    undoable(wf, log, "first", after=1.0)
    undoable(wf, log, "second", after=1.0, needs=["first"], undo_result=UndoBoom("refund API down"))
    undoable(wf, log, "third", after=1.0, needs=["second"])
    failing(wf, after=1.0, needs=["third"])
    async with Runtime(seed=0) as rt:
        rt.subscribe(events.append)
        with pytest.raises(WorkflowFailedError) as info:
            await rt.run(wf)
    error = info.value
    assert error.step == "broken"
    assert error.undone == ("third", "first")
    [(step, undo_error)] = error.undo_errors
    assert step == "second"
    assert isinstance(undo_error, UndoBoom)
    assert [e for e in log if e[0] == "undo"] == [
        ("undo", "third", 4.0),
        ("undo", "second", 4.0),
        ("undo", "first", 4.0),
    ]
    assert str(error).endswith(
        "(completed: first, second, third; cancelled: none; undone: third, first; "
        "undo failed: second (UndoBoom: refund API down))"
    )
    assert [
        (type(e).__name__, e.step) for e in events if isinstance(e, StepUndone | StepUndoFailed)
    ] == [
        ("StepUndone", "third"),
        ("StepUndoFailed", "second"),
        ("StepUndone", "first"),
    ]


async def test_an_undo_returning_retry_step_runs_again_after_its_delay(autojump_clock):
    calls = []
    wf = Workflow("undo_retry")

    @wf.step
    async def book():
        return "room"

    @book.undo
    async def cancel_booking(result, arguments):
        calls.append(trio.current_time())
        if len(calls) < 3:
            return RetryStep(after=0.5)
        return None

    failing(wf, after=1.0, needs=["book"])
    async with Runtime(seed=0) as rt:
        with pytest.raises(WorkflowFailedError) as info:
            await rt.run(wf)
    assert calls == [1.0, 1.5, 2.0]
    assert info.value.undone == ("book",)
    assert info.value.undo_errors == ()


async def test_an_undo_that_keeps_returning_retry_step_runs_at_most_max_undo_attempts_times(
    autojump_clock,
):
    log = []
    calls = []
    wf = Workflow("undo_forever")
    undoable(wf, log, "earlier", after=0.5)

    @wf.step
    async def book(earlier):
        return "room"

    @book.undo
    async def cancel_booking(result, arguments):
        calls.append(trio.current_time())
        return RetryStep(after=1.0)

    failing(wf, after=1.0, needs=["book"])
    async with Runtime(seed=0) as rt:
        with pytest.raises(WorkflowFailedError) as info:
            await rt.run(wf)
    assert MAX_UNDO_ATTEMPTS == 3
    assert calls == [1.5, 2.5, 3.5]
    [(step, undo_error)] = info.value.undo_errors
    assert step == "book"
    assert isinstance(undo_error, UndoRetryLimitError)
    assert undo_error.step == "book"
    assert info.value.undone == ("earlier",)
    assert log[-1] == ("undo", "earlier", 3.5)


async def test_a_cancelled_run_is_rolled_back_like_a_failed_one(autojump_clock):
    log = []
    wf = Workflow("cancelled")
    undoable(wf, log, "first", after=1.0)
    undoable(wf, log, "second", after=1.0, needs=["first"])
    undoable(wf, log, "third", after=5.0, needs=["second"])
    async with Runtime(seed=0) as rt:
        handle = await rt.start(wf)
        await trio.sleep(3.0)
        handle.cancel()
        with pytest.raises(WorkflowCancelledError) as info:
            await handle.result()
    assert info.value.completed == ("first", "second")
    assert info.value.cancelled == ("third",)
    assert info.value.undone == ("second", "first")
    assert [e for e in log if e[0] == "undo"] == [("undo", "second", 3.0), ("undo", "first", 3.0)]


def _compensated(times, *, retry, decision):
    wf = Workflow("compensated")

    @wf.step(retry=retry)
    async def call_api(ctx):
        times.append((ctx.attempt, trio.current_time()))
        raise Boom(f"429 on attempt {ctx.attempt}")

    @call_api.compensate
    async def back_off(error):
        return decision

    return wf


async def test_compensate_retries_follow_the_steps_backoff_up_to_its_attempts(autojump_clock):
    times = []
    retry = Retry(attempts=4, backoff="exponential", delay=1.0)
    wf = _compensated(times, retry=retry, decision=RetryStep())
    async with Runtime(seed=0) as rt:
        with pytest.raises(WorkflowFailedError) as info:
            await rt.run(wf)
        assert trio.current_time() == 7.0
    assert times == [(1, 0.0), (2, 1.0), (3, 3.0), (4, 7.0)]
    assert str(info.value.cause) == "429 on attempt 4"


async def test_compensate_retries_without_a_retry_policy_make_the_default_attempts_at_once(
    autojump_clock,
):
    times = []
    wf = _compensated(times, retry=None, decision=RetryStep())
    async with Runtime(seed=0) as rt:
        with pytest.raises(WorkflowFailedError):
            await rt.run(wf)
    assert DEFAULT_COMPENSATE_ATTEMPTS == 3
    assert times == [(1, 0.0), (2, 0.0), (3, 0.0)]


async def test_a_retry_step_delay_overrides_the_steps_backoff(autojump_clock):
    times = []
    retry = Retry(attempts=3, backoff="exponential", delay=10.0)
    wf = _compensated(times, retry=retry, decision=RetryStep(after=0.25))
    async with Runtime(seed=0) as rt:
        with pytest.raises(WorkflowFailedError):
            await rt.run(wf)
    assert times == [(1, 0.0), (2, 0.25), (3, 0.5)]


async def test_a_compensate_that_lets_the_error_stand_overrides_the_retry_policy(autojump_clock):
    times = []
    wf = _compensated(times, retry=Retry(attempts=5, delay=1.0), decision=None)
    async with Runtime(seed=0) as rt:
        with pytest.raises(WorkflowFailedError) as info:
            await rt.run(wf)
    assert times == [(1, 0.0)]
    assert isinstance(info.value.cause, Boom)


async def test_continue_with_makes_the_step_succeed_with_its_value(autojump_clock):
    events = []
    wf = Workflow("fallback")

    @wf.step
    async def fetch_plans():
        raise Boom("billing API down")

    @fetch_plans.compensate
    def cached_plans(error):
        return ContinueWith(["free", "standard"])

    @wf.step
    async def choose(fetch_plans):
        return fetch_plans[-1]

    wf.returns("choose")
    async with Runtime(seed=0) as rt:
        rt.subscribe(events.append)
        assert await rt.run(wf) == "standard"
    assert [
        (type(e).__name__, e.step) for e in events if isinstance(e, StepFailed | StepFinished)
    ] == [
        ("StepFinished", "fetch_plans"),
        ("StepFinished", "choose"),
    ]
