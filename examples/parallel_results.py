"""Parallel steps with partial failures, and branching on their results (seed 002, Durable).

1. A dashboard fetches orders, metrics and notifications at once. Each is taken as an
   ``outcome()`` by ``build_dashboard`` (Durable's ``on_error: :complete_all`` with an
   ``into:``), so a fetch that fails arrives as ``outcome.Error`` and the dashboard is built
   from what there is: the run does not fail.

2. Order processing checks inventory and payment at once. ``route`` takes both outcomes and
   names the branch (Durable's ``{:goto, ...}``); each branch step is guarded with
   ``when=case(route=...)`` so exactly one runs and the others are skipped. ``result`` takes the
   branches as outcomes and reports the one that ran.

Expected output::

    dashboard (0.30 s): 2 orders, metrics {'visits': 31}, 1 notifications, errors: none
    dashboard (0.30 s): 0 orders, metrics {'visits': 31}, 1 notifications, errors: fetch_orders
    order 1: fulfilled (auth A-1, 3 in stock)
    order 2: needs payment retry (card declined)
    order 3: backordered
    order 4: failed at route: RuntimeError: order validation failed
"""

from typing import Any

import trio
from outcome import Error, Outcome, Value

from arborist.runtime import Runtime, Workflow, WorkflowFailedError, case, outcome

# -- 1. the dashboard ------------------------------------------------------------------------

dashboard = Workflow("dashboard_data", inputs=["user_id", "orders_up"])


@dashboard.step
async def fetch_orders(user_id: int, orders_up: bool) -> list[str]:
    await trio.sleep(0.2)
    if not orders_up:
        raise ConnectionError("orders service unavailable")
    return ["o-1", "o-2"]


@dashboard.step
async def fetch_metrics(user_id: int) -> dict[str, int]:
    await trio.sleep(0.3)
    return {"visits": 31}


@dashboard.step
async def fetch_notifications(user_id: int) -> list[str]:
    await trio.sleep(0.1)
    return ["welcome"]


@dashboard.step(
    args={
        "orders": outcome("fetch_orders"),
        "metrics": outcome("fetch_metrics"),
        "notifications": outcome("fetch_notifications"),
    }
)
def build_dashboard(orders: Outcome, metrics: Outcome, notifications: Outcome) -> dict[str, Any]:
    results = {
        "fetch_orders": orders,
        "fetch_metrics": metrics,
        "fetch_notifications": notifications,
    }
    return {
        "orders": orders.value if isinstance(orders, Value) else [],
        "metrics": metrics.value if isinstance(metrics, Value) else {},
        "notifications": notifications.value if isinstance(notifications, Value) else [],
        "errors": [name for name, result in results.items() if isinstance(result, Error)],
    }


dashboard.returns("build_dashboard")

# -- 2. order processing with branching --------------------------------------------------------

INVENTORY = {1: 3, 2: 5, 3: 0}
DECLINED = {2}

orders = Workflow("order_processing", inputs=["order_id"])


@orders.step
async def check_inventory(order_id: int) -> dict[str, Any]:
    await trio.sleep(0.1)
    if order_id not in INVENTORY:
        raise LookupError(f"unknown order {order_id}")
    return {"available": INVENTORY[order_id] > 0, "quantity": INVENTORY[order_id]}


@orders.step
async def check_payment(order_id: int) -> dict[str, Any]:
    await trio.sleep(0.2)
    if order_id in DECLINED:
        raise PermissionError("card declined")
    return {"authorized": True, "auth_code": f"A-{order_id}"}


@orders.step(args={"inventory": outcome("check_inventory"), "payment": outcome("check_payment")})
def route(inventory: Outcome, payment: Outcome) -> str:
    match inventory, payment:
        case Value(inv), Value(pay) if inv["available"] and pay["authorized"]:
            return "fulfill"
        case Value(_), Error(PermissionError()):
            return "payment_issue"
        case Value(inv), _ if not inv["available"]:
            return "backorder"
        case _:
            raise RuntimeError("order validation failed")


@orders.step(when=case(route="fulfill"))
def fulfill_order(check_inventory: dict[str, Any], check_payment: dict[str, Any]) -> str:
    return f"fulfilled (auth {check_payment['auth_code']}, {check_inventory['quantity']} in stock)"


@orders.step(when=case(route="payment_issue"), args={"payment": outcome("check_payment")})
def handle_payment_issue(payment: Outcome) -> str:
    assert isinstance(payment, Error)
    return f"needs payment retry ({payment.error})"


@orders.step(when=case(route="backorder"))
def handle_backorder() -> str:
    return "backordered"


@orders.step(
    args={
        "fulfilled": outcome("fulfill_order"),
        "payment_issue": outcome("handle_payment_issue"),
        "backorder": outcome("handle_backorder"),
    }
)
def result(fulfilled: Outcome, payment_issue: Outcome, backorder: Outcome) -> str:
    [taken] = [o.value for o in (fulfilled, payment_issue, backorder) if isinstance(o, Value)]
    return str(taken)


orders.returns("result")


async def main() -> None:
    async with Runtime() as rt:
        for orders_up in (True, False):
            begin = trio.current_time()
            board = await rt.run(dashboard, user_id=7, orders_up=orders_up)
            elapsed = round((trio.current_time() - begin) * 20) / 20
            print(
                f"dashboard ({elapsed:.2f} s): {len(board['orders'])} orders, metrics "
                f"{board['metrics']}, {len(board['notifications'])} notifications, errors: "
                f"{', '.join(board['errors']) or 'none'}"
            )
        for order_id in (1, 2, 3, 4):
            try:
                print(f"order {order_id}:", await rt.run(orders, order_id=order_id))
            except WorkflowFailedError as error:
                cause = f"{type(error.cause).__name__}: {error.cause}"
                print(f"order {order_id}: failed at {error.step}: {cause}")


if __name__ == "__main__":
    trio.run(main)
