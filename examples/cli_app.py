"""An application for the ``arborist`` command line: a workflow to run, an app to serve.

From the repository's root::

    arborist run examples/cli_app.py:checkout --input order_id=42 --input items='["book", "pen"]'
    arborist run examples/cli_app.py:checkout --input-json '{"order_id": 7, "items": []}'
    arborist serve examples/cli_app.py --tree       # the attribute defaults to `app`
    arborist tree examples/cli_app.py

The first run prints its progress and timeline on stderr and the receipt as JSON on stdout. The
second fails at ``reserve`` (nothing to reserve): the run stops, ``load_order`` and ``price``
completed, and the command exits with status 1. ``serve`` starts the inventory actor and runs
until Ctrl-C or SIGTERM. ``main()`` below does what ``arborist run`` does, in-process.

Expected output::

    {'order': 42, 'customer': 'customer-42', 'total': 7.5, 'status': 'paid'}
    checkout: 150ms, 4 steps, 4 attempts
    step          start     took  tries  status     |0ms                      150ms|
    load_order      0ms     50ms      1  ok         |██████████                    |
    price           0ms     80ms      1  ok         |████████████████              |
    reserve         0ms    100ms      1  ok         |████████████████████          |
    charge        100ms     50ms      1  ok         |                    ██████████|
    █ ok
    failed at 'reserve': ValueError: order 7 has nothing to reserve
"""

from __future__ import annotations

import trio

from arborist.actors import Actor
from arborist.runtime import Runtime, Workflow, WorkflowFailedError

PRICES = {"book": 6.0, "pen": 1.5}

checkout = Workflow("checkout", inputs=["order_id", "items"])


@checkout.step
async def load_order(order_id: int) -> dict[str, object]:
    await trio.sleep(0.05)  # the database
    return {"order": order_id, "customer": f"customer-{order_id}"}


@checkout.step
async def reserve(order_id: int, items: list[str]) -> list[str]:
    await trio.sleep(0.1)  # the inventory service
    if not items:
        raise ValueError(f"order {order_id} has nothing to reserve")
    return items


@reserve.undo
async def release(reserved: list[str], arguments: dict[str, object]) -> None:
    await trio.sleep(0.01)  # give the items back


@checkout.step
async def price(items: list[str]) -> float:
    await trio.sleep(0.08)
    return sum(PRICES.get(item, 1.0) for item in items)


@checkout.step
async def charge(load_order: dict[str, object], reserve: list[str], price: float) -> dict:
    await trio.sleep(0.05)  # the payment provider
    return {**load_order, "total": price, "status": "paid"}


checkout.returns("charge")


class Inventory(Actor):
    """Stock levels: ``("take", item)`` returns what is left, ``"stock"`` a copy of them."""

    def __init__(self, stock: dict[str, int]) -> None:
        self.stock = dict(stock)

    def on_receive(self, message: object) -> object:
        match message:
            case ("take", str(item)):
                self.stock[item] -= 1
                return self.stock[item]
            case "stock":
                return dict(self.stock)
        raise ValueError(f"Inventory does not understand {message!r}")


async def app(rt: Runtime) -> None:
    """The application ``arborist serve`` sets up: an inventory actor and a database pool."""
    await rt.spawn(Inventory, {"book": 3, "pen": 10}, name="inventory")
    rt.pool("db", limit=5)


async def main() -> None:
    async with Runtime() as rt:
        handle = await rt.start(checkout, order_id=42, items=["book", "pen"])
        print(await handle.result())
        # the timeline's title names the run by its id (a UUIDv7): shown here without it
        print(handle.timeline(30).replace(f" {handle.run_id}", "", 1), end="")
        try:
            await rt.run(checkout, order_id=7, items=[])
        except WorkflowFailedError as error:
            print(f"failed at {error.step!r}: {type(error.cause).__name__}: {error.cause}")


if __name__ == "__main__":
    import trio.testing

    # The steps sleep to stand for services: trio's MockClock jumps over them.
    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
