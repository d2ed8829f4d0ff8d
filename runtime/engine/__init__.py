"""The run engine: how one workflow run executes, from its first ready step to its result.

Holds the coordinator (one actor per run: readiness, dispatch, retries, fail-fast, rollback),
the step runner (one task actor per attempt: pools, timeouts, worker threads, compensation),
remote attempts (a step or map element on one of the runtime's executors),
the step context, composite steps (map windows, included workflows), sagas (undo logs,
rollback, halted-run state), concurrency pools (fixed and adaptive), run handles and step
records, run errors, run/step/pool events, text timelines and Chrome trace export; and, for a
durable run, the coordinator's journal writer (``_journal``) and the rebuilding of a run from
its journal (``_replay``).

It may import ``arborist.runtime.workflow`` (the plans it executes), the store, the executors
(the protocol it submits to), ``arborist.actors`` and ``arborist.supervision``; never
``Runtime``: a run reaches its host only through ``RunServices`` (events, pools, threads,
child runs, jobs, executors, the store).
"""

from ._adaptive import Adaptive
from ._context import StepContext
from ._coordinator import Coordinator
from ._durable_errors import (
    RunNeedsAttentionError,
    RunNotFoundError,
    RunOwnedElsewhereError,
    RunSuspendedError,
    StepInterruptedError,
)
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
from ._recovery_events import DurableEvent, RunNeedsAttention, RunRecovered
from ._saga import MAX_UNDO_ATTEMPTS, HaltedRun, UndoEntry, UndoRetryLimitError
from ._services import ChildOf, RunServices, StartChildRun
from ._step_runner import DEFAULT_COMPENSATE_ATTEMPTS
from ._timeline import render_timeline
from ._trace import chrome_trace

__all__ = [
    "DEFAULT_COMPENSATE_ATTEMPTS",
    "MAX_UNDO_ATTEMPTS",
    "Adaptive",
    "AgainLimitError",
    "ChildOf",
    "Coordinator",
    "DurableEvent",
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
    "RunNeedsAttention",
    "RunNeedsAttentionError",
    "RunNotFoundError",
    "RunOwnedElsewhereError",
    "RunRecovered",
    "RunServices",
    "RunStarted",
    "RunSuspendedError",
    "RuntimeClosedError",
    "StartChildRun",
    "StepAgain",
    "StepCancelled",
    "StepCompensated",
    "StepContext",
    "StepFailed",
    "StepFinished",
    "StepInterruptedError",
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
