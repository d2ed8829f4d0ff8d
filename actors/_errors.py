"""Errors raised by the actor kernel; each carries the ref it is about."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._reasons import ExitReason
    from ._ref import ActorRef

__all__ = [
    "ActorDeadError",
    "ActorDiedError",
    "ActorError",
    "ActorStartError",
    "AskTimeoutError",
    "MailboxFullError",
    "NameTakenError",
]


class ActorError(Exception):
    """Base class of every error the actor kernel raises."""


class ActorDeadError(ActorError):
    """The target actor is not alive (or is stopping), so the message cannot be delivered.

    Attributes:
        ref: the dead actor.
        reason: its exit reason, or None while it is still stopping.
    """

    def __init__(self, ref: ActorRef, reason: ExitReason | None) -> None:
        self.ref = ref
        self.reason = reason
        state = f"is dead ({reason})" if reason is not None else "is stopping"
        super().__init__(f"{ref!r} {state}; nothing was delivered")


class ActorDiedError(ActorDeadError):
    """The actor died before it replied to an ``ask``; the cause is chained when it crashed."""

    def __init__(self, ref: ActorRef, reason: ExitReason | None) -> None:
        super().__init__(ref, reason)
        if reason is None:
            self.args = (f"{ref!r} is stopping and takes no new requests",)
        else:
            self.args = (f"{ref!r} died before replying ({reason})",)


class ActorStartError(ActorError):
    """An actor failed to start: its constructor or ``on_start`` raised (the cause is chained).

    Attributes:
        actor: a description of the actor that failed (class name and name if any).
    """

    def __init__(self, actor: str, cause: BaseException) -> None:
        self.actor = actor
        super().__init__(f"actor {actor} failed to start: {type(cause).__name__}: {cause}")


class MailboxFullError(ActorError):
    """``tell`` found the bounded mailbox full. Use ``await ref.send(msg)`` to wait for room.

    Attributes:
        ref: the actor whose mailbox is full.
        capacity: the mailbox's capacity.
    """

    def __init__(self, ref: ActorRef, capacity: int) -> None:
        self.ref = ref
        self.capacity = capacity
        super().__init__(
            f"mailbox of {ref!r} is full ({capacity} messages); "
            "use `await ref.send(msg)` to wait for room, or raise mailbox_size"
        )


class AskTimeoutError(ActorError, TimeoutError):
    """No reply arrived within the ``ask`` timeout. The callee is unharmed; a late reply is dropped.

    Attributes:
        ref: the actor asked.
        message: the message that was sent.
        timeout: the timeout in seconds.
    """

    def __init__(self, ref: ActorRef, message: Any, timeout: float) -> None:
        self.ref = ref
        self.message = message
        self.timeout = timeout
        super().__init__(f"{ref!r} did not reply to {message!r} within {timeout} s")


class NameTakenError(ActorError, ValueError):
    """The name is already registered to a live actor.

    Attributes:
        name: the name asked for.
        holder: the actor that holds it.
    """

    def __init__(self, name: str, holder: ActorRef) -> None:
        self.name = name
        self.holder = holder
        super().__init__(
            f"actor name {name!r} is already taken by {holder!r}; "
            "choose another name or stop the holder first"
        )
