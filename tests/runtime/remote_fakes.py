"""A scripted executor on trio's clock, for testing remote semantics under MockClock.

``ManualExecutor`` implements the executor protocol the way a cluster behaves, in virtual
time: each call waits for one of ``workers`` workers, "runs" for its duration (trio's clock),
then calls the function (which returns at once) and settles with its value or exception.
Cancelling a queued call drops it (``NOT_STARTED``); a running one is ``ABANDONED`` (it runs
its duration out on its worker, and is gone then, like Dask), or ``KILLED`` with
``kill=True`` (like Ray). Everything it did is recorded for the tests to read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import trio

from arborist.runtime.executors import CancelResult, ExecutorClosedError, ExecutorOptionError
from arborist.runtime.executors._call import CallBase


class ManualCall(CallBase):
    __slots__ = ("executor", "scope", "started")

    def __init__(self, executor: ManualExecutor, label: str) -> None:
        super().__init__(label)
        self.executor = executor
        self.started = False
        self.scope: trio.CancelScope | None = None

    def _engine_cancel(self) -> CancelResult:
        if not self.started:
            if self.scope is not None:
                self.scope.cancel()
            self._mark_gone()
            return CancelResult.NOT_STARTED
        if self.executor.kill:
            if self.scope is not None:
                self.scope.cancel()
            return CancelResult.KILLED
        return CancelResult.ABANDONED


class ManualExecutor:
    """See the module docstring.

    Args:
        workers: how many calls run at once; the others queue.
        duration: seconds a call runs, or ``duration(fn, args, kwargs)`` giving them.
        kill: cancel kills a running call instead of abandoning it.
        track_gone: whether calls report when they are gone.
        name: the executor's name.
    """

    def __init__(
        self,
        workers: int = 100,
        duration: float | Callable[..., float] = 1.0,
        *,
        kill: bool = False,
        track_gone: bool = True,
        name: str = "manual",
    ) -> None:
        self.name = name
        self.kill = kill
        self.track_gone = track_gone
        self._duration = duration
        self._workers = trio.Semaphore(workers)
        self.state = "new"
        self.log: list[str] = []  # open / close, for ordering tests
        self.submitted: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.batches: list[int] = []  # sizes of submit_many batches
        self.chunk_sizes: list[int] = []
        self.options: list[Mapping[str, Any] | None] = []
        self.running = 0
        self.peak = 0
        self.finished: list[tuple[str, float]] = []  # (label, trio time) when a call ended
        self.open_error: BaseException | None = None

    def __repr__(self) -> str:
        return f"<ManualExecutor {self.name!r} {self.state}>"

    async def open(self) -> None:
        self.log.append(f"open {self.name}")
        if self.open_error is not None:
            raise self.open_error
        if self.state != "new":
            raise RuntimeError(f"executor {self.name!r} can be opened once")
        self.state = "open"

    async def aclose(self) -> None:
        self.log.append(f"close {self.name}")
        self.state = "closed"

    def validate_options(self, options: Mapping[str, Any] | None) -> dict[str, Any]:
        for key in options or {}:
            if key != "priority":
                raise ExecutorOptionError(self.name, key, "is not an option", {"priority"})
        return dict(options or {})

    def submit(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...] = (),
        kwargs: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        *,
        label: str | None = None,
    ) -> ManualCall:
        if self.state != "open":
            raise ExecutorClosedError(self.name, self.state)
        self.validate_options(options)
        self.options.append(options)
        name = f"{label or fn.__name__}#{len(self.submitted)}"
        kwargs = dict(kwargs or {})
        self.submitted.append((name, tuple(args), kwargs))
        call = ManualCall(self, name)
        call.tracks_gone = self.track_gone
        trio.lowlevel.spawn_system_task(self._run, call, fn, tuple(args), kwargs)
        return call

    def submit_many(
        self,
        fn: Callable[..., Any],
        items: Sequence[tuple[tuple[Any, ...], Mapping[str, Any]]],
        options: Mapping[str, Any] | None = None,
        *,
        chunk_size: int = 1,
        label: str | None = None,
    ) -> list[ManualCall]:
        self.batches.append(len(items))
        self.chunk_sizes.append(chunk_size)
        return [self.submit(fn, a, k, options, label=label) for a, k in items]

    def seconds(
        self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> float:
        duration = self._duration
        return duration(fn, args, kwargs) if callable(duration) else duration

    async def _run(
        self,
        call: ManualCall,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        with trio.CancelScope() as scope:
            call.scope = scope
            async with self._workers:
                call.started = True
                self.running += 1
                self.peak = max(self.peak, self.running)
                try:
                    await trio.sleep(self.seconds(fn, args, kwargs))
                    try:
                        value = fn(*args, **kwargs)
                    except Exception as exc:
                        call._settle_error(exc)
                    else:
                        call._settle_value(value)
                finally:
                    self.running -= 1
                    self.finished.append((call.label, trio.current_time()))
        if scope.cancelled_caught:
            call._settle_cancelled()
        call._mark_gone()
