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
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ._errors import WorkflowDefinitionError
from ._placement import (
    NO_OPTIONS,
    annotated_as,
    check_executor,
    check_remote_step,
    is_info_annotation,
)
from ._retry import Retry
from ._wiring import InputRef, OutcomeRef, ResultRef, Source, ValueRef

if TYPE_CHECKING:
    from ._compose import IncludeSpec, MapSpec
    from ._workflow import Workflow

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


def _partial_keywords(fn: object) -> frozenset[str]:
    names: set[str] = set()
    while isinstance(fn, functools.partial):
        names.update(fn.keywords)
        fn = fn.func
    return frozenset(names)


class _StepBuilder:
    """Checks one decorated function and turns it into a :class:`Step`."""

    def __init__(self, workflow: Workflow, fn: Callable[..., Any], name: str | None) -> None:
        self.workflow = workflow
        if not callable(fn):
            raise WorkflowDefinitionError(
                f"@{workflow.name}.step decorates a function, got {fn!r}; to name a step, "
                f"write @wf.step(name=...)",
                workflow=workflow.name,
                step=name,
            )
        self.fn = fn
        self.name = self._check_name(fn, name)

    def fail(self, message: str) -> WorkflowDefinitionError:
        return WorkflowDefinitionError(message, workflow=self.workflow.name, step=self.name)

    def _check_name(self, fn: Callable[..., Any], name: str | None) -> str:
        wf = self.workflow
        if name is None:
            derived = _callable_name(fn)
            if not _is_name(derived):
                raise WorkflowDefinitionError(
                    f"cannot name a step after {fn!r}; pass name='...' to the decorator",
                    workflow=wf.name,
                )
            name = derived
        if not _is_name(name):
            raise WorkflowDefinitionError(
                f"step name {name!r} is not a valid Python identifier; parameters refer to "
                f"steps by name, so choose an identifier",
                workflow=wf.name,
                step=name if isinstance(name, str) else None,
            )
        if name in wf.steps:
            raise WorkflowDefinitionError(
                f"workflow {wf.name!r} already has a step {name!r}; step names must be unique, "
                f"so rename this one with name='...'",
                workflow=wf.name,
                step=name,
            )
        if name in wf.inputs:
            raise WorkflowDefinitionError(
                f"step {name!r} has the name of an input of workflow {wf.name!r}; a parameter "
                f"{name!r} could not tell them apart, so rename the step with name='...'",
                workflow=wf.name,
                step=name,
            )
        return name

    def build(
        self,
        *,
        args: Mapping[str, Source] | None,
        wait_for: Sequence[str | Step],
        retry: Retry | None,
        timeout: float | None,
        pool: str | None,
        inline: bool,
        when: Callable[..., bool] | None,
        on_resume: str = "retry",
        max_again: int = DEFAULT_MAX_AGAIN,
        composite: MapSpec | IncludeSpec | None = None,
        executor: str | None = None,
        executor_options: Mapping[str, Any] | None = None,
    ) -> Step:
        explicit = self._check_args(args)
        params, optional, context, info = self._read_signature(explicit)
        when_params, guard_only = self._check_when(when, params)
        params = (*params, *guard_only)
        options = check_executor(self.fail, self.name, executor, executor_options)
        if executor is not None and composite is None:
            function, is_async = _callable_name(self.fn), is_async_callable(self.fn)
            check_remote_step(self.fail, self.name, executor, function, is_async, context, inline)
        return Step(
            workflow=self.workflow.name,
            name=self.name,
            fn=self.fn,
            is_async=is_async_callable(self.fn),
            params=params,
            optional=optional,
            args=types.MappingProxyType(explicit),
            wait_for=self._check_wait_for(wait_for),
            retry=self._check_retry(retry),
            timeout=self._check_timeout(timeout),
            pool=self._check_pool(pool),
            inline=self._check_inline(inline),
            when=when,
            when_params=when_params,
            context_param=context,
            on_resume=self._check_on_resume(on_resume),
            max_again=self._check_max_again(max_again),
            guard_only=frozenset(guard_only),
            map_statistics=getattr(composite, "statistics", None),
            composite=composite,
            executor=executor,
            executor_options=options,
            info_param=info,
        )

    def _check_on_resume(self, on_resume: str) -> str:
        if on_resume not in ON_RESUME:
            raise self.fail(
                f"step {self.name!r}: on_resume must be 'retry', 'fail' or 'halt', "
                f"got {on_resume!r}"
            )
        return on_resume

    def _check_max_again(self, max_again: int) -> int:
        if isinstance(max_again, bool) or not isinstance(max_again, int) or max_again < 0:
            raise self.fail(f"step {self.name!r}: max_again must be an int >= 0, got {max_again!r}")
        return max_again

    def _check_args(self, args: Mapping[str, Source] | None) -> dict[str, Source]:
        if args is None:
            return {}
        if not isinstance(args, Mapping):
            raise self.fail(
                f"step {self.name!r}: args= takes a mapping of parameter names to sources, "
                f"got {args!r}"
            )
        explicit = dict(args)
        for param, source in explicit.items():
            if not isinstance(source, _SOURCES):
                raise self.fail(
                    f"step {self.name!r}: args[{param!r}] is {source!r}, not a source; wrap "
                    f"a constant as value({source!r}), or use input(), result() or outcome()"
                )
            if isinstance(source, InputRef) and source.name not in self.workflow.inputs:
                raise self.fail(
                    f"step {self.name!r} wires argument {param!r} to {source}, but workflow "
                    f"{self.workflow.name!r} has no input {source.name!r}; add it to inputs= "
                    f"or fix the name (inputs: {_quoted(self.workflow.inputs) or 'none'})"
                )
        return explicit

    def _read_signature(
        self, explicit: Mapping[str, Source]
    ) -> tuple[tuple[str, ...], frozenset[str], str | None, str | None]:
        try:
            signature = inspect.signature(self.fn)
        except (TypeError, ValueError) as exc:
            raise self.fail(
                f"cannot read the parameters of step {self.name!r} ({self.fn!r}); wrap it in "
                f"a def with named parameters"
            ) from exc
        bound = _partial_keywords(self.fn)
        params: list[str] = []
        optional: set[str] = set()
        contexts: list[str] = []
        infos: list[str] = []
        for param in signature.parameters.values():
            if param.name in bound:
                continue  # fixed by functools.partial: never rewired
            self._check_kind(param)
            if param.name not in explicit and (
                param.name == CONTEXT_PARAM or _is_context_annotation(param.annotation)
            ):
                contexts.append(param.name)
                continue
            if param.name not in explicit and is_info_annotation(param.annotation):
                infos.append(param.name)
                continue
            params.append(param.name)
            if param.default is not inspect.Parameter.empty:
                optional.add(param.name)
        if len(contexts) > 1:
            raise self.fail(
                f"step {self.name!r} has {len(contexts)} context parameters "
                f"({_quoted(contexts)}); keep one, or wire the others with args="
            )
        if len(infos) > 1:
            raise self.fail(
                f"step {self.name!r} has {len(infos)} parameters annotated RemoteStepInfo "
                f"({_quoted(infos)}); keep one, or wire the others with args="
            )
        unknown = sorted(set(explicit) - set(params))
        if unknown:
            raise self.fail(
                f"step {self.name!r}: args= names {_quoted(unknown)}, which "
                f"{'is not a parameter' if len(unknown) == 1 else 'are not parameters'} of "
                f"{_callable_name(self.fn)}(); parameters: {_quoted(params) or 'none'}"
            )
        context = contexts[0] if contexts else None
        return tuple(params), frozenset(optional), context, (infos[0] if infos else None)

    def _check_kind(self, param: inspect.Parameter) -> None:
        kind = param.kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            raise self.fail(
                f"step {self.name!r} has *{param.name}; wire every parameter explicitly: "
                f"replace *{param.name} with named parameters"
            )
        if kind is inspect.Parameter.VAR_KEYWORD:
            raise self.fail(
                f"step {self.name!r} has **{param.name}; wire every parameter explicitly: "
                f"replace **{param.name} with named parameters"
            )
        if kind is inspect.Parameter.POSITIONAL_ONLY:
            raise self.fail(
                f"step {self.name!r} has positional-only parameter {param.name!r}; arguments "
                f"are passed by name, so remove the '/' from the signature"
            )

    def _check_wait_for(self, wait_for: Sequence[str | Step]) -> tuple[str, ...]:
        if isinstance(wait_for, str | Step):
            wait_for = [wait_for]
        if not isinstance(wait_for, Iterable):
            raise self.fail(
                f"step {self.name!r}: wait_for takes a step, a step name or a list of them, "
                f"got {wait_for!r}"
            )
        option = f"step {self.name!r}: wait_for"
        names = dict.fromkeys(self.workflow._step_ref_name(item, option) for item in wait_for)
        return tuple(names)  # in the order given, each once (a dict, so linear)

    def _check_retry(self, retry: Retry | None) -> Retry | None:
        return check_retry_option(retry, f"step {self.name!r}", self.fail)

    def _check_timeout(self, timeout: float | None) -> float | None:
        return check_timeout_option(timeout, f"step {self.name!r}", self.fail)

    def _check_pool(self, pool: str | None) -> str | None:
        if pool is not None and (not isinstance(pool, str) or not pool):
            raise self.fail(f"step {self.name!r}: pool takes a pool name, got {pool!r}")
        return pool

    def _check_inline(self, inline: bool) -> bool:
        return check_flag_option(inline, "inline", f"step {self.name!r}", self.fail)

    def _check_when(
        self, when: Callable[..., bool] | None, params: tuple[str, ...]
    ) -> tuple[tuple[str, ...] | None, tuple[str, ...]]:
        if when is None:
            return (), ()
        if not callable(when):
            raise self.fail(f"step {self.name!r}: when= takes a predicate function, got {when!r}")
        if is_async_callable(when):
            raise self.fail(
                f"step {self.name!r}: the when= guard {_callable_name(when)!r} is async; "
                f"guards run in the coordinator and must be plain functions"
            )
        try:
            signature = inspect.signature(when)
        except (TypeError, ValueError):
            return None, ()
        chosen: list[str] = []
        guard_only: list[str] = []
        for param in signature.parameters.values():
            if param.kind is inspect.Parameter.VAR_KEYWORD:
                return None, ()
            if param.kind is inspect.Parameter.VAR_POSITIONAL:
                continue
            if param.kind is inspect.Parameter.POSITIONAL_ONLY or param.name == CONTEXT_PARAM:
                raise self.fail(
                    f"step {self.name!r}: the when= guard takes {param.name!r}, which cannot be "
                    f"wired; a guard receives arguments by keyword, named like an input or a "
                    f"step (parameters: {_quoted(params) or 'none'})"
                )
            if param.name in params:
                chosen.append(param.name)
            elif param.default is inspect.Parameter.empty:
                # A guard-only argument: wired like a parameter, given to the guard only.
                chosen.append(param.name)
                guard_only.append(param.name)
        return tuple(chosen), tuple(guard_only)
