"""Starting workflow runs: ``rt.run`` and ``rt.start``.

``Runtime`` mixes them in; the checks and the launch itself belong to ``RunLauncher``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import trio

from arborist.actors._checks import check_kwargs

from ._runs import RunLauncher
from .engine._handle import RunHandle
from .workflow._workflow import Workflow

__all__ = ["RunStarter"]


class RunStarter:
    """``run`` and ``start`` (mixed into ``Runtime``)."""

    _runs: RunLauncher

    async def run(
        self,
        workflow: Workflow,
        /,
        *,
        inputs: Mapping[str, Any] | None = None,
        max_concurrency: int | None = None,
        concurrent: bool = True,
        pool: str | None = None,
        key: str | None = None,
        **kw_inputs: Any,
    ) -> Any:
        """Run ``workflow`` to the end and return its result (see ``start`` for the options).

        Cancelling the caller cancels the run (its completed undoable steps are undone).

        Raises:
            WorkflowFailedError: a step failed after its retries; names the step.
            WorkflowDefinitionError: the workflow is invalid (raised before any step runs).
            WorkflowInputError: inputs are missing or unexpected (before any step runs).
        """
        handle = await self.start(
            workflow,
            inputs=inputs,
            max_concurrency=max_concurrency,
            concurrent=concurrent,
            pool=pool,
            key=key,
            **kw_inputs,
        )
        try:
            return await handle.result()
        except trio.Cancelled:
            handle.cancel()  # structured: cancelling the caller cancels the run it waits for
            raise

    async def start(
        self,
        workflow: Workflow,
        /,
        *,
        inputs: Mapping[str, Any] | None = None,
        max_concurrency: int | None = None,
        concurrent: bool = True,
        pool: str | None = None,
        key: str | None = None,
        target: str | None = None,
        **kw_inputs: Any,
    ) -> RunHandle:
        """Start a run of ``workflow`` and return its handle without waiting for the result.

        Every check happens here, before any step runs: the workflow's graph, the inputs, the
        pools named by the run and its steps, the options. With a store the run is recorded
        (durably) before this returns, and its id is its id in the store.

        Args:
            workflow: the workflow to run.
            inputs: the inputs as a mapping (needed for inputs named like an option below).
            max_concurrency: the most steps of this run in flight at once (None: no limit).
            concurrent: False runs one step at a time in the plan's topological order.
            pool: a named pool bounding every step of this run.
            key: an idempotency key: a run already started with this key is not started
                again, its handle is returned (whatever the inputs). In memory for this
                runtime's life; with a store, across processes and restarts.
            target: where the workflow is defined (``module:attr``), recorded with a durable
                run so ``arborist runs resume RUN_ID`` can import it (the CLI sets it).
            **kw_inputs: the inputs as keyword arguments.

        Raises:
            TypeError: ``workflow`` is not a Workflow, ``inputs`` not a mapping of names, an
                input given twice, ``concurrent`` not a bool, ``max_concurrency`` not an int.
            ValueError: ``max_concurrency`` below 1.
            WorkflowDefinitionError: the workflow is invalid, or a pool is unknown.
            WorkflowInputError: inputs are missing or unexpected.
            ValueError: ``key`` names a run of another workflow, or a bad option.
            RunOwnedElsewhereError: ``key`` names a run another live process drives.
        """
        if not isinstance(workflow, Workflow):
            raise TypeError(f"rt.run()/rt.start() take a Workflow; got {workflow!r}")
        given = {} if inputs is None else check_kwargs(inputs, "inputs")
        for name, val in kw_inputs.items():
            if name in given:
                raise TypeError(f"input {name!r} was given twice (in inputs= and as a keyword)")
            given[name] = val
        options = {"max_concurrency": max_concurrency, "concurrent": concurrent, "pool": pool}
        if target is not None and (not isinstance(target, str) or ":" not in target):
            raise ValueError(f"target must be 'module:attr'; got {target!r}")
        return await self._runs.start(workflow, given, options, key=key, target=target)
