"""Escapes: how the kernel sorts a ``BaseException`` that escapes user code in an actor or a job.

Actor loops catch ``Exception`` as crashes; whatever else escapes a handler, a hook, an actor's
own nursery, a thread actor's thread or a task-supervisor job is sorted here, at the point where
the kernel catches it, into one of three kinds (the policy users read is stated once, in the
``arborist.actors`` package docstring):

1. An *interrupt* (``KeyboardInterrupt``, ``SystemExit``) stops the whole actor system: the
   actor or job ends with it as its failure, and ``ActorSystem._interrupt`` shuts the system
   down and has ``open_actor_system`` raise the original object.
2. A *cancellation*, a ``trio.Cancelled`` seen while the task really is being cancelled, keeps
   propagating, as trio requires.
3. Anything else (``GeneratorExit``, a user's ``BaseException`` subclass, a ``trio.Cancelled``
   raised when nothing is being cancelled, such as a stale one re-raised by hand) is a crash of
   that actor or job only.
"""

from __future__ import annotations

import math
from typing import Final

import trio

__all__ = [
    "INTERRUPTS",
    "Escape",
    "being_cancelled",
    "cancelled_from_inside",
    "find_interrupt",
    "first_leaf",
    "sort_escape",
]

INTERRUPTS: Final = (KeyboardInterrupt, SystemExit)
"""The exceptions that stop the whole actor system when they escape an actor or a job."""


def being_cancelled() -> bool:
    """Whether the current task is being cancelled, so a ``trio.Cancelled`` it sees is real.

    A real ``Cancelled`` is raised only at a checkpoint inside a cancelled scope, and it can
    only escape that scope's ``with`` block if a scope further out is cancelled too, so where
    the kernel catches it the task's effective deadline is minus infinity.
    """
    return trio.current_effective_deadline() == -math.inf


def cancelled_from_inside(actor: str) -> RuntimeError:
    """The crash of ``actor`` (described) whose own nursery ended cancelled from inside.

    Trio turns a ``trio.Cancelled`` raised by a task of a nursery into a cancellation of that
    nursery (and swallows it), so the original cannot be reported: the actor crashes with an
    error that says what happened.
    """
    return RuntimeError(
        f"the own nursery of {actor} was cancelled from inside: a task in it raised "
        "trio.Cancelled while nothing was being cancelled, or its cancel scope was cancelled; "
        "end an actor with self.stop()"
    )


def first_leaf(exc: BaseException) -> BaseException:
    """Return ``exc``, or the first non-group exception inside it if it is a group."""
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return exc


def find_interrupt(exc: BaseException) -> BaseException | None:
    """The first ``KeyboardInterrupt`` or ``SystemExit`` in ``exc`` (itself or a leaf), or None."""
    if isinstance(exc, INTERRUPTS):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        interrupts = exc.subgroup(INTERRUPTS)
        if interrupts is not None:
            return first_leaf(interrupts)
    return None


class Escape:
    """One escaped exception, sorted: at most one interrupt, a cancellation part, a crash part.

    Attributes:
        interrupt: the first ``KeyboardInterrupt`` or ``SystemExit`` in it (the original
            object), or None.
        cancellation: the part to re-raise (real cancellations), or None.
        crash: what is left (an exception or a group of them), or None.
    """

    __slots__ = ("cancellation", "crash", "interrupt")

    def __init__(
        self,
        interrupt: BaseException | None,
        cancellation: BaseException | None,
        crash: BaseException | None,
    ) -> None:
        self.interrupt = interrupt
        self.cancellation = cancellation
        self.crash = crash

    @property
    def failure(self) -> BaseException | None:
        """What ends the actor or job: the interrupt, else the crash (None: only cancelled)."""
        return self.interrupt if self.interrupt is not None else self.crash


def sort_escape(exc: BaseException) -> Escape:
    """Sort an exception that escaped user code (call it where it was caught, in that task)."""
    if not isinstance(exc, BaseExceptionGroup):
        if isinstance(exc, INTERRUPTS):
            return Escape(exc, None, None)
        if isinstance(exc, trio.Cancelled) and being_cancelled():
            return Escape(None, exc, None)
        return Escape(None, None, exc)
    interrupts, rest = exc.split(INTERRUPTS)
    interrupt = first_leaf(interrupts) if interrupts is not None else None
    cancellation: BaseException | None = None
    if rest is not None and being_cancelled():
        cancellation, rest = rest.split(trio.Cancelled)
    return Escape(interrupt, cancellation, rest)
