"""Function children: a plain ``async def`` run as a long-lived supervised child.

The function runs inside an internal actor that owns a nursery; the actor lives exactly as
long as the function: returning ends it with ``Normal``, raising ends it with ``Crashed(exc)``,
and a shutdown cancels the function. A function that takes a ``task_status`` parameter is
started with ``nursery.start`` (trio's protocol), so it counts as started only once it calls
``task_status.started()``, which orders its start before its later siblings.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

import trio

from arborist.actors import Actor, Crashed
from arborist.actors._escapes import being_cancelled

__all__ = ["FunctionActor", "function_actor_class"]


class FunctionActor(Actor):
    """Runs one async function for its whole life (internal; see ``ChildSpec``)."""

    owns_nursery = True
    function: ClassVar[Callable[..., Awaitable[Any]]]
    takes_task_status: ClassVar[bool] = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._args = args
        self._kwargs = kwargs

    def on_start(self) -> Awaitable[None] | None:
        """Start the function in the actor's nursery (waiting for ``started()`` if it asks).

        Synchronous unless it waits: a plain function child's start makes no coroutine (W6).
        """
        if type(self).takes_task_status:
            return self.nursery.start(self._run_started)
        self.nursery.start_soon(self._run)
        return None

    async def _run(self) -> None:
        try:
            await type(self).function(*self._args, **self._kwargs)
        except Exception as exc:
            if being_cancelled():
                raise  # raised while the actor is killed: the nursery sorts it out, as always
            # The crash ends the actor as a stop would, with the same Crashed(exc) reason the
            # nursery would give; handing it over directly skips wrapping it in an exception
            # group and sorting that out again (half of a function child's restart, W6).
            self.stop(Crashed(exc))
        except trio.Cancelled as exc:
            if being_cancelled():
                raise
            # Raised again by hand when nothing is cancelled: trio would swallow it as a
            # cancellation of this actor's nursery, so end the actor with it as a crash.
            self.stop(Crashed(exc))
        else:
            self.stop()

    async def _run_started(
        self, task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED
    ) -> None:
        status = _Status(task_status)
        try:
            await type(self).function(*self._args, task_status=status, **self._kwargs)
        except Exception as exc:
            if not status.called or being_cancelled():
                raise  # a failed start (ActorStartError), or raised while killed: as always
            self.stop(Crashed(exc))
        except trio.Cancelled as exc:
            if being_cancelled():
                raise
            if not status.called:  # the start fails, with the Cancelled as its cause
                raise RuntimeError(
                    f"{type(self).__name__} raised trio.Cancelled before task_status.started() "
                    "while nothing was being cancelled"
                ) from exc
            self.stop(Crashed(exc))
        else:
            self.stop()


def _takes_task_status(fn: Callable[..., Any]) -> bool:
    try:
        return "task_status" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def function_actor_class(fn: Callable[..., Awaitable[Any]]) -> type[FunctionActor]:
    """A new actor class that runs ``fn``, named after it (refs read ``<ActorRef fetch#3 ...>``)."""
    name = getattr(fn, "__name__", None) or type(fn).__name__
    return type(
        name,
        (FunctionActor,),
        {
            "function": staticmethod(fn),
            "takes_task_status": _takes_task_status(fn),
            "__module__": getattr(fn, "__module__", __name__),
            "__qualname__": getattr(fn, "__qualname__", name),
        },
    )


class _Status:
    """Passes ``started()`` on to trio's task status, and remembers that it was called."""

    __slots__ = ("_status", "called")

    def __init__(self, status: trio.TaskStatus[Any]) -> None:
        self._status = status
        self.called = False

    def started(self, value: Any = None) -> None:
        """Report the function started (trio's ``task_status.started``)."""
        self.called = True
        self._status.started(value)
