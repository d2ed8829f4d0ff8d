"""Again (re-run a step later, holding no slot) and Halt (stop a run, resume it later)."""

import pytest
import trio

from arborist.runtime import (
    DEFAULT_MAX_AGAIN,
    Again,
    AgainLimitError,
    Halt,
    HaltedRun,
    Runtime,
    StepAgain,
    Workflow,
    WorkflowFailedError,
    WorkflowHaltedError,
)


class Boom(Exception):
    pass


async def test_a_step_returning_again_runs_again_after_exactly_that_many_seconds(autojump_clock):
    polls = []
    events = []
    wf = Workflow("poll", inputs=["job"])

    @wf.step
    async def wait_ready(job):
        polls.append((job, trio.current_time()))
        if len(polls) < 3:
            return Again(after=2.5)
        return "ready"

    wf.returns("wait_ready")
    async with Runtime(seed=0) as rt:
        rt.subscribe(events.append)
        assert await rt.run(wf, job="j1") == "ready"
    assert polls == [("j1", 0.0), ("j1", 2.5), ("j1", 5.0)]
    assert [(e.step, e.time, e.count, e.delay) for e in events if isinstance(e, StepAgain)] == [
        ("wait_ready", 0.0, 1, 2.5),
        ("wait_ready", 2.5, 2, 2.5),
    ]


async def test_a_step_waiting_to_run_again_holds_no_concurrency_slot(autojump_clock):
    log = []
    wf = Workflow("slots")

    @wf.step
    async def poll():
        log.append(("poll", trio.current_time()))
        if len(log) == 1:
            return Again(after=5.0)
        return "done"

    @wf.step
    async def other():
        log.append(("other starts", trio.current_time()))
        await trio.sleep(1.0)
        log.append(("other ends", trio.current_time()))

    async with Runtime(seed=0) as rt:
        await rt.run(wf, max_concurrency=1)
        assert trio.current_time() == 5.0
    assert log == [("poll", 0.0), ("other starts", 0.0), ("other ends", 1.0), ("poll", 5.0)]


async def test_a_step_waiting_to_run_again_holds_no_pool_slot(autojump_clock):
    log = []
    wf = Workflow("pool_slots")

    @wf.step(pool="api")
    async def poll():
        log.append(("poll", trio.current_time()))
        if len(log) == 1:
            return Again(after=5.0)
        return "done"

    @wf.step
    async def gate():
        # No pool: it ends at once, so `other` starts one scheduling round after `poll`,
        # when poll already holds the pool's only slot (trio shuffles tasks started together).
        return None

    @wf.step(pool="api", wait_for=["gate"])
    async def other():
        log.append(("other", trio.current_time()))
        await trio.sleep(1.0)

    async with Runtime(seed=0) as rt:
        rt.pool("api", limit=1)
        await rt.run(wf)
    assert log == [("poll", 0.0), ("other", 0.0), ("poll", 5.0)]


async def test_again_is_bounded_by_max_again_and_then_fails_the_run(autojump_clock):
    polls = []
    wf = Workflow("forever")

    @wf.step(max_again=2)
    async def poll():
        polls.append(trio.current_time())
        return Again(after=1.0)

    async with Runtime(seed=0) as rt:
        with pytest.raises(WorkflowFailedError) as info:
            await rt.run(wf)
        assert trio.current_time() == 2.0
    assert polls == [0.0, 1.0, 2.0]
    error = info.value.cause
    assert isinstance(error, AgainLimitError)
    assert (error.step, error.limit) == ("poll", 2)
    assert str(error) == (
        "step 'poll' returned Again more than max_again=2 times; raise max_again on the step "
        "or make the condition it polls for reachable"
    )


async def test_max_again_defaults_to_a_bound_so_a_runaway_poll_still_ends(autojump_clock):
    polls = []
    wf = Workflow("default_bound")

    @wf.step
    async def poll():
        polls.append(None)
        return Again()

    async with Runtime(seed=0) as rt:
        with pytest.raises(WorkflowFailedError):
            await rt.run(wf)
    assert len(polls) == DEFAULT_MAX_AGAIN + 1


def test_again_refuses_a_negative_or_infinite_delay():
    with pytest.raises(ValueError, match=r"after must be a number of seconds >= 0; got -1"):
        Again(after=-1)
    with pytest.raises(ValueError, match="after must be finite"):
        Again(after=float("inf"))


def approval_workflow(calls, approvals):
    """load -> approve (halts until approved) -> ship; audit runs in parallel for 3 s."""
    wf = Workflow("approval", inputs=["order_id"])

    @wf.step
    async def load(order_id):
        calls.append(("load", order_id))
        return {"id": order_id, "total": 120}

    @wf.step
    async def audit(order_id):
        await trio.sleep(3.0)
        calls.append(("audit", trio.current_time()))
        return "clean"

    @wf.step
    async def approve(load):
        calls.append(("approve", load["id"]))
        if not approvals:
            return Halt("needs a manager's approval")
        return approvals[-1]

    @wf.step
    async def ship(approve, audit):
        calls.append(("ship", approve, audit))
        return f"shipped {approve}"

    wf.returns("ship")
    return wf


async def test_halt_ends_the_run_after_the_steps_in_flight_finish_and_starts_nothing_new(
    autojump_clock,
):
    calls = []
    async with Runtime(seed=0) as rt:
        with pytest.raises(WorkflowHaltedError) as info:
            await rt.run(approval_workflow(calls, []), order_id=7)
        assert trio.current_time() == 3.0
    error = info.value
    assert calls == [("load", 7), ("approve", 7), ("audit", 3.0)]
    assert (error.step, error.reason) == ("approve", "needs a manager's approval")
    assert isinstance(error.state, HaltedRun)
    assert error.state.completed == ("load", "audit")
    assert str(error) == (
        f"workflow 'approval' (run {error.state.run_id}) was halted by step 'approve': needs a "
        "manager's approval (completed: load, audit); resume it with rt.resume(error.state)"
    )


async def test_resume_completes_the_run_without_rerunning_completed_steps(autojump_clock):
    calls = []
    approvals = []
    wf = approval_workflow(calls, approvals)
    async with Runtime(seed=0) as rt:
        with pytest.raises(WorkflowHaltedError) as info:
            await rt.run(wf, order_id=7)
        calls.clear()
        approvals.append("approved by Kim")
        assert await rt.resume(info.value.state) == "shipped approved by Kim"
    assert calls == [("approve", 7), ("ship", "approved by Kim", "clean")]


async def test_a_run_can_halt_again_after_resuming_and_be_resumed_once_more(autojump_clock):
    calls = []
    approvals = []
    wf = approval_workflow(calls, approvals)
    async with Runtime(seed=0) as rt:
        with pytest.raises(WorkflowHaltedError) as first:
            await rt.run(wf, order_id=7)
        with pytest.raises(WorkflowHaltedError) as second:
            await rt.resume(first.value.state)
        approvals.append("ok")
        assert await rt.resume(second.value.state) == "shipped ok"
    assert [c[0] for c in calls].count("load") == 1
    assert [c[0] for c in calls].count("audit") == 1
    assert [c[0] for c in calls].count("approve") == 3


async def test_a_failure_after_resuming_rolls_back_the_steps_completed_before_the_halt(
    autojump_clock,
):
    undone = []
    halted = []
    wf = Workflow("resume_rollback")

    @wf.step
    async def reserve():
        return "seat"

    @reserve.undo
    async def release(seat, arguments):
        undone.append(seat)

    @wf.step
    async def confirm(reserve):
        if not halted:
            halted.append(True)
            return Halt("wait")
        raise Boom("payment declined")

    async with Runtime(seed=0) as rt:
        with pytest.raises(WorkflowHaltedError) as info:
            await rt.run(wf)
        assert undone == []
        with pytest.raises(WorkflowFailedError) as failed:
            await rt.resume(info.value.state)
    assert failed.value.undone == ("reserve",)
    assert undone == ["seat"]


async def test_resume_refuses_anything_but_a_halted_state_or_a_run_id():
    async with Runtime(seed=0) as rt:
        with pytest.raises(TypeError, match=r"rt.resume\(\) takes WorkflowHaltedError.state"):
            await rt.resume(42)  # type: ignore[arg-type]


async def test_resuming_a_run_by_id_needs_a_store():
    async with Runtime(seed=0) as rt:
        with pytest.raises(RuntimeError, match=r"rt.resume\(run_id\) needs a store"):
            await rt.resume("0190c5a4-0000-7000-8000-000000000000")
