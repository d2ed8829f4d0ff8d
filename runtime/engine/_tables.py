"""Per-plan lookup tables, derived once and shared by every run of the same plan.

A run's coordinator reads, for each step it dispatches, the step object, its plan index, the
results it consumes and how to build its arguments. All of that is fixed by the plan, so it is
computed on a plan's first run and kept (weakly, keyed by the plan) for the runs after it:
a run of a cached plan pays nothing per step to set these up.

Arguments: a step whose every argument is a constant or a whole ``result()`` (no path), the
common case, has its arguments built here from a precompiled list; any other wiring
(inputs, paths, outcomes) goes through ``Plan.arguments_for``, the reference.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import outcome

from ..workflow._wiring import ResultRef, ValueRef

if TYPE_CHECKING:
    from ..workflow._planner import Plan
    from ..workflow._step import Step

__all__ = ["PlanTables", "is_outcome", "tables_of"]

_CONSTANT: Final = 0
_RESULT: Final = 1

_OUTCOME_TYPES: dict[type, bool] = {}
_TYPE_CACHE_LIMIT: Final = 1024


def is_outcome(value: object) -> bool:
    """``isinstance(value, outcome.Outcome)``, without the ABC check on each call."""
    kind = type(value)
    known = _OUTCOME_TYPES.get(kind)
    if known is None:
        known = isinstance(value, outcome.Outcome)
        if len(_OUTCOME_TYPES) >= _TYPE_CACHE_LIMIT:
            _OUTCOME_TYPES.clear()
        _OUTCOME_TYPES[kind] = known
    return known


class PlanTables:
    """What every run of one plan looks up per step (see the module docstring).

    Attributes:
        steps: step name -> step.
        index: step name -> its position in the plan's order.
        needs: step name -> the steps whose result or outcome it takes.
        wiring: step name -> ``((param, kind, key), ...)`` for a step whose arguments are
            all constants or whole results; absent for any other step.
        plain: the async steps with nothing around their call: no context, no
            ``RemoteStepInfo``, no timeout, no pool, no executor, not composite, not inline
            (the step runner awaits the function directly when the run has no pool either).
        waiting: step name -> its count of dependencies, a fresh run's starting counts (a
            run copies it).
        roots: ``(plan index, step, 1)`` for each root in plan order: a fresh run's ready
            heap (sorted, so already a heap; a run copies it).
        consumers: ``plan.consumers`` as a dict (a run copies it).
        pooled: the steps that name a pool (a run checks that the pool exists).
        composites: the composite steps (a run checks a map's source).
    """

    __slots__ = (
        "composites",
        "consumers",
        "index",
        "needs",
        "plain",
        "pooled",
        "roots",
        "steps",
        "waiting",
        "wiring",
    )

    def __init__(self, plan: Plan) -> None:
        self.steps: dict[str, Step] = {step.name: step for step in plan.steps}
        self.index: dict[str, int] = {step.name: i for i, step in enumerate(plan.steps)}
        values, outcomes = plan.value_dependencies, plan.outcome_dependencies
        self.needs: dict[str, frozenset[str]] = {
            name: values[name] | outcomes[name] if outcomes[name] else values[name]
            for name in plan.dependencies
        }
        self.plain: frozenset[str] = frozenset(step.name for step in plan.steps if _is_plain(step))
        deps = plan.dependencies
        self.waiting: dict[str, int] = {name: len(deps[name]) for name in plan.dependencies}
        self.roots: tuple[tuple[int, str, int], ...] = tuple(
            (self.index[step.name], step.name, 1) for step in plan.steps if not deps[step.name]
        )
        self.consumers: dict[str, int] = dict(plan.consumers)
        self.pooled: tuple[Step, ...] = tuple(step for step in plan.steps if step.pool is not None)
        self.composites: tuple[Step, ...] = tuple(
            step for step in plan.steps if step.composite is not None
        )
        self.wiring: dict[str, tuple[tuple[str, int, Any], ...]] = {}
        for name, sources in plan.arguments.items():
            compiled = _compile(sources)
            if compiled is not None:
                self.wiring[name] = compiled

    def arguments(
        self, plan: Plan, name: str, inputs: Mapping[str, Any], results: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The keyword arguments of step ``name``, as ``Plan.arguments_for`` builds them.

        Raises:
            LookupError: as ``Plan.arguments_for`` (a result absent, or a failed producer).
        """
        wiring = self.wiring.get(name)
        if wiring is None:
            return plan.arguments_for(name, inputs, results)
        kwargs: dict[str, Any] = {}
        known = _OUTCOME_TYPES.get
        for param, kind, key in wiring:
            if kind == _CONSTANT:
                kwargs[param] = key
                continue
            try:
                recorded = results[key]
            except KeyError:
                return plan.arguments_for(name, inputs, results)  # raises its error
            wrapped = known(type(recorded))  # is_outcome(recorded), inlined
            if wrapped is None:
                wrapped = is_outcome(recorded)
            if wrapped:
                return plan.arguments_for(name, inputs, results)  # unwraps or raises
            kwargs[param] = recorded
        return kwargs


def _is_plain(step: Step) -> bool:
    return (
        step.is_async
        and not step.inline
        and step.context_param is None
        and step.info_param is None
        and step.timeout is None
        and step.pool is None
        and step.executor is None
        and step.composite is None
        and step.map_statistics is None
    )


def _compile(sources: Mapping[str, object]) -> tuple[tuple[str, int, Any], ...] | None:
    compiled: list[tuple[str, int, Any]] = []
    for param, source in sources.items():
        if type(source) is ValueRef:
            compiled.append((param, _CONSTANT, source.value))
        elif type(source) is ResultRef and not source.path:
            compiled.append((param, _RESULT, source.step))
        else:
            return None
    return tuple(compiled)


# The tables hold no reference to their plan: the plan (the key) stays collectable.
_TABLES: weakref.WeakKeyDictionary[Plan, PlanTables] = weakref.WeakKeyDictionary()


def tables_of(plan: Plan) -> PlanTables:
    """The tables of ``plan``, computed on its first run and kept while the plan lives."""
    tables = _TABLES.get(plan)
    if tables is None:
        tables = _TABLES[plan] = PlanTables(plan)
    return tables
