"""Thread actors and adopted pykka actors under a supervisor: a crash on the thread is a crash.

Real threads: the real clock, waits guarded by ``trio.fail_after``, no timing asserts.
"""

import pykka
import pytest
import trio

from arborist.actors import ActorDiedError, Crashed, ThreadActor, open_actor_system
from arborist.supervision import (
    ChildExited,
    ChildRestarted,
    ChildSpec,
    SupervisorSpec,
    start_supervisor,
)


class Worker(ThreadActor):
    def __init__(self) -> None:
        self.count = 0

    def on_receive(self, message: object) -> int:
        if message == "boom":
            raise ValueError("boom on the thread")
        self.count += 1
        return self.count


class LegacyCounter(pykka.ThreadingActor):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def on_receive(self, message: object) -> int:
        if message == "boom":
            raise KeyError("legacy boom")
        self.count += 1
        return self.count


async def _crash_and_wait_for_restart(sup, child_id: str, events: list) -> None:
    restarted = trio.Event()
    sup.subscribe(
        lambda e: restarted.set() if isinstance(e, ChildRestarted) and e.id == child_id else None
    )
    ref = next(c.ref for c in await sup.which_children() if c.id == child_id)
    assert await ref.ask(1) == 1
    with pytest.raises(ActorDiedError):
        await ref.ask("boom")
    with trio.fail_after(5):
        await restarted.wait()


async def test_a_thread_actor_crashing_on_its_thread_is_restarted_by_its_supervisor():
    events: list = []
    async with open_actor_system() as system:
        sup = await start_supervisor(system, SupervisorSpec([ChildSpec("worker", Worker)]))
        sup.subscribe(events.append)
        await _crash_and_wait_for_restart(sup, "worker", events)
        exits = [e for e in events if isinstance(e, ChildExited) and e.id == "worker"]
        assert isinstance(exits[0].reason, Crashed)
        assert isinstance(exits[0].reason.exc, ValueError)
        fresh = next(c.ref for c in await sup.which_children() if c.id == "worker")
        assert await fresh.ask(1) == 1  # a fresh incarnation: fresh state


async def test_an_adopted_pykka_actor_crashing_is_restarted_by_its_supervisor():
    events: list = []
    spec = SupervisorSpec([ChildSpec("legacy", ThreadActor.adopt(LegacyCounter))])
    async with open_actor_system() as system:
        sup = await start_supervisor(system, spec)
        sup.subscribe(events.append)
        await _crash_and_wait_for_restart(sup, "legacy", events)
        exits = [e for e in events if isinstance(e, ChildExited) and e.id == "legacy"]
        assert isinstance(exits[0].reason, Crashed)
        assert isinstance(exits[0].reason.exc, KeyError)
