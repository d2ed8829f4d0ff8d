"""A crash in one run's machinery ends that run only; child runs live and die with their parent."""

import pytest
import trio
import trio.testing

from arborist.runtime import (
    RunFinished,
    Runtime,
    Workflow,
    WorkflowCancelledError,
    WorkflowCrashedError,
    WorkflowFailedError,
)


def _two_steps(name, log):
    wf = Workflow(name)

    @wf.step
    async def first():
        await trio.sleep(1.0)
        return 1

    @wf.step
    async def second(first):
        try:
            await trio.sleep(1.0)
        except trio.Cancelled:
            log.append((name, "second cancelled", trio.current_time()))
            raise
        return first + 1

    wf.returns("second")
    return wf


def _coordinator(handle):
    return handle._coordinator._cell.actor


async def test_a_bogus_message_crashes_only_its_own_run(autojump_clock):
    log = []
    async with Runtime() as rt:
        victim = await rt.start(_two_steps("victim", log))
        bystander = await rt.start(_two_steps("bystander", log))
        await trio.sleep(1.5)
        victim._coordinator.tell("not a coordinator message")
        with pytest.raises(WorkflowCrashedError) as info:
            await victim.result()
        assert await bystander.result() == 2
        assert trio.current_time() == 2.0
    assert log == [("victim", "second cancelled", 1.5)]
    assert type(info.value.__cause__) is TypeError
    assert "unknown message 'not a coordinator message'" in str(info.value)
    assert info.value.run_id == victim.run_id


async def test_a_bug_in_one_coordinators_bookkeeping_crashes_only_that_run(
    autojump_clock, monkeypatch
):
    log = []
    events = []
    async with Runtime() as rt:
        rt.subscribe(events.append)
        victim = await rt.start(_two_steps("victim", log))
        bystander = await rt.start(_two_steps("bystander", log))

        def broken(*args, **kwargs):
            raise KeyError("bookkeeping bug")

        monkeypatch.setattr(_coordinator(victim), "_on_step_exit", broken)
        with pytest.raises(WorkflowCrashedError, match="KeyError") as info:
            await victim.result()
        assert trio.current_time() == 1.0
        assert await bystander.result() == 2
    assert type(info.value.__cause__) is KeyError
    finished = {e.run_id: e.ok for e in events if isinstance(e, RunFinished)}
    assert finished == {victim.run_id: False, bystander.run_id: True}


async def test_a_crashed_runs_handle_says_so_and_cancel_is_then_a_no_op(autojump_clock):
    async with Runtime() as rt:
        victim = await rt.start(_two_steps("victim", []))
        await trio.sleep(0.5)
        victim._coordinator.tell(object())
        with pytest.raises(WorkflowCrashedError):
            await victim.result()
        victim.cancel()
        assert repr(victim) == f"<RunHandle 'victim' {victim.run_id} failed: WorkflowCrashedError>"


async def test_cancelling_a_parent_step_cancels_the_child_run_it_awaits(autojump_clock):
    log = []
    child = _two_steps("child", log)
    parent = Workflow("parent")

    @parent.step
    async def outer(ctx):
        return await ctx.run(child)

    @parent.step
    async def broken():
        await trio.sleep(1.5)
        raise ValueError("broken")

    async with Runtime() as rt:
        with pytest.raises(WorkflowFailedError) as info:
            await rt.run(parent)
        await trio.sleep(10.0)
    assert info.value.cancelled == ("outer",)
    assert log == [("child", "second cancelled", 1.5)]


async def test_a_step_cancelled_while_taking_back_its_pool_slot_is_recorded_as_cancelled(
    autojump_clock,
):
    child = Workflow("child")

    @child.step(pool="db")
    async def query():
        await trio.sleep(1.0)

    hog = Workflow("hog")

    @hog.step(pool="db")
    async def hold():
        await trio.sleep(10.0)

    parent = Workflow("parent")

    @parent.step(pool="db")
    async def outer(ctx):
        await ctx.run(child)

    async with Runtime() as rt:
        db = rt.pool("db", limit=1)
        handle = await rt.start(parent)
        await trio.sleep(0.5)  # the child's query holds the only slot
        hogging = await rt.start(hog)  # queued before the parent takes its slot back
        await trio.sleep(1.0)  # the parent waits behind the hog for its slot
        handle.cancel()
        with pytest.raises(WorkflowCancelledError):
            await handle.result()
        assert [(r.step, r.status) for r in handle.records] == [("outer", "cancelled")]
        hogging.cancel()
        with pytest.raises(WorkflowCancelledError):
            await hogging.result()
        assert db.statistics().in_use == 0
