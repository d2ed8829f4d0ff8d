"""FairLimiter: a counting limiter that serves its waiters round-robin between parties.

A pool is shared by every run of a runtime. With a plain FIFO limiter a run that queues many
step attempts first would take every slot that frees up until it is done, and a run arriving
just after would wait for all of it. Here each waiter belongs to a *party* (its run): the
waiters of one party are served in the order they came (FIFO within a run), and the parties
that wait take turns (round-robin between runs). A party that starts waiting joins the end of
the turn order. A slot is granted at once when one is free and nobody waits.

Same contract as ``trio.CapacityLimiter`` where it overlaps: ``acquire`` is a checkpoint and
may be cancelled while waiting (the waiter then leaves the queue and holds nothing); a
borrower holds at most one slot; raising the total grants waiters at once, lowering it lets
the borrowers above it finish.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Hashable

import trio

__all__ = ["FairLimiter"]


class _Waiter:
    __slots__ = ("borrower", "party", "task")

    def __init__(self, borrower: object, party: Hashable, task: trio.lowlevel.Task) -> None:
        self.borrower = borrower
        self.party = party
        self.task = task


class FairLimiter:
    """``total_tokens`` slots, granted FIFO within a party and round-robin between parties."""

    __slots__ = ("_borrowers", "_queues", "_total", "_waiting")

    def __init__(self, total_tokens: float) -> None:
        self._total = total_tokens
        self._borrowers: set[object] = set()
        # Parties with waiters, in turn order (dicts keep insertion order): the first is next.
        self._queues: dict[Hashable, deque[_Waiter]] = {}
        self._waiting = 0

    @property
    def total_tokens(self) -> float:
        """How many slots there are; raising it grants waiters at once."""
        return self._total

    @total_tokens.setter
    def total_tokens(self, total: float) -> None:
        if not (isinstance(total, int) and not isinstance(total, bool)) and total != math.inf:
            raise TypeError(f"total_tokens must be an int or math.inf; got {total!r}")
        if total < 1:
            raise ValueError(f"total_tokens must be >= 1; got {total!r}")
        self._total = total
        self._grant()

    @property
    def borrowed_tokens(self) -> int:
        """How many slots are held now."""
        return len(self._borrowers)

    @property
    def waiting(self) -> int:
        """How many acquirers wait for a slot."""
        return self._waiting

    async def acquire_on_behalf_of(self, borrower: object, party: Hashable) -> None:
        """Wait for a slot for ``borrower``, queued in ``party``'s line.

        Raises:
            RuntimeError: ``borrower`` already holds a slot of this limiter.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        if borrower in self._borrowers:
            raise RuntimeError(f"{borrower!r} already holds a slot of this pool")
        if not self._queues and len(self._borrowers) < self._total:
            self._borrowers.add(borrower)
            await trio.lowlevel.cancel_shielded_checkpoint()
            return
        waiter = _Waiter(borrower, party, trio.lowlevel.current_task())
        queue = self._queues.get(party)
        if queue is None:
            queue = self._queues[party] = deque()
        queue.append(waiter)
        self._waiting += 1

        def abort(_: trio.lowlevel.RaiseCancelT) -> trio.lowlevel.Abort:
            self._forget(waiter)
            return trio.lowlevel.Abort.SUCCEEDED

        await trio.lowlevel.wait_task_rescheduled(abort)

    def release_on_behalf_of(self, borrower: object) -> None:
        """Give back ``borrower``'s slot; the next waiter in turn gets it.

        Raises:
            RuntimeError: ``borrower`` holds no slot.
        """
        try:
            self._borrowers.remove(borrower)
        except KeyError:
            raise RuntimeError(f"{borrower!r} holds no slot of this pool") from None
        self._grant()

    def _grant(self) -> None:
        queues = self._queues
        while queues and len(self._borrowers) < self._total:
            party = next(iter(queues))
            queue = queues.pop(party)
            waiter = queue.popleft()
            if queue:
                queues[party] = queue  # back in line, after the other parties
            self._waiting -= 1
            self._borrowers.add(waiter.borrower)
            trio.lowlevel.reschedule(waiter.task)

    def _forget(self, waiter: _Waiter) -> None:
        queue = self._queues.get(waiter.party)
        if queue is None:
            return
        try:
            queue.remove(waiter)
        except ValueError:
            return
        self._waiting -= 1
        if not queue:
            del self._queues[waiter.party]
