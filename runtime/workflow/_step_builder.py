"""Declaring a step: the checks ``@wf.step`` makes on one function before it becomes a Step.

Everything a single step shows on its own (its name, parameters, wiring and options) is checked
here, at decoration time; what needs the whole graph is the planner's job.
"""

from __future__ import annotations

import functools
import inspect
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._errors import WorkflowDefinitionError
from ._placement import (
    check_executor,
    check_remote_step,
    is_info_annotation,
)
from ._retry import Retry
from ._step import (
    _SOURCES,
    CONTEXT_PARAM,
    DEFAULT_MAX_AGAIN,
    ON_RESUME,
    Step,
    _callable_name,
    _is_context_annotation,
    _is_name,
    _quoted,
    check_flag_option,
    check_retry_option,
    check_timeout_option,
    is_async_callable,
)
from ._wiring import InputRef, Source

if TYPE_CHECKING:
    from ._compose import IncludeSpec, MapSpec
    from ._workflow import Workflow

__all__: list[str] = []


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
