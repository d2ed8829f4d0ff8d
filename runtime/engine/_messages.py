"""The coordinator's mailbox vocabulary, besides ``StepExit`` (see ``_step_runner``)."""

from __future__ import annotations

__all__ = ["CancelRun", "HandlerCrashed", "Redispatch", "RolledBack", "RunInline", "Suspend"]


class CancelRun:
    """Cancel the run (sent by ``RunHandle.cancel``)."""

    __slots__ = ()


class HandlerCrashed:
    """Self-message: handling a step's exit in the step's task raised; crash with ``error``."""

    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


class Redispatch:
    """Timer message: a step's wait (retry backoff or ``Again``) is over."""

    __slots__ = ("attempt", "name")

    def __init__(self, name: str, attempt: int) -> None:
        self.name = name
        self.attempt = attempt


class RunInline:
    """Self-message: run an ``inline=True`` step inside the coordinator."""

    __slots__ = ("attempt", "name")

    def __init__(self, name: str, attempt: int) -> None:
        self.name = name
        self.attempt = attempt


class RolledBack:
    """Self-message: the rollback task has finished."""

    __slots__ = ()


class Suspend:
    """Stop a durable run without ending it (the runtime shuts down; it resumes later)."""

    __slots__ = ()
