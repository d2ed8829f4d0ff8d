"""Compensate decisions and map batches are events (only built when someone subscribes)."""

import trio

from arborist.runtime import (
    ContinueWith,
    MapBatchFinished,
    RetryStep,
    Runtime,
    StepCompensated,
    Workflow,
)


def _compensated(decide):
    wf = Workflow("pay")
    calls = []

    @wf.step
    async def charge():
        calls.append(1)
        await trio.sleep(1)
        if len(calls) == 1:
            raise ConnectionError("declined")
        return "charged"

    @charge.compensate
    async def on_error(error):
        await trio.sleep(0.5)
        return decide(error)

    return wf


async def test_a_compensate_that_continues_is_one_event_with_its_decision_and_duration(
    autojump_clock,
):
    events = []
    async with Runtime() as rt:
        rt.subscribe(events.append, only=StepCompensated)
        await rt.run(_compensated(lambda error: ContinueWith("fallback")))

    (event,) = events
    assert (event.step, event.attempt, event.decision, event.duration) == (
        "charge",
        1,
        "continue",
        0.5,
    )
    assert isinstance(event.error, ConnectionError)
    assert event.time == 1.5


async def test_a_compensate_that_retries_then_one_that_lets_the_error_stand(autojump_clock):
    events = []
    async with Runtime() as rt:
        rt.subscribe(events.append, only=StepCompensated)
        await rt.run(_compensated(lambda error: RetryStep(after=0)))

    assert [e.decision for e in events] == ["retry"]


def _mapped(batch_size, fail_on=()):
    wf = Workflow("mapped", inputs=["items"])

    @wf.map(over="items", batch_size=batch_size, outcomes=True)
    async def each(item):
        await trio.sleep(item)
        if item in fail_on:
            raise ValueError(item)
        return item

    wf.returns("each")
    return wf


async def test_a_map_step_reports_one_event_per_batch_of_elements(autojump_clock):
    events = []
    async with Runtime() as rt:
        rt.subscribe(events.append, only=MapBatchFinished)
        # a window of 2: e0, e1 at 0-1; e2 1-3 and e3 1-4 (fails); e4 3-4
        await rt.run(_mapped(2, fail_on={3}), items=[1, 1, 2, 3, 1])

    assert [(e.first, e.count, e.failed) for e in events] == [(0, 2, 0), (2, 2, 1), (4, 1, 0)]
    assert [(e.time, e.duration) for e in events] == [(1.0, 1.0), (4.0, 3.0), (4.0, 1.0)]
    assert {(e.step, e.attempt) for e in events} == {("each", 1)}


async def test_without_subscribers_a_map_step_keeps_no_batch_books(autojump_clock):
    async with Runtime() as rt:
        result = await rt.run(_mapped(2), items=[1, 1, 1])

    assert [o.unwrap() for o in result] == [1, 1, 1]
