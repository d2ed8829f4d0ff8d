"""A schedule's definition and timing state, which outlive its scheduler actor's restarts.

``ScheduleState`` is owned by the manager, not by the actor: the interval anchor and tick
count (or the next wall-clock due instant), the armed timer, run counters and the end reason.
A restarted scheduler carries on from it, so a crash does not shift the schedule. ``Env`` is
what every scheduler of one manager shares.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import attrs
import trio

from arborist.actors import ActorRef
from arborist.actors._logging import get_logger
from arborist.actors._timers import TimerHandle, TimerService
from arborist.supervision._events import EventBus

from ..engine._handle import RunHandle
from ..workflow._workflow import Workflow
from ._options import ScheduleOptions
from ._triggers import Interval, Trigger
from ._wallclock import WallClock

if TYPE_CHECKING:
    from ._durable import DurableTicks
    from ._scheduler import Scheduler

__all__ = ["Crash", "Env", "JobKind", "RunNow", "RunOutcome", "ScheduleState", "StartWorkflow"]

logger = get_logger("arborist.runtime.schedules")


class StartWorkflow(Protocol):
    """Starts a workflow run under a given nursery: the runtime's ``_start``."""

    def __call__(
        self,
        workflow: Workflow,
        inputs: dict[str, Any],
        nursery: trio.Nursery,
        *,
        key: str | None = None,
        fired_by: tuple[str, datetime] | None = None,
    ) -> Awaitable[RunHandle]: ...


class JobKind(enum.Enum):
    """How a schedule's job runs."""

    ASYNC = "async"
    """``await job(*args)`` in the scheduler's nursery."""
    SYNC = "sync"
    """``job(*args)`` on a worker thread (abandoned, still running, if cancelled)."""
    WORKFLOW = "workflow"
    """A run of the workflow with the schedule's inputs, under the scheduler's nursery."""


class RunOutcome(enum.Enum):
    """How a schedule's run ended."""

    OK = "ok"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"


@attrs.define(eq=False)
class Env:
    """What every scheduler of one manager shares."""

    timers: TimerService
    wall_clock: WallClock
    events: EventBus[Any]
    rng: random.Random
    limiter: trio.CapacityLimiter
    start_workflow: StartWorkflow | None
    recheck: float
    retire: Callable[[ScheduleState], None]


@attrs.define(eq=False, repr=False)
class ScheduleState:
    """One schedule's definition and timing state; survives its scheduler's restarts."""

    name: str
    trigger: Interval | Trigger
    """A durable ``every()`` becomes a wall-clock ``WallGrid`` once its row is read."""
    job: Any
    kind: JobKind
    args: tuple[Any, ...]
    inputs: Mapping[str, Any]
    options: ScheduleOptions
    env: Env
    anchor: float = 0.0
    """Interval grid origin on trio's clock: tick n is due at ``nth_fire(anchor, n)``."""
    tick: int = 0
    """Interval ticks consumed (run, skipped or missed)."""
    next_wall: datetime | None = None
    """Wall triggers: the next due instant not consumed yet (UTC), None when exhausted."""
    timer: TimerHandle | None = None
    ref: ActorRef | None = None
    scheduler: Scheduler | None = None
    """The current incarnation, while it is running (the timer calls it directly)."""
    paused: bool = False
    runs: int = 0
    """Ticks accepted to run (run numbers); ``max_runs`` counts these."""
    in_flight: Mapping[int, object] = attrs.field(factory=dict, repr=False)
    """The latest incarnation's runs by number (its own dict, counted by ``running``)."""
    last_outcome: RunOutcome | None = None
    ending: str | None = None
    """Why no tick is accepted any more (the ScheduleEnded reason), once decided."""
    removing: bool = False
    incarnations: int = 0
    durable: DurableTicks | None = None
    """With a store: the schedule's row, claims and pending due ticks (see ``_durable``)."""
    launched: trio.Event = attrs.field(factory=trio.Event)
    ended: trio.Event = attrs.field(factory=trio.Event)
    on_timer: Callable[[], None] = attrs.field(init=False, repr=False)
    """``wake``, bound once: arming the timer every tick then makes no bound method."""

    def __attrs_post_init__(self) -> None:
        self.on_timer = self.wake

    @property
    def running(self) -> int:
        """Runs in flight now: the latest incarnation's (a crashed one's end with it)."""
        return len(self.in_flight)

    def wake(self) -> None:
        """Timer callback: the current scheduler evaluates its due ticks now. Never raises.

        The evaluation runs right here, in the timer task: it is synchronous, on the trio
        thread, so it never interleaves with the scheduler's own (synchronous) handlers, and
        it costs no mailbox round trip. An error in it is sent to the scheduler, which
        crashes on it (and is restarted). If the scheduler is dead or restarting, nothing is
        lost: every incarnation evaluates when it starts (and arms the timer again).
        """
        scheduler = self.scheduler
        if scheduler is None:
            self.cancel_timer()  # an interval's repeats: the next incarnation arms its own
            return
        try:
            scheduler._on_timer()  # a scheduler not ``alive`` cancels the timer
        except Exception as exc:  # a bug in the scheduler: crash it, never the timer task
            self.scheduler = None
            if self.ref is not None:
                try:
                    self.ref.tell(Crash(exc))
                except Exception:
                    logger.exception("schedule %r: scheduler failed and is gone", self.name)

    def cancel_timer(self) -> None:
        """Disarm the schedule's timer (idempotent)."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def emit(self, event: Any) -> None:
        """Send a schedule event to the runtime's subscribers."""
        self.env.events.emit(event)

    @property
    def is_interval(self) -> bool:
        """Whether the trigger runs on trio's clock."""
        return isinstance(self.trigger, Interval)

    def next_due(self) -> tuple[float | None, datetime | None]:
        """Return the next due tick as (trio time, wall-clock instant), both None if none."""
        if self.ending is not None:
            return None, None
        now = trio.current_time()
        wall_now = self.env.wall_clock.now()
        trigger = self.trigger
        if isinstance(trigger, Interval):
            due = trigger.nth_fire(self.anchor, self.tick + 1)
            return due, wall_now + timedelta(seconds=due - now)
        if self.next_wall is None:
            return None, None
        return now + (self.next_wall - wall_now).total_seconds(), self.next_wall

    def __repr__(self) -> str:
        return f"<ScheduleState {self.name!r} runs={self.runs} tick={self.tick}>"


@attrs.frozen
class Crash:
    """Message: the timer's evaluation failed; the scheduler crashes with the error."""

    error: Exception


@attrs.frozen
class RunNow:
    """Message: accept one manual tick now (overlap policy and max_runs apply)."""
