"""Telemetry events of workflow runs, each stamped with trio's monotonic clock.

Subscribe with ``rt.subscribe(handler)``: the handler is called synchronously with each event
as it happens. Every event carries ``time`` (``trio.current_time()``); the ``*Finished`` and
``*Failed`` events also carry a ``duration`` in seconds. A step's start, finish, failure and
cancel name the runtime executor its function ran on (``executor``, None: in this process).
"""

from __future__ import annotations

import attrs

from ..executors._protocol import CancelResult

__all__ = [
    "EngineEvent",
    "PoolLimitChanged",
    "RemoteCallCancelled",
    "RunFinished",
    "RunStarted",
    "StepAgain",
    "StepCancelled",
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
    """A workflow run was accepted and its coordinator started."""

    run_id: str
    workflow: str
    time: float


@attrs.frozen
class RunFinished:
    """A run ended; ``ok`` says whether it produced its result (else ``error`` says why)."""

    run_id: str
    workflow: str
    time: float
    duration: float
    ok: bool
    error: BaseException | None = None


@attrs.frozen
class StepStarted:
    """An attempt of a step was dispatched (``attempt`` counts from 1)."""

    run_id: str
    workflow: str
    step: str
    attempt: int
    time: float
    executor: str | None = None


@attrs.frozen
class StepFinished:
    """An attempt of a step returned a value."""

    run_id: str
    workflow: str
    step: str
    attempt: int
    time: float
    duration: float
    executor: str | None = None


@attrs.frozen
class StepFailed:
    """An attempt of a step raised; ``final`` is False when a retry follows."""

    run_id: str
    workflow: str
    step: str
    attempt: int
    time: float
    duration: float
    error: BaseException
    final: bool
    executor: str | None = None


@attrs.frozen
class StepRetried:
    """A failed step will run again as attempt ``attempt`` after ``delay`` seconds."""

    run_id: str
    workflow: str
    step: str
    attempt: int
    time: float
    delay: float


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


@attrs.frozen
class StepAgain:
    """A step returned ``Again``: it runs again after ``delay`` seconds (``count`` so far)."""

    run_id: str
    workflow: str
    step: str
    time: float
    count: int
    delay: float


@attrs.frozen
class StepUndone:
    """A completed step was rolled back by its undo function after the run failed."""

    run_id: str
    workflow: str
    step: str
    time: float
    duration: float


@attrs.frozen
class StepUndoFailed:
    """A step's undo function failed (after its retries); the rollback went on."""

    run_id: str
    workflow: str
    step: str
    time: float
    error: BaseException


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
)
"""Any event of workflow runs, their steps and pools."""
