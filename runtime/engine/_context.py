"""StepContext: what a step sees of its run (a parameter named ``ctx`` receives it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import attrs
import trio

from arborist.actors._checks import check_instance

from ..workflow._workflow import Workflow
from ._pools import Pool
from ._services import ChildOf

if TYPE_CHECKING:
    from ._handle import RunHandle
    from ._journal import Journal
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
        element: the map element's index in its source, for a map element; else None.
        runtime: the runtime running the step (``rt``).
    """

    __slots__ = (
        "_child_seq",
        "_children",
        "_held",
        "_journal",
        "_key_try",
        "_nursery",
        "_services",
        "attempt",
        "element",
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
        element: int | None = None,
        journal: Journal | None = None,
    ) -> None:
        self._services = services
        self.run_id = run_id
        self.workflow = workflow
        self.step = step
        self.attempt = attempt
        self.element = element
        self._held: list[Pool] = []
        self._nursery = nursery
        self._children: list[UndoEntry] = []
        self._journal = journal
        self._key_try = journal.key_try(step) if journal is not None else 0
        self._child_seq = 0

    @property
    def idempotency_key(self) -> str:
        """A key naming this step (and map element) of this run; hand it to external APIs.

        It is the same for every attempt of the step, and the same again when a durable run
        resumes after a crash: ``workflow/run_id/step``, with ``[index]`` for a map element
        (as ``RemoteStepInfo.idempotency_key``). A step that was running when its process
        died runs again (at least once), so an effect that must not happen twice (a charge,
        an email) should be keyed on it with a service that deduplicates by key, e.g. a
        payment API's ``Idempotency-Key``. The engine cannot do that part for you.
        """
        key = f"{self.workflow}/{self.run_id}/{self.step}"
        return key if self.element is None else f"{key}[{self.element}]"

    def _for_element(self, index: int, attempt: int) -> StepContext:
        """The context of one attempt of one element of this map step."""
        ctx = StepContext(
            self._services, self.run_id, self.workflow, self.step, attempt,
            nursery=self._nursery, element=index,
        )  # fmt: skip
        ctx._journal = self._journal
        ctx._key_try = self._key_try
        return ctx

    def _child_of(self) -> ChildOf:
        """Who starts the next child run: this run and step, and the child's durable key.

        The key is the same when this step runs again after a crash (the same try), so a
        durable run finds the child it had started; in memory only the parent is used.
        """
        seq = self._child_seq
        self._child_seq = seq + 1
        element = "" if self.element is None else f"[{self.element}]"
        key = f"child:{self.run_id}/{self.step}{element}/{self._key_try}/{seq}"
        return ChildOf(self.run_id, self.step, key)

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
            handle = await services.start_child(
                workflow, inputs, self._nursery, parent=self._child_of()
            )
            try:
                value = await handle.result()
            except trio.Cancelled:
                # Cancel the child and wait (shielded) for it to roll itself back: once this
                # step exits, the parent run may end and take the child's nursery with it.
                handle.cancel()
                # Bounded: a child whose undo hangs cannot hold its parent's cancellation
                # longer than the runtime's shutdown time (it is then killed with the parent).
                with trio.CancelScope(shield=True), trio.move_on_after(services.shutdown_timeout):
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
