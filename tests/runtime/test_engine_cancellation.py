"""A cancelled or fail-fast run ends within its cancellation time, whatever its steps do.

Steps may open nurseries, cancel scopes, raise exception groups, catch ``Cancelled`` and clean
up, or map over elements (each map step is a nursery of element tasks). The coordinator must
still see every attempt end: one ``StepCancelled`` per step in flight, one outcome for the run,
and no wait for the runtime's shutdown to cut it.
"""

import pytest
import trio

from arborist.runtime import (
    Runtime,
    StepCancelled,
    Workflow,
    WorkflowCancelledError,
    WorkflowFailedError,
)

# Under the mock clock a run that hangs would be cut only by the runtime's shutdown: a bound
# far below it makes such a hang a failure instead.
HANG = 100.0


class Boom(Exception):
    pass


def _nursery_step_workflow(log):
    wf = Workflow("nurseries")

    @wf.step
    async def fan_out():
        async with trio.open_nursery() as nursery:
            for _ in range(3):
                nursery.start_soon(trio.sleep, 50)
        log.append("fan_out finished")

    return wf


async def test_cancelling_a_run_whose_step_has_a_nursery_open_ends_the_run(autojump_clock):
    log = []
    async with Runtime() as rt:
        handle = await rt.start(_nursery_step_workflow(log))
        await trio.sleep(1)
        handle.cancel()
        with trio.fail_after(HANG), pytest.raises(WorkflowCancelledError) as caught:
            await handle.result()
        assert trio.current_time() == 1.0
    assert caught.value.cancelled == ("fan_out",)
    assert log == []


async def test_a_failing_sibling_ends_a_run_whose_other_step_has_a_nursery_open(autojump_clock):
    wf = _nursery_step_workflow([])

    @wf.step
    async def broken():
        await trio.sleep(2)
        raise Boom("no")

    async with Runtime() as rt:
        with trio.fail_after(HANG), pytest.raises(WorkflowFailedError) as caught:
            await rt.run(wf)
        assert trio.current_time() == 2.0
    assert caught.value.step == "broken"
    assert caught.value.cancelled == ("fan_out",)


async def test_cancelling_a_run_during_a_map_step_ends_the_run(autojump_clock):
    wf = Workflow("mapping", inputs=["items"])

    @wf.map(over="items", batch_size=4)
    async def each(item):
        await trio.sleep(10)
        return item

    async with Runtime() as rt:
        handle = await rt.start(wf, items=list(range(20)))
        await trio.sleep(15)
        handle.cancel()
        with trio.fail_after(HANG), pytest.raises(WorkflowCancelledError) as caught:
            await handle.result()
        assert trio.current_time() == 15.0
    assert caught.value.cancelled == ("each",)


async def test_a_failing_sibling_ends_a_run_in_the_middle_of_a_map_step(autojump_clock):
    wf = Workflow("mapping", inputs=["items"])

    @wf.map(over="items", batch_size=2)
    async def each(item):
        await trio.sleep(10)
        return item

    @wf.step
    async def broken():
        await trio.sleep(5)
        raise Boom("no")

    async with Runtime() as rt:
        with trio.fail_after(HANG), pytest.raises(WorkflowFailedError) as caught:
            await rt.run(wf, items=list(range(10)))
        assert trio.current_time() == 5.0
    assert caught.value.step == "broken"


async def test_every_step_in_flight_reports_exactly_one_cancellation(autojump_clock):
    wf = Workflow("many")
    for index in range(4):

        async def busy():
            async with trio.open_nursery() as nursery:
                nursery.start_soon(trio.sleep_forever)
                nursery.start_soon(trio.sleep_forever)

        wf.step(busy, name=f"busy_{index}")
    events = []
    async with Runtime() as rt:
        rt.subscribe(events.append, only=StepCancelled)
        handle = await rt.start(wf)
        await trio.sleep(1)
        handle.cancel()
        with trio.fail_after(HANG), pytest.raises(WorkflowCancelledError):
            await handle.result()
    assert sorted(event.step for event in events) == [f"busy_{i}" for i in range(4)]


async def test_a_step_that_cleans_up_after_its_cancellation_delays_the_end_by_its_cleanup(
    autojump_clock,
):
    wf = Workflow("cleanup")

    @wf.step
    async def tidy():
        try:
            await trio.sleep(50)
        finally:
            with trio.CancelScope(shield=True):
                await trio.sleep(3)

    async with Runtime() as rt:
        handle = await rt.start(wf)
        await trio.sleep(1)
        handle.cancel()
        with trio.fail_after(HANG), pytest.raises(WorkflowCancelledError):
            await handle.result()
        assert trio.current_time() == 4.0


async def test_an_error_raised_by_a_nursery_child_while_the_step_is_cancelled_still_ends_it(
    autojump_clock,
):
    wf = Workflow("messy")

    @wf.step
    async def messy():
        async def fails_when_cancelled():
            try:
                await trio.sleep(50)
            except trio.Cancelled:
                raise Boom("cleanup failed") from None

        async with trio.open_nursery() as nursery:
            nursery.start_soon(fails_when_cancelled)
            nursery.start_soon(trio.sleep, 50)

    async with Runtime() as rt:
        handle = await rt.start(wf)
        await trio.sleep(1)
        handle.cancel()
        with trio.fail_after(HANG), pytest.raises(WorkflowCancelledError) as caught:
            await handle.result()
    assert caught.value.cancelled == ("messy",)


async def test_a_step_raising_an_exception_group_fails_the_run_with_that_group(autojump_clock):
    wf = Workflow("grouped")

    @wf.step
    async def parallel():
        async def fail(n):
            raise Boom(f"part {n}")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(fail, 1)
            nursery.start_soon(fail, 2)

    async with Runtime() as rt:
        with trio.fail_after(HANG), pytest.raises(WorkflowFailedError) as caught:
            await rt.run(wf)
    group = caught.value.__cause__
    assert isinstance(group, ExceptionGroup)
    assert sorted(str(e) for e in group.exceptions) == ["part 1", "part 2"]


async def test_a_step_that_swallows_its_cancellation_completes_and_is_undone(autojump_clock):
    wf = Workflow("stubborn")
    undone = []

    @wf.step
    async def stubborn():
        try:
            await trio.sleep(50)
        except trio.Cancelled:
            return "kept"  # against trio's rules, but it happens: the value stands

    @stubborn.undo
    async def _(result, arguments):
        undone.append(result)

    async with Runtime() as rt:
        handle = await rt.start(wf)
        await trio.sleep(1)
        handle.cancel()
        with trio.fail_after(HANG), pytest.raises(WorkflowCancelledError) as caught:
            await handle.result()
    assert caught.value.completed == ("stubborn",)
    assert undone == ["kept"]
