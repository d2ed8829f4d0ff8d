"""The handle and the snapshot of one schedule, and the errors schedules raise."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from arborist.actors import ActorRef

from ._cron import Cron
from ._state import RunOutcome, ScheduleState
from ._triggers import At, Interval, Trigger

if TYPE_CHECKING:
    from ._manager import ScheduleManager

__all__ = [
    "ScheduleError",
    "ScheduleExistsError",
    "ScheduleHandle",
    "ScheduleInfo",
    "ScheduleNotFoundError",
    "ScheduleTable",
]


class ScheduleError(Exception):
    """Base class of schedule errors."""


class ScheduleExistsError(ScheduleError, ValueError):
    """A schedule with this name exists already."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"a schedule named {name!r} exists already: choose another name, or "
            f"remove({name!r}) the existing one first"
        )
        self.name = name


class ScheduleNotFoundError(ScheduleError, LookupError):
    """No schedule has this name (never scheduled, removed, or ended)."""

    def __init__(self, name: str, known: list[str]) -> None:
        shown = ", ".join(repr(n) for n in known[:10]) or "none"
        super().__init__(
            f"no schedule named {name!r} (it was never scheduled, was removed, or ended); "
            f"known schedules: {shown}"
        )
        self.name = name


@attrs.frozen
class ScheduleInfo:
    """A snapshot of one schedule.

    Attributes:
        name: the schedule's name.
        trigger: its trigger.
        next_fire: the next due tick on the wall clock (UTC; estimated for intervals), or None.
        next_time: the next due tick on trio's clock (estimated for wall triggers), or None.
        paused: whether ticks are being skipped.
        runs: ticks accepted to run so far (manual ones included).
        running: runs in flight now.
        last_outcome: how the last finished run ended, or None before the first one.
        ended: why the schedule ended (``"max_runs"``, ``"end"``, ``"exhausted"``,
            ``"removed"``, ``"stopped"``), or None while it goes on.
    """

    name: str
    trigger: Interval | Trigger
    next_fire: datetime | None
    next_time: float | None
    paused: bool
    runs: int
    running: int
    last_outcome: RunOutcome | None
    ended: str | None

    @property
    def state(self) -> str:
        """``running``, ``paused``, ``active``, or ``ended (why)``."""
        if self.ended is not None:
            return f"ended ({self.ended})"
        if self.paused:
            return "paused"
        return "running" if self.running else "active"

    def __str__(self) -> str:
        """One line: name, trigger, next fire, runs, last outcome, state."""
        return "  ".join(_cells(self))


_HEADER = ("schedule", "trigger", "next fire (UTC)", "runs", "last", "state")


def _cells(info: ScheduleInfo) -> tuple[str, ...]:
    next_fire = info.next_fire.strftime("%Y-%m-%d %H:%M:%S") if info.next_fire else "-"
    last = info.last_outcome.value if info.last_outcome is not None else "-"
    return (
        info.name,
        _describe_trigger(info.trigger),
        next_fire,
        str(info.runs),
        last,
        info.state,
    )


class ScheduleTable(list[ScheduleInfo]):
    """What ``rt.schedules()`` returns: a list of ``ScheduleInfo`` that prints as a table."""

    def rows(self) -> list[tuple[str, ...]]:
        """The table's cells, header first (for a rich table, a CSV, ...)."""
        return [_HEADER, *(_cells(info) for info in self)]

    def __str__(self) -> str:
        rows = self.rows()
        widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADER))]
        lines = ("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows)
        return "\n".join(line.rstrip() for line in lines)


def _info(state: ScheduleState) -> ScheduleInfo:
    next_time, next_fire = state.next_due()
    return ScheduleInfo(
        name=state.name,
        trigger=state.trigger,
        next_fire=next_fire,
        next_time=next_time,
        paused=state.paused,
        runs=state.runs,
        running=state.running,
        last_outcome=state.last_outcome,
        ended=state.ending,
    )


class ScheduleHandle:
    """A schedule returned by ``schedule()``: inspect, pause, resume, run or remove it.

    No public constructor. The handle stays usable after the schedule ended (``info()``).
    """

    __slots__ = ("_manager", "_state")

    def __init__(self, manager: ScheduleManager, state: ScheduleState) -> None:
        self._manager = manager
        self._state = state

    @property
    def name(self) -> str:
        """The schedule's name."""
        return self._state.name

    @property
    def ref(self) -> ActorRef | None:
        """The ref of the schedule's current scheduler actor (None before it started)."""
        return self._state.ref

    def info(self) -> ScheduleInfo:
        """Return a snapshot of the schedule."""
        return _info(self._state)

    def pause(self) -> None:
        """Skip the schedule's ticks (each reported) until ``resume()``; runs in flight go on."""
        self._state.paused = True

    def resume(self) -> None:
        """Run the schedule's ticks again, from the next one due; no-op if not paused."""
        self._state.paused = False

    def run_now(self) -> None:
        """Accept one manual tick now; see ``ScheduleManager.run_now``."""
        self._manager._run_now(self._state)

    async def remove(self) -> None:
        """Remove the schedule; see ``ScheduleManager.remove``."""
        await self._manager._remove(self._state)

    async def wait_ended(self) -> None:
        """Wait until the schedule has ended and its last run finished."""
        await self._state.ended.wait()

    def __repr__(self) -> str:
        state = self._state
        status = (
            f"ended: {state.ending}"
            if state.ended.is_set()
            else "paused"
            if state.paused
            else "active"
        )
        return f"<ScheduleHandle {state.name!r} {_describe_trigger(state.trigger)} {status}>"


def _describe_trigger(trigger: object) -> str:
    if isinstance(trigger, Interval):
        return f"every {trigger.period:g} s"
    if isinstance(trigger, Cron):
        return f"cron {trigger.expr!r} {trigger.tz.key}"
    if isinstance(trigger, At):
        return f"at {trigger.when.isoformat()}"
    return repr(trigger)
