"""The mailbox: an actor's FIFO queue, optionally bounded, with one parked receiver.

A mailbox never drops a message. ``put_nowait`` refuses when full or closed (the caller raises
a clear error); ``put`` waits for room. The single receiver (the actor's task) parks when the
queue is empty and is woken by the next put. Items put by one task come out in the order put.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import trio
from trio.lowlevel import Abort, ParkingLot, Task, reschedule

__all__ = ["Mailbox", "NotifyingMailbox"]


class MailboxClosed(Exception):  # noqa: N818 - internal control-flow signal, never escapes
    """Internal: the mailbox is closed to new messages."""


class MailboxFull(Exception):  # noqa: N818 - internal control-flow signal, never escapes
    """Internal: the bounded mailbox has no room."""


class Mailbox:
    """FIFO queue of messages for one actor.

    Not thread-safe: every call happens on the trio thread (threads go through ``from_thread``).
    """

    __slots__ = (
        "_capacity",
        "_closed",
        "_fast",
        "_just_append",
        "_kernel",
        "_prompt",
        "_queue",
        "_receiver",
        "_space",
    )

    def __init__(self, capacity: int | None) -> None:
        self._queue: deque[Any] = deque()
        self._capacity = capacity
        self._closed = False
        # Open and unbounded, with no put hook: ``ActorRef.ask`` inlines its put (W2).
        self._fast = capacity is None
        self._receiver: Task | None = None
        # ``_fast`` and no receiver parked: all a ``tell`` does is append (W1). Lowered when
        # the receiver parks (``Cell._loop``), raised again by whoever wakes it; always
        # ``_fast and _receiver is None``.
        self._just_append = self._fast
        # Nonzero while a kernel item (an ask's ``Call``, a ``StopRequest``) may be queued, or
        # once a stop was requested: the actor loop's type dispatch and stop check run only
        # then. Raised before such an item is queued, lowered as the loop takes one; never
        # lower than the truth (too high only costs the checks).
        self._kernel = 0
        self._space: ParkingLot | None = ParkingLot() if capacity is not None else None
        # Set by the cell when its receiver, woken by a put into an empty queue, handles that
        # item before its next checkpoint: a sync ``on_receive`` in the cell's loop. An ask
        # then registers no deadline with the timer service (see ``ActorRef.ask``).
        self._prompt = False

    @property
    def capacity(self) -> int | None:
        """The maximum number of queued messages, or None when unbounded."""
        return self._capacity

    @property
    def closed(self) -> bool:
        """Whether the mailbox refuses new messages (its actor is stopping or dead)."""
        return self._closed

    def __len__(self) -> int:
        return len(self._queue)

    def put_nowait(self, item: Any) -> None:
        """Append ``item``; raise ``MailboxClosed`` or ``MailboxFull`` instead of blocking."""
        if self._closed:
            raise MailboxClosed
        queue = self._queue
        if self._capacity is not None and len(queue) >= self._capacity:
            raise MailboxFull
        queue.append(item)
        self._wake_receiver()

    def put_system(self, item: Any) -> bool:
        """Append a kernel message (Down, Exit, timer) regardless of capacity.

        Returns:
            False if the mailbox is closed and the item was not queued.
        """
        if self._closed:
            return False
        self._queue.append(item)
        self._wake_receiver()
        return True

    async def put(self, item: Any) -> None:
        """Append ``item``, waiting while the mailbox is full. Always a checkpoint."""
        await trio.lowlevel.checkpoint_if_cancelled()
        space = self._space
        if space is None:  # unbounded: never full
            self.put_nowait(item)
        else:
            while True:
                try:
                    self.put_nowait(item)
                except MailboxFull:
                    await space.park()
                    continue
                break
        await trio.lowlevel.cancel_shielded_checkpoint()

    def refuse(self) -> None:
        """Refuse new messages from now on; those queued stay (a stop marker may follow them)."""
        self._closed = True
        self._fast = False
        self._just_append = False

    def wake(self) -> None:
        """Wake the parked receiver, if any, without queueing anything."""
        self._wake_receiver()

    def _wake_receiver(self) -> None:
        """``wake``, never overridden (``NotifyingMailbox`` adds its hook to the public ones).

        The one place, besides the inlined ask (``ActorRef.ask``) and the abort callback,
        that clears the parked receiver, so ``_just_append`` is raised again here.
        """
        receiver = self._receiver
        if receiver is not None:
            self._receiver = None
            self._just_append = self._fast
            reschedule(receiver)

    def __call__(self, _raise_cancel: Any) -> Abort:
        """Trio's abort callback for the receiver parked in its loop: it was cancelled; forget it.

        The cell's loop is the only receiver that parks (``Cell._loop``): it parks with the
        queue empty, so the first put after that finds the receiver set.
        """
        self._receiver = None
        self._just_append = self._fast
        return Abort.SUCCEEDED

    def close(self) -> list[Any]:
        """Refuse further puts; return (and remove) every item still queued."""
        self.refuse()
        items = list(self._queue)
        self._queue.clear()
        if self._space is not None:
            self._space.unpark_all()
        return items


class NotifyingMailbox(Mailbox):
    """A mailbox that calls ``_notify()`` after every put and wake-up.

    For cells that react to a put themselves: a function child is interrupted, a thread actor
    hands the message to its thread. ``tell`` takes ``put_nowait`` (not the inlined fast
    path), so no put bypasses the hook.
    """

    __slots__ = ()

    def __init__(self, capacity: int | None) -> None:
        super().__init__(capacity)
        self._fast = self._just_append = False

    def put_nowait(self, item: Any) -> None:
        super().put_nowait(item)
        self._notify()

    def put_system(self, item: Any) -> bool:
        queued = super().put_system(item)
        self._notify()
        return queued

    def wake(self) -> None:
        super().wake()
        self._notify()

    def _notify(self) -> None:
        """Called on the trio thread after each put or wake-up (whether or not it queued)."""
        raise NotImplementedError
