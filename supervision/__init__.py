"""Supervision trees: supervisors, restart strategies, dynamic and task supervisors."""

from ._task_jobs import (
    Job,
    JobState,
    MaxChildrenError,
    ShutdownReport,
    TaskCancelled,
    TaskCancelledError,
    TaskEvent,
    TaskFailed,
    TaskFinished,
    TaskHandle,
    TaskStarted,
    TaskSupervisorClosedError,
    TaskSupervisorStatistics,
    TaskTimeoutError,
)
from ._tasks import DEFAULT_TASK_SHUTDOWN, TaskSupervisor, open_task_supervisor

__all__: list[str] = [
    "DEFAULT_TASK_SHUTDOWN",
    "Job",
    "JobState",
    "MaxChildrenError",
    "ShutdownReport",
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
    "open_task_supervisor",
]
