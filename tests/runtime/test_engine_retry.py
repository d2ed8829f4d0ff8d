"""Retries on trio's clock: exact delays, which errors retry, attempts seen by the step."""

import random

import pytest
import trio

from arborist.runtime import (
    Retry,
    Runtime,
    StepFailed,
    StepRetried,
    StepStarted,
    Workflow,
    WorkflowFailedError,
)
from arborist.supervision import Backoff


class Flaky(Exception):
    pass


class Fatal(Exception):
    pass


def _flaky_workflow(times, *, fail_until, retry, error=Flaky):
    """One step that records when each attempt starts and fails until attempt ``fail_until``."""
    wf = Workflow("flaky")

    @wf.step(retry=retry)
    async def fetch(ctx):
        times.append((ctx.attempt, trio.current_time()))
        if ctx.attempt < fail_until:
            raise error(f"attempt {ctx.attempt}")
        return f"ok on attempt {ctx.attempt}"

    wf.returns("fetch")
    return wf


async def test_a_constant_backoff_waits_the_same_delay_before_each_attempt(autojump_clock):
    times = []
    wf = _flaky_workflow(times, fail_until=4, retry=Retry(attempts=4, delay=0.5))
    async with Runtime() as rt:
        assert await rt.run(wf) == "ok on attempt 4"
    assert times == [(1, 0.0), (2, 0.5), (3, 1.0), (4, 1.5)]


async def test_an_exponential_backoff_doubles_the_delay_up_to_its_cap(autojump_clock):
    times = []
    retry = Retry(attempts=5, backoff="exponential", delay=1.0, max_delay=3.0)
    wf = _flaky_workflow(times, fail_until=5, retry=retry)
    async with Runtime() as rt:
        await rt.run(wf)
    # waits of 1, 2, then 4 capped at 3, then 3
    assert times == [(1, 0.0), (2, 1.0), (3, 3.0), (4, 6.0), (5, 9.0)]


async def test_jittered_delays_come_from_the_runtimes_seeded_random_generator(autojump_clock):
    retry = Retry(attempts=3, backoff="exponential", delay=1.0, jitter=True)
    rng = random.Random(0)
    first, second = retry.delay_for(1, rng), retry.delay_for(2, rng)
    times = []
    async with Runtime(seed=0) as rt:
        await rt.run(_flaky_workflow(times, fail_until=3, retry=retry))
    assert [t for _, t in times] == [0.0, first, first + second]
    assert 0.0 <= first <= 1.0
    assert 0.0 <= second <= 2.0


async def test_an_error_outside_retry_on_fails_the_run_at_once(autojump_clock):
    times = []
    retry = Retry(attempts=5, delay=1.0, retry_on=Flaky)
    wf = _flaky_workflow(times, fail_until=9, retry=retry, error=Fatal)
    async with Runtime() as rt:
        with pytest.raises(WorkflowFailedError) as info:
            await rt.run(wf)
    assert times == [(1, 0.0)]
    assert type(info.value.__cause__) is Fatal


async def test_when_the_attempts_are_used_up_the_run_fails_with_the_last_error(autojump_clock):
    times = []
    wf = _flaky_workflow(times, fail_until=9, retry=Retry(attempts=3, delay=1.0))
    async with Runtime() as rt:
        with pytest.raises(WorkflowFailedError, match="Flaky: attempt 3") as info:
            await rt.run(wf)
        assert trio.current_time() == 2.0
    assert [attempt for attempt, _ in times] == [1, 2, 3]
    assert info.value.step == "fetch"


async def test_a_step_waiting_to_retry_holds_no_concurrency_slot(autojump_clock):
    started = {}
    wf = Workflow("backoff_frees_the_slot")

    @wf.step(retry=Retry(attempts=2, delay=5.0))
    async def flaky(ctx):
        started[f"flaky#{ctx.attempt}"] = trio.current_time()
        if ctx.attempt == 1:
            raise Flaky("once")

    @wf.step
    async def other():
        started["other"] = trio.current_time()
        await trio.sleep(1.0)

    async with Runtime() as rt:
        await rt.run(wf, max_concurrency=1)
    assert started == {"flaky#1": 0.0, "other": 0.0, "flaky#2": 5.0}


async def test_a_retry_is_reported_as_a_non_final_failure_then_a_retried_event(autojump_clock):
    events = []
    wf = _flaky_workflow([], fail_until=2, retry=Retry(attempts=3, delay=0.25))
    async with Runtime() as rt:
        rt.subscribe(events.append)
        await rt.run(wf)
    step_events = [e for e in events if isinstance(e, StepStarted | StepFailed | StepRetried)]
    assert [type(e).__name__ for e in step_events] == [
        "StepStarted",
        "StepFailed",
        "StepRetried",
        "StepStarted",
    ]
    started, failed, retried, restarted = step_events
    assert (started.attempt, started.time) == (1, 0.0)
    assert (failed.attempt, failed.final, str(failed.error)) == (1, False, "attempt 1")
    assert (retried.attempt, retried.time, retried.delay) == (2, 0.0, 0.25)
    assert (restarted.attempt, restarted.time) == (2, 0.25)


async def test_the_last_failure_is_reported_as_final(autojump_clock):
    events = []
    wf = _flaky_workflow([], fail_until=9, retry=Retry(attempts=2))
    async with Runtime() as rt:
        rt.subscribe(events.append)
        with pytest.raises(WorkflowFailedError):
            await rt.run(wf)
    failures = [(e.attempt, e.final) for e in events if isinstance(e, StepFailed)]
    assert failures == [(1, False), (2, True)]


async def test_a_zero_delay_retry_runs_the_next_attempt_at_the_same_instant(autojump_clock):
    times = []
    wf = _flaky_workflow(times, fail_until=3, retry=Retry(attempts=3))
    async with Runtime() as rt:
        await rt.run(wf)
    assert times == [(1, 0.0), (2, 0.0), (3, 0.0)]


async def test_a_retried_step_gets_the_same_arguments_on_every_attempt(autojump_clock):
    seen = []
    wf = Workflow("same_args", inputs=["x"])

    @wf.step
    async def source(x):
        return {"x": x}

    @wf.step(retry=Retry(attempts=3, delay=1.0))
    async def sink(source, ctx):
        seen.append(source)
        if ctx.attempt < 3:
            raise Flaky

    async with Runtime() as rt:
        await rt.run(wf, x=1)
    assert seen == [{"x": 1}] * 3
    assert seen[0] is seen[1] is seen[2]


async def test_a_step_retries_after_the_waits_of_a_supervisor_style_backoff(autojump_clock):
    times = []
    waits = Backoff.exponential(1.0, factor=3.0, max=5.0)
    wf = _flaky_workflow(times, fail_until=4, retry=Retry(attempts=4, backoff=waits))

    async with Runtime() as rt:
        start = trio.current_time()
        assert await rt.run(wf) == "ok on attempt 4"

    assert [round(t - start, 9) for _, t in times] == [0.0, 1.0, 4.0, 9.0]
