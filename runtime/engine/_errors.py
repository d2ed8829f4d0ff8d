"""Errors a workflow run raises to its caller: one error per run, never a bare ExceptionGroup."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._saga import HaltedRun

__all__ = [
    "AgainLimitError",
    "MapElementError",
    "RuntimeClosedError",
    "StepSkippedError",
    "StepTimeoutError",
    "WorkflowCancelledError",
    "WorkflowCrashedError",
    "WorkflowFailedError",
    "WorkflowHaltedError",
]


def _names(names: Sequence[str]) -> str:
    return ", ".join(names) if names else "none"


def _rollback_text(undone: Sequence[str], undo_errors: Sequence[tuple[str, BaseException]]) -> str:
    text = ""
    if undone:
        text += f"; undone: {_names(undone)}"
    if undo_errors:
        failures = ", ".join(f"{step} ({type(exc).__name__}: {exc})" for step, exc in undo_errors)
        text += f"; undo failed: {failures}"
    return text


class WorkflowFailedError(Exception):
    """A step failed (after its retries and compensation) and the run stopped and rolled back.

    The step's exception is chained as ``__cause__`` and kept as ``cause``.

    Attributes:
        workflow: the workflow's name.
        run_id: the run's id.
        step: the step that failed.
        cause: the step's exception.
        completed: the steps that finished with a value, in completion order (including steps
            that completed while the run was being cancelled).
        failed: the steps that failed (``step`` first).
        cancelled: the steps in flight (or waiting to retry) that were cancelled; they are not
            undone, since they did not complete.
        skipped: the steps that did not run (guards, or a needed step that did not succeed).
        undone: the steps rolled back by their undo functions, in the order undone.
        undo_errors: ``(step, exception)`` for each undo that failed; the rollback went on.
    """

    def __init__(
        self,
        *,
        workflow: str,
        run_id: str,
        step: str,
        cause: BaseException,
        completed: Sequence[str],
        failed: Sequence[str],
        cancelled: Sequence[str],
        skipped: Sequence[str] = (),
        undone: Sequence[str] = (),
        undo_errors: Sequence[tuple[str, BaseException]] = (),
    ) -> None:
        self.workflow = workflow
        self.run_id = run_id
        self.step = step
        self.cause = cause
        self.completed = tuple(completed)
        self.failed = tuple(failed)
        self.cancelled = tuple(cancelled)
        self.skipped = tuple(skipped)
        self.undone = tuple(undone)
        self.undo_errors = tuple(undo_errors)
        super().__init__(
            f"workflow {workflow!r} (run {run_id}) failed at step {step!r}: "
            f"{type(cause).__name__}: {cause} "
            f"(completed: {_names(self.completed)}; cancelled: {_names(self.cancelled)}"
            f"{_rollback_text(self.undone, self.undo_errors)})"
        )
        self.__cause__ = cause


class WorkflowCancelledError(Exception):
    """The run was cancelled through its handle (or the runtime closed) before it finished.

    Attributes:
        workflow: the workflow's name.
        run_id: the run's id.
        completed: the steps that finished before the cancellation.
        cancelled: the steps in flight that were cancelled.
        undone: the steps rolled back (a cancelled run is undone like a failed one).
        undo_errors: ``(step, exception)`` for each undo that failed.
    """

    def __init__(
        self,
        *,
        workflow: str,
        run_id: str,
        completed: Sequence[str],
        cancelled: Sequence[str],
        undone: Sequence[str] = (),
        undo_errors: Sequence[tuple[str, BaseException]] = (),
    ) -> None:
        self.workflow = workflow
        self.run_id = run_id
        self.completed = tuple(completed)
        self.cancelled = tuple(cancelled)
        self.undone = tuple(undone)
        self.undo_errors = tuple(undo_errors)
        super().__init__(
            f"workflow {workflow!r} (run {run_id}) was cancelled "
            f"(completed: {_names(self.completed)}; cancelled: {_names(self.cancelled)}"
            f"{_rollback_text(self.undone, self.undo_errors)})"
        )


class WorkflowHaltedError(Exception):
    """A step halted the run. ``state`` resumes it: ``await rt.resume(error.state)``.

    Attributes:
        state: the resumable state (completed steps and the results still needed).
        step: the step that halted the run.
        reason: the reason it gave.
    """

    def __init__(self, state: HaltedRun) -> None:
        self.state = state
        self.step = state.halted_by
        self.reason = state.reason
        done = ", ".join(state.completed) or "none"
        super().__init__(
            f"workflow {state.workflow.name!r} (run {state.run_id}) was halted by step "
            f"{state.halted_by!r}: {state.reason or 'no reason given'} (completed: {done}); "
            "resume it with rt.resume(error.state)"
        )


class WorkflowCrashedError(Exception):
    """The run's own machinery (its coordinator) crashed; the bug is chained as the cause.

    Other runs are not affected.
    """

    def __init__(self, *, workflow: str, run_id: str, cause: BaseException) -> None:
        self.workflow = workflow
        self.run_id = run_id
        super().__init__(
            f"the coordinator of workflow {workflow!r} (run {run_id}) crashed: "
            f"{type(cause).__name__}: {cause}"
        )
        self.__cause__ = cause


class StepTimeoutError(TimeoutError):
    """An attempt of a step ran longer than its ``timeout``.

    Attributes:
        step: the step's name.
        timeout: the per-attempt timeout in seconds.
        attempt: the attempt that timed out.
    """

    def __init__(self, step: str, timeout: float, attempt: int) -> None:
        self.step = step
        self.timeout = timeout
        self.attempt = attempt
        super().__init__(
            f"step {step!r} attempt {attempt} took longer than its timeout of {timeout} s"
        )


class StepSkippedError(Exception):
    """Stands for a skipped step where an ``outcome()`` argument expects its result.

    Attributes:
        step: the skipped step.
        because: the step whose failure or skip caused it, or None (its own guard).
    """

    def __init__(self, step: str, because: str | None) -> None:
        self.step = step
        self.because = because
        why = f"step {because!r} did not succeed" if because else "its guard returned false"
        super().__init__(f"step {step!r} was skipped: {why}")


class AgainLimitError(RuntimeError):
    """A step returned ``Again`` more times than its ``max_again`` allows."""

    def __init__(self, step: str, limit: int) -> None:
        self.step = step
        self.limit = limit
        super().__init__(
            f"step {step!r} returned Again more than max_again={limit} times; raise max_again "
            "on the step or make the condition it polls for reachable"
        )


class MapElementError(Exception):
    """An element of a map step failed after its retries; the element's error is the cause.

    Attributes:
        step: the map step.
        index: the element's position in the source.
        element: the element.
    """

    def __init__(self, step: str, index: int, element: Any, cause: BaseException) -> None:
        self.step = step
        self.index = index
        self.element = element
        shown = repr(element)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        super().__init__(
            f"map step {step!r} failed on element {index} ({shown}): {type(cause).__name__}: "
            f"{cause}"
        )
        self.__cause__ = cause


class RuntimeClosedError(RuntimeError):
    """The runtime is shutting down (or closed) and refuses new work."""
