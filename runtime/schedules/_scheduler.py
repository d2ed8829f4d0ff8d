"""Scheduler actors: one per schedule, turning its trigger's due ticks into supervised runs.

The timing state of a schedule (its interval anchor and tick count, or its next wall-clock due
instant, and its armed timer) lives in `ScheduleState`, owned by the manager, not in the actor.
The actor only executes: a crash restarts it (it is a permanent child of the schedules
supervisor), and the new incarnation carries on from the same state, so the schedule does not
shift. Its runs, being its own tasks, end with the crashed incarnation (reported cancelled).

Algorithm of one evaluation (on start, and whenever the schedule's timer fires):

1. Read the clock the trigger runs on: trio's for `Interval`, the injected wall clock for
   `Cron` and `At`. Collect the ticks that came due since the last evaluation (at most the
   newest 1,000; an older rest is reported by one `ScheduleMissed` with its count). A wall
   clock that moved backwards has nothing due yet: the timer is simply re-armed.
2. While paused, each due tick is a `ScheduleSkipped("paused")`. Otherwise `plan_catch_up`
   decides which to run; the others are `ScheduleMissed` with the reason.
3. Each tick to run meets the overlap policy: it starts a run, waits in the buffer, cancels
   the current run, or is skipped (`ScheduleSkipped("overlap" | "buffer_full")`). An accepted
   tick is a `ScheduleTick`; `max_runs` accepted ticks end the schedule.
4. Arm the one timer of the schedule on the system's timer heap for the next due tick, or end
   the schedule (window closed, trigger exhausted). An interval's timer repeats on its grid
   (``call_every``), so on an on-time tick it already points at the next one; wall triggers
   re-check the wall clock at least every `recheck` seconds, so a clock step forwards is
   noticed.

A run is a task in the actor's nursery (``_runner``): jitter, then the job under its timeout.
Its outcome is an event; a failing job never crashes the scheduler. A durable schedule
(``_durable``) hands each batch of due ticks to a task that claims them in the store first.
"""

from __future__ import annotations

import math
from collections import deque
from datetime import datetime, timedelta
from typing import Any

import trio
import trio.lowlevel

from arborist.actors import Actor, ExitReason, is_abnormal
from arborist.actors._logging import get_logger

from ..store import TickOutcome
from ._durable import drive
from ._events import ScheduleEnded, ScheduleMissed, ScheduleSkipped, ScheduleTick
from ._options import CatchUp, MissReason, Overlap, plan_catch_up
from ._runner import RunsMixin, _Run
from ._state import Crash, JobKind, RunNow, ScheduleState
from ._triggers import Interval, Trigger, grid_count, next_due

__all__ = ["BACKLOG_LIMIT", "Scheduler"]

logger = get_logger("arborist.runtime.schedules")

BACKLOG_LIMIT = 1000
"""An evaluation plans at most this many due ticks; an older rest is one ScheduleMissed."""

_EARLY = timedelta(milliseconds=1)
"""A wall-clock tick this close ahead counts as due (float rounding of timer deadlines)."""


def _seconds_between(earlier: float | datetime, later: float | datetime) -> float:
    if isinstance(earlier, datetime) and isinstance(later, datetime):
        return (later - earlier).total_seconds()
    assert isinstance(earlier, float)
    assert isinstance(later, float)
    return later - earlier


class Scheduler(RunsMixin, Actor):
    """The actor executing one schedule (see the module docstring). Started by the manager."""

    owns_nursery = True

    def __init__(self, state: ScheduleState) -> None:
        self._state = state
        self._runs: dict[int, _Run | None] = {}
        self._buffer: deque[tuple[int, float | datetime, bool]] = deque()
        self._stopping = False
        self._stop_label = "scheduler crashed"
        self._drained: trio.Event | None = None  # made when a stop waits for runs in flight
        options = state.options
        plain = (  # a run needs none of _attempt's steps
            state.kind is JobKind.ASYNC
            and not options.jitter
            and options.timeout is None
            and options.overlap is not Overlap.CANCEL_OTHER
        )
        # An interval with no end and no store (a durable one turns into a wall-clock grid):
        # a timer that fired on time for the next tick is that tick only (``_on_timer``).
        interval = state.trigger if isinstance(state.trigger, Interval) else None
        self._on_grid = interval is not None and options.end is None and state.durable is None
        # Its grid, read with no call: the next tick is multiple ``tick + shift`` of the period.
        self._grid_shift = 0 if interval is not None and interval.immediate else 1
        self._period = interval.period if interval is not None else math.inf
        # An idle scheduler's on-time tick is then only a run to start: nothing to count it
        # against (``max_runs``), nothing its run needs (``plain``): ``_execute_quick``.
        self._quick = plain and options.max_runs is None and self._on_grid
        self._now = state.env.timers.now
        self._timers = state.env.timers
        self._events = state.env.events  # the manager's, fixed (read on every tick)
        self._wanted = self._events.wanted
        self._grace = options.misfire_grace

    # -- lifecycle ---------------------------------------------------------------------------

    def on_start(self) -> None:
        state = self._state
        state.ref = self.ref
        state.scheduler = self
        state.incarnations += 1
        state.in_flight = self._runs
        if state.durable is not None:
            self.nursery.start_soon(drive, self)  # claims need the store: a task of its own
        else:
            self._evaluate()

    def on_receive(self, message: object) -> None:
        if isinstance(message, RunNow):
            self._manual_tick()
        else:
            if isinstance(message, Crash):
                raise message.error
            raise TypeError(
                f"the scheduler of {self._state.name!r} got {message!r}; it only takes RunNow"
            )

    @property
    def alive(self) -> bool:
        """Whether this incarnation runs and takes ticks (not stopping, not dead or dying).

        A scheduler being killed takes no tick: the next incarnation evaluates it instead.
        """
        cell = self._cell
        # ``kill_reason`` is set exactly when the cell's scope is cancelled (Cell.kill), and
        # reads no clock (``scope.cancel_called`` checks the deadline: W7, once a tick).
        return not self._stopping and cell.exit_reason is None and cell.kill_reason is None

    def on_failure(self, exc: BaseException) -> None:
        self._stop_label = "scheduler crashed"
        self._stopping = True
        if self._state.scheduler is self:
            self._state.scheduler = None

    async def on_stop(self, reason: ExitReason) -> None:
        state = self._state
        if state.scheduler is self:
            state.scheduler = None
        if is_abnormal(reason):
            return  # restarted by the supervisor; the timer and the timing state stay
        # A permanent child only stops gracefully when removed or shut down: for good.
        self._stopping = True
        self._stop_label = "stopped"
        state.cancel_timer()
        while self._buffer:
            _number, due, claimed = self._buffer.popleft()
            state.emit(ScheduleSkipped(state.name, trio.current_time(), due, "stopped"))
            if claimed and isinstance(due, datetime):
                self._finish_later(due, TickOutcome.SKIPPED, "stopped", None)
        if self._runs:
            drained = self._drained = trio.Event()
            await drained.wait()
        if not state.ended.is_set():
            state.ending = "removed" if state.removing else "stopped"
            state.emit(ScheduleEnded(state.name, trio.current_time(), state.ending, state.runs))
            state.ended.set()

    # -- ticks -------------------------------------------------------------------------------

    def _on_timer(self) -> None:
        """The schedule's timer fired (``ScheduleState.wake``): handle the ticks now due.

        The common case, a timer that fired on time for exactly the next tick of an interval
        with no end, is handled here: no grid count and no list of dues, the same handling and
        the same next timer as ``_evaluate_interval``. An idle quick schedule's tick with no
        ``ScheduleTick`` subscriber only has its run to start (W7: at 10,000 schedules each
        frame of a tick shows). Anything else is ``_evaluate``.
        """
        state = self._state
        cell = self._cell
        # ``alive``, inlined: a scheduler stopping or being killed takes no tick, and lets its
        # interval's repeats go (the next incarnation arms its own).
        if self._stopping or cell.exit_reason is not None or cell.kill_reason is not None:
            state.cancel_timer()
            return
        if self._on_grid and state.ending is None:
            multiple = state.tick + self._grid_shift  # trigger.multiple(state.tick + 1)
            anchor = state.anchor
            period = self._period
            due = anchor + multiple * period
            following = anchor + (multiple + 1) * period
            # The time the timer service found this timer due at: the clock, with no call.
            now = self._timers.fired_at
            if due <= now < following:
                state.tick += 1
                grace = self._grace
                if state.paused or (grace is not None and now - due > grace):
                    self._handle_due([due], now, 0, due)
                elif (
                    self._quick
                    and not self._runs
                    and not self._buffer
                    and not self._wanted[ScheduleTick]
                ):
                    # What _accept does for it: nothing to refuse, emit or count against; and
                    # its run, with no record (``_execute_quick``).
                    state.runs = number = state.runs + 1
                    self._runs[number] = None
                    try:
                        self._nursery.start_soon(self._execute_quick, number, due)
                    except RuntimeError:
                        self._not_launched(number, due, False)
                else:
                    self._accept(due, manual=False)  # what _handle_due does with one tick
                if state.ending is None:
                    # On time, the repeating timer already points at the next tick (``_arm``
                    # would return at once): checked here, with no call.
                    timer = state.timer
                    if timer is None or not timer._active or timer.deadline != following:
                        self._arm(following, state.tick + 1)
                else:
                    self._end()
                return
        self._evaluate()

    def _evaluate(self) -> None:
        state = self._state
        if state.ending is not None or self._stopping:
            return
        trigger = state.trigger
        if isinstance(trigger, Interval):
            self._evaluate_interval(trigger, self._now())
        else:
            self._evaluate_wall(trigger)

    def _evaluate_interval(self, trigger: Interval, now: float) -> None:
        state = self._state
        total = grid_count(trigger, state.anchor, now)
        end = state.options.end
        wall_now = state.env.wall_clock.now() if end is not None else None
        if total > state.tick:
            first_kept = max(state.tick + 1, total - BACKLOG_LIMIT + 1)
            dues = [trigger.nth_fire(state.anchor, n) for n in range(first_kept, total + 1)]
            dropped = first_kept - state.tick - 1
            oldest = trigger.nth_fire(state.anchor, state.tick + 1)
            state.tick = total
            if wall_now is not None and end is not None:
                inside = [due for due in dues if wall_now - timedelta(seconds=now - due) <= end]
                if len(inside) < len(dues):
                    state.ending = "end"
                dues = inside
            self._handle_due(dues, now, dropped, oldest)
        if state.ending is None:
            due = trigger.nth_fire(state.anchor, state.tick + 1)
            if (
                wall_now is not None
                and end is not None
                and wall_now + timedelta(seconds=due - now) > end
            ):
                state.ending = "end"
            else:
                self._arm(due, state.tick + 1)
        if state.ending is not None:
            self._end()

    def _evaluate_wall(self, trigger: Trigger) -> None:
        state = self._state
        wall_now = state.env.wall_clock.now()
        end = state.options.end
        due = state.next_wall
        kept: deque[datetime] = deque(maxlen=BACKLOG_LIMIT)
        count = 0
        oldest = due
        while due is not None and due <= wall_now + _EARLY and (end is None or due <= end):
            kept.append(due)
            count += 1
            try:
                due = next_due(trigger, due, f"schedule {state.name!r}")
            except (TypeError, ValueError) as error:  # a custom trigger's bad answer: end
                logger.error("%s; the schedule ends", error)  # noqa: TRY400 - no traceback
                state.ending = f"trigger failed: {error}"
                due = None
                break
        state.next_wall = due
        if kept:
            assert oldest is not None
            self._handle_due(list(kept), max(wall_now, kept[-1]), count - len(kept), oldest)
        if state.ending is None:
            if due is None:
                state.ending = "exhausted"
            elif end is not None and due > end:
                state.ending = "end"
            else:
                wait = max(0.0, (due - wall_now).total_seconds())
                self._arm(trio.current_time() + min(wait, state.env.recheck))
        if state.ending is not None:
            self._end()

    def _handle_due(
        self,
        dues: list[Any],
        now: float | datetime,
        dropped: int,
        oldest: float | datetime,
    ) -> None:
        state = self._state
        if state.durable is not None:
            state.durable.submit((dues, now, dropped, oldest))
            return
        options = state.options
        time = trio.current_time()
        if dropped:
            grace = options.misfire_grace
            late = grace is not None and _seconds_between(oldest, now) > grace
            reason = (
                MissReason.LATE
                if late
                else MissReason.COALESCED
                if options.catch_up is CatchUp.ONCE
                else MissReason.BEHIND
            )
            state.emit(ScheduleMissed(state.name, time, oldest, reason, dropped))
        if not dues:
            return
        if len(dues) == 1 and not state.paused:
            # The common case, one tick due and no backlog: only the grace can refuse it.
            due = dues[0]
            grace = options.misfire_grace
            if grace is None or _seconds_between(due, now) <= grace:
                self._accept(due, manual=False)
                return
        if state.paused:
            for due in dues:
                state.emit(ScheduleSkipped(state.name, time, due, "paused"))
            return
        to_run, missed = plan_catch_up(dues, now, options)
        for miss in missed:
            state.emit(ScheduleMissed(state.name, time, miss.due, miss.reason))
        for due in to_run:
            if state.ending is not None:
                break
            self._accept(due, manual=False)

    def _manual_tick(self) -> None:
        state = self._state
        if state.ending is not None or self._stopping:
            return
        due: float | datetime = (
            trio.current_time() if state.is_interval else state.env.wall_clock.now()
        )
        if state.durable is not None:
            state.durable.submit(("manual", due))
            return
        self._accept(due, manual=True)
        if state.ending is not None:
            state.cancel_timer()
            self._end()

    def _refusal(self) -> str | None:
        """Why the overlap policy would skip a tick now (``overlap``, ``buffer_full``), or None."""
        policy = self._state.options.overlap
        if (self._runs or self._buffer) and policy is Overlap.SKIP:
            return "overlap"
        if self._buffer and policy is Overlap.BUFFER_ONE:
            return "buffer_full"
        return None

    def _claimed(self, due: datetime, *, manual: bool) -> None:
        """A durable tick this process won: accept it (a refusal since is recorded skipped)."""
        state = self._state
        if state.durable is None:  # pragma: no cover - called for durable schedules only
            return
        reason = self._refusal() if self.alive else "stopped"
        if reason is None:
            self._accept(due, manual=manual, claimed=True)
        else:
            state.emit(ScheduleSkipped(state.name, trio.current_time(), due, reason))
            self._finish_later(due, TickOutcome.SKIPPED, reason, None)
        if manual and state.ending is not None:
            state.cancel_timer()
            self._end()

    def _accept(self, due: float | datetime, *, manual: bool, claimed: bool = False) -> None:
        state = self._state
        options = state.options
        policy = options.overlap
        busy = bool(self._runs or self._buffer)
        if busy:  # an idle scheduler refuses nothing
            refusal = self._refusal()
            if refusal is not None:
                state.emit(ScheduleSkipped(state.name, trio.current_time(), due, refusal))
                return
        state.runs += 1
        number = state.runs
        buffered = busy and policy in (Overlap.BUFFER_ONE, Overlap.BUFFER_ALL)
        if self._wanted[ScheduleTick]:
            time = self._now()
            self._events.emit(ScheduleTick(state.name, time, due, number, manual, buffered))
        if buffered:
            self._buffer.append((number, due, claimed))
        else:
            if busy and policy is Overlap.CANCEL_OTHER:
                for run in self._runs.values():
                    if run is not None and run.scope is not None:
                        run.cancel_reason = "cancel_other"
                        run.scope.cancel()
            self._launch(number, due, claimed)
        if options.max_runs is not None and state.runs >= options.max_runs:
            state.ending = "max_runs"

    def _arm(self, deadline: float, n: int | None = None) -> None:
        """Arm the schedule's timer for ``deadline``: the ``n``-th tick of an interval.

        An interval's timer repeats on the grid (``call_every``): at each tick it has already
        moved to the next one, so arming it for that is a no-op. A wall trigger's one-shot
        timer, once fired, is armed again.
        """
        state = self._state
        timer = state.timer
        if timer is not None:
            if timer._active:  # the handle's own flag: no property call on every tick (W7)
                if timer.deadline == deadline:
                    return
                timer.cancel()
            elif n is None:  # a fired one-shot: armed again, no new handle
                state.timer = state.env.timers.rearm(timer, deadline, state.on_timer)
                return
        trigger = state.trigger
        if n is not None and isinstance(trigger, Interval):
            state.timer = state.env.timers.call_every(
                state.anchor, trigger.multiple(n), trigger.period, state.on_timer
            )
        else:
            state.timer = state.env.timers.call_at(deadline, state.on_timer)

    def _end(self) -> None:
        """The schedule accepts no more ticks; announce it once its last run ended."""
        state = self._state
        state.cancel_timer()
        if self._runs or self._buffer or state.ended.is_set():
            return
        if state.durable is not None and state.durable.pending:
            return  # due ticks still being claimed: ``drive`` ends it after them
        assert state.ending is not None
        state.emit(ScheduleEnded(state.name, trio.current_time(), state.ending, state.runs))
        state.ended.set()
        state.env.retire(state)

    # -- runs (launching them: RunsMixin) --------------------------------------------------

    def _after_run(self) -> None:
        """A run ended: finish a stop, start a buffered tick, or end the schedule.

        Called only while stopping, with ticks buffered, or once the schedule is ending
        (``RunsMixin._execute``): otherwise there is nothing to do.
        """
        state = self._state
        if self._stopping:
            if not self._runs and self._drained is not None:
                self._drained.set()
            return
        if self._buffer and not self._runs:
            number, due, claimed = self._buffer.popleft()
            self._launch(number, due, claimed)
        elif state.ending is not None and not self._runs and not self._buffer:
            self._end()
