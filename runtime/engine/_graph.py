"""RunGraph: which steps of one run are ready, which results are still needed, and skips.

Pure bookkeeping, no trio and no events: the coordinator asks it what to dispatch next and
tells it what resolved. Each step waits for a count of unmet dependencies; a step whose count
reaches zero is *ready* (kept in a heap by plan order, so dispatch is deterministic) unless a
dependency it needs by value did not succeed, in which case it is *skipped* and resolves in
turn. A result is kept only while a step that takes it has not started, or when the run
returns it.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import outcome

from ._errors import StepSkippedError
from ._tables import is_outcome, tables_of

if TYPE_CHECKING:
    from ..workflow._planner import Plan
    from ._saga import HaltedRun

__all__ = ["RunGraph"]

_NONE_SKIPPED: tuple[tuple[str, str], ...] = ()  # resolve's answer when nothing was skipped


class RunGraph:
    """The readiness state of one run of ``plan``.

    Attributes:
        ready: the heap of ``(plan index, step, attempt)`` ready to dispatch.
        results: the results still needed (an ``outcome.Error`` for a failed or skipped
            step that someone takes as an outcome or that the run returns).
        resolved: how many steps are resolved (completed, skipped or failed as an outcome).
    """

    __slots__ = (
        "_blocked",
        "_consumers",
        "_dependents",
        "_needs",
        "_outcome_deps",
        "_returns",
        "_waiting",
        "index",
        "plan",
        "ready",
        "resolved",
        "results",
    )

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        tables = tables_of(plan)
        self.index = tables.index
        self._returns = plan.returns
        self._dependents = plan.dependents
        self._outcome_deps = plan.outcome_dependencies
        self._needs = tables.needs
        self._waiting: dict[str, int] = {}
        self._consumers: dict[str, int] = {}
        self._blocked: dict[str, str] = {}
        self.ready: list[tuple[int, str, int]] = []
        self.results: dict[str, Any] = {}
        self.resolved = 0

    def start_fresh(self) -> None:
        """A new run: the roots are ready."""
        tables = tables_of(self.plan)
        self._waiting = tables.waiting.copy()
        self._consumers = tables.consumers.copy()
        self.ready = list(tables.roots)  # in plan order: a heap

    def start_resumed(
        self, resume: HaltedRun, attempts: Mapping[str, int] | None = None
    ) -> list[tuple[str, str]]:
        """A resumed run: completed steps resolved, their needed results loaded.

        Steps ready at once are pushed with their attempt from ``attempts`` (default 1).

        Returns:
            The steps that can never run because a dependency they need failed (name, the
            dependency); the caller records them as skipped and resolves them.
        """
        plan = self.plan
        done = frozenset(resume.completed)
        self.results.update(resume.results)
        self.resolved = len(done)
        for producer in plan.consumers:
            self._consumers[producer] = sum(
                1
                for consumer in self._dependents[producer]
                if consumer not in done
                and consumer not in resume.pending
                and producer in self._needs[consumer]
            )
        blocked_roots: list[tuple[str, str]] = []
        for step in plan.steps:
            name = step.name
            if name in done:
                continue
            deps = plan.dependencies[name]
            self._waiting[name] = sum(1 for dep in deps if dep not in done)
            for dep in deps & done:
                recorded = self.results.get(dep)
                if isinstance(recorded, outcome.Error) and dep not in self._outcome_deps[name]:
                    self._blocked.setdefault(name, dep)
            if self._waiting[name] == 0:
                if name in self._blocked:
                    blocked_roots.append((name, self._blocked[name]))
                else:
                    self.push(name, attempts.get(name, 1) if attempts else 1)
        return blocked_roots

    def push(self, name: str, attempt: int) -> None:
        """Make ``name`` ready (again) for attempt ``attempt``."""
        heapq.heappush(self.ready, (self.index[name], name, attempt))

    def pop(self) -> tuple[str, int]:
        """Take the ready step that comes first in plan order: ``(name, attempt)``."""
        _, name, attempt = heapq.heappop(self.ready)
        return name, attempt

    def release_inputs_of(self, name: str) -> None:
        """Step ``name`` has its arguments (or will never run): drop results no one needs."""
        consumers = self._consumers
        for producer in self._needs[name]:
            left = consumers[producer] - 1
            consumers[producer] = left
            if left == 0 and producer != self._returns:
                self.results.pop(producer, None)

    def needed(self, name: str) -> bool:
        """Whether the result of ``name`` must be kept (a consumer has not started, or returned)."""
        return self._consumers[name] > 0 or name == self._returns

    def completed(self, name: str, value: Any) -> None:
        """``name`` produced ``value``: keep it if needed (it resolves with ``resolve``)."""
        self.resolved += 1
        if self._consumers[name] > 0 or name == self._returns:  # self.needed(name)
            self.results[name] = outcome.Value(value) if is_outcome(value) else value

    def complete(self, name: str, value: Any) -> Sequence[tuple[str, str]]:
        """``completed(name, value)`` then ``resolve(name, ok=True)``, in one call."""
        self.resolved += 1
        if self._consumers[name] > 0 or name == self._returns:  # self.needed(name)
            self.results[name] = outcome.Value(value) if is_outcome(value) else value
        if self._blocked:
            return self.resolve(name, ok=True)
        waiting = self._waiting
        for dependent in self._dependents[name]:  # resolve's common case, inlined
            left = waiting[dependent] - 1
            waiting[dependent] = left
            if left == 0:
                heapq.heappush(self.ready, (self.index[dependent], dependent, 1))
        return _NONE_SKIPPED

    def failed_as_outcome(self, name: str, error: BaseException) -> None:
        """``name`` failed, and its failure is an outcome some step takes: record it."""
        self.resolved += 1
        if self._consumers[name] > 0:
            self.results[name] = outcome.Error(error)

    def skip(self, name: str, because: str | None) -> None:
        """``name`` will not run (a false guard, or ``because`` did not succeed)."""
        self.resolved += 1
        if because is not None:
            self.release_inputs_of(name)
        if self.needed(name):
            self.results[name] = outcome.Error(StepSkippedError(name, because))

    def resolve(self, name: str, *, ok: bool) -> Sequence[tuple[str, str]]:
        """``name`` is resolved: count down its dependents and make the ready ones ready.

        Returns:
            The dependents skipped as a consequence (name, the step they needed), in the
            order they were skipped; they are already resolved here.
        """
        waiting = self._waiting
        blocked = self._blocked
        dependents = self._dependents
        if ok and not blocked:  # the common case: nothing can be skipped
            for dependent in dependents[name]:
                left = waiting[dependent] - 1
                waiting[dependent] = left
                if left == 0:
                    heapq.heappush(self.ready, (self.index[dependent], dependent, 1))
            return _NONE_SKIPPED
        outcome_deps = self._outcome_deps
        skipped: list[tuple[str, str]] = []
        work = [(name, ok)]
        while work:
            name, ok = work.pop()
            for dependent in dependents[name]:
                if not ok and name not in outcome_deps[dependent]:
                    blocked.setdefault(dependent, name)
                left = waiting[dependent] - 1
                waiting[dependent] = left
                if left == 0:
                    because = blocked.get(dependent)
                    if because is None:
                        self.push(dependent, 1)
                    else:
                        self.skip(dependent, because)
                        skipped.append((dependent, because))
                        work.append((dependent, False))
        return skipped

    @property
    def done(self) -> bool:
        """Whether every step is resolved."""
        return self.resolved == len(self.plan.steps)
