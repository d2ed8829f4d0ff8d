"""``open_task_supervisor``: a task supervisor for the duration of an ``async with`` block."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio

from arborist.actors import ActorSystem, open_actor_system

from ._task_checks import check_options
from ._tasks import DEFAULT_TASK_SHUTDOWN, TaskSupervisor

__all__ = ["open_task_supervisor"]


@asynccontextmanager
async def open_task_supervisor(
    system: ActorSystem | None = None,
    *,
    shutdown: float = DEFAULT_TASK_SHUTDOWN,
    max_children: int | None = None,
    name: str | None = None,
) -> AsyncIterator[TaskSupervisor]:
    """Run a ``TaskSupervisor`` for the duration of the block.

    It is spawned as an actor of ``system`` (or of an actor system opened for it). When the
    block ends normally, running jobs get ``shutdown`` seconds to finish and the rest are
    cancelled; when it ends with an exception (or is cancelled) they are cancelled at once,
    as a trio nursery does. ``supervisor.report`` then holds the ``ShutdownReport``.

    Args:
        system: the actor system to spawn in (default: a new one, closed with the block).
        shutdown: seconds running jobs get to finish when the block ends.
        max_children: refuse new jobs while this many run (None: no limit).
        name: register the supervisor's actor under this name.

    Raises:
        ValueError: a bad ``shutdown`` or ``max_children``.

    Example:
        >>> async with open_task_supervisor() as tasks:  # doctest: +SKIP
        ...     tasks.start_child(send_slack_notification, "Hey! We got an event!")
    """
    check_options(shutdown, max_children)
    if system is None:
        # The actor system's nursery wraps what the block raises in a group: unwrap it, so the
        # caller sees its own exception, as with any other context manager.
        raised: BaseException | None = None
        try:
            async with (
                open_actor_system(shutdown_timeout=max(shutdown, 5.0)) as own,
                open_task_supervisor(
                    own, shutdown=shutdown, max_children=max_children, name=name
                ) as supervisor,
            ):
                try:
                    yield supervisor
                except BaseException as exc:
                    raised = exc
                    raise
        except BaseExceptionGroup as group:
            if raised is None or list(group.exceptions) != [raised]:
                raise
        else:
            return
        raise raised
    ref = await system.spawn(
        TaskSupervisor, name=name, shutdown=shutdown, max_children=max_children
    )
    supervisor = TaskSupervisor.from_ref(ref)
    failed = True
    try:
        yield supervisor
        failed = False
    finally:
        with trio.CancelScope(shield=True):
            await supervisor.aclose(shutdown=0 if failed else None)
