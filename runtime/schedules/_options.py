"""Schedule options: the policies a scheduler applies to overlapping runs and late ticks.

`ScheduleOptions` is a frozen value validated at construction. The decisions that depend only
on times and options are pure functions here, so the scheduler actor only executes them:
`plan_catch_up` says which due ticks to run and which are missed (and why), `jitter_delay`
draws the random delay to add before a run.

A tick's *lateness* is how long after its due time the scheduler gets to decide on it (for an
interval's timer, at the time the timer service found it due: its pass reads the clock again
after every 64 timers it fires, so that time is behind by one burst of callbacks at most). Two
options govern late ticks, applied in this order by `plan_catch_up`:

1. `misfire_grace`: a tick later than this many seconds is missed (`MissReason.LATE`), never
   run. The edge is inclusive: a tick exactly `misfire_grace` late still runs. None, the
   default, sets no limit.
2. `catch_up`: what to do when the scheduler finds several ticks due at once (it fell behind:
   the process was suspended, the loop blocked, the wall clock jumped forward).
   `CatchUp.ONCE`, the default, coalesces them into one run for the newest eligible tick, like
   APScheduler's ``coalesce=True``; `CatchUp.ALL` runs every eligible tick, oldest first;
   `CatchUp.SKIP` runs none of them and waits for the next future tick. A single due tick is
   not a backlog: every policy runs it if `misfire_grace` allows.

With the defaults, a schedule that slept through many ticks runs once when it wakes up.
"""

from __future__ import annotations

import enum
import itertools
import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Generic, NamedTuple, Protocol, TypeVar

import attrs

from arborist.actors._checks import check_instance

__all__ = [
    "CatchUp",
    "CatchUpPlan",
    "MissReason",
    "MissedTick",
    "Overlap",
    "ScheduleOptions",
    "jitter_delay",
    "plan_catch_up",
]

T = TypeVar("T", float, datetime)


class Overlap(enum.Enum):
    """What to do with a tick that comes due while the schedule's previous run is still going."""

    SKIP = "skip"
    """Do not run it; the tick is reported as skipped. The default."""
    BUFFER_ONE = "buffer_one"
    """Run it when the current run ends; keep at most one waiting, skip further ticks."""
    BUFFER_ALL = "buffer_all"
    """Queue every such tick and run them one after another."""
    CANCEL_OTHER = "cancel_other"
    """Cancel the current run, then start the new one."""
    ALLOW = "allow"
    """Start it at once, concurrently with the current run."""


class CatchUp(enum.Enum):
    """How many runs a backlog of several due ticks produces (see the module docstring)."""

    SKIP = "skip"
    """None: when behind, every due tick is missed and the schedule waits for the next one."""
    ONCE = "once"
    """One, for the newest tick within `misfire_grace`; the older ones are coalesced. Default."""
    ALL = "all"
    """One per tick within `misfire_grace`, oldest first."""


class MissReason(enum.Enum):
    """Why `plan_catch_up` did not run a due tick."""

    LATE = "late"
    """Later than `misfire_grace`."""
    COALESCED = "coalesced"
    """Folded into the run of a newer tick by `CatchUp.ONCE`."""
    BEHIND = "behind"
    """Dropped by `CatchUp.SKIP` because several ticks were due at once."""


def _parse_choice(value: object, kind: type[enum.Enum], option: str, hint: str = "") -> enum.Enum:
    if isinstance(value, kind):
        return value
    if isinstance(value, str):
        for member in kind:
            if member.value == value.lower():
                return member
    choices = ", ".join(repr(member.value) for member in kind)
    raise ValueError(
        f"{option} {value!r} is not a valid policy: use one of {choices} "
        f"or a member of {kind.__name__}{hint}"
    )


def _overlap(value: Overlap | str) -> Overlap:
    hint = " ('queue' is 'buffer_one' or 'buffer_all')" if value == "queue" else ""
    member = _parse_choice(value, Overlap, "overlap", hint)
    assert isinstance(member, Overlap)
    return member


def _catch_up(value: CatchUp | str) -> CatchUp:
    member = _parse_choice(value, CatchUp, "catch_up")
    assert isinstance(member, CatchUp)
    return member


def _seconds(value: object, option: str, rule: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | timedelta):
        raise TypeError(f"{option} must be a number of seconds or a timedelta, got {value!r}")
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if not math.isfinite(seconds):
        raise ValueError(f"{option} must be {rule}, got {value!r}")
    return seconds


def _misfire_grace(value: float | timedelta | None) -> float | None:
    if value is None:
        return None
    rule = "a finite number of seconds >= 0, or None for no limit"
    seconds = _seconds(value, "misfire_grace", rule)
    if seconds < 0:
        raise ValueError(f"misfire_grace must be {rule}, got {value!r}")
    return seconds


def _jitter(value: float | timedelta) -> float:
    rule = "a finite number of seconds >= 0 (0 for no jitter)"
    seconds = _seconds(value, "jitter", rule)
    if seconds < 0:
        raise ValueError(f"jitter must be {rule}, got {value!r}")
    return seconds


def _timeout(value: float | timedelta | None) -> float | None:
    if value is None:
        return None
    rule = "a finite number of seconds > 0, or None for no timeout"
    seconds = _seconds(value, "timeout", rule)
    if seconds <= 0:
        raise ValueError(f"timeout must be {rule}, got {value!r}")
    return seconds


def _max_runs(value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"max_runs must be an int >= 1, or None for no limit, got {value!r}")
    return value


def _aware(value: object, option: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{option} must be a datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{option} must be timezone-aware, got naive {value.isoformat()}: attach a "
            "tzinfo, e.g. datetime(..., tzinfo=ZoneInfo('Europe/Paris'))"
        )
    return value


def _start(value: datetime | None) -> datetime | None:
    return None if value is None else _aware(value, "start")


def _end(value: datetime | None) -> datetime | None:
    return None if value is None else _aware(value, "end")


@attrs.frozen
class ScheduleOptions:
    """How a scheduler treats overlapping runs, late ticks, jitter, limits and its window.

    Durations are seconds (a `datetime.timedelta` is accepted and converted); policies accept
    their lower-case names. Invalid values raise at construction.

    Attributes:
        overlap: What to do with a tick due while the previous run is still going.
        misfire_grace: How late a tick may still run, in seconds; None for no limit (default).
        catch_up: How many runs a backlog of several due ticks produces; ONCE by default.
        jitter: Upper bound of a random delay added before each run; 0 by default.
        timeout: Cancel a run after this many seconds; None for no timeout (default).
        max_runs: Stop the schedule after this many runs; None for no limit (default).
        start: No tick is due before this aware datetime (inclusive).
        end: No tick is due after this aware datetime (inclusive); must be after `start`.

    Example:
        >>> ScheduleOptions(overlap="buffer_one", misfire_grace=30).overlap
        <Overlap.BUFFER_ONE: 'buffer_one'>
    """

    overlap: Overlap = attrs.field(default=Overlap.SKIP, converter=_overlap)
    misfire_grace: float | None = attrs.field(default=None, converter=_misfire_grace)
    catch_up: CatchUp = attrs.field(default=CatchUp.ONCE, converter=_catch_up)
    jitter: float = attrs.field(default=0.0, converter=_jitter)
    timeout: float | None = attrs.field(default=None, converter=_timeout)
    max_runs: int | None = attrs.field(default=None, converter=_max_runs)
    start: datetime | None = attrs.field(default=None, converter=_start)
    end: datetime | None = attrs.field(default=None, converter=_end)

    @end.validator
    def _check_end(
        self, _attribute: attrs.Attribute[datetime | None], end: datetime | None
    ) -> None:
        if end is not None and self.start is not None and end <= self.start:
            raise ValueError(
                f"end ({end.isoformat()}) must be after start ({self.start.isoformat()}): "
                "swap them, or drop one for an open-ended window"
            )

    def in_window(self, when: datetime) -> bool:
        """Return whether `when` lies within `[start, end]` (an unset bound is open).

        Raises:
            ValueError: If `when` is naive.
        """
        moment = _aware(when, "in_window() time")
        if self.start is not None and moment < self.start:
            return False
        return self.end is None or moment <= self.end


@attrs.frozen
class MissedTick(Generic[T]):
    """A due tick that `plan_catch_up` decided not to run, and why."""

    due: T
    reason: MissReason


class CatchUpPlan(NamedTuple, Generic[T]):
    """The decision for a batch of due ticks; unpacks as ``to_run, missed = plan``."""

    to_run: tuple[T, ...]
    """The due times to run, oldest first."""
    missed: tuple[MissedTick[T], ...]
    """The other due times, oldest first, each with its reason (report each as telemetry)."""


def _is_late(due: T, now: T, grace: float) -> bool:
    if isinstance(now, datetime):
        assert isinstance(due, datetime)
        return now - due > timedelta(seconds=grace)
    return now - due > grace


def _check_batch(due_times: Sequence[T], now: T) -> None:
    kind = datetime if isinstance(now, datetime) else float
    for due in due_times:
        if isinstance(due, datetime) is not (kind is datetime):
            raise TypeError(
                f"due time {due!r} and now {now!r} must both be monotonic seconds or both be "
                "datetimes"
            )
    if isinstance(now, datetime):
        for moment in (*due_times, now):
            _aware(moment, "plan_catch_up() time")
    for earlier, later in itertools.pairwise(due_times):
        if later < earlier:
            raise ValueError(
                f"due times must be in ascending order, got {earlier!r} then {later!r}"
            )
    if due_times and due_times[-1] > now:
        raise ValueError(
            f"due time {due_times[-1]!r} is after now ({now!r}): pass only ticks that have come due"
        )


def plan_catch_up(due_times: Sequence[T], now: T, options: ScheduleOptions) -> CatchUpPlan[T]:
    """Decide which of the ticks that have come due to run now, applying the late-tick policy.

    1. Every tick more than `options.misfire_grace` seconds before `now` is missed as LATE
       (exactly `misfire_grace` late still runs).
    2. If only one tick is due, it runs unless it was LATE.
    3. If several are due, `options.catch_up` decides: ALL runs every remaining tick, ONCE
       runs the newest and misses the others as COALESCED, SKIP misses them all as BEHIND.

    Pure: it neither reads a clock nor blocks.

    Args:
        due_times: The due ticks not yet decided on, ascending, none after `now`: monotonic
            seconds (intervals) or aware datetimes (wall-clock triggers).
        now: The current time, of the same kind as `due_times`.
        options: The schedule's options.

    Returns:
        The ticks to run and the ticks missed with their reasons, each oldest first.

    Raises:
        TypeError: If due times and `now` are not all of the same kind, or `options` is not a
            `ScheduleOptions`.
        ValueError: If due times are out of order, after `now`, or naive datetimes.

    Example:
        >>> plan_catch_up([10.0, 20.0, 30.0], 35.0, ScheduleOptions(misfire_grace=20)).to_run
        (30.0,)
    """
    check_instance(options, ScheduleOptions, "plan_catch_up() options")
    _check_batch(due_times, now)
    grace = options.misfire_grace
    missed: list[MissedTick[T]] = []
    eligible: list[T] = []
    for due in due_times:
        if grace is not None and _is_late(due, now, grace):
            missed.append(MissedTick(due, MissReason.LATE))
        else:
            eligible.append(due)
    if len(due_times) <= 1 or options.catch_up is CatchUp.ALL:
        return CatchUpPlan(tuple(eligible), tuple(missed))
    if options.catch_up is CatchUp.ONCE:
        missed.extend(MissedTick(due, MissReason.COALESCED) for due in eligible[:-1])
        return CatchUpPlan(tuple(eligible[-1:]), tuple(missed))
    missed.extend(MissedTick(due, MissReason.BEHIND) for due in eligible)
    return CatchUpPlan((), tuple(missed))


class _UniformSource(Protocol):
    def uniform(self, a: float, b: float) -> float: ...


def jitter_delay(options: ScheduleOptions, rng: _UniformSource) -> float:
    """Return a random delay to add before a run, uniform in ``[0, options.jitter]`` seconds.

    Draws nothing from `rng` when jitter is 0, so a seeded `random.Random` stays reproducible.

    Args:
        options: The schedule's options.
        rng: A random source with `uniform(a, b)`, such as a seeded `random.Random`.

    Example:
        >>> import random
        >>> 0 <= jitter_delay(ScheduleOptions(jitter=5), random.Random(1)) <= 5
        True
    """
    if options.jitter == 0:
        return 0.0
    return rng.uniform(0.0, options.jitter)
