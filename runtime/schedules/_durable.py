"""Durable schedules: single-fire claims of due instants in a store, across processes and lives.

With a store (``Runtime(store=...)``), a schedule is durable by default. What changes:

- **The definition is a row.** When its scheduler first starts, the schedule is upserted
  (trigger text, job reference, options); the code is the source of truth, and the stored
  ``last_due`` and run count are kept across restarts and deploys.
- **Due instants are wall-clock instants**, so every process agrees on them. ``cron`` and
  ``at`` already are; a durable ``every()`` is a `WallGrid`: anchored at ``anchor_utc`` (the
  wall time of the first upsert, or ``start``), due at ``anchor + k * period`` on the wall
  clock (trio's clock restarts at zero with each process). The anchor is kept while the
  trigger text is unchanged, so a restart keeps the same grid. Wall time comes from the
  runtime's injected ``wall_clock`` (a ``TrioWallClock`` under ``MockClock`` in tests).
- **Claim, then run.** Each due instant is claimed in the store (primary key ``(name,
  due)``) before anything happens; only the process whose claim won fires it, records how
  it ended (``finish_tick``) and emits its events. A lost claim means another process (or an
  earlier life) took that instant: nothing fires here (a debug log line, no event, since it
  was not missed). Skipped (paused, overlap) and missed instants are claimed with their
  outcome too, so they are consumed once and recorded, never silent.
- **Nothing passes unseen while down.** On start, the due instants between the stored
  ``last_due`` (or the anchor, or the row's creation) and now go through the usual late-tick
  policy (``misfire_grace``, ``catch_up``): each is run, or recorded ``missed`` and emitted
  as ``ScheduleMissed``.
- **At most once per due instant, even across a crash.** A tick claimed by a process that
  died before its job reported an end (its owner is no longer open in the store) is marked
  ``interrupted`` and reported as ``ScheduleRunInterrupted`` on the next start (or, while
  this process runs, within a lease period of the owner's death); it is not
  fired again, because the job may have run (a SIGKILL between claim and run start cannot be
  told apart from one during the run). A workflow job's run is keyed
  ``sched:<name>:<due>``: if its run row was created, run recovery resumes it like any run,
  and the tick is tied to it (``interrupt_tick(run_key=...)``): the run's end becomes the
  tick's outcome, whichever comes first.
- **Overlap across processes.** With ``overlap="skip"``, a claim made while another open
  owner holds a claimed tick of the schedule is recorded ``skipped`` (``claim_due(alone=
  True)``, decided in the claim's transaction). The other policies see local runs only.
- **A scheduler restarted mid-batch** claims the interrupted batch again with ``retake``:
  a due instant its dead incarnation claimed and never acted on is won back and fired.
"""

from __future__ import annotations

import enum
from collections import deque
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs
import trio

from arborist.actors._logging import get_logger

from ..store import Store, StoreError, TickOutcome
from ..workflow._workflow import Workflow
from ._events import ScheduleMissed, ScheduleRunInterrupted, ScheduleSkipped
from ._handle import _describe_trigger
from ._options import CatchUp, MissReason, Overlap, ScheduleOptions, plan_catch_up
from ._triggers import Interval, Trigger, next_due

if TYPE_CHECKING:
    from ._scheduler import Scheduler
    from ._state import ScheduleState

__all__ = [
    "DurableTicks",
    "WallGrid",
    "drive",
    "job_text",
    "run_key",
    "tick_outcome",
    "trigger_text",
]

logger = get_logger("arborist.runtime.schedules")

_US = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(when: datetime) -> int:
    return (when - _EPOCH) // _US


def _on_millisecond(when: datetime) -> datetime:
    """``when`` cut to a whole millisecond: it survives the store's float seconds exactly."""
    return _EPOCH + timedelta(milliseconds=round(_micros(when) / 1000))


@attrs.frozen
class WallGrid:
    """A durable ``every()``: due at ``anchor + k * period`` on the wall clock (k >= 1).

    k starts at 0 when ``immediate``. Computed in whole microseconds, so every process with
    the same anchor and period finds the same instants.

    Attributes:
        period: seconds between due instants.
        anchor: the grid's origin, an aware UTC datetime (stored as the schedule's
            ``anchor_utc``).
        immediate: whether the anchor itself is due.
    """

    period: float
    anchor: datetime
    immediate: bool = False

    def next_after(self, after: datetime) -> datetime | None:
        """The first due instant strictly after aware ``after``."""
        step = max(1, round(self.period * 1_000_000))
        origin = _micros(self.anchor)
        first = 0 if self.immediate else 1
        k = max(first, (_micros(after) - origin) // step + 1)
        return _EPOCH + timedelta(microseconds=origin + k * step)

    def __repr__(self) -> str:
        return f"every {self.period:g} s from {self.anchor.isoformat()}"


def trigger_text(trigger: Interval | Trigger) -> str:
    """The canonical text a schedule's trigger is stored as."""
    if isinstance(trigger, Interval):
        return f"every {trigger.period:g}s" + (" immediate" if trigger.immediate else "")
    return _describe_trigger(trigger)


def job_text(job: Any) -> str:
    """The job reference stored with a schedule: ``workflow:<name>`` or ``module:qualname``."""
    if isinstance(job, Workflow):
        return f"workflow:{job.name}"
    module = getattr(job, "__module__", None) or "?"
    name = getattr(job, "__qualname__", None) or type(job).__qualname__
    return f"{module}:{name}"


def _options_data(options: ScheduleOptions) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for field in attrs.fields(type(options)):
        value = getattr(options, field.name)
        if isinstance(value, enum.Enum):
            value = value.value
        elif isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, timedelta):
            value = value.total_seconds()
        data[field.name] = value
    return data


_REASONS = {
    MissReason.LATE: "later than misfire_grace",
    MissReason.COALESCED: "coalesced by catch_up='once'",
    MissReason.BEHIND: "dropped by catch_up='skip'",
}


class DurableTicks:
    """A durable schedule's side in the store: its row, its claims and its pending due ticks.

    Owned by the schedule's state, so it outlives the scheduler actor's restarts.
    """

    def __init__(
        self, store: Store, name: str, trigger: Interval | Trigger, job: Any, options: Any
    ) -> None:
        self.store = store
        self.name = name
        self.trigger_text = trigger_text(trigger)
        self.job_text = job_text(job)
        self.options = _options_data(options)
        self.ready = False
        """Whether the row was upserted and the start-up checks done (once per schedule)."""
        self.pending: deque[tuple[Any, ...]] = deque()
        """Batches of due ticks found by evaluations, waiting for their claims."""
        self.alone = options.overlap is Overlap.SKIP
        """Whether a run of this schedule in another process makes a due instant skipped."""
        self.retake = False
        """Set while the first pending batch is claimed again after its claimer crashed."""
        self._wakeup = trio.Event()

    def submit(self, batch: tuple[Any, ...]) -> None:
        """Queue a batch (``(dues, now, dropped, oldest)`` or ``("manual", due)``). Never blocks."""
        self.pending.append(batch)
        self._wakeup.set()

    async def wait(self) -> None:
        """Wait until a batch is pending."""
        while not self.pending:
            self._wakeup = trio.Event()
            await self._wakeup.wait()

    async def claim(
        self, due: datetime, outcome: TickOutcome, reason: str | None = None
    ) -> TickOutcome | None:
        """Claim ``due`` with ``outcome``; return the outcome won (None: taken elsewhere).

        A ``claimed`` claim of an overlap-"skip" schedule is won as SKIPPED while another
        process on the store runs this schedule (decided in the claim's transaction). While
        ``retake`` is set (a batch that a crashed incarnation had begun to claim), a due
        instant this owner claimed and never acted on is won again.
        """
        won = await self.store.claim_due(
            self.name, due, outcome=outcome, reason=reason, alone=self.alone, retake=self.retake
        )
        if won is None:
            logger.debug("schedule %r: %s was claimed elsewhere", self.name, due.isoformat())
        return won

    async def finish(
        self, due: datetime, outcome: TickOutcome, reason: str | None, run_id: str | None
    ) -> None:
        """Record how a claimed tick ended; a store failure is logged (the store is failed)."""
        with trio.CancelScope(shield=True):
            try:
                await self.store.finish_tick(self.name, due, outcome, reason=reason, run_id=run_id)
            except Exception:
                logger.exception(
                    "schedule %r: the outcome of %s (%s) was not recorded",
                    self.name,
                    due.isoformat(),
                    outcome.value,
                )

    async def prepare(self, state: ScheduleState) -> None:
        """Upsert the row, report interrupted claims, and find the first unconsumed due."""
        options = state.options
        trigger = state.trigger
        wall_now = state.env.wall_clock.now()
        start = options.start if options.start is not None and options.start > wall_now else None
        origin = _on_millisecond(start or wall_now)
        info = await self.store.upsert_schedule(
            self.name,
            trigger=self.trigger_text,
            job=self.job_text,
            options=self.options,
            anchor_utc=origin,
        )
        # The anchor is when this definition was first registered (kept while the trigger
        # text is unchanged): due instants since then that no process consumed are caught up.
        anchor = _on_millisecond(info.anchor_utc if info.anchor_utc is not None else origin)
        wall: Trigger
        if isinstance(trigger, Interval):
            wall = WallGrid(trigger.period, anchor, trigger.immediate)
            state.trigger = wall
        else:
            wall = trigger
        base = anchor - _US if info.last_due is None else info.last_due
        if start is not None and base < start:
            base = start - _US
        state.runs = max(state.runs, info.runs)
        state.next_wall = next_due(wall, base, f"schedule {self.name!r}")
        await self.report_interrupted(state)
        self.ready = True

    async def report_interrupted(self, state: ScheduleState, *, reap: bool = True) -> None:
        """Mark the claims of dead owners interrupted, each with a ScheduleRunInterrupted.

        ``reap``: first close the owners whose lease ran out (on start); the periodic sweep
        leaves that to the store's recovery loop and reads only owners already closed.
        """
        store = self.store
        claimed = await store.list_ticks(self.name, outcome=TickOutcome.CLAIMED, limit=100_000)
        if not claimed:
            return
        if reap:
            await store.reap_dead_owners()
        alive = {owner.owner_id for owner in await store.list_owners()}
        for tick in reversed(claimed):  # oldest first
            if tick.owner_id in alive:
                continue  # its process lives (another runtime on this store): it will finish it
            reason = (
                f"claimed by owner {tick.owner_id}, which died before the job reported an end;"
                " not fired again (at most once per due instant)"
            )
            key = run_key(self.name, tick.due) if self.job_text.startswith("workflow:") else None
            recorded = await store.interrupt_tick(self.name, tick.due, reason, run_key=key)
            if recorded is not None:
                logger.warning(
                    "schedule %r: the tick of %s was interrupted (recorded %s)",
                    self.name,
                    tick.due,
                    recorded.value,
                )
                state.emit(
                    ScheduleRunInterrupted(
                        self.name, trio.current_time(), tick.due, tick.owner_id, reason
                    )
                )


async def drive(scheduler: Scheduler) -> None:
    """A durable scheduler's task: prepare once, evaluate, then claim each pending batch.

    Beside it, every lease period, ticks claimed by owners that died since are reported
    interrupted (another process on the store may die while this one runs).
    """
    state = scheduler._state
    durable = state.durable
    if durable is None:  # pragma: no cover - started for durable schedules only
        return
    if not durable.ready:
        await durable.prepare(state)
    scheduler._evaluate()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_sweep_interrupted, durable, state)
        try:
            await _claim_batches(scheduler, durable, state)
        finally:
            nursery.cancel_scope.cancel()


async def _claim_batches(scheduler: Scheduler, durable: DurableTicks, state: ScheduleState) -> None:
    while True:
        await durable.wait()
        if not scheduler.alive:
            return  # stopping: what is not claimed stays due, for the next start to catch up
        batch = durable.pending[0]  # left queued while it settles: the schedule cannot end
        try:
            if batch[0] == "manual":
                await _fire(scheduler, durable, batch[1], manual=True)
            else:
                await _settle(scheduler, durable, *batch)
        except BaseException:
            # Cut mid-batch (this incarnation crashed or was killed): the next one claims the
            # batch again, winning back the claims this one made and never acted on.
            durable.retake = True
            raise
        durable.retake = False
        durable.pending.popleft()
        if state.ending is not None and not durable.pending:
            scheduler._end()  # it ended while this batch was claimed: announce it now


async def _sweep_interrupted(durable: DurableTicks, state: ScheduleState) -> None:
    """Every lease period: report the claims of owners that died since the last look."""
    while True:
        await trio.sleep(durable.store.lease)
        try:
            await durable.report_interrupted(state, reap=False)
        except StoreError:
            return  # the store failed: that failure is reported where the store is used


async def _settle(
    scheduler: Scheduler,
    durable: DurableTicks,
    dues: list[datetime],
    now: datetime,
    dropped: int,
    oldest: datetime,
) -> None:
    """The durable ``_handle_due``: each decision is claimed first, acted on if won."""
    state = scheduler._state
    options = state.options
    if dropped:
        await _settle_dropped(durable, state, now, dropped, oldest)
    if not dues:
        return
    if state.paused:
        for due in dues:
            if await durable.claim(due, TickOutcome.SKIPPED, "paused"):
                state.emit(ScheduleSkipped(state.name, trio.current_time(), due, "paused"))
        return
    to_run, missed = plan_catch_up(dues, now, options)
    for miss in missed:
        if await durable.claim(miss.due, TickOutcome.MISSED, _REASONS[miss.reason]):
            state.emit(ScheduleMissed(state.name, trio.current_time(), miss.due, miss.reason))
    for due in to_run:
        if state.ending == "max_runs" or not scheduler.alive:
            break  # (a window or trigger end, decided as this batch was found, comes after it)
        refusal = scheduler._refusal()
        if refusal is not None:
            if await durable.claim(due, TickOutcome.SKIPPED, refusal):
                state.emit(ScheduleSkipped(state.name, trio.current_time(), due, refusal))
        else:
            await _fire(scheduler, durable, due, manual=False)


async def _fire(
    scheduler: Scheduler, durable: DurableTicks, due: datetime, *, manual: bool
) -> None:
    """Claim ``due`` to run it; run it if won, report it skipped if another process runs one."""
    won = await durable.claim(due, TickOutcome.CLAIMED, "run_now" if manual else None)
    if won is TickOutcome.CLAIMED:
        scheduler._claimed(due, manual=manual)
    elif won is TickOutcome.SKIPPED:  # a run of this schedule is going in another process
        state = scheduler._state
        state.emit(ScheduleSkipped(state.name, trio.current_time(), due, "overlap"))


async def _settle_dropped(
    durable: DurableTicks, state: ScheduleState, now: datetime, dropped: int, oldest: datetime
) -> None:
    """The older part of a backlog beyond BACKLOG_LIMIT: one row and one event for it all."""
    options = state.options
    grace = options.misfire_grace
    late = grace is not None and (now - oldest).total_seconds() > grace
    why = (
        MissReason.LATE
        if late
        else MissReason.COALESCED
        if options.catch_up is CatchUp.ONCE
        else MissReason.BEHIND
    )
    text = f"{_REASONS[why]}: the oldest of {dropped} due instants beyond the backlog limit"
    if await durable.claim(oldest, TickOutcome.MISSED, text):
        state.emit(ScheduleMissed(state.name, trio.current_time(), oldest, why, dropped))


def tick_outcome(outcome: Any) -> TickOutcome:
    """The store outcome of a run's ``RunOutcome``."""
    return TickOutcome(outcome.value)


def run_key(name: str, due: datetime) -> str:
    """The start key of a durable schedule's workflow run for ``due``."""
    return f"sched:{name}:{due.astimezone(UTC).isoformat()}"
