"""Internal envelopes the kernel puts in mailboxes next to user messages: calls and stops."""

from __future__ import annotations

from typing import Any

import outcome
from trio.lowlevel import Abort, Task, checkpoint, current_task, reschedule, wait_task_rescheduled

__all__ = ["STOP", "AskExpired", "Call", "MethodCall", "StopRequest"]


class AskExpired(Exception):  # noqa: N818 - internal wake-up signal, never escapes
    """Internal: an ask's deadline passed before its reply came (``ask`` raises the error)."""


class Call:
    """A request awaiting one reply: the envelope behind ``ask`` and proxy calls.

    The reply is delivered at most once. A caller that gave up (timeout, cancellation) marks
    the call abandoned, and a late reply is then discarded without touching the callee.
    A call is its own abort callback (no closure per ask) and carries its own deadline, so
    the timer service can expire it without a timer handle (``TimerService.expire_call``).
    """

    __slots__ = ("abandoned", "deadline", "message", "result", "task")

    def __init__(self, message: Any, task: Task | None = None, deadline: float = 0.0) -> None:
        self.message = message
        self.task = task
        self.result: outcome.Outcome[Any] | None = None
        self.abandoned = False
        self.deadline = deadline

    def reply(self, result: outcome.Outcome[Any]) -> None:
        """Deliver the reply (a value or an error) to the waiting caller, if still waiting."""
        if self.abandoned:
            return
        task = self.task
        if task is not None:
            self.task = None
            reschedule(task, result)
        elif self.result is None:
            self.result = result

    async def wait(self) -> Any:
        """Wait for the reply; cancellation abandons the call."""
        if self.result is not None:  # replied while the caller ran (a ThreadActor's quick reply)
            await checkpoint()
            return self.result.unwrap()
        self.task = current_task()
        return await wait_task_rescheduled(self)

    def __call__(self, _raise_cancel: Any) -> Abort:
        """Trio's abort callback for ``wait``: the caller was cancelled; abandon the call."""
        self.task = None
        self.abandoned = True
        return Abort.SUCCEEDED

    @property
    def waiting(self) -> bool:
        """Whether a caller is parked on the reply (False once replied, expired or abandoned)."""
        return self.task is not None

    def expire(self) -> None:
        """At the deadline: wake a caller still waiting with ``AskExpired``; abandon the call."""
        task = self.task
        if task is not None:
            self.task = None
            self.abandoned = True
            reschedule(task, outcome.Error(AskExpired()))


class MethodCall:
    """The message behind ``ref.proxy().name(*args, **kwargs)``."""

    __slots__ = ("args", "kwargs", "name")

    def __init__(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.name = name
        self.args = args
        self.kwargs = kwargs

    def __repr__(self) -> str:
        return f"<call {self.name}()>"


class StopRequest:
    """Queued by ``await ref.stop()``: the actor stops normally when it reaches this marker."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<stop>"


STOP = StopRequest()
