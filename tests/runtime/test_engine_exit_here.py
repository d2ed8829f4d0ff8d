"""A step's exit is handled in the step's own task when its coordinator is idle.

The coordinator's fast path (``Coordinator._handle_exit_here``): when the coordinator is
parked on its empty mailbox, a finishing step handles its own exit, in the coordinator's
context, instead of queueing it; otherwise the exit goes through the mailbox as before.
"""

import contextvars

import outcome
import pytest
import trio

from arborist.runtime import Runtime, Workflow, WorkflowCrashedError, result
from arborist.runtime.engine._coordinator import Coordinator
from arborist.runtime.engine._step_runner import StepExit

_SEEN: contextvars.ContextVar[str] = contextvars.ContextVar("_SEEN", default="unset")


def _count_exits_through_the_mailbox(monkeypatch):
    """Patch the coordinator to count the StepExit messages its mailbox delivers."""
    counted = []
    original = Coordinator.on_receive

    async def on_receive(self, message):
        if type(message) is StepExit:
            counted.append(message.name)
        await original(self, message)

    monkeypatch.setattr(Coordinator, "on_receive", on_receive)
    return counted


def _chain(n):
    wf = Workflow("chain")

    async def first():
        return 1

    async def plus_one(a):
        return a + 1

    wf.step(first, name="s0")
    for i in range(1, n):
        wf.step(plus_one, name=f"s{i}", args={"a": result(f"s{i - 1}")})
    wf.returns(f"s{n - 1}")
    return wf


async def test_a_chain_of_async_steps_sends_no_exit_through_the_coordinators_mailbox(
    monkeypatch,
):
    counted = _count_exits_through_the_mailbox(monkeypatch)
    async with Runtime() as rt:
        assert await rt.run(_chain(5)) == 5
    assert counted == []


async def test_an_exit_while_the_coordinator_runs_an_inline_step_waits_in_its_mailbox(
    autojump_clock, monkeypatch
):
    counted = _count_exits_through_the_mailbox(monkeypatch)
    wf = Workflow("busy")

    @wf.step(inline=True)
    async def slow_inline():
        await trio.sleep(2)
        return "inline"

    @wf.step
    async def quick():
        await trio.sleep(1)  # ends while the coordinator is inside slow_inline
        return "quick"

    @wf.step
    async def both(slow_inline, quick):
        return (slow_inline, quick)

    wf.returns("both")
    async with Runtime() as rt:
        assert await rt.run(wf) == ("inline", "quick")
    assert counted == ["quick"]


async def test_a_bug_while_a_step_handles_its_own_exit_crashes_the_run(monkeypatch):
    def broken(self, name, attempt, start, value):
        raise KeyError("bookkeeping bug")

    monkeypatch.setattr(Coordinator, "_complete", broken)
    async with Runtime() as rt:
        with pytest.raises(WorkflowCrashedError) as info:
            await rt.run(_chain(2))
    assert type(info.value.__cause__) is KeyError


async def test_a_context_variable_a_step_sets_does_not_reach_the_steps_it_makes_ready():
    wf = Workflow("isolated")

    @wf.step
    async def setter():
        _SEEN.set("set by setter")
        return 1

    @wf.step
    async def reader(setter):
        return _SEEN.get()

    wf.returns("reader")
    async with Runtime() as rt:
        assert await rt.run(wf) == "unset"


async def test_a_result_that_is_an_outcome_reaches_its_consumer_as_that_outcome():
    wf = Workflow("wrapped")

    @wf.step
    async def produce():
        return outcome.Value(5)

    @wf.step
    async def consume(produce):
        return produce

    wf.returns("consume")
    async with Runtime() as rt:
        got = await rt.run(wf)
    assert type(got) is outcome.Value
    assert got.unwrap() == 5


async def test_reading_records_mid_run_keeps_one_list_that_later_attempts_extend(
    autojump_clock,
):
    wf = Workflow("records")

    @wf.step
    async def a():
        return 1

    @wf.step
    async def b(a):
        await trio.sleep(1)
        return a

    async with Runtime() as rt:
        handle = await rt.start(wf)
        await trio.sleep(0.5)
        early = handle.records
        assert [(r.step, r.status) for r in early] == [("a", "ok")]
        await handle.result()
        assert handle.records is early
        assert [(r.step, r.status) for r in early] == [("a", "ok"), ("b", "ok")]
