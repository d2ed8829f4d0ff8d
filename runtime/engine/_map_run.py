"""Running composite steps: map steps (a window of element tasks) and included workflows.

- A map step (declared by ``wf.map``, see ``arborist.runtime.workflow``) runs its function, or
  a whole sub-workflow, once per element of a list, an iterator or an async iterator. Each
  element is an attempt of its own, with the map's ``retry`` and ``timeout`` per element. The
  source is read lazily: an element is taken only when fewer than ``batch_size`` elements are
  *materialised* (running, or finished but waiting for an earlier one when ``ordered``), so
  memory stays flat however long the source is. The step's result is the list of element
  results (input order when ``ordered``, else completion order), or a fold of them with
  ``reduce=``/``initial=``. An element that fails (after its retries) fails the map step,
  naming the element; with ``outcomes=True`` every element result is an
  ``outcome.Value``/``outcome.Error`` and failures do not fail the step. With ``executor=``
  the elements run on that executor (``_map_remote``): ``batch_size`` then bounds the
  elements in flight there, and they are submitted in batches.
- An included workflow (``wf.include(child)``) runs as a child run of the step's run.
- In a durable run a map step with ``journal="elements"`` journals each element's result as
  it is emitted; when the step runs again after a crash, the elements journaled by the try
  it continues are emitted from the journal without running again. Its source must be a
  sequence (``reiterable``): the same index must mean the same element in every process.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import attrs
import outcome
import trio

from ..workflow._compose import IncludeSpec, MapSpec, MapStatistics, reiterable
from ..workflow._step import CONTEXT_PARAM
from ._context import StepContext
from ._errors import MapElementError, StepTimeoutError
from ._map_batches import MapBatches
from ._map_remote import RemoteElements
from ._pools import holding
from ._remote import step_info
from ._threads import run_in_thread

if TYPE_CHECKING:
    from ..workflow._step import Step

__all__ = ["run_composite"]


async def run_composite(step: Step, kwargs: dict[str, Any]) -> Any:
    """Run a map step or an included workflow with the attempt's arguments (``ctx`` included)."""
    composite = step.composite
    kwargs = dict(kwargs)
    ctx: StepContext = kwargs.pop(CONTEXT_PARAM)
    if isinstance(composite, IncludeSpec):
        return await ctx.run(composite.workflow, **kwargs)
    if not isinstance(composite, MapSpec):
        raise TypeError(f"step {step.name!r} is not a composite step")
    source = kwargs.pop(composite.over)
    return await _MapRun(composite, ctx, source, kwargs, composite.statistics).run()


class _MapRun:
    """One execution of a map step: a window of element task actors over a lazy source."""

    def __init__(
        self,
        spec: MapSpec,
        ctx: StepContext,
        source: Any,
        fixed: Mapping[str, Any],
        stats: MapStatistics,
    ) -> None:
        self.spec = spec
        self.ctx = ctx
        self.source = source
        self.fixed = dict(fixed)
        self.shared = stats
        self.stats = MapStatistics()  # this run's own counters; published when it ends
        self.window = trio.Semaphore(spec.batch_size)
        self.pending: dict[int, Any] = {}
        self.next_out = 0
        self.results: list[Any] = []
        self.acc = spec.initial
        self.error: BaseException | None = None
        events = ctx._services.events
        self.batches = MapBatches(ctx, spec.batch_size) if events else None
        self.remote = RemoteElements(self) if spec.executor is not None else None
        journal = ctx._journal if spec.journal == "elements" else None
        self.journal = journal
        self.known: dict[int, Any] = {} if journal is None else journal.elements_for(ctx.step)

    async def run(self) -> Any:
        remote = self.remote
        try:
            async with trio.open_nursery() as nursery:
                self.nursery = nursery
                try:
                    if remote is not None and remote.batched:
                        await remote.feed(nursery)
                    else:
                        await self._feed(nursery)
                except Exception as exc:  # the source failed: raise its error, not a group
                    self._fail(exc)
        finally:
            if remote is not None:
                remote.cancel_unclaimed()
            # Concurrent runs of one workflow each count on their own; the step shows the
            # counters of the run that finished last.
            for field in attrs.fields(MapStatistics):
                setattr(self.shared, field.name, getattr(self.stats, field.name))
        if self.error is not None:
            raise self.error
        if self.spec.reduce is not None:
            return self.acc
        return self.results

    async def _feed(self, nursery: trio.Nursery) -> None:
        """Start an element task per element, reading each only once a window slot is free."""
        source = self.source
        if self.spec.journal == "elements":
            await self._feed_journaled(nursery)
            return
        start = nursery.start_soon
        element_task = self._element if self.batches is None else self._watched
        take_slot = self._take_slot
        index = 0
        if hasattr(source, "__aiter__"):
            iterator = source.__aiter__()
            while True:
                await take_slot()
                try:
                    element = await iterator.__anext__()
                except StopAsyncIteration:
                    self._give_slot()
                    self._fed(index)
                    return
                start(element_task, index, element)
                index += 1
        try:
            sync_iter: Iterator[Any] = iter(source)
        except TypeError:
            raise TypeError(
                f"map step {self.spec.name!r}: over={self.spec.over!r} gave {source!r}, "
                "which is not iterable; pass a list, an iterator or an async iterator"
            ) from None
        while True:
            await take_slot()
            try:
                element = next(sync_iter)
            except StopIteration:
                self._give_slot()
                self._fed(index)
                return
            start(element_task, index, element)
            index += 1

    async def _feed_journaled(self, nursery: trio.Nursery) -> None:
        """``_feed`` for ``journal="elements"``: a sequence; journaled elements are not re-run."""
        source = self.source
        if not reiterable(source):
            raise TypeError(
                f"map step {self.spec.name!r} journals its elements (journal='elements'), so "
                f"its source must be a list or another sequence, which reads the same elements "
                f"again after a crash; over={self.spec.over!r} gave {type(source).__name__} "
                f"{source!r}: pass a list, or use journal='step'"
            )
        known = self.known
        for index, element in enumerate(source):
            await self._take_slot()
            if index in known:
                self.stats.elements += 1
                self._emit(index, known.pop(index))
            else:
                nursery.start_soon(self._element, index, element)

    async def _take_slot(self) -> None:
        """Take a window slot; checkpoint only when the window is full (it then waits)."""
        window = self.window
        try:
            window.acquire_nowait()
        except trio.WouldBlock:
            await window.acquire()
        stats = self.stats
        stats.materialised += 1
        stats.peak_materialised = max(stats.peak_materialised, stats.materialised)

    def _take_slot_nowait(self) -> bool:
        """Take a window slot if one is free now; never waits."""
        try:
            self.window.acquire_nowait()
        except trio.WouldBlock:
            return False
        stats = self.stats
        stats.materialised += 1
        stats.peak_materialised = max(stats.peak_materialised, stats.materialised)
        return True

    def _give_slot(self) -> None:
        self.stats.materialised -= 1
        self.window.release()

    def _fed(self, count: int) -> None:
        if self.batches is not None:
            self.batches.fed(count)

    async def _watched(self, index: int, element: Any) -> None:
        """``_element``, reporting its batch (only when someone subscribes to events)."""
        batches = self.batches
        assert batches is not None
        batches.started(index)
        try:
            await self._element(index, element)
        finally:
            batches.ended(index)

    async def _element(self, index: int, element: Any) -> None:
        spec = self.spec
        attempt = 1
        while True:
            try:
                value = await self._attempt(index, element, attempt)
            except Exception as exc:
                retry = spec.retry
                if retry is not None and retry.should_retry(exc, attempt):
                    await trio.sleep(retry.delay_for(attempt, self.ctx._services.random))
                    attempt += 1
                    continue
                self.stats.failed += 1
                if self.batches is not None:
                    self.batches.failed(index)
                if not spec.outcomes:
                    self._fail(MapElementError(spec.name, index, element, exc))
                    return
                result: Any = outcome.Error(exc)
            else:
                self.stats.elements += 1
                result = outcome.Value(value) if spec.outcomes else value
            try:
                if self.journal is not None:
                    self.journal.element_ok(self.ctx.step, index, result)
                self._emit(index, result)
            except Exception as exc:  # reduce= raised: the step fails with its error
                self._fail(exc)
            return

    def _fail(self, error: BaseException) -> None:
        """Fail the map step with ``error`` (the first failure wins): stop every element."""
        if self.error is None:
            self.error = error
            self.nursery.cancel_scope.cancel()

    async def _attempt(self, index: int, element: Any, attempt: int) -> Any:
        spec = self.spec
        if spec.pool is None:
            return await self._timed(index, element, attempt)
        # A map step's pool bounds its elements, one slot per element attempt.
        pool = self.ctx._services.pools[spec.pool]
        async with holding([pool], object(), party=self.ctx.run_id):
            return await self._timed(index, element, attempt)

    async def _timed(self, index: int, element: Any, attempt: int) -> Any:
        spec = self.spec
        if spec.timeout is None:
            return await self._call(index, element, attempt, None)
        with trio.move_on_after(spec.timeout) as scope:
            return await self._call(index, element, attempt, scope)
        raise StepTimeoutError(spec.name, spec.timeout, attempt)

    async def _call(
        self, index: int, element: Any, attempt: int, timeout: trio.CancelScope | None
    ) -> Any:
        spec = self.spec
        if self.remote is not None:
            return await self.remote.element(index, element, attempt)
        kwargs = dict(self.fixed)
        kwargs[spec.item] = element
        ctx = self.ctx
        if spec.workflow is not None:
            child = ctx._for_element(index, attempt)
            value = await child.run(spec.workflow, **kwargs)
            ctx._children.extend(child._children)
            return value
        fn = spec.element
        if fn is None:
            raise TypeError(f"map step {spec.name!r} has neither a function nor a workflow")
        if spec.element_ctx:
            kwargs[CONTEXT_PARAM] = ctx._for_element(index, attempt)
        if spec.element_info is not None:
            kwargs[spec.element_info] = step_info(
                ctx.run_id, ctx.workflow, ctx.step, attempt, index
            )
        if spec.is_async:
            return await fn(**kwargs)
        services = ctx._services
        return await run_in_thread(
            fn,
            kwargs,
            limiter=services.thread_limiter,
            name=spec.name,
            timeout=timeout,
            grace=services.shutdown_timeout,
        )

    def _emit(self, index: int, value: Any) -> None:
        if not self.spec.ordered:
            self._out(value)
            self._give_slot()
            return
        self.pending[index] = value
        while self.next_out in self.pending:
            self._out(self.pending.pop(self.next_out))
            self.next_out += 1
            self._give_slot()

    def _out(self, value: Any) -> None:
        if self.spec.reduce is None:
            self.results.append(value)
        else:
            self.acc = self.spec.reduce(self.acc, value)
