"""Runtime: the root of a running arborist application.

``async with Runtime() as rt:`` opens an actor system and the runtime's supervision tree:

    runtime          one_for_one supervisor
    ├── jobs         task supervisor: fire-and-forget jobs (rt.fire_and_forget)
    ├── actors       dynamic supervisor: actors started with rt.spawn
    ├── schedules    dynamic supervisor: one scheduler actor per schedule
    └── runs         dynamic supervisor: one coordinator per workflow run (temporary)

Leaving the block (or ``await rt.aclose()``) shuts down gracefully: new work is refused,
schedules stop, runs and jobs in flight get ``shutdown_timeout`` seconds to finish, the rest
are cancelled (runs roll back their completed steps), and ``rt.shutdown_report`` says what was
cut (the tree and its shutdown are in ``_root``). The registry of names belongs to the
runtime's actor system.
"""

from __future__ import annotations

import functools
import itertools
import random
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from types import TracebackType
from typing import Any, Literal, overload

import trio

from arborist.actors import (
    ActorSystem,
    Crashed,
    ExitReason,
    Monitor,
    open_actor_system,
)
from arborist.actors._checks import check_instance, check_seconds, check_timeout
from arborist.actors._logging import get_logger
from arborist.supervision import (
    DynamicSupervisorRef,
    Job,
    TaskHandle,
    TaskSupervisor,
    start_supervisor,
)
from arborist.supervision._events import EventBus

from ._durability import Durability
from ._durable_api import RunsById
from ._durable_jobs import DurableJob, DurableJobs
from ._durable_jobs_api import DurableJobMethods
from ._executors import RuntimeExecutors
from ._pool_verbs import PoolsAndEvents
from ._recovery import DurableRuns
from ._root import (
    JOBS,
    ROOT,
    RUNS,
    SCHEDULES,
    RuntimeClosedError,
    RuntimeShutdownReport,
    ScheduleHost,
    root_spec,
    shut_down,
)
from ._run_verbs import RunStarter
from ._runs import RUN_OPTIONS, RunLauncher
from ._spawn import Spawner
from .embed import AsyncioRuntime, BackgroundRuntime, open_guest_runtime
from .engine._adaptive import Adaptive
from .engine._pools import Pool
from .executors import Executor
from .schedules._handle import ScheduleHandle, ScheduleTable
from .schedules._manager import ScheduleManager
from .schedules._triggers import Interval, Trigger
from .schedules._wallclock import WallClock
from .store import Store, open_store
from .workflow._workflow import Workflow

logger = get_logger("arborist.runtime")

__all__ = [
    "RUN_OPTIONS",
    "Runtime",
    "RuntimeClosedError",
    "RuntimeShutdownReport",
    "open_asyncio_runtime",
]


class Runtime(RunStarter, RunsById, DurableJobMethods, PoolsAndEvents, Spawner):
    """The root of a running arborist application.

    Args:
        thread_limit: how many blocking (``def``) steps may run on worker threads at once.
        shutdown_timeout: seconds each actor gets to stop when the runtime closes.
        seed: seed for the random numbers behind retry and schedule jitter (tests pass one).
        wall_clock: where cron and at() schedules read civil time (default: the system's);
            tests pass ``TrioWallClock(start)`` so trio's MockClock drives cron too.
        executors: executors by name for steps declared with ``executor=name`` (e.g.
            ``{"dask": DaskExecutor(address=...)}``); the runtime opens them when it is
            entered, before anything runs, and closes them after its runs have ended.
        store: where runs, jobs and schedules are journaled so they survive a restart: a URL
            (``sqlite:///arborist.db``, ``postgresql://...``), a ``SQLiteStore`` or
            ``PostgresStore``, or None (the default: in memory).
        workflows: workflows to know by name before any new run, so unfinished runs of them
            are recovered on ``async with`` (a durable runtime also registers every workflow
            it runs).
        recover: ``"auto"`` recovers unfinished runs on ``async with``; ``"manual"`` leaves
            them to ``rt.resume(run_id)``.
        pools: named pools to declare at construction (``{name: limit}``), as
            ``rt.pool(name, limit)`` does: runs recovered on ``async with`` may need them.

    Raises:
        TypeError, ValueError: a bad option (a str, None or bool for ``shutdown_timeout``, a
            ``seed`` that is not an int, a ``wall_clock`` that is not a ``WallClock``), raised
            here, not when the runtime is entered.

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
        wall_clock: WallClock | None = None,
        store: str | Store | None = None,
        workflows: Iterable[Workflow] = (),
        recover: Literal["auto", "manual"] = "auto",
        executors: Mapping[str, Executor] | None = None,
        pools: Mapping[str, int | Adaptive] | None = None,
    ) -> None:
        if isinstance(thread_limit, bool) or not isinstance(thread_limit, int) or thread_limit < 1:
            raise ValueError(f"thread_limit must be a positive int; got {thread_limit!r}")
        check_seconds(shutdown_timeout, "shutdown_timeout")
        if seed is not None:
            check_instance(seed, int, "seed", wanted="an int", hint="; or None for a random one")
        if wall_clock is not None:
            check_instance(wall_clock, WallClock, "wall_clock", hint="; or None for the system's")
        self._durability = Durability(store, workflows, recover)
        self._executors = RuntimeExecutors(executors)
        self._thread_limiter = trio.CapacityLimiter(thread_limit)
        self._shutdown_timeout = shutdown_timeout
        self._random = random.Random(seed)
        self._pools: dict[str, Pool] = {}
        self._events: EventBus[Any] = EventBus()
        self._stack: AsyncExitStack | None = None
        self._system: ActorSystem | None = None
        self._closed = False
        self._root_failure: BaseException | None = None
        self._actor_ids = itertools.count(1)
        self._wall_clock = wall_clock
        self._schedules = ScheduleHost(self._make_schedule_manager)
        self.shutdown_report: RuntimeShutdownReport | None = None
        """What the last shutdown cut (None until the runtime has shut down)."""
        self._runs = RunLauncher(
            events=self._events,
            pools=self._pools,
            thread_limiter=self._thread_limiter,
            rng=self._random,
            shutdown_timeout=shutdown_timeout,
            fire_and_forget=self.fire_and_forget,
            owner=self,
            open_system=self._open_system,
            runs_supervisor=functools.partial(self._dynamic, RUNS),
            executors=self._executors.mapping,
        )
        self._durable: DurableRuns | None = None
        if not isinstance(pools, Mapping | None):
            raise TypeError(f"pools takes a mapping of pool names to limits; got {pools!r}")
        for pool_name, limit in (pools or {}).items():
            self.pool(pool_name, limit)

    @classmethod
    def background(cls, **options: Any) -> BackgroundRuntime:
        """A runtime on a thread of its own, for threaded programs.

        Start it with ``with`` (or ``open()``, then ``close()``). It has the trio runtime's
        verbs (``run``, ``start``, ``schedule``, ``fire_and_forget``, ...) as thread-safe
        blocking calls; ``options`` are the ``Runtime`` constructor's.

        Raises:
            TypeError, ValueError: a bad or unknown option, here (the runtime is built now and
                entered on the runtime's thread by ``with`` or ``open()``).
        """
        runtime = cls(**options)
        return BackgroundRuntime(lambda: runtime)

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Runtime:
        if self._stack is not None or self._closed:
            raise RuntimeError("a Runtime is entered once; create a new Runtime to start again")
        stack = AsyncExitStack()
        await self._executors.open()
        stack.push_async_callback(self._executors.aclose)  # last, if shutdown did not
        try:
            if self._durability.store is not None:
                # Opened first and closed last: the journal outlives every actor that writes.
                store = await stack.enter_async_context(open_store(self._durability.store))
                self._runs.use_store(store)
                self._durable = DurableRuns(self._runs, self._durability, self._events)
                self._runs.durable = self._durable
            system = await stack.enter_async_context(
                open_actor_system(shutdown_timeout=self._shutdown_timeout)
            )
            self._system = system
            spec = root_spec(self._shutdown_timeout)
            self._root = await start_supervisor(system, spec, name=ROOT)
            self._root.ref._cell.add_watcher(Monitor(self._root.ref, None), self._on_root_exit)
            self._root.subscribe(self._events.emit)
            self._root.subscribe(self._schedules.on_root_event)
            self._jobs().subscribe(self._events.emit)
            await system._nursery.start(self._schedules.run)
            durable = self._durable
            if durable is not None:
                self._djobs = djobs = DurableJobs(durable.store, self._jobs)
            if durable is not None and self._durability.recover == "auto":
                await durable.recover_all()  # before any new run starts
                system._nursery.start_soon(durable.keep_recovering, durable.store.lease)
                await djobs.recover_and_keep(system._nursery)
        except BaseException:
            await stack.aclose()
            self._system = None
            raise
        self._stack = stack
        logger.info("runtime started (store: %s)", self._durability.store or "none")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        stack = self._stack
        if stack is None:
            return None
        try:
            if exc_type is None:
                await self.aclose()
            else:
                with trio.CancelScope(shield=True):
                    await self._shut_down(grace=0.0)
        except BaseException:
            self._stack = None
            await stack.aclose()
            self._system = None
            raise
        self._stack = None
        suppress = await stack.__aexit__(exc_type, exc, tb)
        self._system = None
        return suppress

    async def aclose(self, *, timeout: float | None = None) -> RuntimeShutdownReport:
        """Shut down gracefully and return what was cut; idempotent.

        New runs, jobs and actors are refused from now on; schedules stop; runs and jobs in
        flight get ``timeout`` seconds (default ``shutdown_timeout``) to finish; then the rest
        are cancelled (runs roll back their completed undoable steps). The actor system closes
        when the ``async with`` block ends.

        Returns:
            The report, also kept as ``rt.shutdown_report``.

        Raises:
            TypeError, ValueError: ``timeout`` is not None or a number of seconds >= 0.
        """
        check_timeout(timeout, "aclose timeout", none="for the runtime's shutdown_timeout")
        if self.shutdown_report is not None:
            return self.shutdown_report
        grace = self._shutdown_timeout if timeout is None else timeout
        with trio.CancelScope(shield=True):
            report = await self._shut_down(grace=grace)
        return report  # noqa: RET504 - mypy needs the return outside the shielded block

    async def _shut_down(self, *, grace: float) -> RuntimeShutdownReport:
        if self.shutdown_report is not None:
            return self.shutdown_report
        self._closed = True
        report = await shut_down(
            self._root,
            self.system,
            grace=grace,
            stop_schedules=self._schedules.stop,
            live_runs=list(self._runs.handles),
        )
        await self._executors.aclose()  # the runs have ended: nothing submits any more
        self.shutdown_report = report
        logger.info("runtime shut down: %s", report)
        return report

    def _make_schedule_manager(self) -> ScheduleManager:
        return ScheduleManager(
            self.system,
            events=self._events,
            start_workflow=self._runs.start_child,
            wall_clock=self._wall_clock,
            rng=self._random,
            thread_limiter=self._thread_limiter,
            supervisor=self._dynamic(SCHEDULES),
            shutdown_timeout=self._shutdown_timeout,
            store=self._runs.services.store,
        )

    @property
    def store(self) -> Store | None:
        """The open store this runtime journals to (None: in memory, or not open)."""
        return self._runs.services.store

    @property
    def system(self) -> ActorSystem:
        """The actor system under this runtime (open only inside ``async with``)."""
        if self._system is None:
            raise RuntimeError("the runtime is not open; use `async with Runtime() as rt:`")
        return self._system

    def _open_system(self) -> ActorSystem:
        system = self.system
        if self._closed:
            if self._root_failure is not None:
                raise RuntimeClosedError(
                    f"the runtime stopped: its root supervisor gave up ({self._root_failure}); "
                    "it accepts no new work"
                ) from self._root_failure
            raise RuntimeClosedError(
                "the runtime is shutting down and accepts no new work; start work before "
                "aclose() or outside the closing `async with` block"
            )
        return system

    def _on_root_exit(self, reason: ExitReason) -> None:
        """The root supervisor ended: expected while shutting down; else the runtime stops.

        A root that gives up (its children crashed past its restart intensity) stops the
        runtime as OTP stops an application whose top supervisor dies: new work is refused,
        the ``async with`` block is cancelled, everything shuts down, and the block raises the
        root's ``SupervisorGaveUpError``.
        """
        if self._closed or not isinstance(reason, Crashed):
            return
        self._closed = True
        self._root_failure = reason.exc
        logger.error("the runtime's root supervisor gave up; stopping the runtime: %s", reason)
        self.system._interrupt(reason.exc, self._root.ref)

    def _jobs(self) -> TaskSupervisor:
        ref = self._open_system().whereis(JOBS)
        if ref is None:
            raise RuntimeError("the runtime's job supervisor is restarting; try again")
        return TaskSupervisor.from_ref(ref)

    def _dynamic(self, name: str) -> DynamicSupervisorRef:
        ref = self._open_system().whereis(name)
        if ref is None:
            raise RuntimeError(f"the runtime's {name} supervisor is restarting; try again")
        return DynamicSupervisorRef(ref)

    # -- schedules ---------------------------------------------------------------------------

    def _manager(self) -> ScheduleManager:
        self._open_system()
        if self._schedules.manager is None:
            raise RuntimeError("the runtime's schedules are not running")
        return self._schedules.manager

    def schedule(
        self,
        name: str,
        trigger: Interval | Trigger,
        job: Callable[..., Any] | Workflow,
        /,
        **options: Any,
    ) -> ScheduleHandle:
        """Run ``job`` whenever ``trigger`` comes due, under a supervised scheduler actor.

        ``trigger`` is ``every(...)`` (trio's clock, anchored), ``cron("expr", tz=...)`` or
        ``at(datetime)`` (the wall clock, DST-aware). ``job`` is an ``async def``, a ``def``
        (worker thread) or a Workflow (``inputs={...}``). Options: ``overlap`` ("skip" default,
        "buffer_one", "buffer_all", "cancel_other", "allow"), ``misfire_grace``, ``catch_up``
        ("once" default, "all", "skip"), ``jitter``, ``timeout``, ``max_runs``, ``start``,
        ``end``, ``args``, ``durable`` (default: with a store, each due instant is claimed in
        it before it fires: at most once across processes and restarts). Never blocks; every
        check happens here. Every tick that is skipped, missed or times out is an event
        (``rt.subscribe``).

        Raises:
            ScheduleExistsError: the name is taken.
            TypeError, ValueError: a bad trigger, job or option (the message says which),
                ``args`` that do not fit the job's signature, or a custom trigger whose first
                answer is not an aware datetime after now.
        """
        return self._manager().schedule(name, trigger, job, **options)

    async def unschedule(self, name: str) -> None:
        """Remove the schedule ``name``; its runs in flight get the shutdown time."""
        await self._manager().remove(name)

    def schedules(self) -> ScheduleTable:
        """Every schedule with its next fire time, state and run counts.

        A list of ``ScheduleInfo`` that prints as a table (``print(rt.schedules())``).
        """
        return self._manager().list()

    def pause_schedule(self, name: str) -> None:
        """Pause ``name``: its ticks are reported as skipped until ``resume_schedule``."""
        self._manager().pause(name)

    def resume_schedule(self, name: str) -> None:
        """Resume a paused schedule from its next tick."""
        self._manager().resume(name)

    def run_schedule_now(self, name: str) -> None:
        """Tick ``name`` now (its overlap policy and max_runs apply)."""
        self._manager().run_now(name)

    # -- jobs and actors --------------------------------------------------------------------

    @overload
    def fire_and_forget(
        self,
        fn: Callable[..., Any],
        /,
        *args: Any,
        name: str | None = None,
        durable: Literal[False] = False,
    ) -> Job: ...

    @overload
    def fire_and_forget(
        self, fn: Callable[..., Any], /, *args: Any, name: str | None = None, durable: bool
    ) -> Job | DurableJob: ...

    def fire_and_forget(
        self, fn: Callable[..., Any], /, *args: Any, name: str | None = None, durable: bool = False
    ) -> Job | DurableJob:
        """Start ``fn(*args)`` as a temporary job of the runtime's task supervisor.

        Returns at once. The job outlives its caller but not the runtime (it gets the
        runtime's shutdown time); its failure is logged and reported as a ``TaskFailed``
        event, never raised here. A ``def`` function runs on a worker thread.

        ``durable=True`` (with a store) records the job so it survives a restart and runs at
        least once, to completion or to a recorded failure (README "Durable jobs"): ``fn``
        must import by ``module:qualname`` and the arguments must pickle (both checked
        here); it returns a ``DurableJob``. Its row commits within about a millisecond and
        before the job starts; ``await rt.enqueue(fn, *args)`` returns only once it has.

        Raises:
            RuntimeClosedError: the runtime is shutting down.
            RuntimeError: ``durable=True`` without a store.
            ValueError, TypeError: (durable) ``fn`` is not importable by name, or an argument
                does not pickle.
        """
        if durable is not False:
            return self._fire_durable(fn, args, name, durable)
        return self._jobs().start_child(fn, *args, name=name)

    def start_task(
        self, fn: Callable[..., Any], /, *args: Any, timeout: float | None = None
    ) -> TaskHandle[Any]:
        """Start ``fn(*args)`` under the task supervisor; ``await handle`` gives its value."""
        return self._jobs().start_task(fn, *args, timeout=timeout)


@asynccontextmanager
async def open_asyncio_runtime(**runtime_options: Any) -> AsyncIterator[AsyncioRuntime]:
    """Run a Runtime inside the running asyncio loop (trio guest mode) for the block.

    ``runtime_options`` are the ``Runtime`` constructor's. Leaving the block shuts the
    runtime down gracefully (``rt.report`` says what was cut).

    Raises:
        TypeError, ValueError: a bad or unknown option (on entering, before trio starts).
        RuntimeError: no asyncio event loop is running.

    Example:
        >>> async with open_asyncio_runtime() as rt:  # doctest: +SKIP
        ...     data = await rt.run(wf, user_id=1)
    """
    runtime = Runtime(**runtime_options)
    async with open_guest_runtime(lambda: runtime) as host:
        yield host
