"""RunLauncher: how a runtime starts workflow runs (checks, run ids, coordinators, child runs).

Every check happens before a coordinator exists: the workflow's graph, the inputs, the options,
the pools the run and its steps name, and for steps on executors, that each executor exists,
takes the step's options, and that the function and its constant arguments can be sent. A
top-level run's coordinator is a temporary child of the runtime's ``runs`` supervisor; a child
run's coordinator lives in its parent run's nursery, so it ends with its parent. Each run's
handle is settled exactly once, even when its coordinator is killed before it could settle it.
"""

from __future__ import annotations

import contextvars
import functools
import itertools
import math
import random
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs
import trio

from arborist.actors import ExitReason, Killed, Monitor
from arborist.actors._checks import check_bool, check_int
from arborist.supervision import ChildSpec, DynamicSupervisorRef, Restart

from .engine._coordinator import Coordinator
from .engine._errors import WorkflowCancelledError, WorkflowCrashedError
from .engine._handle import RunHandle
from .engine._remote import check_remote_steps
from .engine._services import RunServices
from .workflow._errors import WorkflowDefinitionError
from .workflow._workflow import Workflow

if TYPE_CHECKING:
    from arborist.actors import ActorSystem
    from arborist.supervision._events import EventBus

    from .engine._pools import Pool
    from .engine._saga import HaltedRun
    from .executors import Executor
    from .store import Store
    from .workflow._planner import Plan

__all__ = ["RUN_OPTIONS", "RunLauncher"]

RUN_OPTIONS = frozenset({"inputs", "max_concurrency", "concurrent", "pool"})
"""Keyword names ``rt.run``/``rt.start`` keep for themselves; pass such inputs via ``inputs=``."""


class RunLauncher:
    """Starts the runs of one runtime and keeps the handles of those in flight."""

    def __init__(
        self,
        *,
        events: EventBus[Any],
        pools: dict[str, Pool],
        thread_limiter: trio.CapacityLimiter,
        rng: random.Random,
        shutdown_timeout: float,
        fire_and_forget: Callable[..., Any],
        owner: Any,
        open_system: Callable[[], ActorSystem],
        runs_supervisor: Callable[[], DynamicSupervisorRef],
        executors: Mapping[str, Executor] | None = None,
    ) -> None:
        self._pools = pools
        self._executors: Mapping[str, Executor] = executors or {}
        self._remote_checked: weakref.WeakSet[Plan] = weakref.WeakSet()
        self._shutdown_timeout = shutdown_timeout
        self._open_system = open_system
        self._runs_supervisor = runs_supervisor
        self._ids = itertools.count(1)
        self.handles: set[RunHandle] = set()
        """Handles of the top-level runs still in flight."""
        self.services = RunServices(
            events=events,
            pools=pools,
            thread_limiter=thread_limiter,
            random=rng,
            shutdown_timeout=shutdown_timeout,
            start_child=self.start_child,
            fire_and_forget=fire_and_forget,
            owner=owner,
            executors=self._executors,
        )

    async def start(
        self,
        workflow: Workflow,
        inputs: dict[str, Any],
        options: Mapping[str, Any],
        *,
        resume: HaltedRun | None = None,
    ) -> RunHandle:
        """Check and start a top-level run under the ``runs`` supervisor; return its handle."""
        return await self._start(workflow, inputs, options, None, resume)

    async def start_child(
        self,
        workflow: Workflow,
        inputs: dict[str, Any],
        nursery: trio.Nursery,
        *,
        parent: tuple[str, str] | None = None,
    ) -> RunHandle:
        """Check and start a child run whose coordinator lives in ``nursery`` (its parent's).

        ``parent`` is ``(run_id, step)`` of the step that starts it, for its events.
        """
        return await self._start(workflow, inputs, {}, nursery, None, parent)

    async def _start(
        self,
        workflow: Workflow,
        inputs: dict[str, Any],
        options: Mapping[str, Any],
        nursery: trio.Nursery | None,
        resume: HaltedRun | None,
        parent: tuple[str, str] | None = None,
    ) -> RunHandle:
        plan = workflow.plan()
        plan.check_inputs(inputs)
        max_concurrency = options.get("max_concurrency")
        concurrent = options.get("concurrent", True)
        pool = options.get("pool")
        check_int(max_concurrency, "max_concurrency", none="for no limit")
        check_bool(concurrent, "concurrent")
        limit: float = 1 if not concurrent else (max_concurrency or math.inf)
        run_pools = (
            (self.pool_named(pool, f"run of {workflow.name!r}"),) if pool is not None else ()
        )
        for step in plan.steps:
            if step.pool is not None:
                self.pool_named(step.pool, f"step {step.name!r}")
        if plan not in self._remote_checked:  # the executors are the runtime's: check once
            check_remote_steps(plan, self._executors)
            self._remote_checked.add(plan)
        system = self._open_system()
        run_id = f"{workflow.name}-{next(self._ids)}"
        handle = RunHandle(run_id, workflow.name)
        args = (self.services, plan, inputs, handle)
        kwargs: dict[str, Any] = {
            "limit": limit,
            "run_pools": run_pools,
            "options": dict(options),
            "resume": resume,
            "parent": parent,
            # The caller's contextvars (its trace context, for exporters): copied only when
            # someone listens, so the in-memory fast path pays nothing.
            "caller_context": contextvars.copy_context() if self.services.events else None,
        }
        if nursery is not None:  # a child run, supervised by its parent run
            ref = await system.spawn(Coordinator, *args, nursery=nursery, **kwargs)
        else:
            spec = ChildSpec(
                run_id,
                Coordinator,
                args=args,
                kwargs=kwargs,
                restart=Restart.TEMPORARY,
                shutdown=self._shutdown_timeout,
            )
            # Kept before the coordinator starts: a tiny run may end before start_child returns.
            self.handles.add(handle)
            handle._on_done = self.handles.discard
            try:
                ref = await self._runs_supervisor().start_child(spec)
            except BaseException:
                self.handles.discard(handle)
                raise
        ref._cell.add_watcher(Monitor(ref, None), functools.partial(_coordinator_ended, handle))
        return handle

    def use_store(self, store: Store) -> None:
        """Journal every run started from now on to the open ``store``."""
        self.services = attrs.evolve(self.services, store=store)

    def pool_named(self, name: str, user: str) -> Pool:
        """The pool ``name``, or a definition error naming ``user`` and the known pools."""
        pool = self._pools.get(name)
        if pool is None:
            known = ", ".join(sorted(self._pools)) or "none yet"
            raise WorkflowDefinitionError(
                f"{user} uses pool {name!r}, but the runtime has no such pool (known: {known}); "
                f"declare it first with rt.pool({name!r}, limit=...)",
                workflow=user,
            )
        return pool


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
