"""The runtime's supervision tree: its shape, the schedule manager's task, graceful shutdown.

``Runtime`` opens an actor system and starts this root under it::

    arborist.runtime  one_for_one supervisor
    ├── jobs          task supervisor: fire-and-forget jobs (rt.fire_and_forget)
    ├── actors        dynamic supervisor: actors started with rt.spawn
    ├── schedules     dynamic supervisor: one scheduler actor per schedule
    └── runs          dynamic supervisor: one coordinator per workflow run (temporary)

Shutting down, in order: schedules stop (no new ticks; their runs get the grace time), the
``schedules`` and ``actors`` children are terminated (as OTP's terminate_child: not restarted),
runs in flight get the grace time and are then cancelled (they roll back; a durable run is
suspended instead: left unfinished in its store, to resume when a runtime opens it again), and
last the job supervisor gives its jobs its own shutdown time and cuts the rest.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

import attrs
import trio

from arborist.actors import ActorError
from arborist.actors._logging import get_logger
from arborist.supervision import (
    ChildNotFoundError,
    ChildRestarted,
    ChildSpec,
    ChildStateError,
    DynamicSupervisorRef,
    DynamicSupervisorSpec,
    ShutdownReport,
    Strategy,
    SupervisorRef,
    SupervisorSpec,
    TaskSupervisor,
)

from .engine._errors import RuntimeClosedError

if TYPE_CHECKING:
    from arborist.actors import ActorSystem

    from .engine._handle import RunHandle
    from .schedules._manager import ScheduleManager

__all__ = [
    "ACTORS",
    "JOBS",
    "ROOT",
    "RUNS",
    "SCHEDULES",
    "RuntimeClosedError",
    "RuntimeShutdownReport",
    "ScheduleHost",
    "root_spec",
    "shut_down",
]

logger = get_logger("arborist.runtime")

ROOT = "arborist.runtime"
JOBS = "arborist.jobs"
ACTORS = "arborist.actors"
SCHEDULES = "arborist.schedules"
RUNS = "arborist.runs"


@attrs.frozen
class RuntimeShutdownReport:
    """What a runtime's shutdown did.

    Attributes:
        runs_finished: runs in flight at shutdown that finished within the grace time.
        runs_cancelled: runs cut: cancelled (and rolled back) after the grace time.
        jobs: the job supervisor's report (completed, failed, cancelled jobs), if it ran.
        duration: seconds the shutdown took, on trio's clock.
        runs_suspended: durable runs cut after the grace time: not rolled back, left
            unfinished in the store (their steps in flight run again when they resume).
    """

    runs_finished: tuple[str, ...]
    runs_cancelled: tuple[str, ...]
    jobs: ShutdownReport | None
    duration: float
    runs_suspended: tuple[str, ...] = ()

    def __str__(self) -> str:
        jobs = self.jobs
        cut_jobs = len(jobs.cut) if jobs is not None else 0
        suspended = f", {len(self.runs_suspended)} suspended" if self.runs_suspended else ""
        return (
            f"{len(self.runs_finished)} runs finished, {len(self.runs_cancelled)} cancelled "
            f"({', '.join(self.runs_cancelled) or 'none'}){suspended}; {cut_jobs} jobs cut; "
            f"{self.duration:.3f} s"
        )


def root_spec(grace: float) -> SupervisorSpec:
    """The root's spec; ``grace`` is the job supervisor's shutdown time for its jobs."""
    return SupervisorSpec(
        [
            ChildSpec(
                "jobs",
                TaskSupervisor,
                kwargs={"shutdown": grace},
                shutdown=grace + 1.0,
                name=JOBS,
            ),
            ChildSpec("actors", DynamicSupervisorSpec(), name=ACTORS),
            ChildSpec("schedules", DynamicSupervisorSpec(), name=SCHEDULES),
            ChildSpec("runs", DynamicSupervisorSpec(), name=RUNS),
        ],
        strategy=Strategy.ONE_FOR_ONE,
    )


class ScheduleHost:
    """Runs the schedule manager in a task of its own and re-homes it when the root restarts."""

    def __init__(self, make: Callable[[], ScheduleManager]) -> None:
        self._make = make
        self.manager: ScheduleManager | None = None
        self._stop = trio.Event()
        self._done = trio.Event()
        self._closed = False

    async def run(self, task_status: trio.TaskStatus[None]) -> None:
        """The manager's task: open it, serve until ``stop``, close it."""
        try:
            async with self._make() as manager:
                self.manager = manager
                task_status.started()
                del task_status  # it keeps trio's start() nursery alive (see Cell.hand_over)
                await self._stop.wait()
        finally:
            self._done.set()

    def on_root_event(self, event: Any) -> None:
        """A restarted schedules supervisor starts empty: give it the live schedules again."""
        if (
            isinstance(event, ChildRestarted)
            and event.id == "schedules"
            and self.manager is not None
            and not self._closed
        ):
            self.manager.rehome(DynamicSupervisorRef(event.ref))

    async def stop(self) -> None:
        """Stop every schedule (their runs get the grace time) and wait for the task to end."""
        self._closed = True
        self._stop.set()
        if self.manager is not None:
            await self._done.wait()


async def _terminate(root: SupervisorRef, child: str) -> None:
    try:
        await root.terminate_child(child)
    except (ChildNotFoundError, ChildStateError):
        pass  # already stopped
    except ActorError:
        pass  # the root itself is gone (it gave up): its children ended with it


async def shut_down(
    root: SupervisorRef,
    system: ActorSystem,
    *,
    grace: float,
    stop_schedules: Callable[[], Awaitable[None]],
    live_runs: Iterable[RunHandle],
) -> RuntimeShutdownReport:
    """Shut the tree down gracefully, in the order of the module docstring; return the report."""
    started = trio.current_time()
    await stop_schedules()
    for child in ("schedules", "actors"):
        await _terminate(root, child)
    live = [handle for handle in live_runs if not handle.done]
    finished_in_time: list[str] = []
    with trio.move_on_after(grace):
        for handle in live:
            await handle._done.wait()
    suspended: list[str] = []
    for handle in live:
        if handle.done:
            finished_in_time.append(handle.run_id)
        elif handle._durable:
            suspended.append(handle.run_id)
            handle._suspend()
        else:
            handle.cancel()
    cut = [handle.run_id for handle in live if not handle.done and not handle._durable]
    with trio.move_on_after(max(grace, 1.0)):
        for handle in live:
            await handle._done.wait()
    jobs_ref = system.whereis(JOBS)
    jobs_report = None
    if jobs_ref is not None:
        # The grace time lets running jobs finish, then cuts them.
        jobs = TaskSupervisor.from_ref(jobs_ref)
        jobs.set_grace(grace)
        await _terminate(root, "jobs")
        jobs_report = jobs.report
    report = RuntimeShutdownReport(
        runs_finished=tuple(finished_in_time),
        runs_cancelled=tuple(cut),
        jobs=jobs_report,
        duration=trio.current_time() - started,
        runs_suspended=tuple(suspended),
    )
    if cut or (jobs_report is not None and jobs_report.cancelled):
        logger.warning("runtime shutdown cut work: %s", report)
    return report
