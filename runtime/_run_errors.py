"""Errors a workflow run raises to its caller: one error per run, never a bare ExceptionGroup."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "StepTimeoutError",
    "WorkflowCancelledError",
    "WorkflowCrashedError",
    "WorkflowFailedError",
]


def _names(names: Sequence[str]) -> str:
    return ", ".join(names) if names else "none"


class WorkflowFailedError(Exception):
    """A step failed (after its retries) and the run stopped.

    The step's exception is chained as ``__cause__`` and kept as ``cause``.

    Attributes:
        workflow: the workflow's name.
        run_id: the run's id.
        step: the step that failed.
        cause: the step's exception.
        completed: the steps that finished with a value, in completion order.
        failed: the steps that failed (the first is ``step``).
        cancelled: the steps in flight that were cancelled.
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
    ) -> None:
        self.workflow = workflow
        self.run_id = run_id
        self.step = step
        self.cause = cause
        self.completed = tuple(completed)
        self.failed = tuple(failed)
        self.cancelled = tuple(cancelled)
        super().__init__(
            f"workflow {workflow!r} (run {run_id}) failed at step {step!r}: "
            f"{type(cause).__name__}: {cause} "
            f"(completed: {_names(self.completed)}; cancelled: {_names(self.cancelled)})"
        )
        self.__cause__ = cause


class WorkflowCancelledError(Exception):
    """The run was cancelled through its handle (or the runtime closed) before it finished.

    Attributes:
        workflow: the workflow's name.
        run_id: the run's id.
        completed: the steps that finished before the cancellation.
        cancelled: the steps in flight that were cancelled.
    """

    def __init__(
        self, *, workflow: str, run_id: str, completed: Sequence[str], cancelled: Sequence[str]
    ) -> None:
        self.workflow = workflow
        self.run_id = run_id
        self.completed = tuple(completed)
        self.cancelled = tuple(cancelled)
        super().__init__(
            f"workflow {workflow!r} (run {run_id}) was cancelled "
            f"(completed: {_names(self.completed)}; cancelled: {_names(self.cancelled)})"
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
