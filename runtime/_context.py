"""StepContext: what a step sees of its run (a parameter named ``ctx`` receives it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ._pools import Pool

if TYPE_CHECKING:
    from ._runtime import Runtime
    from ._workflow import Workflow

__all__ = ["StepContext"]


class StepContext:
    """The context of one attempt of one step.

    Attributes:
        run_id: the run's id.
        workflow: the workflow's name.
        step: the step's name.
        attempt: the attempt number, from 1.
        runtime: the runtime running the step.
    """

    __slots__ = ("_held", "attempt", "run_id", "runtime", "step", "workflow")

    def __init__(
        self, runtime: Runtime, run_id: str, workflow: str, step: str, attempt: int
    ) -> None:
        self.runtime = runtime
        self.run_id = run_id
        self.workflow = workflow
        self.step = step
        self.attempt = attempt
        self._held: list[Pool] = []

    def __repr__(self) -> str:
        return f"<StepContext {self.workflow}/{self.step} run {self.run_id} attempt {self.attempt}>"

    def fire_and_forget(self, fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
        """Start ``fn(*args)`` as a supervised temporary job of the runtime.

        The job outlives the step but not the runtime (nor its shutdown time); its failure is
        reported as an event and logged, never as a failure of this run.
        """
        self.runtime.fire_and_forget(fn, *args)

    async def run(self, workflow: Workflow, /, **inputs: Any) -> Any:
        """Run ``workflow`` as a child of this step and return its result.

        While the child runs, this step lends back the pool slots it holds (and takes them
        again afterwards), so parent and child sharing a pool cannot deadlock.

        Raises:
            WorkflowFailedError: the child run failed.
        """
        held = list(self._held)
        for pool in reversed(held):
            pool.release(self)
        try:
            return await self.runtime.run(workflow, **inputs)
        finally:
            for pool in held:
                await pool.acquire(self)
