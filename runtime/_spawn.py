"""The runtime's actors and tree: ``rt.spawn`` and ``rt.tree``.

``Runtime`` mixes them in: actors started under its ``actors`` supervisor, and a snapshot of
its whole supervision tree.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import attrs

from arborist.actors import Actor, ActorError, ActorRef
from arborist.actors._system import check_actor_class
from arborist.supervision import (
    INFINITY,
    ChildSpec,
    Restart,
    Strategy,
    SupervisorRef,
    SupervisorSpec,
)

from ._root import ACTORS, RuntimeClosedError

if TYPE_CHECKING:
    from collections.abc import Callable

    from arborist.actors import ActorSystem
    from arborist.supervision import DynamicSupervisorRef, TreeSnapshot

    from ._root import ScheduleHost

__all__ = ["Spawner"]


class Spawner:
    """The runtime's actors and tree (mixed into ``Runtime``; see ``spawn`` and ``tree``)."""

    _actor_ids: itertools.count[int]
    _dynamic: Callable[[str], DynamicSupervisorRef]
    _root: SupervisorRef
    _closed: bool
    _schedules: ScheduleHost

    if TYPE_CHECKING:

        @property
        def system(self) -> ActorSystem: ...  # the runtime's

    async def tree(self) -> TreeSnapshot:
        """A frozen snapshot of the runtime's whole supervision tree (``print`` it).

        It shows every schedule made before the call: a scheduler that is still starting is
        waited for.

        Raises:
            RuntimeClosedError: the runtime has shut down (its tree is gone).
        """
        self.system  # noqa: B018 - raises when the runtime was never opened
        manager = self._schedules.manager
        if manager is not None and not self._closed:
            await manager.started()
        try:
            return await self._root.tree()
        except ActorError as error:
            if self._closed:
                raise RuntimeClosedError("the runtime is closed; its tree is gone") from error
            raise

    async def spawn(
        self,
        actor_class: type[Actor],
        /,
        *args: Any,
        name: str | None = None,
        restart: Restart = Restart.PERMANENT,
        shutdown: float | None = None,
        **kwargs: Any,
    ) -> ActorRef:
        """Start an actor under the runtime's ``actors`` supervisor and return its ref.

        ``restart`` is its OTP restart type (permanent by default). A restarted actor is a new
        incarnation: reach it through ``name`` (``rt.system.tell(name, msg)``).

        Each restartable actor has a restart intensity of its own (3 restarts in 5 s, as
        OTP's default): it lives under a one-child supervisor, so an actor that crash-loops
        ends alone (its supervisor gives up: a ``SupervisorGaveUp`` event) and never takes the
        other actors with it.

        Raises:
            TypeError: ``actor_class`` is not an Actor subclass, or its arguments cannot fit
                its constructor.
            ValueError: a bad ``restart`` or ``shutdown``.
            ChildStartError: the actor failed to start.
        """
        check_actor_class(actor_class)
        child_id = name or f"{actor_class.__name__}-{next(self._actor_ids)}"
        spec = ChildSpec(
            child_id, actor_class, args=args, kwargs=kwargs, restart=restart, name=name
        )
        if shutdown is not None:
            spec = attrs.evolve(spec, shutdown=shutdown)
        actors = self._dynamic(ACTORS)
        if restart is Restart.TEMPORARY:
            return await actors.start_child(spec)
        alone = SupervisorSpec([spec], strategy=Strategy.ONE_FOR_ONE)
        own = await actors.start_child(
            ChildSpec(child_id, alone, restart=Restart.TEMPORARY, shutdown=INFINITY)
        )
        (child,) = await SupervisorRef(own).which_children()
        if child.ref is None:  # pragma: no cover - a child is running once its start returned
            raise RuntimeError(f"actor {child_id!r} ended while it was being started")
        return child.ref
