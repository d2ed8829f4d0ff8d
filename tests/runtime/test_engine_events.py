"""Every run and step transition is an event, in order, on trio's monotonic clock."""

import pytest
import trio

from arborist.runtime import (
    RunEvent,
    RunFinished,
    RunStarted,
    Runtime,
    StepCancelled,
    StepFailed,
    StepFinished,
    StepStarted,
    Workflow,
    WorkflowCancelledError,
    WorkflowFailedError,
)


def _chain():
    wf = Workflow("chain", inputs=["x"])

    @wf.step
    async def load(x):
        await trio.sleep(0.25)
        return x

    @wf.step
    async def save(load):
        await trio.sleep(0.5)
        return load

    wf.returns("save")
    return wf


async def test_a_small_run_reports_run_and_step_events_in_order_with_times_and_durations(
    autojump_clock,
):
    events = []
    async with Runtime() as rt:
        rt.subscribe(events.append, only=RunEvent)
        await trio.sleep(1.0)
        handle = await rt.start(_chain(), x=1)
        await handle.result()
    run_id = handle.run_id
    assert events == [
        RunStarted(run_id, "chain", 1.0),
        StepStarted(run_id, "chain", "load", 1, 1.0),
        StepFinished(run_id, "chain", "load", 1, 1.25, 0.25),
        StepStarted(run_id, "chain", "save", 1, 1.25),
        StepFinished(run_id, "chain", "save", 1, 1.75, 0.5),
        RunFinished(run_id, "chain", 1.75, 0.75, True, None),
    ]
    times = [event.time for event in events]
    assert times == sorted(times)


async def test_a_failed_run_reports_the_final_failure_the_cancelled_steps_and_its_error(
    autojump_clock,
):
    events = []
    wf = Workflow("failing")

    @wf.step
    async def broken():
        await trio.sleep(1.0)
        raise ValueError("broken")

    @wf.step
    async def slow():
        await trio.sleep(10.0)

    async with Runtime() as rt:
        rt.subscribe(events.append, only=RunEvent)
        with pytest.raises(WorkflowFailedError) as info:
            await rt.run(wf)
    failed = [e for e in events if isinstance(e, StepFailed)]
    cancelled = [e for e in events if isinstance(e, StepCancelled)]
    finished = [e for e in events if isinstance(e, RunFinished)]
    assert [(e.step, e.attempt, e.time, e.duration, e.final) for e in failed] == [
        ("broken", 1, 1.0, 1.0, True)
    ]
    assert [(e.step, e.attempt, e.time, e.duration) for e in cancelled] == [("slow", 1, 1.0, 1.0)]
    assert [(e.time, e.duration, e.ok, e.error) for e in finished] == [
        (1.0, 1.0, False, info.value)
    ]
    assert type(events[-1]) is RunFinished


async def test_a_cancelled_run_reports_its_cancelled_steps_and_an_unsuccessful_finish(
    autojump_clock,
):
    events = []
    wf = Workflow("cancelled")

    @wf.step
    async def slow():
        await trio.sleep(10.0)

    async with Runtime() as rt:
        rt.subscribe(events.append, only=RunEvent)
        handle = await rt.start(wf)
        await trio.sleep(2.0)
        handle.cancel()
        with pytest.raises(WorkflowCancelledError):
            await handle.result()
    kinds = [(type(e).__name__, e.time) for e in events]
    assert kinds == [
        ("RunStarted", 0.0),
        ("StepStarted", 0.0),
        ("StepCancelled", 2.0),
        ("RunFinished", 2.0),
    ]
    assert events[-1].ok is False


async def test_an_unsubscribed_handler_gets_no_more_events(autojump_clock):
    events = []
    async with Runtime() as rt:
        unsubscribe = rt.subscribe(events.append, only=RunEvent)
        await rt.run(_chain(), x=1)
        count = len(events)
        unsubscribe()
        await rt.run(_chain(), x=2)
    assert count == 6
    assert len(events) == count


async def test_a_failing_handler_does_not_disturb_the_run_or_other_handlers(autojump_clock):
    events = []

    def broken_handler(event):
        raise RuntimeError("handler bug")

    async with Runtime() as rt:
        rt.subscribe(broken_handler, only=RunEvent)
        rt.subscribe(events.append, only=RunEvent)
        assert await rt.run(_chain(), x=7) == 7
    assert [type(e) for e in events][-1] is RunFinished


async def test_the_events_of_concurrent_runs_carry_their_own_run_ids(autojump_clock):
    events = []
    async with Runtime() as rt:
        rt.subscribe(events.append, only=RunEvent)
        first = await rt.start(_chain(), x=1)
        second = await rt.start(_chain(), x=2)
        await first.result()
        await second.result()
    by_run = {}
    for event in events:
        by_run.setdefault(event.run_id, []).append(type(event).__name__)
    expected = [
        "RunStarted",
        "StepStarted",
        "StepFinished",
        "StepStarted",
        "StepFinished",
        "RunFinished",
    ]
    assert by_run == {first.run_id: expected, second.run_id: expected}


async def test_a_def_step_reports_its_duration_on_the_trio_clock(autojump_clock):
    events = []
    wf = Workflow("blocking")

    @wf.step
    async def wait():
        await trio.sleep(0.5)

    @wf.step
    def compute(wait):
        return 1

    async with Runtime() as rt:
        rt.subscribe(events.append, only=RunEvent)
        await rt.run(wf)
    finished = [e for e in events if isinstance(e, StepFinished) and e.step == "compute"]
    assert [(e.time, e.duration) for e in finished] == [(0.5, 0.0)]


async def test_a_child_run_cut_while_it_is_starting_still_reports_run_finished(autojump_clock):
    # The child's RunStarted is emitted from its coordinator's on_start; cancelling its
    # starter right then kills the coordinator before start_child returns a handle.
    child = Workflow("child")

    @child.step
    async def wait():
        await trio.sleep(10)

    events = []
    async with Runtime() as rt:
        with trio.CancelScope() as starting:

            def on_event(event):
                events.append(event)
                if isinstance(event, RunStarted):
                    starting.cancel()

            rt.subscribe(on_event)
            async with trio.open_nursery() as nursery:
                await rt._runs.start_child(child, {}, nursery)

    started = [e.run_id for e in events if isinstance(e, RunStarted)]
    finished = [e.run_id for e in events if isinstance(e, RunFinished)]
    assert len(started) == 1
    assert finished == started


async def test_a_child_run_cut_before_it_started_reports_neither_start_nor_finish(autojump_clock):
    child = Workflow("child")

    @child.step
    async def wait():
        await trio.sleep(10)

    events = []
    async with Runtime() as rt:
        rt.subscribe(events.append)
        with trio.CancelScope() as starting:
            starting.cancel()  # the coordinator's on_start is cut at its first checkpoint
            async with trio.open_nursery() as nursery:
                await rt._runs.start_child(child, {}, nursery)

    assert [e for e in events if isinstance(e, RunStarted | RunFinished)] == []


async def test_a_handler_subscribed_while_a_run_is_under_way_gets_its_later_step_events(
    autojump_clock,
):
    events = []
    async with Runtime() as rt:
        handle = await rt.start(_chain(), x=1)
        await trio.sleep(0.1)  # load is running, nothing subscribed yet
        rt.subscribe(events.append, only=RunEvent)
        await handle.result()
    run_id = handle.run_id
    assert events == [
        StepFinished(run_id, "chain", "load", 1, 0.25, 0.25),
        StepStarted(run_id, "chain", "save", 1, 0.25),
        StepFinished(run_id, "chain", "save", 1, 0.75, 0.5),
        RunFinished(run_id, "chain", 0.75, 0.75, True, None),
    ]
