"""The workflow DSL: a named graph of steps whose arguments are wired by parameter name.

A :class:`Workflow` collects :class:`Step` definitions through its ``@wf.step`` decorator. What
a single step shows is checked at decoration time; what needs the whole graph (names declared
later, cycles, ``returns``) is checked by :func:`~arborist.runtime.plan`, which runs before any
step does. Nothing here executes a step.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

import attrs

from ._compose import IncludeSpec, MapSpec, declare_include, declare_map
from ._errors import WorkflowDefinitionError
from ._planner import plan as _plan
from ._retry import Retry
from ._step import (
    _NO_INITIAL,
    CONTEXT_PARAM,
    DEFAULT_MAX_AGAIN,
    Step,
    _is_name,
    _quoted,
    is_async_callable,
)
from ._step_builder import _StepBuilder
from ._wiring import Source

if TYPE_CHECKING:
    from ._planner import Plan

__all__ = ["CONTEXT_PARAM", "DEFAULT_MAX_AGAIN", "Step", "Workflow", "is_async_callable"]


@attrs.define(eq=False, repr=False, init=False)
class Workflow:
    """A named graph of steps with declared inputs.

    Steps are added with the :meth:`step` decorator; a parameter named like an input or a step
    (declared before or after it) receives that value. :meth:`returns` names the step whose
    result the run returns; without it a run returns ``None``. The graph is checked by
    :meth:`plan` (cached until a step is added).

    Args:
        name: The workflow's name (a non-empty string).
        inputs: Names of the inputs a run must be given: unique Python identifiers.

    Raises:
        WorkflowDefinitionError: A bad name or inputs.

    Example:
        >>> wf = Workflow("greeting", inputs=["who"])
        >>> @wf.step
        ... def hello(who):
        ...     return f"hello {who}"
        >>> wf.returns("hello")
        >>> [step.name for step in wf.plan().steps]
        ['hello']
    """

    name: str = attrs.field()
    inputs: tuple[str, ...] = attrs.field(default=())
    _steps: dict[str, Step] = attrs.field(factory=dict, init=False)
    _returns: str | None = attrs.field(default=None, init=False)
    _plan: Plan | None = attrs.field(default=None, init=False)

    def __init__(self, name: str, inputs: Iterable[str] = ()) -> None:
        if not isinstance(name, str) or not name.strip():
            raise WorkflowDefinitionError(
                f"a workflow's name must be a non-empty string, got {name!r}",
                workflow=str(name),
            )
        if isinstance(inputs, str):
            raise WorkflowDefinitionError(
                f"workflow {name!r}: inputs takes a list of names, not a string; write "
                f"inputs=[{inputs!r}]",
                workflow=name,
            )
        if not isinstance(inputs, Iterable):
            raise WorkflowDefinitionError(
                f"workflow {name!r}: inputs takes a list of names, got {inputs!r}; write "
                "inputs=[] for none",
                workflow=name,
            )
        names = tuple(inputs)
        for input_name in names:
            if not _is_name(input_name):
                raise WorkflowDefinitionError(
                    f"workflow {name!r}: input {input_name!r} is not a valid Python identifier; "
                    f"inputs are passed as keyword arguments, so rename it",
                    workflow=name,
                )
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise WorkflowDefinitionError(
                f"workflow {name!r}: input names must be unique; duplicated: {_quoted(duplicated)}",
                workflow=name,
            )
        self.__attrs_init__(name, names)

    @property
    def steps(self) -> Mapping[str, Step]:
        """The steps by name, in declaration order (read-only view)."""
        return types.MappingProxyType(self._steps)

    @property
    def returned(self) -> str | None:
        """The name of the step whose result a run returns, or ``None``."""
        return self._returns

    def returns(self, step: str | Step) -> None:
        """Name the step whose result a run returns.

        The step may be declared later; :meth:`plan` checks that it exists. Without a call to
        ``returns`` a run returns ``None``.

        Raises:
            WorkflowDefinitionError: ``returns`` was already called, or ``step`` is a step of
                another workflow or not a name.
        """
        name = self._step_ref_name(step, "returns")
        if self._returns is not None:
            raise WorkflowDefinitionError(
                f"workflow {self.name!r} already returns {self._returns!r}; call returns() once",
                workflow=self.name,
            )
        self._returns = name
        self._plan = None

    def plan(self) -> Plan:
        """Check the whole graph and return its :class:`~arborist.runtime.Plan` (cached).

        Raises:
            WorkflowDefinitionError: The graph is invalid (see :func:`~arborist.runtime.plan`).
        """
        return _plan(self)

    @overload
    def step(
        self,
        fn: Callable[..., Any],
        /,
        *,
        name: str | None = None,
        args: Mapping[str, Source] | None = None,
        wait_for: Sequence[str | Step] = (),
        retry: Retry | None = None,
        timeout: float | None = None,
        pool: str | None = None,
        inline: bool = False,
        on_resume: Literal["retry", "fail", "halt"] = "retry",
        when: Callable[..., bool] | None = None,
        max_again: int = DEFAULT_MAX_AGAIN,
        executor: str | None = None,
        executor_options: Mapping[str, Any] | None = None,
    ) -> Step: ...

    @overload
    def step(
        self,
        /,
        *,
        name: str | None = None,
        args: Mapping[str, Source] | None = None,
        wait_for: Sequence[str | Step] = (),
        retry: Retry | None = None,
        timeout: float | None = None,
        pool: str | None = None,
        inline: bool = False,
        on_resume: Literal["retry", "fail", "halt"] = "retry",
        when: Callable[..., bool] | None = None,
        max_again: int = DEFAULT_MAX_AGAIN,
        executor: str | None = None,
        executor_options: Mapping[str, Any] | None = None,
    ) -> Callable[[Callable[..., Any]], Step]: ...

    def step(
        self,
        fn: Callable[..., Any] | None = None,
        /,
        *,
        name: str | None = None,
        args: Mapping[str, Source] | None = None,
        wait_for: Sequence[str | Step] = (),
        retry: Retry | None = None,
        timeout: float | None = None,
        pool: str | None = None,
        inline: bool = False,
        on_resume: Literal["retry", "fail", "halt"] = "retry",
        when: Callable[..., bool] | None = None,
        max_again: int = DEFAULT_MAX_AGAIN,
        executor: str | None = None,
        executor_options: Mapping[str, Any] | None = None,
    ) -> Step | Callable[[Callable[..., Any]], Step]:
        """Add a step (decorator, bare or with options) and return its :class:`Step`.

        Wiring, by parameter name: a parameter named like an input or a step of this workflow
        (declared before or after) receives that value; ``args=`` overrides it; a parameter
        with a default and no match keeps its default; the parameter named ``ctx``, or
        annotated with a class named ``StepContext``, receives the step context; one annotated
        ``RemoteStepInfo`` receives the attempt's picklable ``RemoteStepInfo``. ``*args`` and
        ``**kwargs`` cannot be wired and are rejected; keywords bound by ``functools.partial``
        stay as bound.

        An ``async def`` is awaited; a plain ``def`` is blocking work that the executor runs on
        a worker thread.

        Args:
            fn: The step function (when used bare).
            name: The step's name; defaults to the function's ``__name__``.
            args: Explicit wiring, parameter name to ``input()``, ``result()``, ``value()`` or
                ``outcome()``.
            wait_for: Steps (names or steps) that must succeed first, without passing a value.
            retry: Retry policy; ``None`` means one attempt.
            timeout: Seconds allowed per attempt (> 0), or ``None``.
            pool: Name of a shared concurrency pool for this step.
            inline: Run the step inside the coordinator. For tiny steps only: an async step
                shares the coordinator's task and a plain function blocks it while it runs.
            on_resume: With a store (``Runtime(store=...)``), what happens to an attempt
                that was running when its process died: ``"retry"`` (the default) runs the
                step again (at least once: key external effects on ``ctx.idempotency_key``),
                ``"fail"`` fails it with ``StepInterruptedError`` (its ``@compensate`` decides,
                else the run rolls back), ``"halt"`` halts the run for an operator
                (``rt.resume(run_id)``). Without a store it has no effect.
            when: Guard predicate, called with the step's resolved arguments (those its
                signature names, or all for ``**kwargs``); the step is skipped when it returns
                false. A plain (not async) function.
            max_again: How many times the step may return ``Again(after=...)`` (re-run later,
                polling) before the run fails with ``AgainLimitError``.
            executor: Run the function on this executor of the runtime
                (``Runtime(executors={name: ...})``) instead of in this process: a plain
                ``def`` that takes no ``ctx`` (a parameter annotated ``RemoteStepInfo``
                receives the run id, attempt and idempotency key instead). Retry, timeout,
                compensate, undo (run here) and pools work as for a local step.
            executor_options: The engine's options for each submission (e.g. Dask
                ``resources``, Ray ``num_cpus``), checked by the executor at ``rt.start``.

        Returns:
            The new :class:`Step` (bare use), or a decorator that makes it.

        Raises:
            WorkflowDefinitionError: The step is invalid on its own: duplicate name, bad
                option, ``*args``/``**kwargs``, an ``args=`` key that is not a parameter, an
                unknown input.
        """

        def decorate(fn: Callable[..., Any]) -> Step:
            return self._add(
                fn,
                name,
                args=args,
                wait_for=wait_for,
                retry=retry,
                timeout=timeout,
                pool=pool,
                inline=inline,
                on_resume=on_resume,
                when=when,
                max_again=max_again,
                executor=executor,
                executor_options=executor_options,
            )

        if fn is None:
            return decorate
        return decorate(fn)

    def map(
        self,
        fn: Callable[..., Any] | None = None,
        /,
        *,
        over: str,
        item: str | None = None,
        workflow: Workflow | None = None,
        batch_size: int = 100,
        ordered: bool = True,
        outcomes: bool = False,
        reduce: Callable[[Any, Any], Any] | None = None,
        initial: Any = _NO_INITIAL,
        journal: Literal["step", "elements"] = "step",
        name: str | None = None,
        args: Mapping[str, Source] | None = None,
        wait_for: Sequence[str | Step] = (),
        retry: Retry | None = None,
        timeout: float | None = None,
        pool: str | None = None,
        when: Callable[..., bool] | None = None,
        executor: str | None = None,
        executor_options: Mapping[str, Any] | None = None,
        chunk_size: int = 1,
    ) -> Any:
        """Add a map step: run ``fn`` (or ``workflow``) once per element of ``over`` (decorator).

        ``over`` names an input or a step whose value is a list, an iterator or an async
        iterator; it is read lazily, never more than ``batch_size`` elements materialised at
        once. The element goes to the parameter ``item`` (default: the first parameter, or the
        workflow's only input); the other parameters are wired as for any step. ``retry`` and
        ``timeout`` apply to each element, and ``pool`` bounds the elements (one slot per element
        attempt; an adaptive pool paces them). The step returns the list of element results (in
        input order when ``ordered``), or ``reduce(acc, result)`` folded from ``initial``. With
        ``outcomes=True`` each result is an ``outcome.Value``/``outcome.Error`` and failed
        elements do not fail the step; otherwise the first failed element fails it
        (``MapElementError`` naming the element).

        With ``executor=`` each element runs on that executor of the runtime (a plain
        ``def`` without ``ctx``; see ``step``): ``batch_size`` bounds the elements in flight
        on it, results come back in order, elements are submitted in batches (one engine
        message where the engine allows it) and ``chunk_size`` elements go to one engine task
        (run one after another there: pick chunks of ~100 ms of work for small elements).
        ``retry`` and ``timeout`` still apply per element.
        With a store, ``journal="step"`` (the default) journals the whole result once the map
        finishes, so a map interrupted by a crash runs all its elements again on resume;
        ``journal="elements"`` journals each element's result as it finishes and a resumed
        map runs only the elements still missing. It needs a source that reads the same
        elements again (a list or another sequence): an iterator or async iterator source
        fails the step with a ``TypeError`` (at ``rt.start`` when ``over`` is an input).

        Returns:
            The map :class:`Step`, or a decorator that makes it.

        Raises:
            WorkflowDefinitionError: A bad option (``over``, ``item``, ``workflow``,
                ``batch_size``, ``ordered``, ``outcomes``, ``retry``, ``timeout``, ``reduce``,
                ``initial``) or wiring, raised here at declaration.
        """

        def decorate(element: Callable[..., Any] | None) -> Step:
            step_name = name or (element.__name__ if element is not None else None)
            if step_name is None and workflow is not None:
                step_name = workflow.name
            stand_in, spec = declare_map(
                self.name,
                element,
                name=str(step_name),
                over=over,
                item=item,
                workflow=workflow,
                batch_size=batch_size,
                ordered=ordered,
                outcomes=outcomes,
                retry=retry,
                timeout=timeout,
                reduce=reduce,
                initial=initial,
                pool=pool,
                executor=executor,
                executor_options=executor_options,
                chunk_size=chunk_size,
                journal=journal,
            )
            return self._add(
                stand_in,
                spec.name,
                args=args,
                wait_for=wait_for,
                pool=pool,
                when=when,
                composite=spec,
                executor=spec.executor,
                executor_options=spec.executor_options if spec.executor else None,
            )

        if workflow is not None:
            if fn is not None:
                raise WorkflowDefinitionError(
                    f"map over {over!r}: give a function or workflow=, not both", workflow=self.name
                )
            if not isinstance(workflow, Workflow):
                raise WorkflowDefinitionError(
                    f"map over {over!r}: workflow= takes a Workflow to run per element, got "
                    f"{workflow!r}",
                    workflow=self.name,
                )
            return decorate(None)
        if fn is None:
            return decorate
        return decorate(fn)

    def include(
        self,
        child: Workflow,
        /,
        *,
        name: str | None = None,
        args: Mapping[str, Source] | None = None,
        wait_for: Sequence[str | Step] = (),
        retry: Retry | None = None,
        timeout: float | None = None,
        pool: str | None = None,
        when: Callable[..., bool] | None = None,
    ) -> Step:
        """Add ``child`` as a step: its inputs are wired like parameters, its result is the step's.

        The child runs as a child run supervised by this run, sharing the runtime's pools. If
        this run later fails, the child's completed undoable steps are undone with this run's.
        """
        if not isinstance(child, Workflow):
            raise WorkflowDefinitionError(
                f"include() takes a Workflow; got {child!r}", workflow=self.name
            )
        step_name = name or child.name
        stand_in, spec = declare_include(child, step_name)
        return self._add(
            stand_in,
            step_name,
            args=args,
            wait_for=wait_for,
            retry=retry,
            timeout=timeout,
            pool=pool,
            when=when,
            composite=spec,
        )

    def _add(
        self,
        fn: Callable[..., Any],
        name: str | None,
        *,
        args: Mapping[str, Source] | None = None,
        wait_for: Sequence[str | Step] = (),
        retry: Retry | None = None,
        timeout: float | None = None,
        pool: str | None = None,
        inline: bool = False,
        on_resume: Literal["retry", "fail", "halt"] = "retry",
        when: Callable[..., bool] | None = None,
        max_again: int = DEFAULT_MAX_AGAIN,
        composite: MapSpec | IncludeSpec | None = None,
        executor: str | None = None,
        executor_options: Mapping[str, Any] | None = None,
    ) -> Step:
        new = _StepBuilder(self, fn, name).build(
            args=args,
            wait_for=wait_for,
            retry=retry,
            timeout=timeout,
            pool=pool,
            inline=inline,
            on_resume=on_resume,
            when=when,
            max_again=max_again,
            composite=composite,
            executor=executor,
            executor_options=executor_options,
        )
        self._steps[new.name] = new
        self._plan = None
        return new

    def _step_ref_name(self, step: str | Step, option: str) -> str:
        if isinstance(step, Step):
            if self._steps.get(step.name) is not step:
                raise WorkflowDefinitionError(
                    f"{option} got step {step.name!r} of workflow {step.workflow!r}, which is "
                    f"not a step of workflow {self.name!r}; pass one of its own steps or a name",
                    workflow=self.name,
                )
            return step.name
        if not isinstance(step, str) or not step:
            raise WorkflowDefinitionError(
                f"{option} takes a step or a step name, got {step!r}", workflow=self.name
            )
        return step

    def __repr__(self) -> str:
        return f"<Workflow {self.name!r} inputs={list(self.inputs)!r} steps={len(self._steps)}>"
