"""The workflow engine and the runtime: workflows, runs, pools and events.

Semantics, in one place:

- A ``Workflow`` is a graph of named steps. A parameter named like an input or a step receives
  that value; ``args={...}`` with ``input()``, ``result()``, ``value()`` or ``outcome()``
  overrides it; ``wait_for=[...]`` orders without passing a value; a ``ctx`` parameter gets the
  ``StepContext``. Every definition and input error is raised before any step runs.
- A run is a coordinator actor supervising one task actor per step attempt. A step starts as
  soon as its arguments exist, under the run's ``max_concurrency`` and any named pools
  (``rt.pool(name, limit)``); ``concurrent=False`` runs one step at a time in the plan's
  topological order; ``def`` steps run on worker threads; ``inline=True`` steps run inside the
  coordinator.
- A step's ``Retry`` re-runs it with backoff (no slot held while waiting) and ``timeout``
  bounds each attempt. The first final failure cancels the steps in flight and raises one
  ``WorkflowFailedError`` naming the step, with its error as ``__cause__``.
- A result is dropped as soon as every step that takes it has started, unless it is returned.
- Every run and step transition is an event for ``rt.subscribe(handler)``.
"""

from .engine._adaptive import Adaptive
from .engine._map_run import MapElementError, MapStatistics, case
from .engine._context import StepContext
from .workflow._control import Again, ContinueWith, Halt, RetryStep
from .engine._coordinator import DEFAULT_COMPENSATE_ATTEMPTS
from .embed._host import AsyncioRuntime, BackgroundRuntime, open_asyncio_runtime
from .workflow._errors import WorkflowDefinitionError, WorkflowInputError
from .engine._events import (
    PoolLimitChanged,
    RunEvent,
    RunFinished,
    RunStarted,
    ScheduleEnded,
    ScheduleEvent,
    ScheduleMissed,
    ScheduleRunCancelled,
    ScheduleRunFailed,
    ScheduleRunFinished,
    ScheduleRunStarted,
    ScheduleRunTimedOut,
    ScheduleSkipped,
    ScheduleTick,
    StepAgain,
    StepCancelled,
    StepFailed,
    StepFinished,
    StepRetried,
    StepSkipped,
    StepStarted,
    StepUndoFailed,
    StepUndone,
)
from .workflow._planner import Plan, plan
from .engine._pools import Pool, PoolStatistics
from .workflow._retry import Retry
from .engine._handle import RunHandle, StepRecord
from .engine._errors import (
    AgainLimitError,
    StepSkippedError,
    StepTimeoutError,
    WorkflowCancelledError,
    WorkflowCrashedError,
    WorkflowFailedError,
    WorkflowHaltedError,
)
from ._runtime import RUN_OPTIONS, Runtime, RuntimeClosedError, RuntimeShutdownReport
from .engine._saga import MAX_UNDO_ATTEMPTS, HaltedRun, UndoEntry, UndoRetryLimitError
from .schedules._options import (
    CatchUp,
    CatchUpPlan,
    MissedTick,
    MissReason,
    Overlap,
    ScheduleOptions,
    jitter_delay,
    plan_catch_up,
)
from .schedules._manager import (
    RunOutcome,
    ScheduleError,
    ScheduleExistsError,
    ScheduleHandle,
    ScheduleInfo,
    ScheduleManager,
    ScheduleNotFoundError,
)
from .engine._timeline import render_timeline
from .schedules._triggers import At, Cron, Interval, Trigger, at, cron, every
from .schedules._wallclock import ManualWallClock, SystemWallClock, TrioWallClock, WallClock
from .workflow._wiring import InputRef, OutcomeRef, ResultRef, ValueRef, input, outcome, result, value
from .workflow._workflow import DEFAULT_MAX_AGAIN, Step, Workflow

__all__ = [
    "DEFAULT_COMPENSATE_ATTEMPTS",
    "DEFAULT_MAX_AGAIN",
    "MAX_UNDO_ATTEMPTS",
    "RUN_OPTIONS",
    "Adaptive",
    "Again",
    "AgainLimitError",
    "AsyncioRuntime",
    "At",
    "BackgroundRuntime",
    "CatchUp",
    "CatchUpPlan",
    "ContinueWith",
    "Cron",
    "Halt",
    "HaltedRun",
    "InputRef",
    "Interval",
    "ManualWallClock",
    "MapElementError",
    "MapStatistics",
    "MissReason",
    "MissedTick",
    "OutcomeRef",
    "Overlap",
    "Plan",
    "Pool",
    "PoolLimitChanged",
    "PoolStatistics",
    "ResultRef",
    "Retry",
    "RetryStep",
    "RunEvent",
    "RunFinished",
    "RunHandle",
    "RunOutcome",
    "RunStarted",
    "Runtime",
    "RuntimeClosedError",
    "RuntimeShutdownReport",
    "ScheduleEnded",
    "ScheduleError",
    "ScheduleEvent",
    "ScheduleExistsError",
    "ScheduleHandle",
    "ScheduleInfo",
    "ScheduleManager",
    "ScheduleMissed",
    "ScheduleNotFoundError",
    "ScheduleOptions",
    "ScheduleRunCancelled",
    "ScheduleRunFailed",
    "ScheduleRunFinished",
    "ScheduleRunStarted",
    "ScheduleRunTimedOut",
    "ScheduleSkipped",
    "ScheduleTick",
    "Step",
    "StepAgain",
    "StepCancelled",
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
    "SystemWallClock",
    "Trigger",
    "TrioWallClock",
    "UndoEntry",
    "UndoRetryLimitError",
    "ValueRef",
    "WallClock",
    "Workflow",
    "WorkflowCancelledError",
    "WorkflowCrashedError",
    "WorkflowDefinitionError",
    "WorkflowFailedError",
    "WorkflowHaltedError",
    "WorkflowInputError",
    "at",
    "case",
    "cron",
    "every",
    "input",
    "jitter_delay",
    "open_asyncio_runtime",
    "outcome",
    "plan",
    "plan_catch_up",
    "render_timeline",
    "result",
    "value",
]
