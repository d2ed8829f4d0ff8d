"""Function children: a plain ``async def`` run as a long-lived supervised child.

The function runs in its actor's own task, in place of the message loop (no nursery, no second
task: half of a restart's cost, W6). The actor lives exactly as long as the function:
returning ends it with ``Normal``, raising ends it with ``Crashed(exc)``, a kill or a
cancellation from outside cancels it. A function that takes a ``task_status`` parameter counts
as started only once it calls ``task_status.started()`` (trio's protocol), which orders its
start before its later siblings; one that does not counts as started at once.

What reaches the mailbox is handled as by any actor without ``on_receive``: anything put
(a message, an ask, a ``stop()`` marker) or a stop request (a shutdown) interrupts the
function (its cancel scope is cancelled), then the message loop handles what is queued
(a message or an ask crashes the actor with the ``TypeError`` of ``Actor.on_receive``; a stop
marker ends it ``Normal``; a shutdown ends it ``Shutdown``). Before a ``task_status``
function has started, nothing interrupts it (as an actor's ``on_start`` is not).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ClassVar

import trio

from arborist.actors import Actor, Crashed, ExitReason, Normal
from arborist.actors._escapes import being_cancelled
from arborist.actors._mailbox import NotifyingMailbox

if TYPE_CHECKING:
    from arborist.actors._cell import Cell

__all__ = ["FunctionActor", "function_actor_class"]


class _FunctionMailbox(NotifyingMailbox):
    """A function child's mailbox: a put or a wake-up calls ``interrupt`` (once, when set)."""

    __slots__ = ("interrupt",)

    def __init__(self, capacity: int | None) -> None:
        super().__init__(capacity)
        self.interrupt: Callable[[], object] | None = None

    def _notify(self) -> None:
        interrupt = self.interrupt
        if interrupt is not None:
            self.interrupt = None
            interrupt()


class FunctionActor(Actor):
    """Runs one async function for its whole life (internal; see ``ChildSpec``)."""

    function: ClassVar[Callable[..., Awaitable[Any]]]
    takes_task_status: ClassVar[bool] = False
    _mailbox_type = _FunctionMailbox
    _runs_in_task = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._args = args
        self._kwargs = kwargs

    async def _run_in_task(self, cell: Cell) -> ExitReason:
        """Run the function in the cell's task; return the exit reason (hooks run)."""
        scope = trio.CancelScope()
        mailbox: _FunctionMailbox = cell.mailbox  # type: ignore[assignment]

        def started() -> None:  # the actor counts as started: the ref goes to the spawner
            cell.hand_over()
            mailbox.interrupt = scope.cancel
            if mailbox._queue or cell.stop_reason is not None:
                scope.cancel()  # put (or asked to stop) before it started

        function = type(self).function
        status = _Status(started) if type(self).takes_task_status else None
        if status is None:
            started()
        try:
            with scope:
                if status is None:
                    # One scheduler round first, as when the function was a task of its own:
                    # the spawner runs with the ref before the function's first step.
                    await trio.lowlevel.checkpoint()
                    await function(*self._args, **self._kwargs)
                else:
                    await function(*self._args, task_status=status, **self._kwargs)
        except BaseException as exc:
            if status is not None and not status.called:
                return _start_failed(cell, exc)
            if not scope.cancel_called or being_cancelled():
                return await _crashed(cell, exc)
        else:
            if status is not None and not status.called:
                name = type(self).__name__
                error = RuntimeError(f"{name} returned without calling task_status.started()")
                cell.start_error = error
                return Crashed(error)
            if not scope.cancel_called:
                return await cell._stop_hooks(Normal())
        finally:
            mailbox.interrupt = None
        # Interrupted (something was put, or a stop was requested): the loop handles it, and
        # what the function raised on its way out is dropped, as for a cancelled task.
        return await cell._stop_hooks(await cell._loop())


def _start_failed(cell: Cell, exc: BaseException) -> ExitReason:
    """The function raised ``exc`` before it called ``task_status.started()``: a failed start."""
    if isinstance(exc, trio.Cancelled):
        if being_cancelled():
            raise exc  # killed while starting: the cell reports it
        error = RuntimeError(
            f"{cell.describe()} raised trio.Cancelled before task_status.started() while "
            "nothing was being cancelled"
        )
        error.__cause__ = exc
        cell.start_error = error
        return Crashed(error)
    if isinstance(exc, Exception):
        cell.start_error = exc
        return Crashed(exc)
    return cell._start_crashed(exc)  # an interrupt, GeneratorExit, a user's BaseException


async def _crashed(cell: Cell, exc: BaseException) -> ExitReason:
    """The started function raised ``exc`` (not because it was interrupted)."""
    if isinstance(exc, trio.Cancelled):
        if being_cancelled():
            raise exc  # a kill, or a cancellation from outside
        return await cell._stop_hooks(Crashed(exc))  # raised by hand when nothing is cancelled
    if isinstance(exc, Exception):
        if being_cancelled():  # raised while killed: the actor ends with it, no hooks
            cell.kill_reason = Crashed(exc)
            await trio.lowlevel.checkpoint()  # raises the cancellation again
        return await cell._stop_hooks(Crashed(exc))
    return await cell._stop_hooks(cell._crash_or_raise(exc))


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
    """The function's ``task_status``: ``started()`` starts the actor, once."""

    __slots__ = ("_started", "called")

    def __init__(self, started: Callable[[], None]) -> None:
        self._started = started
        self.called = False

    def started(self, value: Any = None) -> None:
        """Report the function started (trio's ``task_status.started``; the value is unused)."""
        if self.called:
            raise RuntimeError("called 'started' twice on the same task status")
        self.called = True
        self._started()
