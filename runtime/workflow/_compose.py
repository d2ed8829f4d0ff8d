"""Composite steps, as declarations: a map step's spec and a workflow included as a step.

The DSL only *describes* these steps (what to map over, how the element is wired, which child
workflow runs); the engine (``arborist.runtime.engine``) runs them. A composite step's ``fn`` is
a stand-in whose signature carries the wiring; calling it outside a run is an error.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import attrs

from ._errors import WorkflowDefinitionError
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

__all__ = ["IncludeSpec", "MapSpec", "MapStatistics", "declare_include", "declare_map"]


@attrs.define
class MapStatistics:
    """Counters of a map step's last finished run (``peak_materialised`` <= batch_size)."""

    elements: int = 0
    failed: int = 0
    materialised: int = 0
    peak_materialised: int = 0


@attrs.frozen
class MapSpec:
    """What a map step runs per element, and how (validated by :func:`declare_map`)."""

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
    statistics: MapStatistics = attrs.field(factory=MapStatistics, eq=False)


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


def _element_wiring(
    fail: Callable[[str], WorkflowDefinitionError],
    name: str,
    fn: Callable[..., Any] | None,
    workflow: Workflow | None,
    item: str | None,
) -> tuple[str, list[str], bool]:
    """Which parameter receives the element, the other parameters, and whether ctx is taken."""
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
        return item, [i for i in inputs if i != item], False
    if fn is None:
        raise fail(f"map step {name!r}: give a function or workflow=")
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
    return item, [n for n in names if n != item], element_ctx


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
    item, others, element_ctx = _element_wiring(fail, name, fn, workflow, item)
    if over in others:
        raise fail(f"map step {name!r}: a parameter is named like its source {over!r}; rename it")
    spec = MapSpec(
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
    return _stand_in(name, [over, *others], "map step"), spec
