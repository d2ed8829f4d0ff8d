"""Remote map elements: a map step's elements run on an executor, submitted in batches.

A map step declared with ``executor=`` keeps the local map's window (``_map_run``): an element
is read only once one of the ``batch_size`` slots is free, and it keeps its slot until its
result is emitted, so ``batch_size`` bounds the elements in flight on the executor. What
changes is how elements are sent:

1. The feeder takes a slot, reads an element, and goes on while slots are free right now;
   the elements read so far go to the executor in one ``submit_many`` (Dask: one
   ``client.map`` message when the element is the function's first parameter; ``chunk_size``
   elements per engine task), then an element task starts per element to await its call.
   After the first batch it waits for a quarter of the window (in whole chunks, at least
   one) before the next: each submission costs the engine a graph update (Dask's scheduler
   hops to a thread for it), so refilling slot by slot would pay it per element.
2. Each element task is the local map's: the per-element timeout, retry and ``outcomes``
   apply, a retry is submitted alone, and a cancel (timeout, a failed element, the run
   failing) cancels the call and holds the slot until an abandoned call is gone (``_remote``).
3. A map with ``pool=`` submits each element alone once it holds its pool slot, so the pool
   bounds the elements running on the executor.

An element whose value the engine cannot serialise fails the map with ``MapElementError``
naming the element (its cause is the ``NotSendableError``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..executors._errors import NotSendableError
from ..executors._sendable import check_sendable, refuse_local_objects
from ._errors import MapElementError
from ._remote import await_call, cancel_reporter, explain, step_info, submit_call

if TYPE_CHECKING:
    from collections.abc import Iterator

    import trio

    from ..executors._protocol import RemoteCall
    from ._map_run import _MapRun

__all__ = ["RemoteElements"]


class _SyncSource:
    """An iterator read one element at a time, as an async iterator's ``__anext__`` is."""

    __slots__ = ("_iterator",)

    def __init__(self, iterator: Iterator[Any]) -> None:
        self._iterator = iterator

    async def __anext__(self) -> Any:
        try:
            return next(self._iterator)
        except StopIteration:
            raise StopAsyncIteration from None


class RemoteElements:
    """How one execution of a map step sends its elements to its executor and awaits them."""

    def __init__(self, run: _MapRun) -> None:
        spec = run.spec
        ctx = run.ctx
        services = ctx._services
        name = spec.executor
        assert name is not None
        assert spec.element is not None
        self.run = run
        self.name = name
        self.executor = services.executors[name]
        self.fn = spec.element
        self.options = spec.executor_options
        self.chunk_size = spec.chunk_size
        self.batched = spec.pool is None
        self.hold = services.shutdown_timeout
        self.what = f"map step {spec.name!r}"
        self.submitted: dict[int, RemoteCall] = {}
        self._checked_fixed = False

    # -- building and sending ----------------------------------------------------------------

    def _check(self, index: int, element: Any) -> None:
        """Refuse trio and arborist objects before sending (the shared arguments once).

        Raises:
            NotSendableError: naming the map step, or the element.
        """
        if not self._checked_fixed:
            refuse_local_objects(self.what, (), self.run.fixed)
            self._checked_fixed = True
        refuse_local_objects(f"{self.what} element {index}", (element,))

    def _item(self, index: int, element: Any, attempt: int) -> tuple[tuple[Any, ...], Any]:
        """The call's arguments: the element first when it is the first parameter."""
        run = self.run
        spec = run.spec
        info = spec.element_info
        if spec.item_first and info is None:
            return (element,), run.fixed  # the same mapping for every element: one message
        kwargs = dict(run.fixed)
        kwargs[spec.item] = element
        if info is not None:
            ctx = run.ctx
            kwargs[info] = step_info(ctx.run_id, ctx.workflow, ctx.step, attempt, index)
        return (), kwargs

    async def feed(self, nursery: trio.Nursery) -> None:
        """Read the source into batches as slots free up; submit each batch, start its tasks."""
        run = self.run
        source = self._source()
        chunk = self.chunk_size
        refill = max(chunk, run.spec.batch_size // 4 // chunk * chunk)
        need = chunk  # the first batch: whatever is free (the whole window)
        index = 0
        ended = False
        while not ended:
            batch: list[Any] = []
            while True:
                if len(batch) < need:
                    await run._take_slot()
                elif not run._take_slot_nowait():
                    break
                try:
                    batch.append(await source.__anext__())
                except StopAsyncIteration:
                    run._give_slot()
                    ended = True
                    break
            if batch:
                self._submit(nursery, index, batch)
                index += len(batch)
            need = refill

    def _source(self) -> Any:
        run = self.run
        source = run.source
        if hasattr(source, "__aiter__"):
            return source.__aiter__()
        try:
            return _SyncSource(iter(source))
        except TypeError:
            raise TypeError(
                f"map step {run.spec.name!r}: over={run.spec.over!r} gave {source!r}, "
                "which is not iterable; pass a list, an iterator or an async iterator"
            ) from None

    def _submit(self, nursery: trio.Nursery, start: int, batch: list[Any]) -> None:
        run = self.run
        items = []
        for offset, element in enumerate(batch):
            index = start + offset
            try:
                self._check(index, element)
            except NotSendableError as exc:
                if exc.what == self.what:
                    raise  # a shared argument: the map step itself cannot be sent
                raise MapElementError(run.spec.name, index, element, exc) from exc
            items.append(self._item(index, element, 1))
        try:
            calls = self.executor.submit_many(
                self.fn,
                items,
                self.options or None,
                chunk_size=self.chunk_size,
                label=run.spec.name,
            )
        except Exception as exc:
            raise self._unsendable(start, batch, items, exc)  # noqa: B904 - its cause is set
        submitted = self.submitted
        element_task = run._element
        for offset, (element, call) in enumerate(zip(batch, calls, strict=True)):
            submitted[start + offset] = call
            nursery.start_soon(element_task, start + offset, element)

    def _unsendable(
        self, start: int, batch: list[Any], items: list[Any], error: Exception
    ) -> Exception:
        """The error of a batch that failed to submit: the element that cannot be sent."""
        explain(self.what, self.fn, (), self.run.fixed, error)
        for offset, (args, kwargs) in enumerate(items):
            index = start + offset
            try:
                check_sendable(f"{self.what} element {index}", None, args, kwargs)
            except NotSendableError as found:
                return MapElementError(self.run.spec.name, index, batch[offset], found)
        return error

    # -- awaiting ----------------------------------------------------------------------------

    async def element(self, index: int, element: Any, attempt: int) -> Any:
        """One attempt of one element: its batch's call (first attempt) or a new submission."""
        call = self.submitted.pop(index, None) if attempt == 1 else None
        what = f"{self.what} element {index}"
        if call is None:
            if attempt == 1:
                self._check(index, element)
            args, kwargs = self._item(index, element, attempt)
            call = submit_call(
                self.executor,
                self.fn,
                args,
                kwargs,
                self.options,
                what=what,
                label=self.run.spec.name,
            )
        ctx = self.run.ctx
        report = cancel_reporter(
            ctx._services, ctx.run_id, ctx.workflow, ctx.step, self.name, attempt, index
        )
        try:
            return await await_call(call, hold=self.hold, report=report)
        except NotSendableError as exc:  # an executor that sends after submit returned
            explain(what, self.fn, *self._item(index, element, attempt), exc)
            raise

    def cancel_unclaimed(self) -> None:
        """Cancel calls no element task took (the map ended before they started)."""
        calls, self.submitted = self.submitted, {}
        for call in calls.values():
            call.cancel()
