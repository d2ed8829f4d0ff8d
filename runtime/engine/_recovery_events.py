"""Events of durable runs coming back: a run recovered from its journal, or parked."""

from __future__ import annotations

import attrs

__all__ = ["DurableEvent", "RunNeedsAttention", "RunRecovered"]


@attrs.frozen
class RunRecovered:
    """A durable run was rebuilt from its journal and started again in this runtime.

    ``recovery_attempts`` counts how many times the run has been claimed from a dead owner.
    """

    run_id: str
    workflow: str
    time: float
    recovery_attempts: int


@attrs.frozen
class RunNeedsAttention:
    """A durable run was not resumed and waits for an operator; ``reason`` says why.

    Its workflow is not registered, changed since the run started, a stored value no longer
    decodes, or it keeps crashing its process. ``rt.resume(run_id)`` retries it.
    """

    run_id: str
    workflow: str
    time: float
    reason: str


DurableEvent = RunRecovered | RunNeedsAttention
"""The events of durable runs coming back."""
