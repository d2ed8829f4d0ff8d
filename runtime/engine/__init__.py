"""The run engine: how one workflow run executes, from its first ready step to its result.

Holds the coordinator (one actor per run: readiness, dispatch, retries, fail-fast, rollback),
the step runner (one task actor per attempt: pools, timeouts, worker threads, compensation),
remote attempts (a step or map element on one of the runtime's executors),
the step context, composite steps (map windows, included workflows), sagas (undo logs,
rollback, halted-run state), concurrency pools (fixed and adaptive), run handles and step
records, run errors, run/step/pool events, text timelines and Chrome trace export.

It may import ``arborist.runtime.workflow`` (the plans it executes), ``arborist.runtime.executors``
(the protocol it submits to), ``arborist.actors`` and ``arborist.supervision``, and later the
store; never ``Runtime``: a run reaches its host only through ``RunServices`` (events, pools,
threads, child runs, jobs, executors).
"""

from ._adaptive import Adaptive
from ._context import StepContext
from ._coordinator import Coordinator
from ._errors import (
    AgainLimitError,
    MapElementError,
    RuntimeClosedError,
    StepSkippedError,
    StepTimeoutError,
    WorkflowCancelledError,
    WorkflowCrashedError,
    WorkflowFailedError,
    WorkflowHaltedError,
)
from ._events import (
    EngineEvent,
    MapBatchFinished,
    PoolLimitChanged,
    RemoteCallCancelled,
    RunFinished,
    RunStarted,
    StepAgain,
    StepCancelled,
    StepCompensated,
    StepFailed,
    StepFinished,
    StepRetried,
    StepSkipped,
    StepStarted,
    StepUndoFailed,
    StepUndone,
)
from ._handle import RunHandle, StepRecord
from ._pools import Pool, PoolStatistics
from ._saga import MAX_UNDO_ATTEMPTS, HaltedRun, UndoEntry, UndoRetryLimitError
from ._services import RunServices, StartChildRun
from ._step_runner import DEFAULT_COMPENSATE_ATTEMPTS
from ._timeline import render_timeline
from ._trace import chrome_trace

__all__ = [
    "DEFAULT_COMPENSATE_ATTEMPTS",
    "MAX_UNDO_ATTEMPTS",
    "Adaptive",
    "AgainLimitError",
    "Coordinator",
    "EngineEvent",
    "HaltedRun",
    "MapBatchFinished",
    "MapElementError",
    "Pool",
    "PoolLimitChanged",
    "PoolStatistics",
    "RemoteCallCancelled",
    "RunFinished",
    "RunHandle",
    "RunServices",
    "RunStarted",
    "RuntimeClosedError",
    "StartChildRun",
    "StepAgain",
    "StepCancelled",
    "StepCompensated",
    "StepContext",
    "StepFailed",
    "StepFinished",
    "StepRecord",
    "StepRetried",
    "StepSkipped",
    "StepSkippedError",
    "StepStarted",
    "StepTimeoutError",
    "StepUndoFailed",
    "StepUndone",
    "UndoEntry",
    "UndoRetryLimitError",
    "WorkflowCancelledError",
    "WorkflowCrashedError",
    "WorkflowFailedError",
    "WorkflowHaltedError",
    "chrome_trace",
    "render_timeline",
]
