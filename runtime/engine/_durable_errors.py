"""Errors of durable runs: an interrupted step, a run that needs an operator, a run not here."""

from __future__ import annotations

__all__ = [
    "RunNeedsAttentionError",
    "RunNotFoundError",
    "RunOwnedElsewhereError",
    "RunSuspendedError",
    "StepInterruptedError",
]


class StepInterruptedError(Exception):
    """A step marked ``on_resume="fail"`` was running when its process died.

    A recovered run fails the step with this error instead of running it again: its
    ``@compensate`` decides (retry, continue with a value, or fail), else the run rolls back.
    ``Retry`` does not retry it.

    Attributes:
        step: the step.
        attempt: the attempt that was interrupted.
        run_id: the run.
    """

    def __init__(self, step: str, attempt: int, run_id: str) -> None:
        self.step = step
        self.attempt = attempt
        self.run_id = run_id
        super().__init__(
            f"step {step!r} (attempt {attempt}) of run {run_id} was running when its process "
            "died, and it is marked on_resume='fail': its effect may or may not have happened"
        )

    def __reduce__(self) -> tuple[type[StepInterruptedError], tuple[str, int, str]]:
        return (type(self), (self.step, self.attempt, self.run_id))


class RunNeedsAttentionError(Exception):
    """A durable run cannot go on without an operator; ``reason`` says why.

    It is what ``handle.result()`` raises for a run in the ``needs_attention`` state (its
    workflow is not registered in this process, it changed since the run started, a stored
    value no longer decodes, or recovering it kept crashing its process), and what
    ``rt.resume(run_id)`` raises when the cause is still there. Fix the cause, then
    ``rt.resume(run_id)`` (or ``arborist runs resume RUN_ID``).

    Attributes:
        run_id: the run.
        workflow: its workflow's name.
        reason: what needs attention.
    """

    def __init__(self, run_id: str, workflow: str, reason: str) -> None:
        self.run_id = run_id
        self.workflow = workflow
        self.reason = reason
        super().__init__(f"run {run_id} of workflow {workflow!r} needs attention: {reason}")

    def __reduce__(self) -> tuple[type[RunNeedsAttentionError], tuple[str, str, str]]:
        return (type(self), (self.run_id, self.workflow, self.reason))


class RunNotFoundError(LookupError):
    """No run has this id: not in this runtime, nor in its store (if it has one).

    Attributes:
        run_id: the id asked for.
    """

    def __init__(self, run_id: str, detail: str = "") -> None:
        self.run_id = run_id
        super().__init__(f"no run {run_id!r}{detail}")

    def __reduce__(self) -> tuple[type[RunNotFoundError], tuple[str]]:
        return (type(self), (self.run_id,))


class RunOwnedElsewhereError(RuntimeError):
    """The run is being driven by another live process (another owner of the store).

    Attributes:
        run_id: the run.
        owner_id: the owner driving it.
    """

    def __init__(self, run_id: str, owner_id: str | None, what: str) -> None:
        self.run_id = run_id
        self.owner_id = owner_id
        super().__init__(f"run {run_id} is driven by another process (owner {owner_id}); {what}")


class RunSuspendedError(Exception):
    """The runtime shut down before this durable run finished; the run itself goes on later.

    The run stays unfinished in the store (the steps in flight were cut, and run again on
    resume): the next runtime that opens the store with ``recover="auto"`` (or
    ``rt.resume(run_id)``) continues it. What ``handle.result()`` raises in this process.

    Attributes:
        run_id: the run.
        workflow: its workflow's name.
    """

    def __init__(self, run_id: str, workflow: str) -> None:
        self.run_id = run_id
        self.workflow = workflow
        super().__init__(
            f"the runtime shut down before run {run_id} of workflow {workflow!r} finished; "
            "it stays in the store and resumes when a runtime opens the store again"
        )

    def __reduce__(self) -> tuple[type[RunSuspendedError], tuple[str, str]]:
        return (type(self), (self.run_id, self.workflow))
