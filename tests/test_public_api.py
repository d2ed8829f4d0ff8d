"""The public API is pinned: each (sub)package's sorted ``__all__``, every name real and documented.

When a change adds or removes a public name on purpose, update the list here in the same commit.
"""

import ast
import importlib
import importlib.metadata
import inspect
import itertools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

ACTORS = [
    "Actor",
    "ActorDeadError",
    "ActorDiedError",
    "ActorError",
    "ActorProxy",
    "ActorRef",
    "ActorStartError",
    "ActorSystem",
    "Agent",
    "AgentRef",
    "AskTimeoutError",
    "Crashed",
    "DEFAULT_ASK_TIMEOUT",
    "Down",
    "Exit",
    "ExitReason",
    "Killed",
    "MailboxFullError",
    "Monitor",
    "NameTakenError",
    "Normal",
    "Registry",
    "Shutdown",
    "ThreadActor",
    "TimerHandle",
    "is_abnormal",
    "open_actor_system",
    "spawn_agent",
]

SUPERVISION = [
    "AutoShutdown",
    "BRUTAL",
    "Backoff",
    "ChildCounts",
    "ChildExistsError",
    "ChildExited",
    "ChildInfo",
    "ChildNotFoundError",
    "ChildRestarted",
    "ChildSpec",
    "ChildStartError",
    "ChildStarted",
    "ChildState",
    "ChildStateError",
    "DEFAULT_TASK_SHUTDOWN",
    "DynamicSupervisor",
    "DynamicSupervisorRef",
    "DynamicSupervisorSpec",
    "INFINITY",
    "Job",
    "JobState",
    "Kind",
    "MaxChildrenError",
    "NodeSnapshot",
    "Restart",
    "ShutdownReport",
    "SpecFactory",
    "Strategy",
    "Supervisor",
    "SupervisorError",
    "SupervisorEvent",
    "SupervisorGaveUp",
    "SupervisorGaveUpError",
    "SupervisorLike",
    "SupervisorRef",
    "SupervisorSpec",
    "TaskCancelled",
    "TaskCancelledError",
    "TaskEvent",
    "TaskFailed",
    "TaskFinished",
    "TaskHandle",
    "TaskStarted",
    "TaskSupervisor",
    "TaskSupervisorClosedError",
    "TaskSupervisorStatistics",
    "TaskTimeoutError",
    "TooManyChildrenError",
    "TreeSnapshot",
    "open_task_supervisor",
    "start_dynamic_supervisor",
    "start_supervisor",
]

RUNTIME = [
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
    "DEFAULT_COMPENSATE_ATTEMPTS",
    "DEFAULT_MAX_AGAIN",
    "DurableJob",
    "Halt",
    "HaltedRun",
    "InputRef",
    "Interval",
    "JobContext",
    "JobRecoveryReport",
    "MAX_JOB_ATTEMPTS",
    "MAX_UNDO_ATTEMPTS",
    "ManualWallClock",
    "MapBatchFinished",
    "MapElementError",
    "MapStatistics",
    "MissReason",
    "MissedTick",
    "ON_RESUME",
    "OutcomeRef",
    "Overlap",
    "Plan",
    "Pool",
    "PoolLimitChanged",
    "PoolStatistics",
    "RUN_OPTIONS",
    "RecoveryReport",
    "RemoteCallCancelled",
    "ResultRef",
    "Retry",
    "RetryStep",
    "RunEvent",
    "RunFinished",
    "RunHandle",
    "RunNeedsAttention",
    "RunNeedsAttentionError",
    "RunNotFoundError",
    "RunOutcome",
    "RunOwnedElsewhereError",
    "RunRecovered",
    "RunStarted",
    "RunSuspendedError",
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
    "ScheduleRunInterrupted",
    "ScheduleRunStarted",
    "ScheduleRunTimedOut",
    "ScheduleSkipped",
    "ScheduleTable",
    "ScheduleTick",
    "Step",
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
    "current_job",
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

RUNTIME_WORKFLOW = [
    "Again",
    "CONTEXT_PARAM",
    "ContinueWith",
    "DEFAULT_MAX_AGAIN",
    "Halt",
    "IncludeSpec",
    "InputRef",
    "MapSpec",
    "MapStatistics",
    "ON_RESUME",
    "OutcomeRef",
    "Plan",
    "ResultRef",
    "Retry",
    "RetryStep",
    "Step",
    "ValueRef",
    "Workflow",
    "WorkflowDefinitionError",
    "WorkflowInputError",
    "case",
    "input",
    "is_async_callable",
    "outcome",
    "plan",
    "result",
    "value",
]

RUNTIME_ENGINE = [
    "Adaptive",
    "AgainLimitError",
    "ChildOf",
    "Coordinator",
    "DEFAULT_COMPENSATE_ATTEMPTS",
    "DurableEvent",
    "EngineEvent",
    "HaltedRun",
    "MAX_UNDO_ATTEMPTS",
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

RUNTIME_SCHEDULES = [
    "At",
    "CatchUp",
    "CatchUpPlan",
    "Cron",
    "Interval",
    "ManualWallClock",
    "MissReason",
    "MissedTick",
    "Overlap",
    "RunOutcome",
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
    "ScheduleRunInterrupted",
    "ScheduleRunStarted",
    "ScheduleRunTimedOut",
    "ScheduleSkipped",
    "ScheduleTable",
    "ScheduleTick",
    "SystemWallClock",
    "Trigger",
    "TrioWallClock",
    "WallClock",
    "at",
    "cron",
    "every",
    "jitter_delay",
    "plan_catch_up",
]

RUNTIME_EMBED = [
    "AsyncioRunHandle",
    "AsyncioRuntime",
    "BackgroundRuntime",
    "Host",
    "RuntimeFactory",
    "ThreadRunHandle",
    "open_guest_runtime",
]

RUNTIME_CLI = [
    "main",
]

RUNTIME_EXECUTORS = [
    "CancelResult",
    "DASK_OPTIONS",
    "DaskExecutor",
    "EngineMissingError",
    "Executor",
    "ExecutorClosedError",
    "ExecutorOptionError",
    "NotSendableError",
    "ProcessExecutor",
    "RAY_DEFAULTS",
    "RayExecutor",
    "RemoteCall",
    "RemoteCallPendingError",
    "RemoteCancelledError",
    "RemoteStepInfo",
    "SubmitItem",
    "ThreadExecutor",
    "check_sendable",
    "wait_gone",
    "wait_remote",
]

RUNTIME_STORE = [
    "ACTIVE_RUN_STATUSES",
    "AttemptRow",
    "AttemptStatus",
    "Codec",
    "CommitQueue",
    "CreatedRun",
    "DEFAULT_LEASE",
    "DEFAULT_MAX_RESULT_BYTES",
    "DEFAULT_WARN_RESULT_BYTES",
    "DecodeError",
    "Durability",
    "EncodeError",
    "Encoded",
    "FencedOutError",
    "JobCall",
    "JobRow",
    "JobStatus",
    "JsonCodec",
    "LargeResultWarning",
    "LeaseLostError",
    "MIGRATIONS",
    "Migration",
    "NotClaimableError",
    "NotFoundError",
    "OwnerInfo",
    "PickleCodec",
    "PostgresStore",
    "Receipt",
    "RecordedError",
    "ResultTooLargeError",
    "RunInfo",
    "RunJournal",
    "RunRecorder",
    "RunStatus",
    "SCHEMA_VERSION",
    "SQLiteStore",
    "ScheduleInfo",
    "SchemaVersionError",
    "Store",
    "StoreClosedError",
    "StoreError",
    "StoreStatistics",
    "TERMINAL_RUN_STATUSES",
    "TickOutcome",
    "TickRow",
    "UndoRow",
    "UndoStatus",
    "callable_ref",
    "open_store",
    "resolve_callable",
    "store_from_url",
    "uuid7",
    "uuid7_time",
]

RUNTIME_TELEMETRY = [
    "DEFAULT_METRICS_PORT",
    "DEFAULT_REFRESH_INTERVAL",
    "EventClock",
    "Metrics",
    "Tracing",
    "instrument",
    "open_metrics_server",
]

RUNTIME_DASHBOARD = [
    "DEFAULT_DASHBOARD_PORT",
    "DEFAULT_HEARTBEAT",
    "DEFAULT_INTERVAL",
    "Dashboard",
    "DashboardState",
    "dashboard_app",
    "is_loopback",
    "open_dashboard",
]

PINNED = {
    "arborist.actors": ACTORS,
    "arborist.supervision": SUPERVISION,
    "arborist.runtime": RUNTIME,
    "arborist.runtime.workflow": RUNTIME_WORKFLOW,
    "arborist.runtime.engine": RUNTIME_ENGINE,
    "arborist.runtime.schedules": RUNTIME_SCHEDULES,
    "arborist.runtime.embed": RUNTIME_EMBED,
    "arborist.runtime.cli": RUNTIME_CLI,
    "arborist.runtime.executors": RUNTIME_EXECUTORS,
    "arborist.runtime.store": RUNTIME_STORE,
    "arborist.runtime.telemetry": RUNTIME_TELEMETRY,
    "arborist.runtime.dashboard": RUNTIME_DASHBOARD,
}

FOLDERS = {
    "arborist.actors": "actors",
    "arborist.supervision": "supervision",
    "arborist.runtime": "runtime",
    "arborist.runtime.workflow": "runtime/workflow",
    "arborist.runtime.engine": "runtime/engine",
    "arborist.runtime.schedules": "runtime/schedules",
    "arborist.runtime.embed": "runtime/embed",
    "arborist.runtime.cli": "runtime/cli",
    "arborist.runtime.executors": "runtime/executors",
    "arborist.runtime.store": "runtime/store",
    "arborist.runtime.telemetry": "runtime/telemetry",
    "arborist.runtime.dashboard": "runtime/dashboard",
}


def documented_constants(folder: str) -> set[str]:
    """Module-level names assigned in ``folder`` and followed by a docstring."""
    found: set[str] = set()
    for path in (ROOT / folder).rglob("*.py"):
        body = ast.parse(path.read_text()).body
        for statement, following in itertools.pairwise(body):
            if isinstance(statement, ast.Assign):
                targets = statement.targets
            elif isinstance(statement, ast.AnnAssign):
                targets = [statement.target]
            else:
                continue
            is_docstring = (
                isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
                and following.value.value.strip()
            )
            if is_docstring:
                found.update(t.id for t in targets if isinstance(t, ast.Name))
    return found


@pytest.mark.parametrize("package", sorted(PINNED))
def test_the_public_names_of_each_subpackage_are_pinned(package):
    assert sorted(importlib.import_module(package).__all__) == PINNED[package]


@pytest.mark.parametrize("package", sorted(FOLDERS))
def test_all_lists_each_public_name_once_and_every_name_exists(package):
    module = importlib.import_module(package)

    assert len(set(module.__all__)) == len(module.__all__)
    assert [name for name in module.__all__ if not hasattr(module, name)] == []


@pytest.mark.parametrize("package", sorted(FOLDERS))
def test_every_public_name_has_a_docstring(package):
    module = importlib.import_module(package)
    constants = documented_constants(FOLDERS[package])
    undocumented = []
    for name in module.__all__:
        value = getattr(module, name)
        if inspect.isclass(value) or inspect.isroutine(value):
            doc = value.__dict__.get("__doc__") if inspect.isclass(value) else value.__doc__
            if not (doc and doc.strip()):
                undocumented.append(name)
        elif name not in constants:
            undocumented.append(name)

    assert undocumented == []


@pytest.mark.parametrize("package", sorted(FOLDERS))
def test_each_subpackage_states_its_semantics_in_its_docstring(package):
    doc = importlib.import_module(package).__doc__

    assert doc
    assert len(doc.strip().splitlines()) > 3


@pytest.mark.parametrize("package", ["arborist.actors", "arborist.supervision", "arborist.runtime"])
def test_each_package_tells_the_installed_version(package):
    assert importlib.import_module(package).__version__ == importlib.metadata.version("arborist")
