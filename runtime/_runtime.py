"""Runtime: the root of everything arborist runs — workflow runs, pools, events, jobs.

``async with Runtime() as rt:`` opens an actor system; each ``rt.start``/``rt.run`` starts one
coordinator actor for the run. Closing the runtime cancels runs still in flight (their
``result()`` raises ``WorkflowCancelledError``).
"""

from __future__ import annotations

import functools
import itertools
import math
import random
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Any

import trio

from arborist.actors import ActorSystem, ExitReason, Killed, Monitor, open_actor_system
from arborist.supervision._events import EventBus, Unsubscribe

from ._adaptive import Adaptive
from ._coordinator import Coordinator
from ._errors import WorkflowDefinitionError
from ._events import RunEvent
from ._pools import Pool
from ._run import RunHandle
from ._run_errors import WorkflowCancelledError, WorkflowCrashedError
from ._saga import HaltedRun
from ._workflow import Workflow

__all__ = ["RUN_OPTIONS", "Runtime"]

RUN_OPTIONS = frozenset({"inputs", "max_concurrency", "concurrent", "pool"})
"""Keyword names ``rt.run``/``rt.start`` keep for themselves; pass such inputs via ``inputs=``."""


class Runtime:
    """The root of a running arborist application.

    Args:
        thread_limit: how many blocking (``def``) steps may run on worker threads at once.
        shutdown_timeout: seconds each actor gets to stop when the runtime closes.
        seed: seed for the random numbers behind retry jitter (tests pass one).

    Example:
        >>> async with Runtime() as rt:  # doctest: +SKIP
        ...     data = await rt.run(wf, user_id=123, max_concurrency=10)
    """

    def __init__(
        self,
        *,
        thread_limit: int = 40,
        shutdown_timeout: float = 5.0,
        seed: int | None = None,
    ) -> None:
        if isinstance(thread_limit, bool) or not isinstance(thread_limit, int) or thread_limit < 1:
            raise ValueError(f"thread_limit must be a positive int; got {thread_limit!r}")
        self._thread_limiter = trio.CapacityLimiter(thread_limit)
        self._shutdown_timeout = shutdown_timeout
        self._random = random.Random(seed)
        self._pools: dict[str, Pool] = {}
        self._events: EventBus[RunEvent] = EventBus()
        self._run_ids = itertools.count(1)
        self._stack: AsyncExitStack | None = None
        self._system: ActorSystem | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Runtime:
        if self._stack is not None:
            raise RuntimeError("this Runtime is already open; a Runtime is entered once")
        stack = AsyncExitStack()
        self._system = await stack.enter_async_context(
            open_actor_system(shutdown_timeout=self._shutdown_timeout)
        )
        self._stack = stack
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        stack, self._stack = self._stack, None
        assert stack is not None
        try:
            return await stack.__aexit__(exc_type, exc, tb)
        finally:
            self._system = None

    @property
    def system(self) -> ActorSystem:
        """The actor system under this runtime (open only inside ``async with``)."""
        if self._system is None:
            raise RuntimeError("the runtime is not open; use `async with Runtime() as rt:`")
        return self._system

    # -- pools and events --------------------------------------------------------------------

    def pool(self, name: str, limit: int | Adaptive) -> Pool:
        """Declare (or reconfigure) the named pool ``name`` and return it.

        Pools are shared by every run of this runtime: ``pool="db"`` on a run or a step.
        ``limit`` is a number of slots, or ``Adaptive(min=..., max=...)`` for a limit that
        follows the service's saturation (each change is a ``PoolLimitChanged`` event for
        ``subscribe`` handlers). Reconfiguring an existing pool keeps the slots in use.
        """
        pool = self._pools.get(name)
        if pool is None:
            pool = self._pools[name] = Pool(name, limit, on_change=self._events.emit)
        else:
            pool.configure(limit)
        return pool

    def subscribe(self, handler: Callable[[RunEvent], Any]) -> Unsubscribe:
        """Call ``handler(event)`` for every run and step event; returns an unsubscribe function."""
        return self._events.subscribe(handler)

    # -- runs --------------------------------------------------------------------------------

    async def run(
        self,
        workflow: Workflow,
        /,
        *,
        inputs: Mapping[str, Any] | None = None,
        max_concurrency: int | None = None,
        concurrent: bool = True,
        pool: str | None = None,
        **kw_inputs: Any,
    ) -> Any:
        """Run ``workflow`` to the end and return its result (see ``start`` for the options).

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
            **kw_inputs,
        )
        return await handle.result()

    async def start(
        self,
        workflow: Workflow,
        /,
        *,
        inputs: Mapping[str, Any] | None = None,
        max_concurrency: int | None = None,
        concurrent: bool = True,
        pool: str | None = None,
        **kw_inputs: Any,
    ) -> RunHandle:
        """Start a run of ``workflow`` and return its handle without waiting for the result.

        Every check happens here, before any step runs: the workflow's graph, the inputs, the
        pools named by the run and its steps, the options.

        Args:
            workflow: the workflow to run.
            inputs: the inputs as a mapping (needed for inputs named like an option below).
            max_concurrency: the most steps of this run in flight at once (None: no limit).
            concurrent: False runs one step at a time in the plan's topological order.
            pool: a named pool bounding every step of this run.
            **kw_inputs: the inputs as keyword arguments.
        """
        if not isinstance(workflow, Workflow):
            raise TypeError(f"rt.run()/rt.start() take a Workflow; got {workflow!r}")
        given = dict(inputs or {})
        for key, val in kw_inputs.items():
            if key in given:
                raise TypeError(f"input {key!r} was given twice (in inputs= and as a keyword)")
            given[key] = val
        options = {"max_concurrency": max_concurrency, "concurrent": concurrent, "pool": pool}
        return await self._start(workflow, given, options)

    async def resume(self, state: HaltedRun, /) -> Any:
        """Resume a halted run and wait for its result; completed steps do not run again.

        Args:
            state: ``WorkflowHaltedError.state`` of the halted run.
        """
        if not isinstance(state, HaltedRun):
            raise TypeError(f"rt.resume() takes WorkflowHaltedError.state; got {state!r}")
        handle = await self._start(
            state.workflow, dict(state.inputs), dict(state.options), resume=state
        )
        return await handle.result()

    async def _start(
        self,
        workflow: Workflow,
        inputs: dict[str, Any],
        options: Mapping[str, Any],
        *,
        nursery: trio.Nursery | None = None,
        resume: HaltedRun | None = None,
    ) -> RunHandle:
        plan = workflow.plan()
        plan.check_inputs(inputs)
        max_concurrency = options.get("max_concurrency")
        concurrent = options.get("concurrent", True)
        pool = options.get("pool")
        if max_concurrency is not None and (
            isinstance(max_concurrency, bool)
            or not isinstance(max_concurrency, int)
            or max_concurrency < 1
        ):
            raise ValueError(
                "max_concurrency must be a positive int, or None for no limit; "
                f"got {max_concurrency!r}"
            )
        limit: float = 1 if not concurrent else (max_concurrency or math.inf)
        run_pools = (self._pool_named(pool, f"run of {workflow.name!r}"),) if pool else ()
        for step in plan.steps:
            if step.pool is not None:
                self._pool_named(step.pool, f"step {step.name!r}")
        system = self.system
        run_id = f"{workflow.name}-{next(self._run_ids)}"
        handle = RunHandle(run_id, workflow.name)
        ref = await system.spawn(
            Coordinator,
            self,
            plan,
            inputs,
            handle,
            limit=limit,
            run_pools=run_pools,
            options=dict(options),
            resume=resume,
            nursery=nursery,
        )
        ref._cell.add_watcher(Monitor(ref, None), functools.partial(_coordinator_ended, handle))
        return handle

    def _pool_named(self, name: str, user: str) -> Pool:
        pool = self._pools.get(name)
        if pool is None:
            known = ", ".join(sorted(self._pools)) or "none yet"
            raise WorkflowDefinitionError(
                f"{user} uses pool {name!r}, but the runtime has no such pool (known: {known}); "
                f"declare it first with rt.pool({name!r}, limit=...)",
                workflow=user,
            )
        return pool

    # -- jobs --------------------------------------------------------------------------------

    def fire_and_forget(self, fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
        """Start ``fn(*args)`` as a temporary job that outlives its caller but not the runtime."""
        raise NotImplementedError("fire_and_forget lands with the task supervisor")


def _coordinator_ended(handle: RunHandle, reason: ExitReason) -> None:
    """A coordinator that was killed (no on_stop) still settles its run's handle."""
    if not handle.done:
        handle._set(
            None,
            WorkflowCancelledError(
                workflow=handle.workflow,
                run_id=handle.run_id,
                completed=[r.step for r in handle.records if r.status == "ok"],
                cancelled=[],
            )
            if isinstance(reason, Killed)
            else WorkflowCrashedError(
                workflow=handle.workflow,
                run_id=handle.run_id,
                cause=RuntimeError(f"the coordinator ended ({reason}) without settling the run"),
            ),
        )
