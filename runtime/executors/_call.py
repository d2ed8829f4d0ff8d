"""The shared machinery of remote calls: settle once, callbacks from any thread, cancel, gone.

``CallBase`` implements the ``RemoteCall`` protocol over three engine hooks (``_engine_cancel``
and the ``_settle_*``/``_mark_gone`` reports); ``FutureCall`` adapts a
``concurrent.futures.Future`` (thread and process pools).
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any, Final

from ._errors import RemoteCallPendingError, RemoteCancelledError
from ._protocol import CancelResult

__all__ = ["CallBase", "FutureCall"]

_PENDING: Final = 0
_VALUE: Final = 1
_ERROR: Final = 2
_CANCELLED: Final = 3
_STATES: Final = ("pending", "done", "failed", "cancelled")

Callback = Callable[[], None]


class CallBase:
    """A ``RemoteCall`` whose engine reports through ``_settle_*`` and ``_mark_gone``.

    Subclasses implement ``_engine_cancel()`` (best effort, must not raise) and call
    ``_settle_value``/``_settle_error``/``_settle_cancelled`` (first one wins) and
    ``_mark_gone`` from any thread. ``tracks_gone`` says whether ``_mark_gone`` will come.
    """

    __slots__ = (
        "_callbacks",
        "_cancel_result",
        "_gone",
        "_gone_callbacks",
        "_label",
        "_lock",
        "_outcome",
        "_state",
        "cancel_error",
        "tracks_gone",
    )

    def __init__(self, label: str, *, tracks_gone: bool = True) -> None:
        self._label = label
        self._lock = threading.Lock()
        self._state = _PENDING
        self._outcome: Any = None
        self._callbacks: list[Callback] = []
        self._cancel_result: CancelResult | None = None
        self._gone = False
        self._gone_callbacks: list[Callback] = []
        self.tracks_gone = tracks_gone
        self.cancel_error: BaseException | None = None  # what the engine raised on cancel

    def __repr__(self) -> str:
        cancel = f" cancel={self._cancel_result.name}" if self._cancel_result else ""
        return f"<{type(self).__name__} {self._label} {_STATES[self._state]}{cancel}>"

    @property
    def label(self) -> str:
        """The engine's name for the call."""
        return self._label

    @property
    def cancel_result(self) -> CancelResult | None:
        """What the first ``cancel()`` did, or None if never cancelled."""
        return self._cancel_result

    def done(self) -> bool:
        """Whether the call has finished (value, error or cancelled)."""
        return self._state != _PENDING

    def add_done_callback(self, callback: Callback) -> None:
        """Call ``callback()`` once done (at once, here, if already done); any thread."""
        with self._lock:
            if self._state == _PENDING:
                self._callbacks.append(callback)
                return
        callback()

    def result(self) -> Any:
        """The value, or raise the user's exception; never blocks.

        Raises:
            RemoteCallPendingError: not done yet.
            RemoteCancelledError: the call was cancelled.
        """
        state = self._state
        if state == _VALUE:
            return self._outcome
        if state == _ERROR:
            raise self._outcome
        if state == _CANCELLED:
            raise RemoteCancelledError(self._label)
        raise RemoteCallPendingError(self._label)

    def cancel(self) -> CancelResult:
        """Cancel best effort and say what happened; idempotent, never raises or blocks."""
        with self._lock:
            if self._cancel_result is not None:
                return self._cancel_result
            if self._state != _PENDING:
                self._cancel_result = CancelResult.ALREADY_DONE
                return CancelResult.ALREADY_DONE
            # Claim the cancel before asking the engine, so a concurrent cancel() returns
            # this one's answer instead of cancelling twice.
            self._cancel_result = CancelResult.ABANDONED
        try:
            result = self._engine_cancel()
        except Exception as exc:  # best effort: report it, never raise into a cancel path
            self.cancel_error = exc
            result = CancelResult.ABANDONED
        self._cancel_result = result
        if result is not CancelResult.ALREADY_DONE:
            self._settle(_CANCELLED, None)
        return result

    def add_gone_callback(self, callback: Callback) -> bool:
        """Call ``callback()`` once the function no longer runs anywhere; False if untracked."""
        with self._lock:
            if not self._gone:
                if not self.tracks_gone:
                    return False
                self._gone_callbacks.append(callback)
                return True
        callback()
        return True

    # -- engine hooks --------------------------------------------------------------------

    def _engine_cancel(self) -> CancelResult:
        raise NotImplementedError

    def _settle_value(self, value: Any) -> None:
        self._settle(_VALUE, value)

    def _settle_error(self, error: BaseException) -> None:
        self._settle(_ERROR, error)

    def _settle_cancelled(self) -> None:
        self._settle(_CANCELLED, None)

    def _settle(self, state: int, outcome: Any) -> None:
        with self._lock:
            if self._state != _PENDING:
                return
            self._outcome = outcome
            self._state = state
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    def _mark_gone(self) -> None:
        with self._lock:
            if self._gone:
                return
            self._gone = True
            callbacks, self._gone_callbacks = self._gone_callbacks, []
        for callback in callbacks:
            callback()


def _no_unwrap(error: BaseException) -> BaseException:
    return error


class FutureCall(CallBase):
    """A ``RemoteCall`` over a ``concurrent.futures.Future``.

    ``unwrap`` turns the engine's error into the user's; ``kill`` (Ray) replaces the
    future's own ``cancel()``, which for a running call can only abandon it.
    """

    __slots__ = ("_future", "_kill", "_unwrap")

    def __init__(
        self,
        future: concurrent.futures.Future[Any],
        label: str,
        *,
        unwrap: Callable[[BaseException], BaseException] = _no_unwrap,
        kill: Callable[[], CancelResult] | None = None,
    ) -> None:
        super().__init__(label)
        self._future = future
        self._unwrap = unwrap
        self._kill = kill
        future.add_done_callback(self._on_future_done)

    def _on_future_done(self, future: concurrent.futures.Future[Any]) -> None:
        if future.cancelled():
            self._settle_cancelled()
        else:
            error = future.exception()
            if error is None:
                self._settle_value(future.result())
            else:
                self._settle_error(self._unwrap(error))
        self._mark_gone()  # its function has returned (or never ran): nothing runs any more

    def _engine_cancel(self) -> CancelResult:
        if self._kill is not None:
            return self._kill()
        if self._future.cancel():
            return CancelResult.NOT_STARTED
        if self._future.done():
            return CancelResult.ALREADY_DONE
        return CancelResult.ABANDONED
