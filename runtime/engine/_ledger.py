"""RunLedger: what has happened in one run so far, and the error or state it ends with.

The coordinator writes every step's fate here (completed, failed, cancelled, skipped, undone,
undo errors, the undo log). When the run ends the ledger builds what the caller receives: a
``WorkflowFailedError`` or ``WorkflowCancelledError`` listing the steps by fate, or the
``HaltedRun`` state that resumes a halted run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._errors import WorkflowCancelledError, WorkflowFailedError
from ._saga import HaltedRun, UndoEntry

if TYPE_CHECKING:
    from ..workflow._workflow import Workflow

__all__ = ["RunLedger"]


class RunLedger:
    """The fates of one run's steps, in the order they happened."""

    __slots__ = (
        "_index",
        "cancelled",
        "completed",
        "failed",
        "run_id",
        "skipped",
        "undo_errors",
        "undo_log",
        "undone",
        "workflow",
    )

    def __init__(self, workflow: str, run_id: str, index: Mapping[str, int]) -> None:
        self.workflow = workflow
        self.run_id = run_id
        self._index = index
        self.completed: list[str] = []
        self.failed: list[str] = []
        self.cancelled: list[str] = []
        self.skipped: list[str] = []
        self.undo_log: list[UndoEntry] = []
        self.undone: list[str] = []
        self.undo_errors: list[tuple[str, BaseException]] = []

    def cancelled_in_plan_order(self) -> list[str]:
        """The cancelled steps, in the plan's order."""
        return sorted(self.cancelled, key=self._index.__getitem__)

    def failure(self, step: str, cause: BaseException) -> WorkflowFailedError:
        """The error of a run that failed at ``step`` with ``cause`` (after its rollback)."""
        return WorkflowFailedError(
            workflow=self.workflow,
            run_id=self.run_id,
            step=step,
            cause=cause,
            completed=self.completed,
            failed=self.failed,
            cancelled=self.cancelled_in_plan_order(),
            skipped=self.skipped,
            undone=self.undone,
            undo_errors=self.undo_errors,
        )

    def cancellation(self, *, still_running: list[str] | None = None) -> WorkflowCancelledError:
        """The error of a cancelled run; ``still_running`` adds steps cut without a report."""
        cancelled = (
            self.cancelled_in_plan_order()
            if still_running is None
            else [*self.cancelled, *still_running]
        )
        return WorkflowCancelledError(
            workflow=self.workflow,
            run_id=self.run_id,
            completed=self.completed,
            cancelled=cancelled,
            undone=self.undone,
            undo_errors=self.undo_errors,
        )

    def halted(
        self,
        *,
        workflow: Workflow,
        inputs: Mapping[str, Any],
        tolerated: list[str],
        results: Mapping[str, Any],
        pending: Mapping[str, Mapping[str, Any]],
        halted_by: str,
        reason: str,
        options: Mapping[str, Any],
    ) -> HaltedRun:
        """The state that resumes this run: resolved steps, needed results, pending arguments."""
        resolved = (*self.completed, *self.skipped, *tolerated)
        return HaltedRun(
            workflow=workflow,
            run_id=self.run_id,
            inputs=dict(inputs),
            completed=tuple(dict.fromkeys(resolved)),
            results=dict(results),
            pending={name: dict(kwargs) for name, kwargs in pending.items()},
            undo_log=tuple(self.undo_log),
            halted_by=halted_by,
            reason=reason,
            options=dict(options),
        )
