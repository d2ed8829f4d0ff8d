"""Step definitions: what one step of a workflow is, and the checks made when it is declared.

A :class:`Step` is built by ``@wf.step`` through :class:`_StepBuilder`, which checks everything a
single step shows on its own (its name, parameters, wiring and options) at decoration time. What
needs the whole graph is the planner's job.
"""

from __future__ import annotations

import functools
import inspect
import keyword
import math
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from ._errors import WorkflowDefinitionError
from ._placement import (
    NO_OPTIONS,
    annotated_as,
)
from ._retry import Retry
from ._wiring import InputRef, OutcomeRef, ResultRef, Source, ValueRef

if TYPE_CHECKING:
    from ._compose import IncludeSpec, MapSpec

__all__ = ["CONTEXT_PARAM", "DEFAULT_MAX_AGAIN", "ON_RESUME", "Step", "is_async_callable"]

CONTEXT_PARAM = "ctx"
"""A parameter with this name receives the step context (unless ``args=`` wires it)."""
DEFAULT_MAX_AGAIN = 100
"""How many times a step may return ``Again`` unless it sets ``max_again``."""
ON_RESUME = ("retry", "fail", "halt")
"""What ``on_resume=`` takes: what a durable run does with the step if its process died
during an attempt: run it again (``"retry"``, the default), fail it with
``StepInterruptedError`` (``"fail"``: compensate, undo), or halt the run for an operator."""
_NO_INITIAL: Any = object()
_CONTEXT_CLASS = "StepContext"
_SOURCES = (InputRef, ResultRef, ValueRef, OutcomeRef)


def is_async_callable(fn: object) -> bool:
    """Tell whether calling ``fn`` returns a coroutine to await.

    True for ``async def`` functions and methods, ``functools.partial`` objects wrapping them,
    and objects whose ``__call__`` is ``async def``. A plain function that returns an awaitable
    is not recognised: it counts as blocking work.
    """
    while isinstance(fn, functools.partial):
        fn = fn.func
    if inspect.iscoroutinefunction(fn):
        return True
    if isinstance(fn, type) or inspect.isroutine(fn):
        return False
    return inspect.iscoroutinefunction(getattr(fn, "__call__", None))  # noqa: B004


def _is_name(name: object) -> bool:
    return isinstance(name, str) and name.isidentifier() and not keyword.iskeyword(name)


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(repr(name) for name in names)


def check_retry_option(
    retry: Retry | None, subject: str, fail: Callable[[str], WorkflowDefinitionError]
) -> Retry | None:
    """``retry`` if it is a Retry or None, else ``fail`` naming ``subject`` (a step, a map)."""
    if retry is not None and not isinstance(retry, Retry):
        raise fail(f"{subject}: retry= takes a Retry, e.g. retry=Retry(attempts=3), got {retry!r}")
    return retry


def check_timeout_option(
    timeout: float | None, subject: str, fail: Callable[[str], WorkflowDefinitionError]
) -> float | None:
    """``timeout`` (seconds per attempt) as float if it is finite and > 0; None stays None."""
    if timeout is None:
        return None
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not math.isfinite(timeout)
        or timeout <= 0
    ):
        raise fail(
            f"{subject}: timeout is seconds per attempt and must be a finite number > 0, got "
            f"{timeout!r}; use timeout=None for no limit"
        )
    return float(timeout)


def check_flag_option(
    value: bool, option: str, subject: str, fail: Callable[[str], WorkflowDefinitionError]
) -> bool:
    """``value`` if it is True or False (not 1, not "yes"), else ``fail`` naming ``option``."""
    if not isinstance(value, bool):
        raise fail(f"{subject}: {option} takes True or False, got {value!r}")
    return value


def _is_context_annotation(annotation: object) -> bool:
    return annotated_as(annotation, _CONTEXT_CLASS)


@attrs.frozen(eq=False, repr=False)
class Step:
    """One step of a workflow: a function and how to run it. Made by ``@wf.step``.

    Every attribute is read-only; the only later changes are the one-time registrations
    :meth:`undo` and :meth:`compensate`. Arguments are resolved in two stages: ``args`` holds
    the explicit wiring given to the decorator, and the plan
    (:attr:`~arborist.runtime.Plan.arguments`) adds the by-name wiring once every step is
    known.

    Attributes:
        workflow: Name of the workflow the step belongs to.
        name: The step's name, unique in its workflow.
        fn: The function the step runs.
        is_async: ``True`` for an ``async`` function (awaited); ``False`` for a plain function,
            which is blocking work run on a worker thread (or in the coordinator if ``inline``).
        params: The parameters that receive arguments, in signature order; the context
            parameter is not among them.
        optional: The parameters of ``params`` that have a default.
        args: Explicit wiring from ``args=``: parameter name to source.
        wait_for: Steps that must succeed before this one starts, without passing a value.
        retry: The retry policy, or ``None`` for a single attempt.
        timeout: Seconds allowed per attempt, or ``None``.
        pool: Name of a shared concurrency pool, or ``None``.
        inline: Run inside the coordinator instead of a step actor (tiny steps only).
        when: Guard predicate, or ``None``; the step is skipped when it returns false.
        when_params: The step arguments the guard receives, in order; ``None`` means all of
            them (the guard takes ``**kwargs``); empty when there is no guard.
        context_param: Name of the parameter receiving the step context, or ``None``.
        on_resume: With a store, what happens when the process died during an attempt:
            ``"retry"`` runs it again, ``"fail"`` fails it with ``StepInterruptedError``,
            ``"halt"`` halts the run (see ``ON_RESUME``). The start of a ``"fail"`` or
            ``"halt"`` step is durable before its function is called.
        max_again: How many times the step may return ``Again`` before the run fails.
        guard_only: Parameters of the ``when`` guard that the function does not take: they are
            wired like arguments (so the step waits for them) but only the guard receives them.
        map_statistics: For a map step, its live ``MapStatistics`` (elements, failures, peak
            materialised); ``None`` for other steps.
        composite: For a map step its ``MapSpec``, for an included workflow its
            ``IncludeSpec``; ``None`` for a plain step. The engine runs composite steps.
        executor: Name of the runtime executor the step's function runs on (for a map step:
            its elements), or ``None`` to run it in this process.
        executor_options: Engine options for each submission (checked by the executor at
            ``rt.start``); empty without ``executor``.
        info_param: Name of the parameter annotated ``RemoteStepInfo``, which receives the
            attempt's picklable info (run id, step, attempt, idempotency key), or ``None``.
    """

    workflow: str
    name: str
    fn: Callable[..., Any]
    is_async: bool
    params: tuple[str, ...]
    optional: frozenset[str]
    args: Mapping[str, Source]
    wait_for: tuple[str, ...]
    retry: Retry | None
    timeout: float | None
    pool: str | None
    inline: bool
    when: Callable[..., bool] | None
    when_params: tuple[str, ...] | None
    context_param: str | None
    on_resume: str = "retry"
    max_again: int = DEFAULT_MAX_AGAIN
    guard_only: frozenset[str] = frozenset()
    map_statistics: Any = None
    composite: MapSpec | IncludeSpec | None = None
    executor: str | None = None
    executor_options: Mapping[str, Any] = NO_OPTIONS
    info_param: str | None = None
    _undo: Callable[..., Any] | None = attrs.field(default=None, init=False)
    _compensate: Callable[..., Any] | None = attrs.field(default=None, init=False)

    @property
    def undo_fn(self) -> Callable[..., Any] | None:
        """The function registered with :meth:`undo`, or ``None``."""
        return self._undo

    @property
    def compensate_fn(self) -> Callable[..., Any] | None:
        """The function registered with :meth:`compensate`, or ``None``."""
        return self._compensate

    def undo(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Register how to roll this step back when a later step fails (decorator).

        The executor calls ``fn(result, arguments)`` (awaited if ``async``) with the step's
        result and the mapping of arguments it ran with. A step has at most one undo.

        Returns:
            ``fn`` itself, so it stays usable under its own name.

        Raises:
            WorkflowDefinitionError: ``fn`` is not callable or an undo is already registered.
        """
        self._register("undo", fn, required=2)
        return fn

    def compensate(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Register how to handle this step's error (decorator).

        The executor calls ``fn(error)`` (awaited if ``async``) with the exception of the
        failed step and acts on what it returns (retry, continue with a value, or fail). A step
        has at most one compensate.

        Returns:
            ``fn`` itself, so it stays usable under its own name.

        Raises:
            WorkflowDefinitionError: ``fn`` is not callable or a compensate is already
                registered.
        """
        self._register("compensate", fn, required=1)
        return fn

    def guard_arguments(self, arguments: Mapping[str, object]) -> dict[str, object]:
        """Select from the step's resolved ``arguments`` those its ``when`` guard receives."""
        if self.when_params is None:
            return dict(arguments)
        return {name: arguments[name] for name in self.when_params if name in arguments}

    def _register(self, kind: str, fn: Callable[..., Any], *, required: int) -> None:
        slot = f"_{kind}"
        where = f"@{self.name}.{kind}"
        if not callable(fn):
            raise self._error(f"{where} takes a function, got {fn!r}")
        current = getattr(self, slot)
        if current is not None:
            raise self._error(
                f"step {self.name!r} already has a {kind} function {_callable_name(current)!r}; "
                f"a step has at most one {kind}, so merge them into one function"
            )
        try:
            inspect.signature(fn).bind(*([None] * required))
        except TypeError:
            takes = "(result, arguments)" if required == 2 else "(error)"
            raise self._error(f"{where}: {_callable_name(fn)!r} must accept {takes}") from None
        except ValueError:  # no signature to check (some builtins): accept it
            pass
        object.__setattr__(self, slot, fn)

    def _error(self, message: str) -> WorkflowDefinitionError:
        return WorkflowDefinitionError(message, workflow=self.workflow, step=self.name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the underlying function directly, bypassing the workflow (handy in tests)."""
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        kind = "async" if self.is_async else "blocking"
        where = f" on {self.executor!r}" if self.executor is not None else ""
        return f"<Step {self.name!r} of workflow {self.workflow!r} {kind}{where}>"


def _callable_name(fn: object) -> str:
    while isinstance(fn, functools.partial):
        fn = fn.func
    return getattr(fn, "__name__", None) or repr(fn)
