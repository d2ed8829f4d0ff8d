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

from arborist.actors import Actor

__all__ = ["FunctionActor", "function_actor_class"]


class FunctionActor(Actor):
    """Runs one async function for its whole life (internal; see ``ChildSpec``)."""

    owns_nursery = True
    function: ClassVar[Callable[..., Awaitable[Any]]]
    takes_task_status: ClassVar[bool] = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._args = args
        self._kwargs = kwargs

    async def on_start(self) -> None:
        """Start the function in the actor's nursery (waiting for ``started()`` if it asks)."""
        if type(self).takes_task_status:
            await self.nursery.start(self._run_started)
        else:
            self.nursery.start_soon(self._run)

    async def _run(self) -> None:
        await type(self).function(*self._args, **self._kwargs)
        self.stop()

    async def _run_started(
        self, task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED
    ) -> None:
        await type(self).function(*self._args, task_status=task_status, **self._kwargs)
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
