"""Timers: one heap of due times per actor system, driven by a single trio task.

Every timer reads trio's clock, so ``MockClock`` drives them in tests. Thousands of timers
cost one sleeping task, not one task each. Interval timers are anchored (the n-th tick is due
at ``start + n * period``, computed in one rounding, never by adding the period again and
again), so they do not drift.

The heap holds ``(deadline, number)`` pairs, and the handles sit in a dict by number. A pair of
a float and an int is a tuple the garbage collector stops tracking at its first pass, so a
timer armed again and again (a schedule's, every tick) leaves no tracked object behind it.
With the handle inside the pair, every arming made a tracked tuple that lived until its
deadline; at 10,000 schedules those were what set off the collector's full passes.

Timers due at the same instant share one heap entry: the first one armed for it leads, the
others follow it in a list (made only when a second one comes) and fire right after it, in
the order they were armed (a repeating timer is armed again as it fires). Schedules made
together are due together on every tick, so a burst of 10,000 costs one heap pop instead of
10,000 sifts through a heap of 10,000 (the firing loop's CPU per timer halves at 10,000).
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import trio

if TYPE_CHECKING:
    from ._envelopes import Call
    from ._mailbox import Mailbox

__all__ = ["TimerHandle", "TimerService"]

_MIN_COMPACT = 64

_BURST = 64
"""Timers fired in one step of the timer task before it lets the tasks they woke run.

A burst of due timers (10,000 schedules on one tick) then does not keep the work it starts
alive all at once: what the first timers started ends before the next ones fire, so its
objects die young instead of outliving the collector's young passes by the thousand (each
object moved to the old generation brings the next full pass closer).
"""


def _nothing() -> None:
    """The callback of a timer that was cancelled."""


def _fired() -> None:
    """The callback of a one-shot timer that has fired: it is off the heap (see ``rearm``)."""


class TimerHandle:
    """A scheduled one-shot or repeating timer. Cancel it with ``cancel()``; it is idempotent."""

    __slots__ = ("_active", "_callback", "_count", "_on_cancel", "_origin", "deadline", "period")

    def __init__(
        self,
        deadline: float,
        period: float | None,
        callback: Callable[[], object],
        on_cancel: Callable[[TimerHandle], None] | None,
        origin: float | None = None,
        count: int = 0,
    ) -> None:
        self.deadline = deadline
        self.period = period
        self._callback = callback
        self._active = True
        self._on_cancel = on_cancel
        # A repeating timer's k-th deadline is origin + k * period: one rounding, no drift.
        self._origin = deadline if origin is None else origin
        self._count = count

    @property
    def active(self) -> bool:
        """Whether the timer will still fire (a fired one-shot timer is no longer active)."""
        return self._active

    def cancel(self) -> None:
        """Stop the timer; a message already delivered stays in the mailbox."""
        if self._active:
            self._active = False
            # The heap keeps a cancelled entry until its deadline: let go of what the callback
            # holds (an ask's request, a timer's message) now, not then.
            self._callback = _nothing
            on_cancel, self._on_cancel = self._on_cancel, None
            if on_cancel is not None:
                on_cancel(self)

    def _retire(self) -> None:
        """A one-shot timer fired: off the heap for good; let go of what its callback holds."""
        self._active = False
        self._callback = _fired
        self._on_cancel = None

    def __repr__(self) -> str:
        kind = f"every {self.period} s" if self.period is not None else "once"
        state = "active" if self._active else "inactive"
        return f"<TimerHandle {kind} due {self.deadline:.6f} {state}>"


class TimerService:
    """The heap of due timers and the task that fires them at their deadlines."""

    def __init__(self) -> None:
        # One entry per due instant: the first timer armed for it (its *leader*); timers armed
        # for the same instant while it waits follow it, in ``_groups``, and fire right after
        # it (10,000 schedules on one grid: one heap entry a tick, not 10,000 sifts).
        self._heap: list[tuple[float, int]] = []
        self._leaders: dict[float, int] = {}  # due instant -> number of its heap entry
        self._groups: dict[int, list[int]] = {}  # leader number -> its followers, in order
        # Handles by number, leaders and followers (compacting edits these in place: the loop
        # firing timers holds them while callbacks arm more).
        self._handles: dict[int, TimerHandle] = {}
        self._seq = itertools.count()
        self._scope: trio.CancelScope | None = None
        self._waiting_until = math.inf
        self._compact_at = _MIN_COMPACT
        self._compactions = 0  # counted: the firing loop holds lists a compaction replaces
        # Asks' deadlines, in the order made: with one timeout (the default 5 s) they never
        # decrease, so a FIFO holds them in deadline order at O(1), with no handle per ask.
        self._calls: deque[Call] = deque()
        self._calls_compact_at = _MIN_COMPACT
        # trio's clock, read without the three calls of trio.current_time() (twice an ask).
        self.now: Callable[[], float] = trio.lowlevel.current_clock().current_time
        self.fired_at = -math.inf
        """trio's time at which the firing loop found due the timers it is firing now.

        Read again after each burst's checkpoint, so it is never behind by more than one
        burst of callbacks (``_BURST``). A callback that needs the time can read it instead
        of the clock (a schedule's timer, once a tick: W7).
        """

    def __len__(self) -> int:
        """Live timers: active ones on the heap and asks still waiting for their reply."""
        return sum(1 for h in self._handles.values() if h.active) + sum(
            c.waiting for c in self._calls
        )

    def call_at(
        self,
        deadline: float,
        callback: Callable[[], object],
        *,
        period: float | None = None,
        on_cancel: Callable[[TimerHandle], None] | None = None,
    ) -> TimerHandle:
        """Run ``callback`` (sync, must not raise) at ``deadline`` on trio's clock.

        With ``period``, it runs again every ``period`` seconds after that (anchored).
        """
        handle = TimerHandle(deadline, period, callback, on_cancel)
        self._push(handle)
        return handle

    def call_every(
        self, origin: float, first: int, period: float, callback: Callable[[], object]
    ) -> TimerHandle:
        """Run ``callback`` at ``origin + n * period`` for n = ``first``, ``first + 1``, ...

        Each deadline is computed in one rounding from the origin, so a caller that computes
        its due times the same way (a schedule's ``nth_fire``) finds them equal to the bit.
        """
        handle = TimerHandle(origin + first * period, period, callback, None, origin, first)
        self._push(handle)
        return handle

    def rearm(
        self, handle: TimerHandle, deadline: float, callback: Callable[[], object]
    ) -> TimerHandle:
        """Run ``callback`` at ``deadline`` (one-shot); return its handle.

        A one-shot ``handle`` that has fired is armed again (no new handle, the heap already let
        go of it); any other (active, cancelled, repeating) is left alone and a new handle is
        made, as ``call_at`` does.
        """
        if handle._callback is not _fired:
            return self.call_at(deadline, callback)
        handle.deadline = deadline
        handle._callback = callback
        handle._active = True
        self._push(handle)
        return handle

    def _push(self, handle: TimerHandle) -> None:
        deadline = handle.deadline
        handles = self._handles
        if len(handles) >= self._compact_at:
            self._compact()
        number = next(self._seq)
        handles[number] = handle
        self._enter(deadline, number)
        if deadline < self._waiting_until:
            # Move the sleeping task's deadline earlier instead of waking it.
            self._waiting_until = deadline
            if self._scope is not None:
                self._scope.deadline = deadline

    def _enter(self, deadline: float, number: int) -> None:
        """Queue timer ``number`` at ``deadline``: lead that instant, or follow its leader."""
        leaders = self._leaders
        lead = leaders.get(deadline)
        if lead is None:
            leaders[deadline] = number
            heapq.heappush(self._heap, (deadline, number))
            return
        group = self._groups.get(lead)
        if group is None:
            self._groups[lead] = [number]
        else:
            group.append(number)

    def _compact(self) -> None:
        """Drop cancelled timers, which wait until their deadline otherwise.

        Run now and then, so cancelling long timers over and over does not grow the heap
        without bound. Rebuilt from what is queued (heap entries and their followers, in
        firing order), not from the handles: the firing loop may hold a group it took off.
        """
        handles = self._handles
        groups = self._groups
        queued = []
        for deadline, number in sorted(self._heap):
            queued.append((deadline, number))
            queued.extend((deadline, follower) for follower in groups.get(number, ()))
        self._heap.clear()
        self._leaders.clear()
        groups.clear()
        for deadline, number in queued:
            if handles[number]._active:
                self._enter(deadline, number)
            else:
                del handles[number]  # the group in the firing loop's hands drops its own
        self._compact_at = max(_MIN_COMPACT, 2 * len(handles))
        self._compactions += 1

    def expire_call(self, call: Call) -> None:
        """Expire ``call`` (``call.expire()``) at ``call.deadline`` unless it settles first.

        A settled call (replied, abandoned) needs no cancelling: calls that settled are dropped
        from the front of the queue here and when the timer task wakes.
        """
        calls = self._calls
        while calls and calls[0].task is None:
            calls.popleft()
        if len(calls) >= self._calls_compact_at:
            # Calls that settled behind one still waiting stay until it leaves the front; drop
            # them now and then, as the heap does, so they cannot pile up for a whole timeout.
            calls = self._calls = deque(c for c in calls if c.task is not None)
            self._calls_compact_at = max(_MIN_COMPACT, 2 * len(calls))
        deadline = call.deadline
        if calls and deadline < calls[-1].deadline:
            # An earlier deadline than the last queued (a shorter timeout): the heap keeps it.
            self.call_at(deadline, call.expire)
            return
        calls.append(call)
        if deadline < self._waiting_until:
            self._waiting_until = deadline
            if self._scope is not None:
                self._scope.deadline = deadline

    def deliver_after(
        self,
        mailbox: Mailbox,
        timers: set[TimerHandle],
        delay: float,
        message: Any,
        period: float | None,
    ) -> TimerHandle:
        """An actor's timer: ``message`` into ``mailbox`` after ``delay`` s, then every ``period``.

        The handle stays in ``timers`` (the actor's live timers) until cancelled, or until a
        one-shot timer has fired.
        """
        handle = self.call_at(
            trio.current_time() + delay,
            lambda: mailbox.put_system(message),
            period=period,
            on_cancel=timers.discard,
        )
        if period is None:
            # A fired one-shot timer leaves the set when it fires.
            callback = handle._callback

            def fire_once() -> None:
                timers.discard(handle)
                callback()

            handle._callback = fire_once
        timers.add(handle)
        return handle

    async def run(self) -> None:  # noqa: PLR0912,PLR0915 - the firing loop stays in one frame
        """Fire timers forever; run this in the system's nursery."""
        heap = self._heap
        handles = self._handles
        leaders = self._leaders
        groups = self._groups
        group: list[int] = []  # the followers of the instant being fired, from ``at`` on
        at = 0
        while True:
            now = self.fired_at = trio.current_time()
            fired = 0
            while at < len(group) or (heap and heap[0][0] <= now):
                if fired == _BURST:
                    fired = 0
                    await trio.lowlevel.checkpoint()
                    # The woken tasks ran: time went on, and what they armed may be due first.
                    now = self.fired_at = trio.current_time()
                    continue
                if at < len(group):
                    # The followers of the instant being fired (off the heap already, with
                    # their leader), up to the burst's end, in one loop. Repeating ones on one
                    # grid are due again together: the timer they follow then is looked up for
                    # the first of them, and the others join its list (``_enter``, inlined).
                    stop = min(len(group), at + _BURST - fired)
                    after: list[int] | None = None  # the list the last one joined
                    joined = 0.0  # ... for this deadline
                    compactions = self._compactions  # a compaction makes new lists
                    while at < stop:
                        number = group[at]
                        at += 1
                        handle = handles[number]
                        if not handle._active:
                            del handles[number]
                            continue
                        callback = handle._callback
                        period = handle.period
                        if period is None:
                            del handles[number]
                            handle._retire()
                        else:
                            handle._count = count = handle._count + 1
                            handle.deadline = deadline = handle._origin + count * period
                            if (
                                after is not None
                                and deadline == joined
                                and compactions == self._compactions
                            ):
                                after.append(number)  # behind the one before: order kept
                            else:
                                lead = leaders.get(deadline)
                                if lead is None:
                                    leaders[deadline] = number
                                    heapq.heappush(heap, (deadline, number))
                                    after = None  # the next one makes this one's list
                                else:
                                    after = groups.get(lead)
                                    if after is None:
                                        after = groups[lead] = [number]
                                    else:
                                        after.append(number)
                                joined = deadline
                                compactions = self._compactions
                        fired += 1
                        callback()
                    continue
                deadline, number = heap[0]
                if leaders.get(deadline) == number:
                    del leaders[deadline]
                followers = groups.pop(number, None)
                if followers is not None:
                    group = followers
                    at = 0
                handle = handles[number]
                if not handle._active:
                    heapq.heappop(heap)
                    del handles[number]
                    continue
                callback = handle._callback
                period = handle.period
                if period is None:
                    heapq.heappop(heap)
                    del handles[number]
                    handle._retire()
                else:
                    handle._count = count = handle._count + 1
                    handle.deadline = deadline = handle._origin + count * period
                    if deadline in leaders:  # follow the timer already due then
                        heapq.heappop(heap)
                        self._enter(deadline, number)
                    else:
                        # The next deadline replaces this one in the heap (one sift, not two)
                        # under the same number: repeating timers due together keep their order.
                        leaders[deadline] = number
                        heapq.heapreplace(heap, (deadline, number))
                fired += 1
                callback()
            if group:
                group = []
                at = 0
            while heap:  # cancelled leaders with no followers: gone now, not at their deadline
                deadline, number = heap[0]
                if handles[number]._active or number in groups:
                    break
                heapq.heappop(heap)
                del handles[number]
                if leaders.get(deadline) == number:
                    del leaders[deadline]
            calls = self._calls
            while calls and (calls[0].task is None or calls[0].deadline <= now):
                calls.popleft().expire()  # a no-op for a call that settled
            self._waiting_until = min(
                heap[0][0] if heap else math.inf, calls[0].deadline if calls else math.inf
            )
            with trio.CancelScope(deadline=self._waiting_until) as scope:
                self._scope = scope
                await trio.sleep_forever()
            self._scope = None
