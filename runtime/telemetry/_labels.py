"""Labels shared by the exporters: a run's outcome and a supervisor's name, as short strings."""

from __future__ import annotations

from typing import Any

from ..engine._errors import WorkflowCancelledError, WorkflowCrashedError, WorkflowHaltedError

__all__ = ["run_outcome", "supervisor_label"]


def run_outcome(error: BaseException | None) -> str:
    """``ok`` (no error), ``cancelled``, ``halted``, ``crashed`` or ``failed``."""
    if error is None:
        return "ok"
    if isinstance(error, WorkflowCancelledError):
        return "cancelled"
    if isinstance(error, WorkflowHaltedError):
        return "halted"
    if isinstance(error, WorkflowCrashedError):
        return "crashed"
    return "failed"


def supervisor_label(ref: Any) -> str:
    """A supervisor's registered name, else its actor class and id (``Supervisor#12``)."""
    name = getattr(ref, "name", None)
    if name is not None:
        return str(name)
    text = repr(ref)  # <ActorRef Supervisor#12 alive>
    parts = text.strip("<>").split(" ")
    return parts[1] if len(parts) > 1 else text
