"""Schedules: periodic and calendar jobs, each driven by a supervised scheduler actor.

`ScheduleManager` is what the runtime uses behind ``rt.schedule(...)``. Semantics, in one
place:

- ``schedule(name, trigger, job, ...)`` checks everything at the call (name, trigger, job,
  inputs, options) and returns a `ScheduleHandle` at once; the schedule's scheduler actor
  starts as a PERMANENT child of the schedules dynamic supervisor. The schedule's timing is
  anchored at the call (or at ``start``), not at the actor's start.
- Triggers: ``every(...)`` runs on trio's clock, anchored (tick n due at start + n*period,
  never drifting); ``cron(...)`` and ``at(...)`` read the injected wall clock in their zone
  (DST rules in `arborist.runtime.cron`), and a wall clock stepping backwards or forwards is
  re-read when the timer fires (and at least every ``wall_recheck`` seconds).
- All schedules share the actor system's single timer heap: a schedule costs one timer entry
  and one idle actor, never a sleeping task.
- Jobs: an ``async def`` (awaited in the scheduler's nursery), a ``def`` (run on a worker
  thread, under the thread limiter), or a `Workflow` run with ``inputs``. A job's failure,
  timeout or cancellation is an event (failures are also logged), never a scheduler crash.
- A scheduler crash restarts the actor without shifting the schedule: the timing state lives
  in the manager. Runs of the crashed incarnation are cancelled (reported).
- Options (`ScheduleOptions`): overlap (SKIP by default), misfire_grace and catch_up for late
  ticks, jitter before each run, timeout per run, max_runs, start/end window.
- Nothing is silent: each accepted, skipped (overlap, buffer full, paused, stopped) or missed
  (late, coalesced, behind) tick, each run's outcome and the end of a schedule is an event.
- ``pause`` keeps the timer running and reports each tick as skipped ("paused"); ``resume``
  carries on with the next tick. ``run_now`` is a manual tick (overlap and max_runs apply).
  ``remove`` stops the scheduler; its runs in flight get the shutdown time, then are cancelled.
- A schedule that ends by itself (max_runs, window closed, trigger exhausted) is forgotten
  once its last run ended: its name is free again.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

import trio
import trio.lowlevel

from arborist.actors import ActorSystem
from arborist.actors._checks import check_seconds
from arborist.actors._logging import get_logger
from arborist.actors._system import check_system
from arborist.supervision import (
    DynamicSupervisorRef,
    start_dynamic_supervisor,
)
from arborist.supervision._events import EventBus

from ..store import Store
from ..workflow._workflow import Workflow
from ._definition import define
from ._durable import DurableTicks
from ._events import ScheduleEnded
from ._handle import (
    ScheduleError,
    ScheduleExistsError,
    ScheduleHandle,
    ScheduleInfo,
    ScheduleNotFoundError,
    ScheduleTable,
    _info,
)
from ._launching import Launching
from ._options import CatchUp, Overlap, ScheduleOptions
from ._state import Env, RunOutcome, ScheduleState, StartWorkflow
from ._triggers import Interval, Trigger
from ._wallclock import SystemWallClock, WallClock

__all__ = [
    "DEFAULT_WALL_RECHECK",
    "RunOutcome",
    "ScheduleError",
    "ScheduleExistsError",
    "ScheduleHandle",
    "ScheduleInfo",
    "ScheduleManager",
    "ScheduleNotFoundError",
]

logger = get_logger("arborist.runtime.schedules")

DEFAULT_WALL_RECHECK = 60.0
"""Wall-clock schedules re-read the wall clock at least this often (seconds)."""


class ScheduleManager(Launching):
    """The schedules of one runtime: a registry of schedules and their scheduler actors.

    Open it with ``async with manager:`` (or ``open()``/``aclose()``) inside trio; it then
    starts each schedule's scheduler under ``supervisor`` (or a dynamic supervisor of its own).

    Args:
        system: the actor system (its timer heap serves every schedule).
        events: the bus schedule events go to (the runtime's); a private one by default.
        start_workflow: ``start_workflow(workflow, inputs, nursery) -> RunHandle``, needed for
            Workflow jobs (the runtime passes its ``_start`` with the nursery).
        wall_clock: where cron/at schedules read the time (``SystemWallClock()`` by default).
        rng: random source for jitter (``random.Random()`` by default; seed it in tests).
        thread_limiter: bounds ``def`` jobs on worker threads (40 threads by default).
        supervisor: the schedules dynamic supervisor to start schedulers under; None starts
            one owned (and stopped) by the manager.
        shutdown_timeout: seconds a scheduler's runs in flight get to finish when the schedule
            is removed or the manager closes, before they are cancelled.
        wall_recheck: wall-clock schedules re-read the wall clock at least this often.
        store: an open store: schedules are then durable by default (claimed in the store
            once per due instant across processes and restarts; see ``_durable``).

    Raises:
        TypeError: ``system`` is not an ActorSystem, ``wall_clock`` has no ``now()``, or
            ``shutdown_timeout`` is not a number.
        ValueError: ``shutdown_timeout`` is negative or NaN, or ``wall_recheck`` not > 0.

    Example:
        >>> async with ScheduleManager(system) as schedules:  # doctest: +SKIP
        ...     schedules.schedule("poll", every(seconds=30), poll)
    """

    def __init__(
        self,
        system: ActorSystem,
        *,
        events: EventBus[Any] | None = None,
        start_workflow: StartWorkflow | None = None,
        wall_clock: WallClock | None = None,
        rng: random.Random | None = None,
        thread_limiter: trio.CapacityLimiter | None = None,
        supervisor: DynamicSupervisorRef | None = None,
        shutdown_timeout: float = 5.0,
        wall_recheck: float = DEFAULT_WALL_RECHECK,
        store: Store | None = None,
    ) -> None:
        check_system(system)
        check_seconds(shutdown_timeout, "shutdown_timeout")
        if not isinstance(wall_recheck, int | float) or not wall_recheck > 0:
            raise ValueError(
                f"wall_recheck must be a positive number of seconds; got {wall_recheck!r}"
            )
        if wall_clock is not None and not isinstance(wall_clock, WallClock):
            raise TypeError(f"wall_clock must have now() -> datetime; got {wall_clock!r}")
        self._system = system
        self._events: EventBus[Any] = EventBus() if events is None else events
        self._supervisor = supervisor
        self._owns_supervisor = supervisor is None
        self._shutdown_timeout = shutdown_timeout
        self._env = Env(
            timers=system._timers,
            wall_clock=SystemWallClock() if wall_clock is None else wall_clock,
            events=self._events,
            rng=random.Random() if rng is None else rng,
            limiter=trio.CapacityLimiter(40) if thread_limiter is None else thread_limiter,
            start_workflow=start_workflow,
            recheck=float(wall_recheck),
            retire=self._retire,
        )
        self._store = store
        self._states: dict[str, ScheduleState] = {}
        self._send: trio.MemorySendChannel[tuple[str, ScheduleState]] | None = None
        self._nursery_manager: Any = None
        self._nursery: trio.Nursery | None = None
        self._closed = False

    # -- lifecycle ---------------------------------------------------------------------------

    async def open(self) -> None:
        """Start the manager's launcher task (and its own supervisor if none was given).

        Call it, and later ``aclose()``, from the same task; ``async with`` does both.
        """
        if self._nursery is not None or self._closed:
            raise RuntimeError("a ScheduleManager is opened once")
        if self._supervisor is None:
            self._supervisor = await start_dynamic_supervisor(self._system)
        send, receive = trio.open_memory_channel[tuple[str, ScheduleState]](math.inf)
        self._send = send
        self._nursery_manager = trio.open_nursery()
        self._nursery = await self._nursery_manager.__aenter__()
        self._nursery.start_soon(self._launcher, receive)

    async def aclose(self) -> None:
        """Stop every schedule gracefully (runs in flight get the shutdown time); idempotent.

        New schedules are refused from the start of the call.
        """
        if self._closed:
            return
        self._closed = True
        for state in self._states.values():
            state.cancel_timer()
        with trio.CancelScope(shield=True):
            supervisor = self._supervisor
            states = list(self._states.values())
            if supervisor is not None and supervisor.is_alive:
                if self._owns_supervisor:
                    await supervisor.ref.shutdown(None)
                else:
                    async with trio.open_nursery() as nursery:
                        for state in states:
                            nursery.start_soon(self._terminate, state)
            for state in states:
                self._ensure_ended(state, "stopped")
            self._states.clear()
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()
            await self._nursery_manager.__aexit__(None, None, None)
            self._nursery = None

    async def __aenter__(self) -> ScheduleManager:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def rehome(self, supervisor: DynamicSupervisorRef) -> None:
        """The schedules supervisor was restarted (empty): start every live schedule under it.

        The timing lives in the manager, so the schedules keep their ticks. Called by the
        runtime when its root supervisor restarts the ``schedules`` child.
        """
        if self._closed or self._send is None:
            return
        self._supervisor = supervisor
        for state in list(self._states.values()):
            if state.ending is None and not state.removing and not state.ended.is_set():
                self._send.send_nowait(("start", state))

    # -- the API -----------------------------------------------------------------------------

    def schedule(
        self,
        name: str,
        trigger: Interval | Trigger,
        job: Callable[..., Any] | Workflow,
        *,
        inputs: Mapping[str, Any] | None = None,
        args: tuple[Any, ...] = (),
        overlap: Overlap | str = Overlap.SKIP,
        misfire_grace: float | timedelta | None = None,
        catch_up: CatchUp | str = CatchUp.ONCE,
        jitter: float | timedelta = 0.0,
        timeout: float | timedelta | None = None,
        max_runs: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        durable: bool | None = None,
    ) -> ScheduleHandle:
        """Schedule ``job`` to run whenever ``trigger`` comes due; never blocks.

        Everything is checked here, before anything runs. The timing is anchored now (or at
        ``start``): an ``every(seconds=30)`` schedule made at trio time t is due at t + 30,
        t + 60, ... whatever happens to its scheduler actor.

        Args:
            name: unique among this manager's schedules.
            trigger: ``every(...)``, ``cron(...)``, ``at(...)`` or any object with
                ``next_after(datetime)``.
            job: an ``async def`` function, a ``def`` function (worker thread) or a Workflow.
            inputs: the workflow's inputs (Workflow jobs only).
            args: positional arguments for a function job (not for workflows).
            overlap: what a tick does while a run is going: skip (default), buffer_one,
                buffer_all, cancel_other, allow.
            misfire_grace: seconds a tick may be late and still run (None: no limit).
            catch_up: runs for a backlog of due ticks: once (default), all, skip.
            jitter: each run waits a uniform random delay in [0, jitter] seconds first.
            timeout: cancel a run after this many seconds (reported as timed out).
            max_runs: end the schedule after this many accepted ticks.
            start: no tick before this aware datetime; an interval is anchored there.
            end: no tick after this aware datetime; the schedule then ends.
            durable: claim each due instant in the store before firing it (at most once per
                due instant across processes and restarts; ``every`` then runs on the wall
                clock). Default: durable when the manager has a store.

        Returns:
            The schedule's handle.

        Raises:
            ScheduleExistsError: the name is taken.
            TypeError: the trigger, the job, args or inputs do not fit (``args`` are bound to
                the job's signature here); a custom trigger's first answer is not a datetime.
            ValueError: an option is invalid (an ``every`` period under 1 ms), the trigger
                never comes due in the window, or a custom trigger's first answer is naive or
                not after the instant it was asked about.
            WorkflowInputError: a workflow's inputs are missing or unexpected.
            RuntimeError: the manager is not open, or closed.
        """
        if self._nursery is None or self._closed or self._send is None:
            state_word = "closed" if self._closed else "not open"
            raise RuntimeError(
                f"cannot schedule {name!r}: the schedule manager is {state_word} (schedules "
                "are made inside `async with Runtime() as rt:`)"
            )
        if not isinstance(name, str) or not name:
            raise TypeError(f"a schedule name must be a non-empty str; got {name!r}")
        if name in self._states:
            raise ScheduleExistsError(name)
        if durable is None:
            durable = self._store is not None
        elif not isinstance(durable, bool):
            raise TypeError(f"schedule {name!r}: durable must be a bool or None; got {durable!r}")
        if durable and self._store is None:
            raise ValueError(
                f"schedule {name!r}: durable=True needs a store; open the runtime with "
                "Runtime(store='sqlite:///arborist.db') or drop durable=True"
            )
        state = define(
            name,
            trigger,
            job,
            inputs=inputs,
            args=args,
            options=ScheduleOptions(
                overlap=overlap,
                misfire_grace=misfire_grace,
                catch_up=catch_up,
                jitter=jitter,
                timeout=timeout,
                max_runs=max_runs,
                start=start,
                end=end,
            ),
            env=self._env,
        )
        if durable and self._store is not None:
            state.durable = DurableTicks(self._store, name, state.trigger, job, state.options)
        self._states[name] = state
        self._send.send_nowait(("start", state))
        logger.info("schedule %r added: %s", name, trigger)
        return ScheduleHandle(self, state)

    async def remove(self, name: str) -> None:
        """Remove the schedule ``name``: no more ticks; wait for its scheduler to stop.

        Runs in flight get the shutdown time to finish, then are cancelled (reported). The
        schedule ends with ``ScheduleEnded(reason="removed")`` and its name is free again.

        Raises:
            ScheduleNotFoundError: no schedule has that name.
        """
        await self._remove(self._state_named(name))
        logger.info("schedule %r removed", name)

    def pause(self, name: str) -> None:
        """Skip ``name``'s ticks (each reported as ``ScheduleSkipped("paused")``).

        Raises:
            ScheduleNotFoundError: no schedule has that name.
        """
        self._state_named(name).paused = True

    def resume(self, name: str) -> None:
        """Run ``name``'s ticks again from the next one due (the grid is unchanged).

        Raises:
            ScheduleNotFoundError: no schedule has that name.
        """
        self._state_named(name).paused = False

    def run_now(self, name: str) -> None:
        """Accept one manual tick of ``name`` now, even while paused; never blocks.

        The grid of due ticks is unchanged; the overlap policy and ``max_runs`` apply.

        Raises:
            ScheduleNotFoundError: no schedule has that name.
        """
        self._run_now(self._state_named(name))

    async def started(self) -> None:
        """Wait until every schedule made so far has its scheduler started (or has ended).

        ``schedule()`` returns at once and its scheduler starts just after; a snapshot of the
        tree taken after this shows every schedule.
        """
        for state in list(self._states.values()):
            await state.launched.wait()
        await trio.lowlevel.checkpoint()

    def get(self, name: str) -> ScheduleInfo:
        """Return a snapshot of ``name``.

        Raises:
            ScheduleNotFoundError: no schedule has that name.
        """
        return _info(self._state_named(name))

    def handle(self, name: str) -> ScheduleHandle:
        """Return a handle on ``name``.

        Raises:
            ScheduleNotFoundError: no schedule has that name.
        """
        return ScheduleHandle(self, self._state_named(name))

    def list(self) -> ScheduleTable:
        """Return a snapshot of every schedule, by name (a list that prints as a table)."""
        return ScheduleTable(_info(self._states[name]) for name in sorted(self._states))

    def __len__(self) -> int:
        return len(self._states)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open" if self._nursery is not None else "new"
        return f"<ScheduleManager {len(self._states)} schedules {state}>"

    # -- internals ---------------------------------------------------------------------------

    def _state_named(self, name: str) -> ScheduleState:
        state = self._states.get(name)
        if state is None:
            raise ScheduleNotFoundError(name, sorted(self._states))
        return state

    async def _remove(self, state: ScheduleState) -> None:
        if self._states.get(state.name) is state:
            del self._states[state.name]
        state.removing = True
        state.cancel_timer()
        await self._terminate(state)
        self._ensure_ended(state, "removed")

    def _ensure_ended(self, state: ScheduleState, reason: str) -> None:
        """Announce ``ScheduleEnded`` for a schedule whose scheduler is gone without it.

        A scheduler announces its own end once its last run ended; one that never started,
        or was killed (a run outlived the shutdown time), cannot: the manager does it then.
        """
        if not state.ended.is_set():
            state.ending = reason
            self._events.emit(ScheduleEnded(state.name, trio.current_time(), reason, state.runs))
            state.ended.set()

    def _retire(self, state: ScheduleState) -> None:
        """A schedule ended by itself: forget it and stop its idle scheduler."""
        if self._states.get(state.name) is state:
            del self._states[state.name]
        if self._send is not None and not self._closed:
            self._send.send_nowait(("stop", state))
