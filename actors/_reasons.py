"""Exit reasons: the values that say why an actor ended.

An actor ends with exactly one reason. ``Normal`` and ``Shutdown`` are orderly; ``Crashed``
and ``Killed`` are abnormal. Supervisors, monitors and links read these values.
"""

from __future__ import annotations

import attrs

__all__ = ["Crashed", "ExitReason", "Killed", "Normal", "Shutdown", "is_abnormal"]


@attrs.frozen
class Normal:
    """The actor finished: it stopped itself, or ``await ref.stop()`` was processed."""

    def __str__(self) -> str:
        return "normal"


@attrs.frozen
class Shutdown:
    """The actor was told to shut down by its owner (a supervisor or the actor system)."""

    def __str__(self) -> str:
        return "shutdown"


@attrs.frozen
class Crashed:
    """An exception escaped one of the actor's handlers or hooks.

    Attributes:
        exc: the exception that ended the actor.
    """

    exc: BaseException

    def __str__(self) -> str:
        return f"crashed: {type(self.exc).__name__}: {self.exc}"


@attrs.frozen
class Killed:
    """The actor was cancelled without running ``on_stop`` (a kill, or a shutdown timeout)."""

    def __str__(self) -> str:
        return "killed"


ExitReason = Normal | Shutdown | Crashed | Killed
"""Any of the four exit reasons."""


def is_abnormal(reason: ExitReason) -> bool:
    """Return True for ``Crashed`` and ``Killed``, the reasons that propagate through links.

    Args:
        reason: an exit reason.

    Returns:
        Whether ``reason`` is neither ``Normal`` nor ``Shutdown``.
    """
    return isinstance(reason, Crashed | Killed)
