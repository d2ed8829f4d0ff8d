"""BaseExceptions out of steps, guards, undos and jobs: interrupts come out bare; others fail a run.

``KeyboardInterrupt`` and ``SystemExit`` raised anywhere in a run shut the runtime down and
reach the caller of ``async with Runtime()`` as the original exception, alone (``except
KeyboardInterrupt`` works, a ``SystemExit`` keeps its code). Any other ``BaseException``
(``GeneratorExit``, a user's subclass, a stale ``trio.Cancelled`` raised by hand) fails only
its run, with that exception as the cause, and the runtime goes on.
"""

import pytest
import trio

from arborist.runtime import Runtime, Workflow, WorkflowFailedError
from arborist.supervision import ChildRestarted, TaskFailed


class Abort(BaseException):
    """A user's own BaseException subclass."""


def _raising(exc, *, kind="async"):
    wf = Workflow("raising")
    if kind == "async":

        @wf.step
        async def culprit():
            raise exc

    elif kind == "def":

        @wf.step
        def culprit():
            raise exc

    else:

        @wf.step(inline=True)
        async def culprit():
            raise exc

    return wf


def _ok():
    wf = Workflow("ok")

    @wf.step
    async def fine():
        return "fine"

    wf.returns("fine")
    return wf


async def _stale_cancelled() -> trio.Cancelled:
    with trio.CancelScope() as scope:
        scope.cancel()
        try:
            await trio.sleep(1)
        except trio.Cancelled as cancelled:
            stale = cancelled
    return stale


@pytest.mark.parametrize("kind", ["async", "def", "inline"])
async def test_a_keyboard_interrupt_in_a_step_comes_out_of_the_runtime_bare(kind, autojump_clock):
    with pytest.raises(KeyboardInterrupt) as caught:
        async with Runtime() as rt:
            await rt.run(_raising(KeyboardInterrupt(), kind=kind))
    assert type(caught.value) is KeyboardInterrupt


async def test_a_system_exit_in_a_step_keeps_its_exit_code(autojump_clock):
    with pytest.raises(SystemExit) as caught:
        async with Runtime() as rt:
            await rt.run(_raising(SystemExit(2)))
    assert caught.value.code == 2


@pytest.mark.parametrize("kind", ["async", "def", "inline"])
@pytest.mark.parametrize("make", [Abort, GeneratorExit], ids=["subclass", "GeneratorExit"])
async def test_another_base_exception_fails_only_its_run(make, kind, autojump_clock):
    restarts = []
    async with Runtime() as rt:
        rt.subscribe(restarts.append, only=ChildRestarted)
        with pytest.raises(WorkflowFailedError) as caught:
            await rt.run(_raising(make("out"), kind=kind))
        assert await rt.run(_ok()) == "fine"
    assert isinstance(caught.value.__cause__, make)
    assert caught.value.step == "culprit"
    assert restarts == []


async def test_a_base_exception_is_never_retried(autojump_clock):
    from arborist.runtime import Retry

    attempts = []
    wf = Workflow("once")

    @wf.step(retry=Retry(attempts=5))
    async def culprit():
        attempts.append(1)
        raise Abort("no")

    async with Runtime() as rt:
        with pytest.raises(WorkflowFailedError):
            await rt.run(wf)
    assert attempts == [1]


async def test_a_stale_cancelled_raised_by_hand_fails_the_run_instead_of_sticking_it(
    autojump_clock,
):
    stale = await _stale_cancelled()
    async with Runtime() as rt:
        with trio.fail_after(10), pytest.raises(WorkflowFailedError) as caught:
            await rt.run(_raising(stale))
    assert caught.value.__cause__ is stale


async def test_a_guard_raising_a_base_exception_fails_its_run(autojump_clock):
    wf = Workflow("guarded")

    def guard():
        raise Abort("guard")

    @wf.step(when=guard)
    async def guarded():
        return 1

    async with Runtime() as rt:
        with pytest.raises(WorkflowFailedError) as caught:
            await rt.run(wf)
        assert await rt.run(_ok()) == "fine"
    assert isinstance(caught.value.__cause__, Abort)


async def test_an_undo_raising_a_base_exception_is_an_undo_error_and_the_rollback_goes_on(
    autojump_clock,
):
    undone = []
    wf = Workflow("saga")

    @wf.step
    async def first():
        return 1

    @first.undo
    async def _(result, arguments):
        undone.append("first")

    @wf.step
    async def second(first):
        return 2

    @second.undo
    async def _(result, arguments):
        raise Abort("undo")

    @wf.step
    async def third(second):
        raise ValueError("fail")

    async with Runtime() as rt:
        with pytest.raises(WorkflowFailedError) as caught:
            await rt.run(wf)
    assert undone == ["first"]
    assert [step for step, _ in caught.value.undo_errors] == ["second"]
    assert isinstance(caught.value.undo_errors[0][1], Abort)


async def test_a_job_raising_a_base_exception_is_a_failure_event_and_the_runtime_goes_on(
    autojump_clock,
):
    failed = []

    async def job():
        raise Abort("job")

    async with Runtime() as rt:
        rt.subscribe(failed.append, only=TaskFailed)
        rt.fire_and_forget(job)
        await trio.sleep(1)
        assert await rt.run(_ok()) == "fine"
    assert len(failed) == 1
    assert isinstance(failed[0].exc, Abort)
