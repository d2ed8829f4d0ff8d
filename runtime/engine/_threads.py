"""Blocking (``def``) steps on worker threads, and what cancelling one means.

A thread cannot be interrupted: Python has no way to stop a function running on another
thread. So:

- A step's ``timeout`` abandons the attempt: the function keeps running on its thread to its
  end, and whatever it returns or raises is discarded (the attempt has timed out, and a
  retry may start meanwhile). Give blocking calls their own timeouts where they matter.
- When the run is cancelled or fails while the function runs, the run waits for it to return,
  up to the rest of the attempt's ``timeout`` or, without one, the runtime's shutdown time.
  If it returned a value in time the step counts as completed, so the rollback undoes it; if
  it raised, it counts as cancelled. Only a function still running after that bound is
  abandoned, and it is logged.

The thread comes from trio's worker-thread cache and counts against the runtime's thread
limiter from start to return, abandoned or not.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import trio

from arborist.actors._logging import get_logger, log_context

__all__ = ["run_in_thread"]

logger = get_logger("arborist.runtime.engine")


class _ThreadCall:
    """One function call on a worker thread; its outcome reaches trio even once abandoned."""

    __slots__ = ("done", "fn", "returned", "token", "value")

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn = fn
        self.token = trio.lowlevel.current_trio_token()
        self.done = trio.Event()
        self.returned = False
        self.value: Any = None

    def run(self) -> Any:
        """The thread's function: call ``fn`` and tell trio how it went, in any case."""
        returned = False
        try:
            value = self.fn()
            returned = True
            return value
        finally:
            try:
                self.token.run_sync_soon(self._settle, returned, value if returned else None)
            except trio.RunFinishedError:  # the trio run is over: nobody waits any more
                pass

    def _settle(self, returned: bool, value: Any) -> None:
        self.returned = returned
        self.value = value
        self.done.set()


async def run_in_thread(
    fn: Callable[..., Any],
    kwargs: dict[str, Any],
    *,
    limiter: trio.CapacityLimiter,
    name: str,
    timeout: trio.CancelScope | None,
    grace: float,
) -> Any:
    """Run ``fn(**kwargs)`` on a worker thread and return its value (see the module docstring).

    The function runs on a thread of ``trio.to_thread``, so it may call back into trio with
    ``trio.from_thread``.

    Args:
        fn: the blocking function.
        kwargs: its arguments.
        limiter: bounds the worker threads.
        name: the step, for the log line of an abandoned thread.
        timeout: the cancel scope of the attempt's timeout, or None without one.
        grace: how long a cancelled run waits for the function when there is no timeout.

    Raises:
        trio.Cancelled: the attempt was cancelled and the function did not return a value in
            time (or it is the attempt's timeout).
    """
    call = _ThreadCall(functools.partial(fn, **kwargs))
    try:
        return await trio.to_thread.run_sync(call.run, limiter=limiter, abandon_on_cancel=True)
    except trio.Cancelled:
        if timeout is None or not timeout.cancel_called:  # the run is cancelled, not timed out
            bound = trio.current_time() + grace if timeout is None else timeout.deadline
            with trio.CancelScope(shield=True, deadline=bound):
                await call.done.wait()
        if not call.done.is_set():
            logger.warning(
                "step %r: its function is still running on its thread and is abandoned",
                name,
                extra=log_context(step=name),
            )
        elif call.returned:
            return call.value  # it completed: it stands, and will be undone
        raise
