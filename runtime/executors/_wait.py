"""``wait_remote``: await a remote call from trio, woken through the trio token.

The engine's done callback (on whatever thread finishes the call) schedules ``Event.set``
into trio with ``TrioToken.run_sync_soon``: no thread is held per pending call, and the trio
loop keeps running while the remote work does. Calls that finish together (a Dask gather of
many results) share one ``run_sync_soon``: each costs a write to trio's wake-up socket and a
GIL hand-over between the engine's thread and trio's.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

import trio

from ._protocol import CancelResult, RemoteCall

__all__ = ["wait_gone", "wait_remote"]


class _Wakeups:
    """The events to set in one trio run, set together by one ``run_sync_soon``."""

    __slots__ = ("_lock", "_pending", "_token")

    def __init__(self, token: trio.lowlevel.TrioToken) -> None:
        self._token = token
        self._lock = threading.Lock()
        self._pending: list[trio.Event] = []

    def wake(self, event: trio.Event) -> None:
        """From any thread: set ``event`` in trio soon (with any others pending)."""
        with self._lock:
            self._pending.append(event)
            if len(self._pending) > 1:
                return  # a run_sync_soon is already on its way
        try:
            self._token.run_sync_soon(self._flush)
        except trio.RunFinishedError:
            pass  # the trio run is over: nobody waits any more

    def _flush(self) -> None:
        with self._lock:
            events, self._pending = self._pending, []
        for event in events:
            event.set()


_WAKEUPS: trio.lowlevel.RunVar[_Wakeups] = trio.lowlevel.RunVar("arborist_wakeups")


def _waker(token: trio.lowlevel.TrioToken, event: trio.Event) -> Callable[[], None]:
    """A callback for any thread that sets ``event`` in this trio run (call it in trio)."""
    try:
        wakeups = _WAKEUPS.get()
    except LookupError:
        wakeups = _Wakeups(token)
        _WAKEUPS.set(wakeups)
    wake = wakeups.wake

    def callback() -> None:
        wake(event)

    return callback


async def wait_remote(
    call: RemoteCall, *, hold_until_gone: bool = False, gone_timeout: float = math.inf
) -> Any:
    """Wait for ``call`` without blocking trio; return its value or raise the user's error.

    Cancellation: on ``trio.Cancelled`` (a timeout, a fail-fast cancel, a run cancel) the call
    is cancelled (``call.cancel()``; ``call.cancel_result`` then says what that really did)
    and ``Cancelled`` is re-raised. With ``hold_until_gone``, if the engine could only abandon
    the call (``CancelResult.ABANDONED``) this waits, shielded, until the engine reports the
    function gone (``add_gone_callback``) or ``gone_timeout`` seconds pass, so a slot held
    around this await bounds the work really running on the cluster. An engine that cannot
    report it (an untracked Dask executor) is not waited for.

    Args:
        call: from ``Executor.submit`` or ``submit_many``.
        hold_until_gone: on cancel, wait until an abandoned function has really ended.
        gone_timeout: the longest that wait lasts (trio's clock).

    Returns:
        The call's value.

    Raises:
        Exception: the user's own exception, unwrapped from the engine's wrapper.
        RemoteCancelledError: the engine cancelled the call (e.g. the executor was closed).
    """
    if not call.done():
        event = trio.Event()
        call.add_done_callback(_waker(trio.lowlevel.current_trio_token(), event))
        try:
            await event.wait()
        except trio.Cancelled:
            result = call.cancel()
            if hold_until_gone and result is CancelResult.ABANDONED:
                with trio.CancelScope(shield=True):
                    await wait_gone(call, timeout=gone_timeout)
            raise
    else:
        await trio.lowlevel.checkpoint()
    return call.result()


async def wait_gone(call: RemoteCall, *, timeout: float = math.inf) -> bool:
    """Wait until the engine reports that ``call``'s function no longer runs anywhere.

    Returns at once for a call that finished, was dropped or was killed. Cancellable.

    Args:
        call: the call.
        timeout: the longest wait (trio's clock).

    Returns:
        True once gone; False if the engine cannot report it or ``timeout`` passed first.
    """
    event = trio.Event()
    if not call.add_gone_callback(_waker(trio.lowlevel.current_trio_token(), event)):
        return False
    with trio.move_on_after(timeout):
        await event.wait()
    return event.is_set()
