"""RunLauncher: how a runtime starts workflow runs (checks, run ids, coordinators, child runs).

Every check happens before a coordinator exists: the workflow's graph, the inputs, the options,
the pools the run and its steps name, and for steps on executors, that each executor exists,
takes the step's options, and that the function and its constant arguments can be sent. A
top-level run's coordinator is a temporary child of the runtime's ``runs`` supervisor; a child
run's coordinator lives in its parent run's nursery, so it ends with its parent. Each run's
handle is settled exactly once, and ``RunFinished`` announced once, even when its coordinator
is killed before it could do either.

Run ids are UUIDv7 strings (time-ordered, unique across processes and restarts). A run started
with ``key=`` is started once per key: in memory for the runtime's life, with a store for the
store's (its ``start_key``); the same key gives the same run's handle. With a store every run
is first recorded (``create_run``: its plan hash, inputs and options), and its coordinator
journals to it; a child run's key is derived from its parent's run, step and try, so a parent
step that runs again after a crash finds the child it had started (``_recovery``).
"""

from __future__ import annotations

import contextvars
import functools
import math
import random
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs
import trio

from arborist.actors import ActorRef, ExitReason, Killed
from arborist.actors._checks import check_bool, check_int
from arborist.supervision import ChildSpec, DynamicSupervisorRef, Restart

from .engine._coordinator import Coordinator
from .engine._errors import WorkflowCancelledError, WorkflowCrashedError
from .engine._handle import RunHandle
from .engine._journal import Journal
from .engine._remote import check_remote_steps
from .engine._run_log import announce_finished
from .engine._services import ChildOf, RunServices
from .engine._tables import tables_of
from .store import uuid7
from .workflow._compose import MapSpec, reiterable
from .workflow._errors import WorkflowDefinitionError
from .workflow._shape import plan_hash, plan_shape
from .workflow._workflow import Workflow

if TYPE_CHECKING:
    from datetime import datetime

    from arborist.actors import ActorSystem
    from arborist.supervision._events import EventBus

    from ._recovery import DurableRuns
    from .engine._pools import Pool
    from .engine._replay import Resumed
    from .engine._saga import HaltedRun
    from .executors import Executor
    from .store import Store
    from .workflow._planner import Plan

__all__ = ["RUN_OPTIONS", "RunLauncher"]

RUN_OPTIONS = frozenset({"inputs", "max_concurrency", "concurrent", "pool", "key"})
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
        self.handles: set[RunHandle] = set()
        """Handles of the top-level runs still in flight."""
        self.live: dict[str, RunHandle] = {}
        """Every run in flight here (top-level and child runs), by run id."""
        self.keys: dict[str, RunHandle] = {}
        """In memory: the run started with each ``key=`` (kept for the runtime's life)."""
        self.durable: DurableRuns | None = None
        """A durable runtime's store side (set by the runtime along with the store)."""
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
        key: str | None = None,
        target: str | None = None,
    ) -> RunHandle:
        """Check and start a top-level run under the ``runs`` supervisor; return its handle.

        With ``key``, a run already started with that key is not started again: its handle
        is returned (see the module docstring).
        """
        return await self._start(workflow, inputs, options, None, resume, key, target, None)

    async def start_child(
        self,
        workflow: Workflow,
        inputs: dict[str, Any],
        nursery: trio.Nursery,
        *,
        parent: ChildOf | None = None,
        key: str | None = None,
        fired_by: tuple[str, datetime] | None = None,
    ) -> RunHandle:
        """Check and start a run whose coordinator lives in ``nursery`` (its parent's).

        ``parent`` (a durable parent's step) keys the child: a step that runs again after a
        crash gets the child it had started. ``key`` keys a run that has no parent run (a
        schedule's fire, e.g. ``f"sched:{name}:{due}"``) the way ``start(key=)`` does.
        ``fired_by`` (schedule name, due instant) is recorded with a durable run.
        """
        return await self._start(workflow, inputs, {}, nursery, None, key, None, parent, fired_by)

    async def _start(
        self,
        workflow: Workflow,
        inputs: dict[str, Any],
        options: Mapping[str, Any],
        nursery: trio.Nursery | None,
        resume: HaltedRun | None,
        key: str | None,
        target: str | None,
        parent: ChildOf | None,
        fired_by: tuple[str, datetime] | None = None,
    ) -> RunHandle:
        plan = workflow.plan()
        plan.check_inputs(inputs)
        self.check(workflow, plan, options)
        _check_map_sources(plan, inputs)
        if key is not None and (not isinstance(key, str) or not key):
            raise ValueError(
                f"key must be a non-empty str (the run's idempotency key); got {key!r}"
            )
        store = self.services.store
        run_id = str(uuid7())
        journal = None
        if store is None or self.durable is None:
            if key is not None:
                known = self.keys.get(key)
                if known is not None:
                    _same_workflow(key, known.workflow, workflow)
                    return known
        else:
            self.durable.register(workflow)
            created = await store.create_run(
                workflow.name,
                plan_hash=plan_hash(plan),
                inputs=inputs,
                options={**_json_options(options), "plan": plan_shape(plan)},
                start_key=parent.key if parent is not None else key,
                run_id=run_id,
                target=target,
                parent_run_id=parent.run_id if parent is not None else None,
                parent_step=parent.step if parent is not None else None,
                schedule_name=fired_by[0] if fired_by is not None else None,
                schedule_due=fired_by[1] if fired_by is not None else None,
            )
            if not created.created:
                _same_workflow(key or "", created.run.workflow, workflow)
                return await self.durable.existing(created.run, workflow, nursery)
            journal = Journal(store.recorder(created.run), store.wall_clock)
        handle = await self.launch(
            workflow,
            inputs,
            options,
            run_id,
            nursery,
            resume=resume,
            journal=journal,
            parent=parent,
        )
        if key is not None and journal is None:
            self.keys[key] = handle
        return handle

    def check(self, workflow: Workflow, plan: Plan, options: Mapping[str, Any]) -> None:
        """Check a run's options, the pools it and its steps name, and its remote steps.

        The executors are the runtime's, so a plan's remote steps are checked once.
        """
        self._limits(workflow, plan, options)
        if plan not in self._remote_checked:
            check_remote_steps(plan, self._executors)
            self._remote_checked.add(plan)

    def _limits(
        self, workflow: Workflow, plan: Plan, options: Mapping[str, Any]
    ) -> tuple[float, tuple[Pool, ...]]:
        max_concurrency = options.get("max_concurrency")
        concurrent = options.get("concurrent", True)
        pool = options.get("pool")
        check_int(max_concurrency, "max_concurrency", none="for no limit")
        check_bool(concurrent, "concurrent")
        limit: float = 1 if not concurrent else (max_concurrency or math.inf)
        run_pools = (
            (self.pool_named(pool, f"run of {workflow.name!r}"),) if pool is not None else ()
        )
        for step in tables_of(plan).pooled:
            self.pool_named(step.pool, f"step {step.name!r}")  # type: ignore[arg-type]
        return limit, run_pools

    async def launch(
        self,
        workflow: Workflow,
        inputs: dict[str, Any],
        options: Mapping[str, Any],
        run_id: str,
        nursery: trio.Nursery | None,
        *,
        resume: HaltedRun | None = None,
        journal: Journal | None = None,
        resumed: Resumed | None = None,
        parent: ChildOf | None = None,
    ) -> RunHandle:
        """Start the coordinator of a checked run (new, resumed or recovered); its handle."""
        limit, run_pools = self._limits(workflow, workflow.plan(), options)
        self._open_system()
        handle = RunHandle(run_id, workflow.name)
        handle._durable = journal is not None
        args = (self.services, workflow.plan(), inputs, handle)
        kwargs: dict[str, Any] = {
            "limit": limit,
            "run_pools": run_pools,
            "options": dict(options),
            "resume": resume,
            "journal": journal,
            "resumed": resumed,
            "parent": parent,
            # The caller's contextvars (its trace context, for exporters): copied only when
            # someone listens, so the in-memory fast path pays nothing.
            "caller_context": contextvars.copy_context() if self.services.events else None,
            "on_end": functools.partial(_coordinator_ended, self.services.events, handle, parent),
        }
        self.live[run_id] = handle
        try:
            await self._spawn(handle, args, kwargs, nursery)
        except BaseException:
            self._ended(handle)
            raise
        return handle

    async def _spawn(
        self,
        handle: RunHandle,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        nursery: trio.Nursery | None,
    ) -> ActorRef:
        if nursery is not None:  # a child run, supervised by its parent run
            handle._on_done = self._ended
            return await self._open_system().spawn(Coordinator, *args, nursery=nursery, **kwargs)
        spec = ChildSpec(
            handle.run_id,
            Coordinator,
            args=args,
            kwargs=kwargs,
            restart=Restart.TEMPORARY,
            shutdown=self._shutdown_timeout,
        )
        self.handles.add(handle)
        handle._on_done = self._ended
        return await self._runs_supervisor().start_child(spec)

    def _ended(self, handle: RunHandle) -> None:
        self.handles.discard(handle)
        self.live.pop(handle.run_id, None)

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


def _same_workflow(key: str, recorded: str, workflow: Workflow) -> None:
    if recorded != workflow.name:
        raise ValueError(
            f"key {key!r} already names a run of workflow {recorded!r}, not {workflow.name!r}; "
            "a key names one run: derive keys per workflow, e.g. f'{workflow}:{order_id}'"
        )


def _json_options(options: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "max_concurrency": options.get("max_concurrency"),
        "concurrent": options.get("concurrent", True),
        "pool": options.get("pool"),
    }


def _check_map_sources(plan: Plan, inputs: Mapping[str, Any]) -> None:
    """A ``journal="elements"`` map over an input needs a sequence: say so at the call."""
    for step in tables_of(plan).composites:
        spec = step.composite
        if (
            isinstance(spec, MapSpec)
            and spec.journal == "elements"
            and spec.over in inputs
            and not reiterable(inputs[spec.over])
        ):
            source = inputs[spec.over]
            raise TypeError(
                f"map step {step.name!r} journals its elements (journal='elements'), so input "
                f"{spec.over!r} must be a list or another sequence; got "
                f"{type(source).__name__} {source!r}: pass a list, or use journal='step'"
            )


def _coordinator_ended(
    events: EventBus[Any], handle: RunHandle, parent: ChildOf | None, reason: ExitReason
) -> None:
    """A coordinator that was killed (no on_stop) still settles its run and announces its end."""
    if handle.done:
        return
    error: BaseException = (
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
        )
    )
    handle._set(None, error)
    announce_finished(events, handle.run_id, handle.workflow, handle.started_at, error, parent)
