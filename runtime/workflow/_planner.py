"""The planner: checks a workflow's whole graph and orders its steps, before any step runs.

Pure and synchronous: :func:`plan` reads a :class:`~arborist.runtime.Workflow` and returns a
frozen :class:`Plan` that the coordinator executes. Every definition error that needs more than
one step (an unknown argument or step, a cycle, a bad ``returns``) is raised here.
"""

from __future__ import annotations

import difflib
import heapq
import types
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, TypeVar

import attrs
import outcome as outcome_lib

from ._errors import WorkflowDefinitionError, WorkflowInputError
from ._wiring import InputRef, OutcomeRef, ResultRef, Source, ValueRef

if TYPE_CHECKING:
    from ._step import Step
    from ._workflow import Workflow

__all__ = ["Plan", "plan"]

_T = TypeVar("_T")


def _frozen_map(data: Mapping[str, _T]) -> Mapping[str, _T]:
    return types.MappingProxyType(dict(data))


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(repr(name) for name in names)


def _suggest(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


@attrs.frozen(eq=False)
class Plan:
    """A checked workflow: its steps in execution order and the dependency graph between them.

    Made by :func:`plan`; read-only. Dependencies come in three kinds: a *value* dependency
    (``result()`` or by-name wiring) needs the producer's result; an *outcome* dependency
    (``outcome()``) needs it to have finished either way; an *order* dependency
    (``wait_for``) needs it to have succeeded but takes no value. Every mapping has an entry
    for every step.

    Attributes:
        workflow: The planned workflow.
        inputs: The workflow's input names, in declaration order.
        steps: Every step, in a deterministic topological order: Kahn's algorithm, ties broken
            by declaration order. ``concurrent=False`` runs them in this order.
        arguments: Per step, the fully resolved wiring: parameter name to source. Parameters
            left to their default and the context parameter are absent.
        dependencies: Per step, every step it needs (all three kinds).
        value_dependencies: Per step, the steps whose result it takes.
        outcome_dependencies: Per step, the steps whose outcome it takes.
        order_dependencies: Per step, its ``wait_for`` steps.
        dependents: Per step, the steps that need it (any kind), in plan order.
        consumers: Per step, how many steps take its result or outcome. Once that many have
            started, the result may be dropped unless it is returned or needed for undo.
        returns: The step whose result a run returns, or ``None`` (the run returns ``None``).
    """

    workflow: Workflow
    inputs: tuple[str, ...]
    steps: tuple[Step, ...]
    arguments: Mapping[str, Mapping[str, Source]]
    dependencies: Mapping[str, frozenset[str]]
    value_dependencies: Mapping[str, frozenset[str]]
    outcome_dependencies: Mapping[str, frozenset[str]]
    order_dependencies: Mapping[str, frozenset[str]]
    dependents: Mapping[str, tuple[str, ...]]
    consumers: Mapping[str, int]
    returns: str | None

    @property
    def roots(self) -> tuple[Step, ...]:
        """The steps that need no other step, in plan order: the first ones dispatched."""
        return tuple(step for step in self.steps if not self.dependencies[step.name])

    def step(self, name: str) -> Step:
        """Return the step called ``name``.

        Raises:
            KeyError: There is no such step.
        """
        return self.workflow.steps[name]

    def check_inputs(self, given: Mapping[str, object]) -> None:
        """Check that ``given`` holds exactly the workflow's inputs.

        Raises:
            WorkflowInputError: Some inputs are missing or some names are not inputs; the
                error lists both.
        """
        missing = [name for name in self.inputs if name not in given]
        unexpected = sorted(name for name in given if name not in self.inputs)
        if not missing and not unexpected:
            return
        name = self.workflow.name
        problems = []
        if missing:
            plural = "s" if len(missing) > 1 else ""
            problems.append(f"is missing input{plural} {_quoted(missing)}")
        if unexpected:
            plural = "s" if len(unexpected) > 1 else ""
            hints = "".join(_suggest(extra, missing) for extra in unexpected)
            problems.append(f"got unexpected input{plural} {_quoted(unexpected)}{hints}")
        expected = ", ".join(self.inputs) or "no inputs"
        raise WorkflowInputError(
            f"workflow {name!r} {' and '.join(problems)}; call it with exactly: {expected}",
            workflow=name,
            missing=missing,
            unexpected=unexpected,
        )

    def arguments_for(
        self, step_name: str, inputs: Mapping[str, object], results: Mapping[str, object]
    ) -> dict[str, object]:
        """Build the keyword arguments of step ``step_name`` from the values available.

        Pure: reads ``inputs`` and ``results`` and copies nothing. The context parameter is
        not included (the executor adds it); parameters left to their default are absent.

        ``results`` maps a step name to that step's result, or to an ``outcome.Outcome``
        recording it (a step whose result is itself an ``Outcome`` must be recorded wrapped in
        ``outcome.Value``). A ``result()`` argument gets the value; an ``outcome()`` argument
        gets a fresh ``outcome.Value``/``outcome.Error`` per call, so each consumer may
        ``unwrap()`` its own.

        Args:
            step_name: The step to build arguments for.
            inputs: The run's inputs (checked with :meth:`check_inputs`).
            results: Results of the finished steps.

        Returns:
            Keyword arguments for the step's function.

        Raises:
            KeyError: No step has that name.
            LookupError: A needed input or result is absent (not given, not finished, or its
                producer is recorded as failed), or a path cannot be followed.
        """
        wiring = self.arguments[step_name]
        kwargs: dict[str, object] = {}
        for param, source in wiring.items():
            match source:
                case ValueRef(constant):
                    kwargs[param] = constant
                case InputRef(name):
                    kwargs[param] = source.apply(self._available(step_name, inputs, name, "input"))
                case ResultRef(producer):
                    recorded = self._available(step_name, results, producer, "step")
                    kwargs[param] = source.apply(self._unwrap(step_name, producer, recorded))
                case OutcomeRef(producer):
                    recorded = self._available(step_name, results, producer, "step")
                    kwargs[param] = _fresh_outcome(recorded)
        return kwargs

    def _available(
        self, step_name: str, available: Mapping[str, object], name: str, kind: str
    ) -> object:
        try:
            return available[name]
        except KeyError:
            what = "was not given" if kind == "input" else "has no result yet"
            raise LookupError(
                f"step {step_name!r} needs {kind} {name!r}, which {what}; the executor must "
                f"only build arguments for a step whose dependencies are done"
            ) from None

    @staticmethod
    def _unwrap(step_name: str, producer: str, recorded: object) -> object:
        match recorded:
            case outcome_lib.Value():
                return recorded.value
            case outcome_lib.Error():
                raise LookupError(
                    f"step {step_name!r} takes the result of step {producer!r}, which failed "
                    f"({type(recorded.error).__name__}) and has no result; wire it with "
                    f"outcome({producer!r}) to receive the failure"
                ) from recorded.error
            case _:
                return recorded

    def __repr__(self) -> str:
        order = " -> ".join(step.name for step in self.steps)
        return f"<Plan {self.workflow.name!r}: {order or 'no steps'}>"


def _fresh_outcome(recorded: object) -> outcome_lib.Outcome[object]:
    if isinstance(recorded, outcome_lib.Value):
        return outcome_lib.Value(recorded.value)
    if isinstance(recorded, outcome_lib.Error):
        return outcome_lib.Error(recorded.error)
    return outcome_lib.Value(recorded)


def plan(workflow: Workflow) -> Plan:
    """Check ``workflow`` as a whole and order its steps; cached until a step is added.

    Checks, in this order: every step's arguments (each parameter is wired, by name or by
    ``args=``, or has a default), every ``result``/``outcome``/``wait_for`` names a step and not
    the step itself, no step takes the same step both as a result and as an outcome, the
    ``when`` guards receive only wired arguments, ``returns`` names a step, and the graph has
    no cycle.

    Args:
        workflow: The workflow to plan.

    Returns:
        The :class:`Plan`; the same object until the workflow changes.

    Raises:
        WorkflowDefinitionError: The first problem found; the message says what to change.

    Example:
        >>> wf = Workflow("w", inputs=["x"])
        >>> @wf.step
        ... def double(x):
        ...     return 2 * x
        >>> plan(wf).arguments["double"]
        mappingproxy({'x': InputRef(name='x', path=())})
    """
    cached = workflow._plan
    if cached is None:
        cached = _Planner(workflow).build()
        workflow._plan = cached
    return cached


class _Planner:
    """One planning pass over a workflow."""

    def __init__(self, workflow: Workflow) -> None:
        self.workflow = workflow
        self.steps = list(workflow.steps.values())
        self.index = {step.name: position for position, step in enumerate(self.steps)}
        self.inputs = frozenset(workflow.inputs)

    def fail(self, message: str, step: str | None = None) -> WorkflowDefinitionError:
        return WorkflowDefinitionError(message, workflow=self.workflow.name, step=step)

    def build(self) -> Plan:
        arguments = {step.name: self._wire(step) for step in self.steps}
        values: dict[str, frozenset[str]] = {}
        outcomes: dict[str, frozenset[str]] = {}
        orders: dict[str, frozenset[str]] = {}
        for step in self.steps:
            values[step.name], outcomes[step.name] = self._producers(step, arguments[step.name])
            orders[step.name] = self._order(step)
            self._check_guard(step, arguments[step.name])
        returns = self._check_returns()
        needs = {name: values[name] | outcomes[name] | orders[name] for name in self.index}
        order = self._topological(needs)
        position = {step.name: n for n, step in enumerate(order)}
        dependents: dict[str, list[str]] = {name: [] for name in self.index}
        consumers = dict.fromkeys(self.index, 0)
        for step in order:
            for producer in sorted(needs[step.name], key=self.index.__getitem__):
                dependents[producer].append(step.name)
            for producer in values[step.name] | outcomes[step.name]:
                consumers[producer] += 1
        return Plan(
            workflow=self.workflow,
            inputs=self.workflow.inputs,
            steps=tuple(order),
            arguments=types.MappingProxyType(
                {name: types.MappingProxyType(wiring) for name, wiring in arguments.items()}
            ),
            dependencies=_frozen_map(needs),
            value_dependencies=_frozen_map(values),
            outcome_dependencies=_frozen_map(outcomes),
            order_dependencies=_frozen_map(orders),
            dependents=_frozen_map(
                {
                    name: tuple(sorted(names, key=position.__getitem__))
                    for name, names in dependents.items()
                }
            ),
            consumers=_frozen_map(consumers),
            returns=returns,
        )

    def _wire(self, step: Step) -> dict[str, Source]:
        wiring: dict[str, Source] = {}
        for param in step.params:
            if param in step.args:
                wiring[param] = step.args[param]
            elif param in self.inputs:
                wiring[param] = InputRef(param)
            elif param == step.name:
                raise self.fail(
                    f"step {step.name!r} takes argument {param!r}, its own name, so it would "
                    f"depend on itself; rename the parameter or wire it with "
                    f"args={{{param!r}: ...}}",
                    step.name,
                )
            elif param in self.index:
                wiring[param] = ResultRef(param)
            elif param not in step.optional:
                hint = _suggest(param, [*self.workflow.inputs, *self.index])
                raise self.fail(
                    f"step {step.name!r} takes argument {param!r}, but no input or step has that "
                    f"name; add an input {param!r}, a step {param!r}, or wire it with "
                    f"args={{{param!r}: ...}}{hint}",
                    step.name,
                )
        return wiring

    def _producers(
        self, step: Step, wiring: Mapping[str, Source]
    ) -> tuple[frozenset[str], frozenset[str]]:
        values: set[str] = set()
        outcomes: set[str] = set()
        for param, source in wiring.items():
            if isinstance(source, ResultRef | OutcomeRef):
                self._check_step_ref(
                    step,
                    source.step,
                    f"wires argument {param!r} to {source}",
                    f"use input({source.step!r})",
                )
                (values if isinstance(source, ResultRef) else outcomes).add(source.step)
        both = sorted(values & outcomes, key=self.index.__getitem__)
        if both:
            raise self.fail(
                f"step {step.name!r} takes step {both[0]!r} both as a result and as an outcome; "
                f"take it only as outcome({both[0]!r}) and read the value from the outcome",
                step.name,
            )
        return frozenset(values), frozenset(outcomes)

    def _order(self, step: Step) -> frozenset[str]:
        for name in step.wait_for:
            self._check_step_ref(
                step, name, f"waits for {name!r}", "inputs are always available, so remove it"
            )
        return frozenset(step.wait_for)

    def _check_step_ref(self, step: Step, name: str, what: str, input_fix: str) -> None:
        if name == step.name:
            raise self.fail(
                f"step {step.name!r} {what}, itself; a step cannot depend on itself, so remove "
                f"this dependency",
                step.name,
            )
        if name in self.index:
            return
        if name in self.inputs:
            fix = f"{name!r} is an input: {input_fix}"
        else:
            fix = f"declare a step {name!r} or fix the name{_suggest(name, self.index)}"
        raise self.fail(
            f"step {step.name!r} {what}, but workflow {self.workflow.name!r} has no step "
            f"{name!r}; {fix}",
            step.name,
        )

    def _check_guard(self, step: Step, wiring: Mapping[str, Source]) -> None:
        if step.when is None or step.when_params is None:
            return
        for name in step.when_params:
            if name not in wiring:
                raise self.fail(
                    f"step {step.name!r}: the when= guard takes {name!r}, but that argument is "
                    f"not wired (the step keeps its default); wire it, or drop it from the guard",
                    step.name,
                )

    def _check_returns(self) -> str | None:
        returns = self.workflow.returned
        if returns is None or returns in self.index:
            return returns
        if returns in self.inputs:
            fix = f"{returns!r} is an input; return a step"
        else:
            fix = f"declare a step {returns!r} or fix the name{_suggest(returns, self.index)}"
        raise self.fail(
            f"workflow {self.workflow.name!r} returns {returns!r}, but has no step with that "
            f"name; {fix}"
        )

    def _topological(self, needs: Mapping[str, frozenset[str]]) -> list[Step]:
        waiting = {name: len(deps) for name, deps in needs.items()}
        feeds: dict[str, list[str]] = {name: [] for name in needs}
        for name, deps in needs.items():
            for dep in deps:
                feeds[dep].append(name)
        ready = [self.index[name] for name, count in waiting.items() if count == 0]
        heapq.heapify(ready)
        order: list[Step] = []
        while ready:
            step = self.steps[heapq.heappop(ready)]
            order.append(step)
            for dependent in feeds[step.name]:
                waiting[dependent] -= 1
                if waiting[dependent] == 0:
                    heapq.heappush(ready, self.index[dependent])
        if len(order) < len(self.steps):
            stuck = {name for name, count in waiting.items() if count > 0}
            raise self._cycle_error(needs, stuck)
        return order

    def _cycle_error(
        self, needs: Mapping[str, frozenset[str]], stuck: set[str]
    ) -> WorkflowDefinitionError:
        # Every stuck step needs at least one stuck step, so following "needs" edges from any
        # stuck step must revisit one: the revisited stretch is a cycle.
        walk = [min(stuck, key=self.index.__getitem__)]
        while walk[-1] not in walk[:-1]:
            walk.append(min(needs[walk[-1]] & stuck, key=self.index.__getitem__))
        cycle = walk[walk.index(walk[-1]) : -1]
        cycle.reverse()  # now in data-flow order: each step is needed by the next
        first = cycle.index(min(cycle, key=self.index.__getitem__))
        cycle = cycle[first:] + cycle[:first]
        shown = " -> ".join([*cycle, cycle[0]])
        return self.fail(
            f"workflow {self.workflow.name!r} has a dependency cycle: {shown} (each step needs "
            f"the one before it); remove one of these dependencies",
            cycle[0],
        )
