"""Composite steps, as declarations: a map step's spec and a workflow included as a step.

The DSL only *describes* these steps (what to map over, how the element is wired, which child
workflow runs); the engine (``arborist.runtime.engine``) runs them. A composite step's ``fn`` is
a stand-in whose signature carries the wiring; calling it outside a run is an error.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ._errors import WorkflowDefinitionError
from ._placement import NO_OPTIONS, check_executor, check_remote_map, is_info_annotation
from ._step import (
    _NO_INITIAL,
    CONTEXT_PARAM,
    check_flag_option,
    check_retry_option,
    check_timeout_option,
    is_async_callable,
)

if TYPE_CHECKING:
    from ._retry import Retry
    from ._workflow import Workflow

__all__ = [
    "MAP_JOURNALS",
    "IncludeSpec",
    "MapSpec",
    "MapStatistics",
    "declare_include",
    "declare_map",
    "reiterable",
]

MAP_JOURNALS = ("step", "elements")
"""What ``wf.map(journal=...)`` takes (see ``MapSpec``)."""


def reiterable(source: object) -> bool:
    """Whether a map source reads the same elements in the same order each time, anywhere.

    True for sequences (``list``, ``tuple``, ``range``, any ``collections.abc.Sequence``);
    False for iterators, generators and async iterables (consumed as they are read) and for
    sets and mappings (whose order may differ in another process).
    """
    return isinstance(source, Sequence)


@attrs.define
class MapStatistics:
    """Counters of a map step's last finished run (``peak_materialised`` <= batch_size)."""

    elements: int = 0
    failed: int = 0
    materialised: int = 0
    peak_materialised: int = 0


@attrs.frozen
class MapSpec:
    """What a map step runs per element, and how (validated by :func:`declare_map`).

    With ``executor`` the element function runs on that executor: ``chunk_size`` elements
    per engine task, the element passed positionally when ``item_first`` (so a batch of
    elements shares one keyword-argument mapping), and ``element_info`` names the parameter
    receiving each attempt's ``RemoteStepInfo``.

    ``journal`` is ``"step"`` (a durable run journals the map's whole result, and a map
    interrupted by a crash runs all its elements again) or ``"elements"`` (each element's
    result is journaled as it finishes and a resumed map runs only the missing ones; the
    source must then be re-iterable: a list, a tuple or another sequence).
    """

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
    journal: str = "step"
    statistics: MapStatistics = attrs.field(factory=MapStatistics, eq=False)
    executor: str | None = None
    executor_options: Mapping[str, Any] = NO_OPTIONS
    chunk_size: int = 1
    element_info: str | None = None
    item_first: bool = False


@attrs.frozen
class IncludeSpec:
    """A workflow run as one step of another (``wf.include(child)``)."""

    workflow: Workflow


def _signature(names: Iterable[str]) -> inspect.Signature:
    params = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY) for name in names]
    params.append(inspect.Parameter(CONTEXT_PARAM, inspect.Parameter.KEYWORD_ONLY))
    return inspect.Signature(params)


def _stand_in(name: str, names: Iterable[str], what: str) -> Callable[..., Any]:
    """An async function with the composite step's wiring; only the engine runs the step."""

    async def composite(**kwargs: Any) -> Any:
        raise RuntimeError(f"{what} {name!r} runs only inside a workflow run (rt.run)")

    composite.__signature__ = _signature(names)  # type: ignore[attr-defined]
    composite.__name__ = name
    composite.__qualname__ = name
    return composite


def declare_include(child: Workflow, name: str) -> tuple[Callable[..., Any], IncludeSpec]:
    """The stand-in step function and spec of ``child`` included as step ``name``."""
    return _stand_in(name, child.inputs, "included workflow step"), IncludeSpec(child)


@attrs.frozen
class _Wiring:
    """How a map step's element function is called."""

    item: str
    others: list[str]
    ctx: bool = False
    info: str | None = None
    item_first: bool = False


def _element_wiring(
    fail: Callable[[str], WorkflowDefinitionError],
    name: str,
    fn: Callable[..., Any] | None,
    workflow: Workflow | None,
    item: str | None,
) -> _Wiring:
    """Which parameter receives the element, the other parameters, ctx and the info."""
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
        return _Wiring(item, [i for i in inputs if i != item])
    if fn is None:
        raise fail(f"map step {name!r}: give a function or workflow=")
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        raise fail(f"map step {name!r}: cannot read the signature of {fn!r}") from None
    for param in params:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
            raise fail(
                f"map step {name!r}: parameter {param.name!r} cannot be wired; use named parameters"
            )
    infos = [p.name for p in params if is_info_annotation(p.annotation)]
    if len(infos) > 1:
        raise fail(f"map step {name!r}: keep one parameter annotated RemoteStepInfo, not {infos}")
    info = infos[0] if infos else None
    element_ctx = any(p.name == CONTEXT_PARAM for p in params)
    params = [p for p in params if p.name not in (CONTEXT_PARAM, info)]
    names = [p.name for p in params]
    if item is None:
        if not names:
            raise fail(f"map step {name!r}: the function takes no parameter for the element")
        item = names[0]
    if item not in names:
        raise fail(f"map step {name!r}: the function has no parameter {item!r} for the element")
    first = params[0].name == item and params[0].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    return _Wiring(item, [n for n in names if n != item], element_ctx, info, first)


def declare_map(
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
    executor: str | None = None,
    executor_options: Mapping[str, Any] | None = None,
    chunk_size: int = 1,
    journal: str = "step",
) -> tuple[Callable[..., Any], MapSpec]:
    """Check a map step's options and return its stand-in step function and its spec."""

    def fail(message: str) -> WorkflowDefinitionError:
        return WorkflowDefinitionError(message, workflow=wf_name, step=name)

    if not isinstance(over, str) or not over.isidentifier():
        raise fail(f"map step {name!r}: over= names an input or a step; got {over!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise fail(f"map step {name!r}: batch_size must be a positive int; got {batch_size!r}")
    subject = f"map step {name!r}"
    check_flag_option(ordered, "ordered", subject, fail)
    check_flag_option(outcomes, "outcomes", subject, fail)
    check_retry_option(retry, subject, fail)
    timeout = check_timeout_option(timeout, subject, fail)
    if reduce is not None and not callable(reduce):
        raise fail(f"{subject}: reduce= takes a function (acc, result) -> acc, got {reduce!r}")
    if reduce is None and initial is not _NO_INITIAL:
        raise fail(f"map step {name!r}: initial= goes with reduce=; add reduce= or drop initial=")
    if (fn is None) == (workflow is None):
        raise fail(f"map step {name!r}: give either a function or workflow=, not both or neither")
    if journal not in MAP_JOURNALS:
        raise fail(f"map step {name!r}: journal must be 'step' or 'elements'; got {journal!r}")
    wiring = _element_wiring(fail, name, fn, workflow, item)
    if over in wiring.others:
        raise fail(f"map step {name!r}: a parameter is named like its source {over!r}; rename it")
    options = check_executor(fail, name, executor, executor_options)
    chunk = check_remote_map(
        fail,
        name,
        executor,
        function=None if fn is None else str(getattr(fn, "__name__", fn)),
        is_async=fn is not None and is_async_callable(fn),
        context=CONTEXT_PARAM if wiring.ctx else None,
        batch_size=batch_size,
        chunk_size=chunk_size,
    )
    spec = MapSpec(
        name,
        over,
        wiring.item,
        fn,
        workflow,
        wiring.ctx,
        batch_size,
        ordered,
        outcomes,
        retry,
        timeout,
        reduce,
        initial,
        fn is not None and is_async_callable(fn),
        pool,
        journal=journal,
        executor=executor,
        executor_options=options,
        chunk_size=chunk,
        element_info=wiring.info,
        item_first=wiring.item_first,
    )
    return _stand_in(name, [over, *wiring.others], "map step"), spec
