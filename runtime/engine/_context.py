"""StepContext: what a step sees of its run (a parameter named ``ctx`` receives it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import attrs
import trio

from arborist.actors._checks import check_instance

from ..workflow._workflow import Workflow
from ._pools import Pool

if TYPE_CHECKING:
    from ._handle import RunHandle
    from ._saga import UndoEntry
    from ._services import RunServices

__all__ = ["StepContext"]


class StepContext:
    """The context of one attempt of one step.

    Attributes:
        run_id: the run's id.
        workflow: the workflow's name.
        step: the step's name.
        attempt: the attempt number, from 1.
        runtime: the runtime running the step (``rt``).
    """

    __slots__ = (
        "_children",
        "_held",
        "_nursery",
        "_services",
        "attempt",
        "run_id",
        "step",
        "workflow",
    )

    def __init__(
        self,
        services: RunServices,
        run_id: str,
        workflow: str,
        step: str,
        attempt: int,
        *,
        nursery: trio.Nursery | None = None,
    ) -> None:
        self._services = services
        self.run_id = run_id
        self.workflow = workflow
        self.step = step
        self.attempt = attempt
        self._held: list[Pool] = []
        self._nursery = nursery
        self._children: list[UndoEntry] = []

    @property
    def runtime(self) -> Any:
        """The runtime running the step (``rt``)."""
        return self._services.owner

    def _adopt(self, handle: RunHandle) -> None:
        """Take a completed child run's undo log into this attempt's (``step/child_step``)."""
        self._children.extend(
            attrs.evolve(entry, step=f"{self.step}/{entry.step}") for entry in handle._undo_log
        )

    def __repr__(self) -> str:
        return f"<StepContext {self.workflow}/{self.step} run {self.run_id} attempt {self.attempt}>"

    def fire_and_forget(self, fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
        """Start ``fn(*args)`` as a supervised temporary job of the runtime.

        The job outlives the step but not the runtime (nor its shutdown time); its failure is
        reported as an event and logged, never as a failure of this run.
        """
        self._services.fire_and_forget(fn, *args)

    async def run(self, workflow: Workflow, /, **inputs: Any) -> Any:
        """Run ``workflow`` as a child of this step and return its result.

        The child run is supervised by this run (it ends if this run ends), shares the
        runtime's pools, and while it runs this step lends back the pool slots it holds, so
        parent and child sharing a pool cannot deadlock. If this run later fails, the child's
        completed steps are undone with this step's. Cancelling this step cancels the child
        and waits (shielded) until the child has rolled back its completed steps.

        Raises:
            WorkflowFailedError: the child run failed (it has rolled itself back).
            TypeError: ``workflow`` is not a Workflow (before any pool slot is lent back).
        """
        check_instance(workflow, Workflow, "ctx.run() workflow")
        held = list(self._held)
        self._held.clear()  # in place: the step's pool holder reads this very list
        for pool in reversed(held):
            pool.release(self)
        try:
            services = self._services
            if self._nursery is None:
                raise RuntimeError(f"{self!r} has no run to start a child run in")
            parent = (self.run_id, self.step)
            handle = await services.start_child(workflow, inputs, self._nursery, parent=parent)
            try:
                value = await handle.result()
            except trio.Cancelled:
                # Cancel the child and wait (shielded) for it to roll itself back: once this
                # step exits, the parent run may end and take the child's nursery with it.
                handle.cancel()
                # Bounded: a child whose undo hangs cannot hold its parent's cancellation
                # longer than the runtime's shutdown time (it is then killed with the parent).
                with trio.CancelScope(shield=True), trio.move_on_after(
                    services.shutdown_timeout
                ):
                    await handle._done.wait()
                if handle.done and handle._error is None:
                    # It completed before the cancel reached it: its steps are in effect,
                    # so this run's rollback must undo them.
                    self._adopt(handle)
                raise
            self._adopt(handle)
            return value
        finally:
            for pool in held:
                await pool.acquire(self, self.run_id)
                self._held.append(pool)
