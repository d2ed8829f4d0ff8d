"""Sagas: the undo log of a run, its rollback, and the resumable state of a halted run.

Every step that completes with an undo function (or that ran child workflows through its
context) is appended to the run's undo log, in completion order. When the run fails or is
cancelled, the log is rolled back in reverse: last completed, first undone (strict LIFO, unlike
Reactor's oldest-first). A step that completed while the run was being cancelled is in the log
and is undone; a step that was cancelled did not complete and is not. An undo that raises is
recorded and the rollback goes on; an undo that returns ``RetryStep`` is tried again, at most
``MAX_UNDO_ATTEMPTS`` times in all.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

import attrs
import trio

from arborist.actors._escapes import sort_escape

from ..workflow._control import RetryStep
from ..workflow._workflow import is_async_callable

if TYPE_CHECKING:
    from ..workflow._workflow import Workflow

__all__ = ["MAX_UNDO_ATTEMPTS", "HaltedRun", "UndoEntry", "UndoRetryLimitError", "rollback"]

MAX_UNDO_ATTEMPTS: Final = 3
"""How many times in all an undo function runs when it keeps returning ``RetryStep``."""


class UndoRetryLimitError(RuntimeError):
    """An undo function asked to be retried more than ``MAX_UNDO_ATTEMPTS`` times in all."""

    def __init__(self, step: str) -> None:
        self.step = step
        super().__init__(
            f"undo of step {step!r} still asked for a retry after {MAX_UNDO_ATTEMPTS} attempts"
        )


@attrs.frozen
class UndoEntry:
    """One completed step in a run's undo log.

    Attributes:
        step: the step's name; a child run's entries read ``parent_step/child_step``.
        undo: the undo function, or None when only ``children`` need undoing.
        result: the step's result.
        arguments: the arguments the step ran with.
        children: undo logs of child runs the step started through its context.
        run_id: the run whose step this is (a child run's, for a child's entries), when the
            coordinator that made it knew it.
    """

    step: str
    undo: Callable[..., Any] | None
    result: Any
    arguments: Mapping[str, Any]
    children: tuple[UndoEntry, ...] = ()
    run_id: str | None = None


@attrs.frozen
class HaltedRun:
    """Everything needed to resume a halted run without re-running its completed steps.

    Attributes:
        workflow: the workflow.
        run_id: the id of the halted run.
        inputs: the run's inputs.
        completed: the steps already resolved (completed, skipped or failed-as-outcome).
        results: the results that steps still to run need (and the returned one).
        pending: the arguments of steps that started but did not complete (the halting step,
            steps waiting to retry or to run ``Again``); they run again with them.
        undo_log: the undo log so far, so a failure after resuming still rolls back.
        halted_by: the step that halted the run; it runs again on resume.
        reason: the reason it gave.
        options: the run's options (max_concurrency, concurrent, pool).
    """

    workflow: Workflow
    run_id: str
    inputs: Mapping[str, Any]
    completed: tuple[str, ...]
    results: Mapping[str, Any]
    pending: Mapping[str, Mapping[str, Any]]
    undo_log: tuple[UndoEntry, ...]
    halted_by: str
    reason: str
    options: Mapping[str, Any]


async def _undo_once(
    entry: UndoEntry, undo: Callable[..., Any], limiter: trio.CapacityLimiter
) -> Any:
    if is_async_callable(undo):
        return await undo(entry.result, entry.arguments)
    return await trio.to_thread.run_sync(
        functools.partial(undo, entry.result, entry.arguments), limiter=limiter
    )


async def rollback(
    log: list[UndoEntry],
    limiter: trio.CapacityLimiter,
    on_undone: Callable[[UndoEntry, float, int], None],
    on_failed: Callable[[UndoEntry, BaseException, int], None],
    settle: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Undo ``log`` in reverse order; report each undo through the callbacks.

    Each entry's own undo runs before the undo logs of its children (which completed before
    it), children in reverse. Never raises for an undo's failure, a ``BaseException`` other
    than an interrupt or a real cancellation included (``GeneratorExit``, a user's
    ``BaseException`` subclass): it is that undo's error and the rollback goes on.

    The callbacks receive the entry, its duration or error, and how many times its undo ran.
    ``settle``, when given, is awaited after each callback and before the next undo starts
    (a durable run waits there until the undo's outcome is journaled).
    """
    for entry in reversed(log):
        if entry.undo is not None:
            start = trio.current_time()
            for attempt in range(1, MAX_UNDO_ATTEMPTS + 1):
                try:
                    decision = await _undo_once(entry, entry.undo, limiter)
                except Exception as exc:
                    on_failed(entry, exc, attempt)
                    break
                except BaseException as exc:
                    escape = sort_escape(exc)
                    if escape.interrupt is not None or escape.cancellation is not None:
                        raise
                    on_failed(entry, escape.crash if escape.crash is not None else exc, attempt)
                    break
                if not isinstance(decision, RetryStep):
                    on_undone(entry, trio.current_time() - start, attempt)
                    break
                if attempt == MAX_UNDO_ATTEMPTS:
                    on_failed(entry, UndoRetryLimitError(entry.step), attempt)
                    break
                if decision.after:
                    await trio.sleep(decision.after)
            if settle is not None:
                await settle()
        if entry.children:
            await rollback(list(entry.children), limiter, on_undone, on_failed, settle)
