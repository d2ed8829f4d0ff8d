"""Supervision trees: supervisors, restart strategies, dynamic and task supervisors.

OTP semantics with Elixir's defaults, in one place:

- A child spec (``ChildSpec``) names what to start (an ``Actor`` subclass, a ``ThreadActor``,
  an ``async def`` run as a long-lived child, or a nested ``SupervisorSpec``), its restart type
  (permanent by default), its shutdown (5 s for workers, ``INFINITY`` for supervisors,
  ``BRUTAL`` to kill at once) and optionally a registered ``name`` every incarnation takes.
- Children start one after another in spec order, each once its ``on_start`` returned; a child
  that fails to start fails the supervisor's start (``ChildStartError`` naming it, cause
  chained) after the started ones are stopped. Stop is in reverse start order.
- Permanent children are always restarted, transient ones after ``Crashed``/``Killed`` only,
  temporary ones never. ``ONE_FOR_ONE`` restarts the child, ``ONE_FOR_ALL`` every child,
  ``REST_FOR_ONE`` the child and those started after it: siblings stop in reverse start order
  and everyone starts again in start order.
- More than ``max_restarts`` (3) restarts within ``max_seconds`` (5) and the supervisor stops
  every child and ends with ``Crashed(SupervisorGaveUpError)``: its parent sees a crash.
- ``DynamicSupervisor``: children added at run time (``max_children``, ``get_or_start``).
  ``TaskSupervisor``: fire-and-forget jobs and awaitable tasks.

Deliberate differences from OTP:

- A supervisor that gives up ends ``Crashed(SupervisorGaveUpError)`` rather than OTP's
  ``shutdown``, so the escalation restarts it even when it is a *transient* child, and the
  error names the supervisor, the child and the last reason.
- ``auto_shutdown`` ends the supervisor ``Normal`` (OTP: ``shutdown``); both mean "not
  abnormal", so a transient parent does not restart it.
- Times are floats on trio's clock (OTP: whole seconds and milliseconds). A restart exactly
  ``max_seconds`` after an earlier one still counts it, as OTP's ``>=`` threshold; later no.
- Optional ``Backoff`` between an exit and the restart (OTP restarts at once). The restart is
  counted when decided; meanwhile the affected children are ``restarting``.
- A child that fails to start during a restart is retried through the supervisor's mailbox,
  each retry a counted restart, as OTP's ``try_again_restart``; so it ends in a give-up
  rather than a loop.
- Events (``ChildStarted``, ``ChildExited``, ``ChildRestarted``, ``SupervisorGaveUp``) go to
  subscribers of the supervisor and of every supervisor above it, instead of SASL reports.

BaseExceptions follow the kernel's policy (``arborist.actors``): a ``KeyboardInterrupt`` or
``SystemExit`` in any child or job stops the whole actor system (nothing is restarted after
it; ``open_actor_system`` or ``open_task_supervisor`` raises it bare once the tree is down in
order); any other ``BaseException`` that is not a real cancellation is a crash of that child,
restarted as any crash, or a failure of that job. A task that failed so is never re-raised
into its awaiters as such: ``await handle`` raises ``RuntimeError`` with it as ``__cause__``.

Memory is flat in the number of children and jobs that ended: supervisors forget temporary
and dynamic children that exited for good, keep one record per static child spec, count
ended jobs instead of keeping them, and hold a failed task nobody awaited only weakly.
"""

from arborist.actors._version import __version__ as __version__

from ._backoff import Backoff
from ._child_events import (
    ChildExited,
    ChildRestarted,
    ChildStarted,
    SupervisorEvent,
    SupervisorGaveUp,
)
from ._dynamic import (
    DynamicSupervisor,
    DynamicSupervisorRef,
    DynamicSupervisorSpec,
    SpecFactory,
    start_dynamic_supervisor,
)
from ._errors import (
    ChildExistsError,
    ChildNotFoundError,
    ChildStartError,
    ChildStateError,
    SupervisorError,
    SupervisorGaveUpError,
    TooManyChildrenError,
)
from ._snapshot import ChildCounts, ChildInfo, ChildState, NodeSnapshot, TreeSnapshot
from ._spec import (
    BRUTAL,
    INFINITY,
    AutoShutdown,
    ChildSpec,
    Kind,
    Restart,
    Strategy,
    SupervisorLike,
)
from ._supervisor import Supervisor, SupervisorRef, SupervisorSpec, start_supervisor
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
from ._task_open import open_task_supervisor
from ._tasks import DEFAULT_TASK_SHUTDOWN, TaskSupervisor

__all__: list[str] = [
    "BRUTAL",
    "DEFAULT_TASK_SHUTDOWN",
    "INFINITY",
    "AutoShutdown",
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
    "DynamicSupervisor",
    "DynamicSupervisorRef",
    "DynamicSupervisorSpec",
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
