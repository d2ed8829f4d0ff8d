"""Workflows whose steps run on real executors: threads, processes, an in-process Dask cluster.

The semantics are specified on trio's clock with a scripted executor (``tests/runtime/
test_remote_steps.py``); these tests check that real engines give the same: values, the
user's exception type, retries by arborist only, an abandoned call held until it is gone,
fail fast, maps in order, an argument that cannot be sent named. Engines take real time:
remote functions run for a fraction of a second, and no test asserts a duration.
"""

from __future__ import annotations

import os
import threading
import time

import pytest
import trio

from arborist.runtime import (
    MapElementError,
    RemoteCallCancelled,
    Retry,
    Runtime,
    StepStarted,
    Workflow,
    WorkflowFailedError,
    input,
)
from arborist.runtime.executors import (
    CancelResult,
    DaskExecutor,
    NotSendableError,
    ProcessExecutor,
    RemoteStepInfo,
    ThreadExecutor,
)


class Declined(Exception):
    pass


# The in-process cluster runs these in this process: they reach the test through globals.
MARKS: list[tuple[str, int]] = []


@pytest.fixture(autouse=True)
def _fresh_marks():
    MARKS.clear()


def declines_twice(x, info: RemoteStepInfo):
    MARKS.append(("attempt", info.attempt))
    if info.attempt < 3:
        raise Declined(f"attempt {info.attempt}")
    return (x, os.getpid())


def lingers(x, info: RemoteStepInfo):
    if info.attempt == 1:
        time.sleep(0.5)  # outlives its timeout: the engine can only abandon it
    MARKS.append(("returned", info.attempt))
    return x


def square(item):
    return item * item


def fails_on_seven(item):
    if item == 7:
        raise Declined("seven")
    return item


def retrying_workflow(executor):
    wf = Workflow("retrying", inputs=["x"])
    wf.step(declines_twice, executor=executor, retry=Retry(attempts=3, retry_on=(Declined,)))
    wf.returns("declines_twice")
    return wf


# -- threads and processes -------------------------------------------------------------------


async def test_a_step_on_threads_is_retried_on_the_users_exception():
    async with Runtime(executors={"threads": ThreadExecutor(2)}) as rt:
        value, _ = await rt.run(retrying_workflow("threads"), x=5)

    assert value == 5
    assert MARKS == [("attempt", 1), ("attempt", 2), ("attempt", 3)]


async def test_a_timed_out_thread_call_is_abandoned_and_the_retry_waits_for_its_return():
    wf = Workflow("slow", inputs=["x"])
    wf.step(lingers, executor="threads", timeout=0.1, retry=Retry(attempts=2))
    wf.returns("lingers")
    events = []

    def on_event(event):
        events.append(event)
        if isinstance(event, StepStarted) and event.attempt == 2:
            MARKS.append(("retry started", 2))

    async with Runtime(executors={"threads": ThreadExecutor(2)}, shutdown_timeout=10.0) as rt:
        rt.subscribe(on_event)
        assert await rt.run(wf, x=3) == 3

    (cancelled,) = [e for e in events if isinstance(e, RemoteCallCancelled)]
    assert (cancelled.cancel, cancelled.gone) == (CancelResult.ABANDONED, True)
    assert MARKS == [("returned", 1), ("retry started", 2), ("returned", 2)]


async def test_a_step_on_processes_runs_elsewhere_and_its_exception_keeps_its_type():
    wf = Workflow("procs", inputs=["x"])
    wf.step(fails_on_seven, name="check", args={"item": input("x")}, executor="procs")
    wf.returns("check")

    async with Runtime(executors={"procs": ProcessExecutor(1)}) as rt:
        with pytest.raises(WorkflowFailedError) as caught:
            await rt.run(wf, x=7)
        pid = await rt.run(_pid_workflow(), x=0)

    assert type(caught.value.__cause__) is Declined
    assert pid != os.getpid()


def _pid(x):
    return os.getpid()


def _pid_workflow():
    wf = Workflow("pid", inputs=["x"])
    wf.step(_pid, executor="procs")
    wf.returns("_pid")
    return wf


async def test_an_argument_a_process_cannot_receive_fails_the_step_naming_it():
    wf = Workflow("locked", inputs=[])

    @wf.step
    async def make_lock():
        return threading.Lock()

    wf.step(lambda make_lock: None, name="use", executor="procs", retry=Retry(attempts=3))

    async with Runtime(executors={"procs": ProcessExecutor(1)}) as rt:
        with pytest.raises(WorkflowFailedError) as caught:
            await rt.run(wf)

    error = caught.value.__cause__
    assert isinstance(error, NotSendableError)
    assert "step 'use'" in str(error)
    assert "argument 'make_lock'" in str(error)


# -- Dask (the session's in-process cluster) -------------------------------------------------


@pytest.fixture
def dask_runtime(dask_client):
    def make(**options):
        return Runtime(executors={"dask": DaskExecutor(client=dask_client)}, **options)

    return make


async def test_a_step_on_dask_is_retried_by_arborist_only(dask_runtime):
    events = []
    async with dask_runtime() as rt:
        rt.subscribe(events.append)
        value, _ = await rt.run(retrying_workflow("dask"), x=5)

    assert value == 5
    assert MARKS == [("attempt", 1), ("attempt", 2), ("attempt", 3)]
    assert {e.executor for e in events if isinstance(e, StepStarted)} == {"dask"}


async def test_a_timed_out_dask_task_is_abandoned_and_the_retry_starts_once_it_is_gone(
    dask_runtime,
):
    wf = Workflow("slow", inputs=["x"])
    wf.step(lingers, executor="dask", timeout=0.1, retry=Retry(attempts=2))
    wf.returns("lingers")
    events = []

    def on_event(event):
        events.append(event)
        if isinstance(event, StepStarted) and event.attempt == 2:
            MARKS.append(("retry started", 2))

    async with dask_runtime(shutdown_timeout=10.0) as rt:
        rt.subscribe(on_event)
        assert await rt.run(wf, x=3) == 3

    (cancelled,) = [e for e in events if isinstance(e, RemoteCallCancelled)]
    assert (cancelled.cancel, cancelled.gone) == (CancelResult.ABANDONED, True)
    assert cancelled.label.startswith("arborist-lingers")
    assert MARKS == [("returned", 1), ("retry started", 2), ("returned", 2)]


async def test_a_failure_cancels_a_dask_step_in_flight(dask_runtime):
    wf = Workflow("fails", inputs=["x"])
    wf.step(lingers, executor="dask")

    @wf.step
    async def breaks():
        await trio.sleep(0.05)
        raise Declined("down")

    events = []
    async with dask_runtime(shutdown_timeout=10.0) as rt:
        rt.subscribe(events.append)
        with pytest.raises(WorkflowFailedError) as caught:
            await rt.run(wf, x=1)

    assert caught.value.step == "breaks"
    assert list(caught.value.cancelled) == ["lingers"]
    (cancelled,) = [e for e in events if isinstance(e, RemoteCallCancelled)]
    assert (cancelled.step, cancelled.cancel, cancelled.gone) == (
        "lingers",
        CancelResult.ABANDONED,
        True,
    )


async def test_a_map_on_dask_returns_in_order_in_chunks(dask_runtime):
    wf = Workflow("squares", inputs=["records"])
    wf.map(square, over="records", executor="dask", batch_size=6, chunk_size=3)
    wf.returns("square")

    async with dask_runtime() as rt:
        assert await rt.run(wf, records=range(20)) == [x * x for x in range(20)]


async def test_a_failing_element_on_dask_names_the_element_and_keeps_the_users_type(
    dask_runtime,
):
    wf = Workflow("checks", inputs=["records"])
    wf.map(fails_on_seven, over="records", executor="dask", batch_size=4)

    async with dask_runtime() as rt:
        with pytest.raises(WorkflowFailedError) as caught:
            await rt.run(wf, records=range(10))

    error = caught.value.__cause__
    assert isinstance(error, MapElementError)
    assert error.index == 7
    assert type(error.__cause__) is Declined


async def test_a_value_dask_cannot_serialise_fails_the_step_naming_it(dask_runtime):
    wf = Workflow("locked", inputs=[])

    @wf.step
    async def make_lock():
        return threading.Lock()

    wf.step(lambda make_lock: None, name="use", executor="dask", retry=Retry(attempts=3))

    events = []
    async with dask_runtime() as rt:
        rt.subscribe(events.append)
        with pytest.raises(WorkflowFailedError) as caught:
            await rt.run(wf)

    error = caught.value.__cause__
    assert isinstance(error, NotSendableError)
    assert "step 'use'" in str(error)
    assert "argument 'make_lock'" in str(error)
    assert [e.attempt for e in events if isinstance(e, StepStarted) and e.step == "use"] == [1]

