"""A step's timeout bounds each attempt on trio's clock."""

import threading

import pytest
import trio

from arborist.runtime import Retry, Runtime, StepTimeoutError, Workflow, WorkflowFailedError


async def test_an_attempt_that_outlives_its_timeout_fails_with_step_timeout_error_at_that_time(
    autojump_clock,
):
    wf = Workflow("slow")

    @wf.step(timeout=2.0)
    async def hang():
        await trio.sleep(100.0)

    async with Runtime() as rt:
        with pytest.raises(WorkflowFailedError) as info:
            await rt.run(wf)
        assert trio.current_time() == 2.0
    cause = info.value.__cause__
    assert type(cause) is StepTimeoutError
    assert (cause.step, cause.timeout, cause.attempt) == ("hang", 2.0, 1)
    assert str(cause) == "step 'hang' attempt 1 took longer than its timeout of 2.0 s"
    assert isinstance(cause, TimeoutError)


async def test_an_attempt_that_finishes_exactly_before_its_timeout_succeeds(autojump_clock):
    wf = Workflow("just_in_time")

    @wf.step(timeout=2.0)
    async def work():
        await trio.sleep(1.999)
        return "done"

    wf.returns("work")
    async with Runtime() as rt:
        assert await rt.run(wf) == "done"


async def test_timed_out_attempts_are_retried_each_with_a_fresh_timeout(autojump_clock):
    times = []
    wf = Workflow("retried_timeout")

    @wf.step(timeout=1.0, retry=Retry(attempts=3, delay=0.5))
    async def fetch(ctx):
        times.append(trio.current_time())
        if ctx.attempt < 3:
            await trio.sleep(100.0)
        await trio.sleep(0.75)
        return ctx.attempt

    wf.returns("fetch")
    async with Runtime() as rt:
        assert await rt.run(wf) == 3
        assert trio.current_time() == 3.75
    assert times == [0.0, 1.5, 3.0]


async def test_retry_on_can_leave_timeouts_unretried(autojump_clock):
    times = []
    wf = Workflow("no_retry_on_timeout")

    @wf.step(timeout=1.0, retry=Retry(attempts=3, retry_on=ConnectionError))
    async def fetch():
        times.append(trio.current_time())
        await trio.sleep(100.0)

    async with Runtime() as rt:
        with pytest.raises(WorkflowFailedError) as info:
            await rt.run(wf)
    assert times == [0.0]
    assert type(info.value.__cause__) is StepTimeoutError


async def test_a_blocking_step_that_times_out_fails_the_run_without_waiting_for_its_thread():
    release = threading.Event()
    wf = Workflow("blocking_timeout")

    @wf.step(timeout=0.05)
    def stuck():
        release.wait(timeout=10)

    try:
        with trio.fail_after(5):
            async with Runtime() as rt:
                with pytest.raises(WorkflowFailedError) as info:
                    await rt.run(wf)
    finally:
        release.set()
    assert type(info.value.__cause__) is StepTimeoutError
