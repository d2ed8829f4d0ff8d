"""A typed program using arborist as a user would: `tests/test_typing.py` runs mypy on it."""

from __future__ import annotations

import trio

from arborist.actors import Actor, ActorRef, open_actor_system
from arborist.runtime import Retry, RunHandle, Runtime, Workflow, every, result
from arborist.supervision import Backoff, ChildSpec, SupervisorSpec, start_supervisor

wf = Workflow("orders", inputs=["order_id"])


@wf.step
async def load(order_id: int) -> dict[str, int]:
    return {"id": order_id, "total": 42}


@wf.step(retry=Retry(attempts=3, backoff=Backoff.exponential(0.1)), timeout=2.0)
def price(load: dict[str, int]) -> int:
    return load["total"] * 2


@wf.step(args={"total": result("load", "total")})
async def audit(total: int) -> None:
    print("audited", total)


wf.returns("price")


class Counter(Actor):
    def __init__(self) -> None:
        self.count = 0

    def on_receive(self, message: int) -> int:
        self.count += message
        return self.count


async def tick() -> None:
    print("tick")


async def main() -> None:
    async with Runtime(seed=1) as rt:
        value: int = await rt.run(wf, order_id=7)
        handle: RunHandle = await rt.start(wf, order_id=8)
        print(value, await handle.result(), handle.timeline(width=40))
        rt.schedule("tick", every(seconds=30), tick, max_runs=1)
        counter: ActorRef = await rt.spawn(Counter, name="counter")
        print(await counter.ask(1))
    async with open_actor_system() as system:
        sup = await start_supervisor(system, SupervisorSpec([ChildSpec("c", Counter)]))
        print(await sup.tree())


if __name__ == "__main__":
    trio.run(main)
