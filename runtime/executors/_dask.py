"""``DaskExecutor``: the executor protocol on a Dask distributed cluster (sync ``Client``).

Each call is one Dask task with ``pure=False`` and a unique key per attempt (no Dask retries
unless the options set ``retries``). A call is one ``client.submit``, but the calls that
follow it from the same batch of trio tasks go to the scheduler together, in one
``client.map`` message (``_dask_queue``). A coroutine on the client's IO loop waits for
the task and fetches its result, so completion reaches trio through the done callback without
a thread per call, and ``result()`` never fetches. One ``gather`` at a time is in flight per
executor: the results of tasks that finish while it is (or in the same turn of the client's
loop) are fetched together by the next, in one scheduler round trip instead of one per task,
so a burst of completions costs a few gathers rather than one each. Dask's cancel forgets a
task, but a function already running on a worker runs to its end (dask/distributed#2617,
#4694): cancel returns ``ABANDONED``, and with ``track_gone`` (default) plugins report when
the task has left the cluster.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import trio

from ._call import CallBase
from ._chunks import check_chunk_size, chunked
from ._common import CLOSED, NEW, OPEN, Lifecycle, check_plain
from ._dask_queue import SubmitQueue, submit_one
from ._engines import require_engine
from ._errors import ExecutorOptionError
from ._protocol import CancelResult, RemoteCall, SubmitItem
from ._remote import settle_chunk
from ._sendable import pickler

# distributed's Client and Future are partly untyped: they are Any here (see DaskExecutor).
Client = Any
Future = Any

__all__ = ["DASK_OPTIONS", "DaskExecutor"]

DASK_OPTIONS = frozenset(
    {"workers", "resources", "priority", "allow_other_workers", "retries", "fifo_timeout"}
)
"""The ``client.submit`` options a step's ``executor_options`` may set on Dask."""

_OWNED = {
    "key": "is set by arborist (a unique key per attempt, so a retry is a new task)",
    "pure": "is set by arborist (pure=False: a retry must run again, not reuse a result)",
    "actor": "is not supported (arborist submits plain tasks)",
    "actors": "is not supported (arborist submits plain tasks)",
}
_KEY_PREFIX = "arborist-"
_GONE_TOPIC = "arborist-gone"


def _same(kwargs: Mapping[str, Any], first: Mapping[str, Any]) -> bool:
    """The same keyword arguments, by identity (``==`` on arrays or frames is no bool)."""
    return kwargs is first or (
        kwargs.keys() == first.keys() and all(kwargs[k] is first[k] for k in kwargs)
    )


class DaskCall(CallBase):
    """One Dask task: its result arrives through a gather coroutine on the client's loop."""

    __slots__ = ("_client", "_executor", "_future", "_queued")

    def __init__(
        self, executor: DaskExecutor, client: Client, future: Future | None, key: str
    ) -> None:
        super().__init__(key, tracks_gone=executor._track_gone)
        self._executor = executor
        self._client = client
        self._future: Future | None = future
        self._queued = future is None  # in the executor's SubmitQueue, not sent yet

    async def watch(self) -> None:
        """Wait for the task on the client's loop, then have its result fetched (batched)."""
        future = self._future
        assert future is not None
        state = getattr(future, "_state", None)  # Dask's FutureState; private, so guarded
        if state is not None and callable(getattr(state, "wait", None)):
            try:
                await state.wait()
            except asyncio.CancelledError:  # the client's loop is closing
                self._settle_cancelled()
                raise
            if future.status == "finished":
                self._executor._gather_soon(self)
                return
        await self.fetch()

    async def fetch(self) -> None:
        """Fetch this task's result alone (errors, cancels, or when batching is unavailable)."""
        future = self._future
        if future is None:
            return
        try:
            value = await self._client.gather(future, asynchronous=True)
        except concurrent.futures.CancelledError:  # Dask's FutureCancelledError
            self._settle_cancelled()
            return
        except asyncio.CancelledError:  # the client's loop is closing
            self._settle_cancelled()
            raise
        except BaseException as exc:
            ended = future.status == "error"
            self._settle_error(exc)
        else:
            ended = True
            self._settle_value(value)
        self._future = None  # let Dask release the result on its worker
        if ended:
            self._mark_gone()  # its function has returned: nothing runs any more

    def _fetched(self, value: Any) -> None:
        self._future = None
        self._settle_value(value)
        self._mark_gone()

    def _engine_cancel(self) -> CancelResult:
        executor = self._executor
        queue = executor._queue
        if self._queued and queue is not None and queue.drop(self):
            self._mark_gone()  # it will never be sent
            return CancelResult.NOT_STARTED
        future = self._future
        if future is None:
            return CancelResult.ALREADY_DONE
        if self.tracks_gone:
            executor._gone_waiters[self.label] = self  # before the cancel: no lost report
        client = self._client
        client.loop.add_callback(client.cancel, [future], asynchronous=True)
        return CancelResult.ABANDONED


class DaskExecutor:
    """Runs calls on a Dask distributed cluster given by ``address``, ``cluster`` or ``client``.

    ``open()`` connects (off the trio thread); ``aclose()`` closes the client only if this
    executor made it (a ``client=`` passed in stays open, a ``cluster=`` is never closed).
    Functions and arguments travel with Dask's serialisation (cloudpickle); results are
    gathered back to this process.

    Args:
        address: a scheduler address, e.g. ``"tcp://127.0.0.1:8786"``.
        cluster: a cluster object, e.g. ``distributed.LocalCluster(...)``.
        client: a connected synchronous ``distributed.Client``.
        name: the executor's name in messages and events.
        track_gone: register scheduler and worker plugins that report when a cancelled
            task has really left the cluster (``add_gone_callback``); needs arborist
            importable on the scheduler and the workers. With False, an abandoned call's end
            is unknown (``add_gone_callback`` returns False).

    Raises:
        EngineMissingError: ``distributed`` is not installed (``pip install 'arborist[dask]'``).
        ValueError: not exactly one of ``address``, ``cluster``, ``client``.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        cluster: Any = None,
        client: Client | None = None,
        name: str = "dask",
        track_gone: bool = True,
    ) -> None:
        given = [
            n
            for n, v in (("address", address), ("cluster", cluster), ("client", client))
            if v is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "DaskExecutor takes exactly one of address=, cluster= or client=; "
                f"got {', '.join(given) or 'none'}"
            )
        self._distributed = require_engine("DaskExecutor", "distributed", "dask")
        self._life = Lifecycle(name)
        self._address = address
        self._cluster = cluster
        self._client: Client | None = client
        self._owns_client = client is None
        self._track_gone = track_gone
        self._gone_waiters: dict[str, DaskCall] = {}
        self._queue: SubmitQueue | None = None  # made at open()
        self._to_gather: list[DaskCall] = []  # finished, waiting for the next gather
        self._gathering = False  # a _gather_batches is running (client's loop only)

    def __repr__(self) -> str:
        return f"<DaskExecutor {self.name!r} {self._life.state}>"

    @property
    def name(self) -> str:
        """The executor's name."""
        return self._life.name

    @property
    def client(self) -> Client:
        """The ``distributed.Client`` (after ``open()``)."""
        return self._client_or_fail()

    def _client_or_fail(self) -> Client:
        self._life.require_open()
        assert self._client is not None
        return self._client

    async def open(self) -> None:
        """Connect the client (unless given) and set up gone tracking; blocking parts off-loop.

        Raises:
            RuntimeError: opened twice.
        """
        if self._life.state is not NEW:
            raise RuntimeError(
                f"executor {self.name!r} can be opened once; it is {self._life.state}"
            )
        await trio.to_thread.run_sync(self._connect)
        self._life.state = OPEN

    def _connect(self) -> None:
        if self._client is None:
            target = self._address if self._address is not None else self._cluster
            self._client = self._distributed.Client(target, set_as_default=False)
        utils = require_engine("DaskExecutor", "dask.utils", "dask")
        self._queue = SubmitQueue(self._client, utils.apply, self._watch)
        if self._track_gone:
            plugins = require_engine(
                "DaskExecutor", "arborist.runtime.executors._dask_plugins", "dask"
            )
            self._client.register_plugin(plugins.GoneSchedulerPlugin())
            self._client.register_plugin(plugins.GoneWorkerPlugin())
            self._client.subscribe_topic(_GONE_TOPIC, self._on_gone)

    def _on_gone(self, event: tuple[float, Any]) -> None:
        call = self._gone_waiters.pop(event[1], None)
        if call is not None:
            call._mark_gone()

    def validate_options(self, options: Mapping[str, Any] | None) -> dict[str, Any]:
        """Check ``executor_options`` against ``client.submit``'s options (``DASK_OPTIONS``).

        Raises:
            ExecutorOptionError: ``key``/``pure``/``actor`` (arborist's) or an unknown key.
        """
        if not options:
            return {}
        for key in options:
            if key in _OWNED:
                raise ExecutorOptionError(self.name, key, _OWNED[key], DASK_OPTIONS)
            if key not in DASK_OPTIONS:
                raise ExecutorOptionError(
                    self.name, key, "is not a Dask submit option", DASK_OPTIONS
                )
        return dict(options)

    def submit(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...] = (),
        kwargs: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        *,
        label: str | None = None,
    ) -> RemoteCall:
        """Submit ``fn(*args, **kwargs)`` as one Dask task; never waits for the scheduler.

        Called in trio, the first call of a batch of trio tasks goes at once and the others
        go together once those tasks have yielded (one ``client.map``); an argument of
        those that cannot be serialised fails the call (``NotSendableError``), not this.

        Raises:
            ExecutorClosedError: not open.
            ExecutorOptionError: a bad option.
            TypeError: ``fn`` is async, or an argument cannot be serialised.
        """
        client = self._client_or_fail()
        check_plain(self.name, fn)
        opts = self.validate_options(options)
        key = _KEY_PREFIX + self._life.label(fn, label)
        queue = self._queue
        assert queue is not None
        try:
            batched = queue.join(trio.lowlevel.current_trio_token())
        except RuntimeError:  # not on a trio thread: no batch to join
            batched = False
        if not batched:
            future = submit_one(client, fn, args, kwargs, key, opts)
            return self._track(client, [future], [key])[0]
        call = DaskCall(self, client, None, key)
        queue.put((call, fn, tuple(args), dict(kwargs or {}), opts))
        return call

    def _gather_soon(self, call: DaskCall) -> None:
        """Fetch ``call``'s result with the next gather (client's loop only)."""
        self._to_gather.append(call)
        if not self._gathering:
            self._gathering = True
            call._client.loop.add_callback(self._gather_batches, call._client)

    async def _gather_batches(self, client: Client) -> None:
        """Gather what has finished, one batch at a time, until nothing is left to fetch."""
        try:
            while self._to_gather:
                batch, self._to_gather = self._to_gather, []
                await self._gather_batch(client, batch)
        finally:
            self._gathering = False

    async def _gather_batch(self, client: Client, batch: list[DaskCall]) -> None:
        calls = [call for call in batch if call._future is not None]
        if not calls:
            return
        try:
            values = await client.gather([c._future for c in calls], asynchronous=True)
        except asyncio.CancelledError:  # the client's loop is closing
            for call in calls:
                call._settle_cancelled()
            raise
        except BaseException:  # one of them was cancelled or lost meanwhile: one by one
            for call in calls:
                client.loop.add_callback(call.fetch)
            return
        for call, value in zip(calls, values, strict=True):
            call._fetched(value)

    def _track(self, client: Client, futures: list[Future], keys: list[str]) -> list[DaskCall]:
        calls = [DaskCall(self, client, f, k) for f, k in zip(futures, keys, strict=True)]
        self._watch(calls)
        return calls

    def _watch(self, calls: list[DaskCall]) -> None:
        """Start the calls' watchers on the client's loop (one hop for all of them)."""
        calls[0]._client.loop.add_callback(_watch_all, calls)

    def submit_many(
        self,
        fn: Callable[..., Any],
        items: Sequence[SubmitItem],
        options: Mapping[str, Any] | None = None,
        *,
        chunk_size: int = 1,
        label: str | None = None,
    ) -> list[RemoteCall]:
        """Submit one call per item in one scheduler message (``client.map``) where possible.

        With ``chunk_size=1`` and items that share their keyword arguments (the same
        objects) and number of positional ones (a map step's elements), all go in one
        ``client.map``; otherwise one ``submit`` each. With ``chunk_size > 1`` each Dask
        task runs ``chunk_size`` items one after another (arborist must be importable on
        the workers).

        Raises:
            ExecutorClosedError: not open.
            ExecutorOptionError: a bad option.
            ValueError: a bad ``chunk_size``.
        """
        client = self._client_or_fail()
        check_plain(self.name, fn)
        check_chunk_size(chunk_size)
        opts = self.validate_options(options)
        if not items:
            return []
        base = self._life.label(fn, label)
        if chunk_size > 1:
            dumps = pickler().dumps

            def submit_chunk(chunk: list[tuple[tuple[Any, ...], dict[str, Any]]], name: str) -> Any:
                key = _KEY_PREFIX + name
                payload = dumps((fn, chunk))
                future = client.submit(settle_chunk, payload, key=key, pure=False, **opts)
                return self._track(client, [future], [key])[0]

            return chunked(submit_chunk, items, chunk_size, base)
        first_args, first_kwargs = items[0]
        width = len(first_args)
        if width and all(len(a) == width and _same(k, first_kwargs) for a, k in items):
            keys = [f"{_KEY_PREFIX}{base}[{i}]" for i in range(len(items))]
            target = functools.partial(fn, **first_kwargs) if first_kwargs else fn
            columns = list(zip(*(a for a, _ in items), strict=True))
            futures = client.map(target, *columns, key=keys, pure=False, **opts)
            return list(self._track(client, futures, keys))
        return [
            self.submit(fn, tuple(a), k, options, label=f"{base}[{i}]")
            for i, (a, k) in enumerate(items)
        ]

    async def aclose(self) -> None:
        """Close the client if this executor made it (off the trio thread); idempotent."""
        if self._queue is not None and self._life.state is OPEN:
            self._queue.send()  # what was submitted goes out, as if sent at submit
        state, self._life.state = self._life.state, CLOSED
        client = self._client
        self._gone_waiters.clear()
        if state is not OPEN or client is None:
            return
        if self._track_gone:
            try:
                client.unsubscribe_topic(_GONE_TOPIC)
            except ValueError:
                pass  # never subscribed
        if self._owns_client:
            await trio.to_thread.run_sync(client.close)


async def _watch_all(calls: list[DaskCall]) -> None:
    await asyncio.gather(*(call.watch() for call in calls))
