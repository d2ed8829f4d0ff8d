"""Fail fast: the first final failure cancels the run and raises one WorkflowFailedError."""

import pytest
import trio
import trio.testing

from arborist.runtime import (
    Runtime,
    Workflow,
    WorkflowCancelledError,
    WorkflowFailedError,
)


class Boom(Exception):
    pass


def _failing_workflow(log):
    """`ok` finishes at 0.5, `broken` fails at 1.0, `slow` is still running then, `later`
    needs `broken` and never starts."""
    wf = Workflow("failing")

    @wf.step
    async def ok():
        await trio.sleep(0.5)
        return "ok"

    @wf.step
    async def broken():
        await trio.sleep(1.0)
        raise Boom("disk on fire")

    @wf.step
    async def slow():
        try:
            await trio.sleep(10.0)
        except trio.Cancelled:
            log.append(("slow cancelled", trio.current_time()))
            raise
        log.append(("slow finished", trio.current_time()))

    @wf.step
    async def later(broken):
        log.append(("later ran", trio.current_time()))

    return wf


async def test_the_first_final_failure_cancels_the_steps_in_flight_at_once(autojump_clock):
    log = []
    async with Runtime() as rt:
        with pytest.raises(WorkflowFailedError):
            await rt.run(_failing_workflow(log))
        assert trio.current_time() == 1.0
        await trio.sleep(20)
    assert log == [("slow cancelled", 1.0)]


async def test_workflow_failed_error_names_the_step_chains_the_cause_and_lists_the_steps(
    autojump_clock,
):
    async with Runtime() as rt:
        with pytest.raises(WorkflowFailedError) as info:
            await rt.run(_failing_workflow([]))
    error = info.value
    assert error.step == "broken"
    assert error.workflow == "failing"
    assert isinstance(error.cause, Boom)
    assert error.__cause__ is error.cause
    assert error.completed == ("ok",)
    assert error.failed == ("broken",)
    assert error.cancelled == ("slow",)
    assert str(error) == (
        f"workflow 'failing' (run {error.run_id}) failed at step 'broken': Boom: disk on fire "
        f"(completed: ok; cancelled: slow)"
    )


async def test_a_failed_run_raises_the_error_itself_never_an_exception_group(autojump_clock):
    wf = Workflow("two_failures")

    @wf.step
    async def first():
        raise Boom("first")

    @wf.step
    async def second():
        raise Boom("second")

    async with Runtime() as rt:
        try:
            await rt.run(wf)
        except BaseException as error:
            caught = error
    assert type(caught) is WorkflowFailedError
    assert caught.step in {"first", "second"}


async def test_a_def_step_that_raises_fails_the_run_with_its_error_as_the_cause(autojump_clock):
    wf = Workflow("blocking_failure")

    @wf.step
    def parse():
        raise ValueError("not json")

    async with Runtime() as rt:
        with pytest.raises(WorkflowFailedError, match="ValueError: not json") as info:
            await rt.run(wf)
    assert type(info.value.__cause__) is ValueError


async def test_a_bad_result_path_fails_the_consuming_step_with_a_lookup_error(autojump_clock):
    from arborist.runtime import result

    wf = Workflow("bad_path")

    @wf.step
    async def profile():
        return {"name": "Ada"}

    @wf.step(args={"email": result("profile", "email")})
    async def notify(email):
        return email

    async with Runtime() as rt:
        with pytest.raises(WorkflowFailedError, match="cannot follow key 'email'") as info:
            await rt.run(wf)
    assert info.value.step == "notify"
    assert isinstance(info.value.__cause__, LookupError)


async def test_an_inline_step_dispatched_before_a_failure_does_not_run_after_it():
    ran = []
    wf = Workflow("inline_after_failure")

    @wf.step(inline=True)
    def first():
        raise Boom("first")

    @wf.step(inline=True)
    def second():
        ran.append("second")

    async with Runtime() as rt:
        with pytest.raises(WorkflowFailedError) as info:
            await rt.run(wf)
    assert ran == []
    assert info.value.cancelled == ("second",)


async def test_cancelling_the_handle_cancels_the_steps_and_raises_workflow_cancelled_error(
    autojump_clock,
):
    log = []
    wf = Workflow("cancellable")

    @wf.step
    async def quick():
        await trio.sleep(0.5)

    @wf.step
    async def long():
        try:
            await trio.sleep(10.0)
        except trio.Cancelled:
            log.append(trio.current_time())
            raise

    async with Runtime() as rt:
        handle = await rt.start(wf)
        await trio.sleep(2.0)
        handle.cancel()
        with pytest.raises(WorkflowCancelledError) as info:
            await handle.result()
    assert log == [2.0]
    assert info.value.completed == ("quick",)
    assert info.value.cancelled == ("long",)
    assert info.value.run_id == handle.run_id


async def test_cancelling_a_handle_after_the_run_ended_changes_nothing(autojump_clock):
    wf = Workflow("finished")

    @wf.step
    async def one():
        return 1

    wf.returns("one")
    async with Runtime() as rt:
        handle = await rt.start(wf)
        assert await handle.result() == 1
        handle.cancel()
        assert await handle.result() == 1


async def test_cancelling_the_caller_of_result_does_not_cancel_the_run(autojump_clock):
    wf = Workflow("detached")

    @wf.step
    async def work():
        await trio.sleep(5.0)
        return "done"

    wf.returns("work")
    async with Runtime() as rt:
        handle = await rt.start(wf)
        with trio.move_on_after(1.0):
            await handle.result()
        assert await handle.result() == "done"
        assert trio.current_time() == 5.0


async def test_closing_the_runtime_cancels_runs_still_in_flight_after_the_grace_time(
    autojump_clock,
):
    log = []
    wf = Workflow("in_flight")

    @wf.step
    async def long():
        try:
            await trio.sleep(100.0)
        except trio.Cancelled:
            log.append(trio.current_time())
            raise

    async with Runtime(shutdown_timeout=5.0) as rt:
        handle = await rt.start(wf)
        await trio.sleep(1.0)
    assert log == [6.0]
    assert rt.shutdown_report is not None
    assert rt.shutdown_report.runs_cancelled == (handle.run_id,)
    with pytest.raises(WorkflowCancelledError) as info:
        await handle.result()
    assert info.value.cancelled == ("long",)


async def test_closing_the_runtime_lets_runs_in_flight_finish_within_the_grace_time(
    autojump_clock,
):
    wf = Workflow("short")

    @wf.step
    async def short():
        await trio.sleep(2.0)
        return "done"

    wf.returns("short")
    async with Runtime(shutdown_timeout=5.0) as rt:
        handle = await rt.start(wf)
        await trio.sleep(1.0)
    assert await handle.result() == "done"
    assert handle.finished_at == 2.0
    assert rt.shutdown_report is not None
    assert rt.shutdown_report.runs_finished == (handle.run_id,)
    assert rt.shutdown_report.runs_cancelled == ()


async def test_a_failure_drops_pending_retries_and_lists_their_steps_as_cancelled(
    autojump_clock,
):
    from arborist.runtime import Retry

    attempts = []
    wf = Workflow("pending_retry")

    @wf.step(retry=Retry(attempts=3, delay=5.0))
    async def flaky():
        attempts.append(trio.current_time())
        raise Boom("flaky")

    @wf.step
    async def broken():
        await trio.sleep(1.0)
        raise Boom("broken")

    async with Runtime() as rt:
        with pytest.raises(WorkflowFailedError) as info:
            await rt.run(wf)
        await trio.sleep(20.0)
    assert attempts == [0.0]
    assert info.value.step == "broken"
    assert info.value.cancelled == ("flaky",)


async def test_a_run_handles_repr_shows_its_state(autojump_clock):
    wf = Workflow("shown")

    @wf.step
    async def wait():
        await trio.sleep(1.0)

    @wf.step
    async def fail(wait):
        raise Boom("x")

    async with Runtime() as rt:
        handle = await rt.start(wf)
        assert repr(handle) == f"<RunHandle 'shown' {handle.run_id} running>"
        with pytest.raises(WorkflowFailedError):
            await handle.result()
        assert repr(handle) == f"<RunHandle 'shown' {handle.run_id} failed: WorkflowFailedError>"
