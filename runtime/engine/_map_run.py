"""Composition: map steps, workflows as steps, and switch-style guards.

- ``wf.map(over=..., batch_size=100, ordered=True)`` runs its function (or a whole
  sub-workflow) once per element of a list, an iterator or an async iterator. Each element is
  an attempt of its own (a task actor under the map step), with the map's ``retry`` and
  ``timeout`` per element. The source is read lazily: an element is taken only when fewer than
  ``batch_size`` elements are *materialised* (running, or finished but waiting for an earlier
  one when ``ordered``), so memory stays flat however long the source is. The step's result is
  the list of element results (input order when ``ordered``, else completion order), or a
  fold of them with ``reduce=``/``initial=``. An element that fails (after its retries) fails
  the map step, naming the element; with ``outcomes=True`` every element result is an
  ``outcome.Value``/``outcome.Error`` instead and failures do not fail the step.
- ``wf.include(child)`` makes a workflow a step of another: its inputs are wired like
  parameters, it runs as a child run supervised by the parent run, and if the parent later
  fails, the child's completed steps are undone with the parent's.
- ``case(route="fulfill")`` is a guard for switch-style routing: a step with
  ``when=case(route="fulfill")`` runs only when step (or input) ``route`` equals "fulfill".
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import attrs
import outcome
import trio

from ._context import StepContext
from ..workflow._errors import WorkflowDefinitionError
from ._pools import holding
from ._errors import StepTimeoutError
from ..workflow._step import _NO_INITIAL, CONTEXT_PARAM, is_async_callable

if TYPE_CHECKING:
    from ..workflow._retry import Retry
    from ..workflow._workflow import Workflow

__all__ = ["MapElementError", "MapStatistics", "case", "make_include", "make_map"]


class MapElementError(Exception):
    """An element of a map step failed after its retries; the element's error is the cause.

    Attributes:
        step: the map step.
        index: the element's position in the source.
        element: the element.
    """

    def __init__(self, step: str, index: int, element: Any, cause: BaseException) -> None:
        self.step = step
        self.index = index
        self.element = element
        shown = repr(element)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        super().__init__(
            f"map step {step!r} failed on element {index} ({shown}): {type(cause).__name__}: "
            f"{cause}"
        )
        self.__cause__ = cause


@attrs.define
class MapStatistics:
    """Counters of a map step's last finished run (``peak_materialised`` <= batch_size)."""

    elements: int = 0
    failed: int = 0
    materialised: int = 0
    peak_materialised: int = 0


def case(**expected: Any) -> Callable[..., bool]:
    """Return a guard that is true when each named input or step equals the given value.

    Example:
        >>> @wf.step(when=case(route="backorder"))  # doctest: +SKIP
        ... async def handle_backorder(order_id): ...
    """
    if not expected:
        raise TypeError("case() takes at least one name=value pair, e.g. case(route='fulfill')")

    def guard(**actual: Any) -> bool:
        return all(actual[name] == wanted for name, wanted in expected.items())

    guard.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY) for name in expected]
    )
    guard.__name__ = "case(" + ", ".join(f"{k}={v!r}" for k, v in expected.items()) + ")"
    return guard


def _signature(names: Iterable[str]) -> inspect.Signature:
    params = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY) for name in names]
    params.append(inspect.Parameter(CONTEXT_PARAM, inspect.Parameter.KEYWORD_ONLY))
    return inspect.Signature(params)


def make_include(child: Workflow, name: str) -> Callable[..., Any]:
    """The step function that runs ``child`` as a child run of the step's run."""

    async def include(**kwargs: Any) -> Any:
        ctx: StepContext = kwargs.pop(CONTEXT_PARAM)
        return await ctx.run(child, **kwargs)

    include.__signature__ = _signature(child.inputs)  # type: ignore[attr-defined]
    include.__name__ = name
    include.__qualname__ = name
    return include


@attrs.frozen
class _MapSpec:
    name: str
    over: str
    item: str
    element: Callable[..., Any] | None
    workflow: Workflow | None
    element_ctx: bool
    batch_size: int
    ordered: bool
    outcomes: bool
    retry: Retry | None
    timeout: float | None
    reduce: Callable[[Any, Any], Any] | None
    initial: Any
    is_async: bool
    pool: str | None


def _element_wiring(
    fail: Callable[[str], WorkflowDefinitionError],
    name: str,
    fn: Callable[..., Any] | None,
    workflow: Workflow | None,
    item: str | None,
) -> tuple[str, list[str], bool]:
    """Which parameter receives the element, the other parameters, and whether ctx is taken."""
    others: list[str] = []
    element_ctx = False
    if workflow is not None:
        inputs = list(workflow.inputs)
        if item is None:
            if len(inputs) != 1:
                raise fail(
                    f"map step {name!r}: workflow {workflow.name!r} has inputs "
                    f"{inputs!r}; say which one receives the element with item='...'"
                )
            item = inputs[0]
        if item not in inputs:
            raise fail(f"map step {name!r}: workflow {workflow.name!r} has no input {item!r}")
        others = [i for i in inputs if i != item]
    else:
        assert fn is not None
        try:
            params = list(inspect.signature(fn).parameters.values())
        except (TypeError, ValueError):
            raise fail(f"map step {name!r}: cannot read the signature of {fn!r}") from None
        for param in params:
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
                raise fail(
                    f"map step {name!r}: parameter {param.name!r} cannot be wired; use named "
                    "parameters"
                )
        names = [p.name for p in params]
        element_ctx = CONTEXT_PARAM in names
        names = [n for n in names if n != CONTEXT_PARAM]
        if item is None:
            if not names:
                raise fail(f"map step {name!r}: the function takes no parameter for the element")
            item = names[0]
        if item not in names:
            raise fail(f"map step {name!r}: the function has no parameter {item!r} for the element")
        others = [n for n in names if n != item]
    assert item is not None
    return item, others, element_ctx


def make_map(
    wf_name: str,
    fn: Callable[..., Any] | None,
    *,
    name: str,
    over: str,
    item: str | None,
    workflow: Workflow | None,
    batch_size: int,
    ordered: bool,
    outcomes: bool,
    retry: Retry | None,
    timeout: float | None,
    reduce: Callable[[Any, Any], Any] | None,
    initial: Any,
    pool: str | None = None,
) -> tuple[Callable[..., Any], MapStatistics]:
    """Build the step function of a map step (validated) and the statistics it updates."""

    def fail(message: str) -> WorkflowDefinitionError:
        return WorkflowDefinitionError(message, workflow=wf_name, step=name)

    if not isinstance(over, str) or not over.isidentifier():
        raise fail(f"map step {name!r}: over= names an input or a step; got {over!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise fail(f"map step {name!r}: batch_size must be a positive int; got {batch_size!r}")
    if reduce is not None and not callable(reduce):
        raise fail(f"map step {name!r}: reduce= takes a function (acc, result) -> acc")
    if reduce is None and initial is not _NO_INITIAL:
        raise fail(f"map step {name!r}: initial= goes with reduce=; add reduce= or drop initial=")
    if (fn is None) == (workflow is None):
        raise fail(f"map step {name!r}: give either a function or workflow=, not both or neither")
    item, others, element_ctx = _element_wiring(fail, name, fn, workflow, item)
    if over in others:
        raise fail(f"map step {name!r}: a parameter is named like its source {over!r}; rename it")
    spec = _MapSpec(
        name,
        over,
        item,
        fn,
        workflow,
        element_ctx,
        batch_size,
        ordered,
        outcomes,
        retry,
        timeout,
        reduce,
        initial,
        fn is not None and is_async_callable(fn),
        pool,
    )
    stats = MapStatistics()

    async def run_map(**kwargs: Any) -> Any:
        ctx: StepContext = kwargs.pop(CONTEXT_PARAM)
        source = kwargs.pop(spec.over)
        return await _MapRun(spec, ctx, source, kwargs, stats).run()

    run_map.__signature__ = _signature([over, *others])  # type: ignore[attr-defined]
    run_map.__name__ = name
    run_map.__qualname__ = name
    return run_map, stats


class _MapRun:
    """One execution of a map step: a window of element task actors over a lazy source."""

    def __init__(
        self,
        spec: _MapSpec,
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

    async def run(self) -> Any:
        try:
            async with trio.open_nursery() as nursery:
                self.nursery = nursery
                try:
                    await self._feed(nursery)
                except Exception as exc:  # the source failed: raise its error, not a group
                    self._fail(exc)
        finally:
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
        start = nursery.start_soon
        element_task = self._element
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
                return
            start(element_task, index, element)
            index += 1

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

    def _give_slot(self) -> None:
        self.stats.materialised -= 1
        self.window.release()

    async def _element(self, index: int, element: Any) -> None:
        spec = self.spec
        attempt = 1
        while True:
            try:
                value = await self._attempt(element, attempt)
            except Exception as exc:
                retry = spec.retry
                if retry is not None and retry.should_retry(exc, attempt):
                    await trio.sleep(retry.delay_for(attempt, self.ctx.runtime._random))
                    attempt += 1
                    continue
                self.stats.failed += 1
                if not spec.outcomes:
                    self._fail(MapElementError(spec.name, index, element, exc))
                    return
                result: Any = outcome.Error(exc)
            else:
                self.stats.elements += 1
                result = outcome.Value(value) if spec.outcomes else value
            try:
                self._emit(index, result)
            except Exception as exc:  # reduce= raised: the step fails with its error
                self._fail(exc)
            return

    def _fail(self, error: BaseException) -> None:
        """Fail the map step with ``error`` (the first failure wins): stop every element."""
        if self.error is None:
            self.error = error
            self.nursery.cancel_scope.cancel()

    async def _attempt(self, element: Any, attempt: int) -> Any:
        spec = self.spec
        if spec.pool is None:
            return await self._timed(element, attempt)
        # A map step's pool bounds its elements, one slot per element attempt.
        async with holding([self.ctx.runtime._pools[spec.pool]], object()):
            return await self._timed(element, attempt)

    async def _timed(self, element: Any, attempt: int) -> Any:
        spec = self.spec
        if spec.timeout is None:
            return await self._call(element, attempt)
        with trio.move_on_after(spec.timeout):
            return await self._call(element, attempt)
        raise StepTimeoutError(spec.name, spec.timeout, attempt)

    async def _call(self, element: Any, attempt: int) -> Any:
        spec = self.spec
        kwargs = dict(self.fixed)
        kwargs[spec.item] = element
        ctx = self.ctx
        if spec.workflow is not None:
            child = StepContext(
                ctx.runtime, ctx.run_id, ctx.workflow, ctx.step, attempt, nursery=ctx._nursery
            )
            value = await child.run(spec.workflow, **kwargs)
            ctx._children.extend(child._children)
            return value
        fn = spec.element
        assert fn is not None
        if spec.element_ctx:
            kwargs[CONTEXT_PARAM] = StepContext(
                ctx.runtime, ctx.run_id, ctx.workflow, ctx.step, attempt, nursery=ctx._nursery
            )
        if spec.is_async:
            return await fn(**kwargs)
        return await trio.to_thread.run_sync(
            functools.partial(fn, **kwargs),
            limiter=ctx.runtime._thread_limiter,
            abandon_on_cancel=True,
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
