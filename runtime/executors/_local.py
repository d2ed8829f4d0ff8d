"""``ThreadExecutor`` and ``ProcessExecutor``: the executor protocol over concurrent.futures.

They make the remote semantics testable without an engine, and ``ProcessExecutor`` runs
CPU-bound steps on the local cores. A queued call can be cancelled (``NOT_STARTED``); a
running one cannot be interrupted, so it is ``ABANDONED``: it runs to its end, keeping its
worker, and its result is discarded (``add_gone_callback`` fires when it returns).
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import trio

from ._call import FutureCall
from ._chunks import check_chunk_size, chunked
from ._common import CLOSED, OPEN, Lifecycle, check_plain, reject_options
from ._protocol import RemoteCall, SubmitItem
from ._remote import run_chunk, run_pickled, settle_chunk
from ._sendable import pickler

__all__ = ["ProcessExecutor", "ThreadExecutor"]


def _check_workers(max_workers: object) -> int | None:
    if max_workers is None:
        return None
    if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
        raise ValueError(f"max_workers must be None or an int >= 1; got {max_workers!r}")
    return max_workers


class _PoolExecutor:
    """What the thread and process executors share: lifecycle, submission, close."""

    def __init__(self, name: str, max_workers: int | None) -> None:
        self._life = Lifecycle(name)
        self._max_workers = _check_workers(max_workers)
        self._pool: concurrent.futures.Executor | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._life.name!r} {self._life.state}>"

    @property
    def name(self) -> str:
        """The executor's name."""
        return self._life.name

    def _make_pool(self) -> concurrent.futures.Executor:
        raise NotImplementedError

    def _warm(self, pool: concurrent.futures.Executor) -> None:
        """Start the workers now (blocking; runs on a worker thread during ``open``)."""

    async def open(self) -> None:
        """Create the pool (and start a process pool's workers, off the trio thread).

        Raises:
            RuntimeError: opened twice.
        """
        if self._pool is not None or self._life.state is CLOSED:
            raise RuntimeError(
                f"executor {self.name!r} can be opened once; it is {self._life.state}"
            )
        pool = self._make_pool()
        await trio.to_thread.run_sync(self._warm, pool)
        self._pool = pool
        self._life.state = OPEN

    def validate_options(self, options: Mapping[str, Any] | None) -> dict[str, Any]:
        """This executor takes no options: any key is an ``ExecutorOptionError``."""
        reject_options(self.name, options, ())
        return {}

    def submit(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...] = (),
        kwargs: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        *,
        label: str | None = None,
    ) -> RemoteCall:
        """Queue ``fn(*args, **kwargs)`` on the pool; never blocks.

        Raises:
            ExecutorClosedError: not open.
            ExecutorOptionError: any option (none are taken).
            TypeError: ``fn`` is async or not callable.
        """
        self._life.require_open()
        reject_options(self.name, options, ())
        check_plain(self.name, fn)
        return FutureCall(self._queue(fn, args, dict(kwargs or {})), self._life.label(fn, label))

    def submit_many(
        self,
        fn: Callable[..., Any],
        items: Sequence[SubmitItem],
        options: Mapping[str, Any] | None = None,
        *,
        chunk_size: int = 1,
        label: str | None = None,
    ) -> list[RemoteCall]:
        """Queue one call per item, ``chunk_size`` items to a pool task; a call per item.

        Raises:
            ExecutorClosedError: not open.
            ExecutorOptionError: any option.
            ValueError: a bad ``chunk_size``.
        """
        self._life.require_open()
        reject_options(self.name, options, ())
        check_plain(self.name, fn)
        check_chunk_size(chunk_size)
        if chunk_size == 1:
            return [self.submit(fn, tuple(args), kwargs, label=label) for args, kwargs in items]
        base = self._life.label(fn, label)

        def submit_chunk(chunk: list[tuple[tuple[Any, ...], dict[str, Any]]], name: str) -> Any:
            return FutureCall(self._queue_chunk(fn, chunk), name)

        return chunked(submit_chunk, items, chunk_size, base)

    def _queue(
        self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> concurrent.futures.Future[Any]:
        assert self._pool is not None
        return self._pool.submit(fn, *args, **kwargs)

    def _queue_chunk(
        self, fn: Callable[..., Any], chunk: list[tuple[tuple[Any, ...], dict[str, Any]]]
    ) -> concurrent.futures.Future[Any]:
        assert self._pool is not None
        return self._pool.submit(run_chunk, fn, chunk)

    async def aclose(self) -> None:
        """Cancel queued calls and wait (cancellable) for running ones to return.

        Running functions cannot be interrupted; a cancelled wait leaves them to finish on
        their own threads or processes.
        """
        pool, self._pool = self._pool, None
        self._life.state = CLOSED
        if pool is not None:
            await trio.to_thread.run_sync(
                lambda: pool.shutdown(wait=True, cancel_futures=True), abandon_on_cancel=True
            )


class ThreadExecutor(_PoolExecutor):
    """Runs calls on a ``concurrent.futures.ThreadPoolExecutor`` of its own.

    For blocking work that releases the GIL (I/O, C extensions); pure-Python CPU work is
    better on ``ProcessExecutor``. Functions and arguments are passed as they are (nothing
    is pickled).

    Args:
        max_workers: the pool's threads (None: concurrent.futures' default).
        name: the executor's name in messages and events.

    Example:
        >>> executor = ThreadExecutor(max_workers=4)
        >>> # in trio: await executor.open()
        >>> # value = await wait_remote(executor.submit(f, (1,)))
    """

    def __init__(self, max_workers: int | None = None, *, name: str = "thread") -> None:
        super().__init__(name, max_workers)

    def _make_pool(self) -> concurrent.futures.Executor:
        return concurrent.futures.ThreadPoolExecutor(
            self._max_workers, thread_name_prefix=f"arborist-{self.name}"
        )


class ProcessExecutor(_PoolExecutor):
    """Runs calls in worker processes of its own, for CPU-bound steps on the local cores.

    Workers start during ``open()`` (off the trio thread) with the ``forkserver`` start
    method where available, else ``spawn`` (never ``fork``: the parent runs threads). As on
    Dask and Ray, functions and arguments are sent with cloudpickle when it is installed
    (lambdas and closures work); results come back with pickle. Scripts that use it need the
    ``if __name__ == "__main__":`` guard.

    Args:
        max_workers: the pool's processes (None: the number of cores).
        name: the executor's name.
        start_method: a ``multiprocessing`` start method, to override the default.
    """

    def __init__(
        self,
        max_workers: int | None = None,
        *,
        name: str = "process",
        start_method: str | None = None,
    ) -> None:
        super().__init__(name, max_workers)
        methods = multiprocessing.get_all_start_methods()
        if start_method is None:
            start_method = "forkserver" if "forkserver" in methods else "spawn"
        elif start_method not in methods:
            raise ValueError(f"start_method must be one of {methods}; got {start_method!r}")
        self._start_method = start_method

    def _make_pool(self) -> concurrent.futures.Executor:
        return concurrent.futures.ProcessPoolExecutor(
            self._max_workers, mp_context=multiprocessing.get_context(self._start_method)
        )

    def _warm(self, pool: concurrent.futures.Executor) -> None:
        # A process pool starts a worker per submit while none is idle: keep each warm-up
        # call busy briefly so the burst starts every worker now, not inside a later submit.
        workers = self._max_workers or multiprocessing.cpu_count()
        for future in [pool.submit(time.sleep, 0.05) for _ in range(workers)]:
            future.result()

    def _queue(
        self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> concurrent.futures.Future[Any]:
        assert self._pool is not None
        return self._pool.submit(run_pickled, pickler().dumps((fn, args, kwargs)))

    def _queue_chunk(
        self, fn: Callable[..., Any], chunk: list[tuple[tuple[Any, ...], dict[str, Any]]]
    ) -> concurrent.futures.Future[Any]:
        assert self._pool is not None
        return self._pool.submit(settle_chunk, pickler().dumps((fn, chunk)))
