"""Telemetry events of workflow runs, each stamped with trio's monotonic clock.

Subscribe with ``rt.subscribe(handler)``: the handler is called synchronously with each event
as it happens. Every event carries ``time`` (``trio.current_time()``) and, beside it,
``wall_time`` (``time.time()`` when the event was built, seconds since the epoch: for logs and
exporters; keyword-only and left out of equality); the ``*Finished`` and ``*Failed`` events
also carry a ``duration`` in seconds. A step's start, finish, failure and cancel name the
runtime executor its function ran on (``executor``, None: in this process). A child run's
``RunStarted``/``RunFinished`` name its parent run and step.
"""

from __future__ import annotations

import contextvars
import time as _time

import attrs

from ..executors._protocol import CancelResult

__all__ = [
    "EngineEvent",
    "MapBatchFinished",
    "PoolLimitChanged",
    "RemoteCallCancelled",
    "RunFinished",
    "RunStarted",
    "StepAgain",
    "StepCancelled",
    "StepCompensated",
    "StepFailed",
    "StepFinished",
    "StepRetried",
    "StepSkipped",
    "StepStarted",
    "StepUndoFailed",
    "StepUndone",
]


@attrs.frozen
class RunStarted:
    """A workflow run was accepted and its coordinator started.

    ``parent_run_id`` and ``parent_step`` name the run and step that started a child run
    (None for a top-level run). ``caller_context`` is a copy of the ``contextvars`` context
    of the task that called ``rt.start`` (or ``ctx.run``), taken only when someone subscribes:
    exporters read the caller's trace context from it (``ctx.run(get_current)``).
    """

    run_id: str
    workflow: str
    time: float
    parent_run_id: str | None = None
    parent_step: str | None = None
    caller_context: contextvars.Context | None = attrs.field(default=None, eq=False, repr=False)
    wall_time: float = attrs.field(factory=_time.time, kw_only=True, eq=False)


@attrs.frozen
class RunFinished:
    """A run ended; ``ok`` says whether it produced its result (else ``error`` says why).

    ``parent_run_id`` names the parent run of a child run (None for a top-level run).
    """

    run_id: str
    workflow: str
    time: float
    duration: float
    ok: bool
    error: BaseException | None = None
    parent_run_id: str | None = None
    wall_time: float = attrs.field(factory=_time.time, kw_only=True, eq=False)


@attrs.frozen
class StepStarted:
    """An attempt of a step was dispatched (``attempt`` counts from 1).

    ``pool`` is the named pool bounding the attempt (the step's, else the run's; None: none).
    """

    run_id: str
    workflow: str
    step: str
    attempt: int
    time: float
    executor: str | None = None
    pool: str | None = None
    wall_time: float = attrs.field(factory=_time.time, kw_only=True, eq=False)


@attrs.frozen
class StepFinished:
    """An attempt of a step returned a value.

    ``pool_wait`` is the part of ``duration`` spent waiting for pool slots.
    """

    run_id: str
    workflow: str
    step: str
    attempt: int
    time: float
    duration: float
    executor: str | None = None
    pool_wait: float = 0.0
    wall_time: float = attrs.field(factory=_time.time, kw_only=True, eq=False)


@attrs.frozen
class StepFailed:
    """An attempt of a step raised; ``final`` is False when a retry follows.

    ``pool_wait`` is the part of ``duration`` spent waiting for pool slots.
    """

    run_id: str
    workflow: str
    step: str
    attempt: int
    time: float
    duration: float
    error: BaseException
    final: bool
    executor: str | None = None
    pool_wait: float = 0.0
    wall_time: float = attrs.field(factory=_time.time, kw_only=True, eq=False)


@attrs.frozen
class StepRetried:
    """A failed step will run again as attempt ``attempt`` after ``delay`` seconds."""

    run_id: str
    workflow: str
    step: str
    attempt: int
    time: float
    delay: float
    wall_time: float = attrs.field(factory=_time.time, kw_only=True, eq=False)


@attrs.frozen
class StepCancelled:
    """An attempt in flight was cancelled because the run failed or was cancelled."""

    run_id: str
    workflow: str
    step: str
    attempt: int
    time: float
    duration: float
    executor: str | None = None
    wall_time: float = attrs.field(factory=_time.time, kw_only=True, eq=False)


@attrs.frozen
class RemoteCallCancelled:
    """A remote attempt was cancelled (its timeout, fail fast, a cancelled run): what it did.

    ``cancel`` is what the engine really did (``CancelResult``): ``NOT_STARTED`` (dropped
    from its queue), ``KILLED`` (Ray), ``ALREADY_DONE`` (it had returned), or ``ABANDONED``:
    a running function the engine cannot stop (Dask, threads, processes) runs to its end and
    its result is discarded. An abandoned call kept the attempt's pool slot (and, for a map
    element, its ``batch_size`` place) for ``waited`` seconds, until the engine reported it
    gone (``gone`` True) or the runtime's ``shutdown_timeout`` passed (``gone`` False: it may
    still be running, and is no longer counted); ``gone`` is None when nothing was waited for
    (not abandoned, or the engine cannot report it).

    Attributes:
        run_id: the run.
        workflow: the workflow's name.
        step: the step (a map step for an element).
        attempt: the attempt of the step, or of the element when ``element`` is set.
        time: when the wait ended (trio's clock).
        executor: the runtime's name of the executor.
        label: the engine's name of the call (a Dask key, a Ray task name).
        cancel: what ``cancel()`` did.
        gone: whether an abandoned call was reported ended in time (see above).
        waited: seconds spent waiting for it to end.
        element: the element's index in the map's source, or None for a plain step.
    """

    run_id: str
    workflow: str
    step: str
    attempt: int
    time: float
    executor: str
    label: str
    cancel: CancelResult
    gone: bool | None
    waited: float
    element: int | None = None
    wall_time: float = attrs.field(factory=_time.time, kw_only=True, eq=False)


@attrs.frozen
class StepSkipped:
    """A step did not run: its ``when`` guard said no, or a step it needs did not succeed.

    ``because`` names that step (None when the step's own guard said no).
    """

    run_id: str
    workflow: str
    step: str
    time: float
    because: str | None
    wall_time: float = attrs.field(factory=_time.time, kw_only=True, eq=False)


@attrs.frozen
class StepAgain:
    """A step returned ``Again``: it runs again after ``delay`` seconds (``count`` so far)."""

    run_id: str
    workflow: str
    step: str
    time: float
    count: int
    delay: float
    wall_time: float = attrs.field(factory=_time.time, kw_only=True, eq=False)


@attrs.frozen
class StepUndone:
    """A completed step was rolled back by its undo function after the run failed."""

    run_id: str
    workflow: str
    step: str
    time: float
    duration: float
    wall_time: float = attrs.field(factory=_time.time, kw_only=True, eq=False)


@attrs.frozen
class StepUndoFailed:
    """A step's undo function failed (after its retries); the rollback went on."""

    run_id: str
    workflow: str
    step: str
    time: float
    error: BaseException
    wall_time: float = attrs.field(factory=_time.time, kw_only=True, eq=False)


@attrs.frozen
class PoolLimitChanged:
    """An adaptive pool changed its limit from ``old`` to ``new`` slots.

    ``reason`` is ``"growth"`` (the pool was saturated and the service kept its latency),
    ``"latency"`` (the service's latency rose past the pool's tolerance: it is queueing) or
    ``"error"`` (a step attempt holding a slot raised).
    """

    pool: str
    old: int
    new: int
    time: float
    reason: str
    wall_time: float = attrs.field(factory=_time.time, kw_only=True, eq=False)


@attrs.frozen
class StepCompensated:
    """A step's ``@compensate`` function decided about an attempt's error.

    ``decision`` is ``"continue"`` (``ContinueWith``: the step completes with its value),
    ``"retry"`` (``RetryStep``) or ``"fail"`` (anything else, or the function raised);
    ``duration`` is the time the function took, ending at ``time``.
    """

    run_id: str
    workflow: str
    step: str
    attempt: int
    time: float
    duration: float
    decision: str
    error: BaseException
    wall_time: float = attrs.field(factory=_time.time, kw_only=True, eq=False)


@attrs.frozen
class MapBatchFinished:
    """A batch of a map step's elements ended: ``count`` elements from index ``first``.

    Batches are consecutive runs of ``batch_size`` elements in source order (the last may be
    shorter); one ends when its last element ended, ``failed`` of them with an error.
    ``duration`` runs from its first element's start to ``time``.
    """

    run_id: str
    workflow: str
    step: str
    attempt: int
    time: float
    duration: float
    first: int
    count: int
    failed: int
    wall_time: float = attrs.field(factory=_time.time, kw_only=True, eq=False)


EngineEvent = (
    RunStarted
    | RunFinished
    | StepStarted
    | StepFinished
    | StepFailed
    | StepRetried
    | StepCancelled
    | StepSkipped
    | StepAgain
    | StepUndone
    | StepUndoFailed
    | PoolLimitChanged
    | RemoteCallCancelled
    | StepCompensated
    | MapBatchFinished
)
"""Any event of workflow runs, their steps and pools."""
