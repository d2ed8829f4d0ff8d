"""Events carry wall-clock time beside trio's; a child run's events name its parent run."""

import contextvars
import time

import trio

from arborist.runtime import RunFinished, RunStarted, Runtime, StepFinished, StepStarted, Workflow

REQUEST = contextvars.ContextVar("request", default=None)


def _child_and_parent():
    child = Workflow("child")

    @child.step
    async def inner():
        return 1

    parent = Workflow("parent")

    @parent.step
    async def outer(ctx):
        return await ctx.run(child)

    return parent


async def test_every_event_carries_a_wall_clock_timestamp_of_when_it_happened(autojump_clock):
    before = time.time()
    events = []
    async with Runtime() as rt:
        rt.subscribe(events.append)
        await rt.run(_child_and_parent())
    after = time.time()

    assert events
    assert all(before <= event.wall_time <= after for event in events)


async def test_a_child_runs_start_and_finish_name_its_parent_run_and_step(autojump_clock):
    events = []
    async with Runtime() as rt:
        rt.subscribe(events.append, only=RunStarted | RunFinished)
        handle = await rt.start(_child_and_parent())
        await handle.result()
    started = {e.workflow: e for e in events if isinstance(e, RunStarted)}
    finished = {e.workflow: e for e in events if isinstance(e, RunFinished)}

    assert (started["child"].parent_run_id, started["child"].parent_step) == (
        handle.run_id,
        "outer",
    )
    assert finished["child"].parent_run_id == handle.run_id
    assert (started["parent"].parent_run_id, finished["parent"].parent_run_id) == (None, None)


async def test_run_started_carries_the_context_of_the_caller_of_start(autojump_clock):
    events = []
    async with Runtime() as rt:
        rt.subscribe(events.append, only=RunStarted)
        token = REQUEST.set("req-42")
        handle = await rt.start(_child_and_parent())
        REQUEST.reset(token)
        await handle.result()
    top = next(e for e in events if e.workflow == "parent")

    assert top.caller_context.run(REQUEST.get) == "req-42"


async def test_the_wall_time_is_left_out_of_equality_and_positional_matching():
    a = StepStarted("r", "w", "s", 1, 0.0)
    b = StepStarted("r", "w", "s", 1, 0.0, wall_time=a.wall_time + 5)

    assert a == b
    match a:
        case StepStarted(run_id, workflow, step, attempt, at):
            assert (run_id, workflow, step, attempt, at) == ("r", "w", "s", 1, 0.0)


async def test_a_pooled_attempt_reports_its_pool_and_how_long_it_waited(autojump_clock):
    wf = Workflow("pooled")

    @wf.step(pool="db")
    async def first():
        await trio.sleep(2)

    @wf.step(pool="db")
    async def second():
        await trio.sleep(2)

    events = []
    async with Runtime() as rt:
        rt.pool("db", limit=1)
        rt.subscribe(events.append, only=StepStarted | StepFinished)
        await rt.run(wf)

    assert {e.pool for e in events if isinstance(e, StepStarted)} == {"db"}
    waits = sorted((e.pool_wait, e.duration) for e in events if isinstance(e, StepFinished))
    assert waits == [(0.0, 2.0), (2.0, 4.0)]
