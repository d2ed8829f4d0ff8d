"""Shared test actors for the supervisor tests: workers that record starts and stops in a log."""

from __future__ import annotations

from typing import Any

import trio
import trio.testing

from arborist.actors import Actor, ActorRef, Crashed, ExitReason, Killed, Normal, Shutdown
from arborist.supervision import ChildSpec, Restart, SupervisorRef

Log = list[tuple[Any, ...]]


def reason_name(reason: ExitReason) -> str:
    match reason:
        case Normal():
            return "normal"
        case Shutdown():
            return "shutdown"
        case Crashed():
            return "crashed"
        case Killed():
            return "killed"
    raise AssertionError(reason)


class Worker(Actor):
    """Logs ("start", id, time) and ("stop", id, reason); obeys commands to exit or hang."""

    def __init__(self, child_id: str, log: Log, start_delay: float = 0.0) -> None:
        self.child_id = child_id
        self.log = log
        self.start_delay = start_delay

    async def on_start(self) -> None:
        if self.start_delay:
            await trio.sleep(self.start_delay)
        self.log.append(("start", self.child_id))

    def on_stop(self, reason: ExitReason) -> None:
        self.log.append(("stop", self.child_id, reason_name(reason)))

    async def on_receive(self, message: Any) -> Any:
        match message:
            case "crash":
                raise ValueError(f"{self.child_id} crashed")
            case "normal":
                self.stop()
            case "shutdown":
                self.stop(Shutdown())
            case ("hang", seconds):
                await trio.sleep(seconds)
            case _:
                return message
        return None


class FailingWorker(Worker):
    """A worker whose on_start raises."""

    async def on_start(self) -> None:
        self.log.append(("failing start", self.child_id))
        raise ValueError(f"{self.child_id} cannot start")


def worker(
    child_id: str, log: Log, restart: Restart = Restart.PERMANENT, **options: Any
) -> ChildSpec:
    return ChildSpec(child_id, Worker, (child_id, log), restart=restart, **options)


async def settle() -> None:
    await trio.testing.wait_all_tasks_blocked()


async def ref_of(sup: SupervisorRef, child_id: str) -> ActorRef:
    for info in await sup.which_children():
        if info.id == child_id:
            assert info.ref is not None, f"{child_id} is {info.state}"
            return info.ref
    raise AssertionError(f"no child {child_id}")


async def make_exit(ref: ActorRef, how: str) -> None:
    """End ``ref`` with reason ``how`` (normal, shutdown, crash or killed) and let things settle."""
    if how == "killed":
        ref.kill()
    else:
        ref.tell(how)
    await settle()
