"""The registry: unique names for live actors, owned by one actor system.

A name belongs to one live incarnation at a time. It is released when that incarnation
exits, so a supervisor restarting the child under the same name hands the name to the new
incarnation and ``system.tell(name, msg)`` reaches whichever incarnation is alive.
"""

from __future__ import annotations

from ._checks import check_instance
from ._errors import NameTakenError
from ._ref import ActorRef

__all__ = ["Registry"]


def check_name(name: object) -> None:
    """Raise TypeError unless ``name`` is a non-empty string."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"actor names are non-empty strings; got {name!r}")


class Registry:
    """Names to live actor refs. No process-global state: each system has its own."""

    def __init__(self) -> None:
        self._names: dict[str, ActorRef] = {}

    def register(self, name: str, ref: ActorRef) -> None:
        """Bind ``name`` to ``ref``.

        Raises:
            TypeError: if ``name`` is not a non-empty string, or ``ref`` not an ``ActorRef``.
            NameTakenError: if a live actor holds the name.
        """
        check_name(name)
        check_instance(ref, ActorRef, "ref", hint=f" to register as {name!r}")
        holder = self._names.get(name)
        if holder is not None and holder.is_alive:
            raise NameTakenError(name, holder)
        self._names[name] = ref

    def unregister(self, name: str, ref: ActorRef) -> None:
        """Release ``name`` if ``ref`` holds it (a newer holder keeps it)."""
        if self._names.get(name) is ref:
            del self._names[name]

    def whereis(self, name: str) -> ActorRef | None:
        """Return the live actor registered as ``name``, or None."""
        ref = self._names.get(name)
        if ref is None or not ref.is_alive:
            return None
        return ref

    def names(self) -> list[str]:
        """Return the names of every live registered actor, sorted."""
        return sorted(n for n, r in self._names.items() if r.is_alive)

    def __len__(self) -> int:
        return len(self.names())
