"""Blocking (``def``) steps and cancellation: a thread cannot be interrupted, so the run waits.

When a run fails or is cancelled while a ``def`` step runs on its thread, the run waits for the
function to return (up to the rest of the step's timeout, or the runtime's shutdown time); a
value returned in time completes the step and the rollback undoes it. No side effect lands
after the run has reported its end.
"""

import logging
import threading

import pytest
import trio
import trio.lowlevel
import trio.testing

from arborist.runtime import (
    Runtime,
    StepFailed,
    Workflow,
    WorkflowCancelledError,
    WorkflowFailedError,
)


class Boom(Exception):
    pass


def _blocking_workflow(release, effects, undone, *, timeout=None):
    wf = Workflow("blocking")
    entered = trio.Event()

    @wf.step(timeout=timeout)
    def write_file():
        trio.from_thread.run_sync(entered.set)
        release.wait(timeout=30)
        effects.append("written")
        return "file.txt"

    @write_file.undo
    def _(result, arguments):
        undone.append(result)

    @wf.step
    async def check():
        await entered.wait()
        raise Boom("check failed")

    return wf


def _on_failure_of(rt, step):
    """An event set when ``step`` has failed (its StepFailed event)."""
    failed = trio.Event()
    rt.subscribe(lambda event: event.step == step and failed.set(), only=StepFailed)
    return failed


async def test_a_failing_run_waits_for_its_running_def_step_and_undoes_it():
    release = threading.Event()
    effects, undone = [], []
    async with Runtime() as rt:
        check_failed = _on_failure_of(rt, "check")
        handle = await rt.start(_blocking_workflow(release, effects, undone))
        with trio.fail_after(10):
            await check_failed.wait()
            await trio.testing.wait_all_tasks_blocked()
            assert not handle.done  # the run waits for the thread
            release.set()
            with pytest.raises(WorkflowFailedError) as caught:
                await handle.result()
    assert effects == ["written"]
    assert "write_file" in caught.value.completed
    assert caught.value.undone == ("write_file",)
    assert undone == ["file.txt"]


async def test_a_cancelled_run_waits_for_its_running_def_step_and_undoes_it():
    release = threading.Event()
    effects, undone = [], []
    wf = Workflow("blocking")
    entered = trio.Event()

    @wf.step
    def write_file():
        trio.from_thread.run_sync(entered.set)
        release.wait(timeout=30)
        effects.append("written")
        return "file.txt"

    @write_file.undo
    def _(result, arguments):
        undone.append(result)

    async with Runtime() as rt:
        handle = await rt.start(wf)
        with trio.fail_after(10):
            await entered.wait()
            handle.cancel()
            await trio.testing.wait_all_tasks_blocked()
            assert not handle.done
            release.set()
            with pytest.raises(WorkflowCancelledError) as caught:
                await handle.result()
    assert caught.value.completed == ("write_file",)
    assert undone == ["file.txt"]


async def test_a_def_step_still_running_after_the_shutdown_time_is_abandoned_and_logged(
    mock_clock, caplog
):
    release = threading.Event()
    effects, undone = [], []
    caplog.set_level(logging.WARNING, logger="arborist.runtime.engine")
    async with Runtime(shutdown_timeout=5.0) as rt:
        handle = await rt.start(_blocking_workflow(release, effects, undone))
        with trio.fail_after(10):
            while not any(r.step == "check" for r in handle.records):
                await trio.lowlevel.checkpoint()
                await trio.testing.wait_all_tasks_blocked()
            mock_clock.jump(5.0)  # past the shutdown time the run waits for the thread
            with pytest.raises(WorkflowFailedError) as caught:
                await handle.result()
        release.set()
    assert "write_file" in caught.value.cancelled
    assert undone == []
    assert "still running on its thread and is abandoned" in caplog.text


async def test_a_timed_out_def_step_is_abandoned_at_once_not_waited_for(mock_clock):
    release = threading.Event()
    wf = Workflow("slow")
    entered = trio.Event()

    @wf.step(timeout=2.0)
    def slow():
        trio.from_thread.run_sync(entered.set)
        release.wait(timeout=30)

    async with Runtime() as rt:
        handle = await rt.start(wf)
        with trio.fail_after(10):
            await entered.wait()
            mock_clock.jump(2.0)
            with pytest.raises(WorkflowFailedError) as caught:
                await handle.result()
        release.set()
    assert type(caught.value.__cause__).__name__ == "StepTimeoutError"
