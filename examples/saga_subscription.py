"""Create and subscribe a user as a saga, with refunds (Sage's example, seed 003).

Each step that changes the world registers how to take the change back (``@step.undo``)::

    create_user ----------\\
                           +--> charge_card --> create_subscription --> send_receipt
    fetch_plans (cached) -/

``fetch_plans`` falls back to cached plans when the billing API is down: its ``@compensate``
returns ``ContinueWith(cached)``, so the step succeeds with them (Sage's circuit breaker).

When a late step fails, the run undoes what completed, last completed first (LIFO): the
subscription is deleted, the card refunded, the user deleted. An undo may ask to be tried again
later (``RetryStep(after=...)``); one that fails is reported and the rollback goes on. The
``WorkflowFailedError`` names the failed step, the cause and what was undone.

Expected output::

    ann@example.com
      plans: billing API down, using the cached ones
      subscribed to standard (charge ch-1, subscription sub-1, receipt sent)
    bob@example.com
      plans: billing API down, using the cached ones
      failed at send_receipt: ConnectionError: mailbox unavailable
      rollback, last completed first:
        0.50 s  delete subscription sub-2: billing API busy, retry in 0.5 s
        1.00 s  delete subscription sub-2
        1.00 s  refund ch-2 (4.99 EUR)
        1.00 s  delete user bob@example.com
      undone: create_subscription, charge_card, create_user
"""

from collections.abc import Mapping
from typing import Any

import trio

from arborist.runtime import ContinueWith, RetryStep, Runtime, Workflow, WorkflowFailedError

CACHED_PLANS = {"free": 0.0, "standard": 4.99}

subscribe_user = Workflow("subscribe_user", inputs=["email", "plan"])


class Billing:
    """The outside world of this example: ids handed out, and what the rollback did when."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.ids = {"ch": 0, "sub": 0}
        self.busy_once: set[str] = set()
        self.started = 0.0
        self.rollback: list[str] = []

    def new_id(self, prefix: str) -> str:
        self.ids[prefix] += 1
        return f"{prefix}-{self.ids[prefix]}"

    def note(self, text: str) -> None:
        elapsed = round((trio.current_time() - self.started) * 20) / 20  # same on a real clock
        self.rollback.append(f"{elapsed:.2f} s  {text}")


billing = Billing()


@subscribe_user.step
async def create_user(email: str) -> dict[str, str]:
    await trio.sleep(0.1)
    return {"email": email}


@create_user.undo
async def delete_user(user: dict[str, str], arguments: Mapping[str, Any]) -> None:
    billing.note(f"delete user {user['email']}")


@subscribe_user.step
async def fetch_plans() -> dict[str, float]:
    await trio.sleep(0.05)
    raise ConnectionError("billing API down")


@fetch_plans.compensate
def use_cached_plans(error: Exception) -> ContinueWith:
    print(f"  plans: {error}, using the cached ones")
    return ContinueWith(CACHED_PLANS)


@subscribe_user.step
async def charge_card(
    create_user: dict[str, str], fetch_plans: dict[str, float], plan: str
) -> dict[str, Any]:
    await trio.sleep(0.2)
    return {"id": billing.new_id("ch"), "amount": fetch_plans[plan]}


@charge_card.undo
async def refund(charge: dict[str, Any], arguments: Mapping[str, Any]) -> None:
    billing.note(f"refund {charge['id']} ({charge['amount']} EUR)")


@subscribe_user.step
async def create_subscription(create_user: dict[str, str], charge_card: dict[str, Any]) -> str:
    await trio.sleep(0.1)
    return billing.new_id("sub")


@create_subscription.undo
async def delete_subscription(subscription: str, arguments: Mapping[str, Any]) -> Any:
    if subscription not in billing.busy_once:
        billing.busy_once.add(subscription)
        billing.note(f"delete subscription {subscription}: billing API busy, retry in 0.5 s")
        return RetryStep(after=0.5)
    billing.note(f"delete subscription {subscription}")
    return None


@subscribe_user.step
async def send_receipt(create_user: dict[str, str], create_subscription: str) -> str:
    await trio.sleep(0.1)
    if create_user["email"].startswith("bob"):
        raise ConnectionError("mailbox unavailable")
    return "receipt sent"


@subscribe_user.step
def summary(
    plan: str, charge_card: dict[str, Any], create_subscription: str, send_receipt: str
) -> str:
    return (
        f"subscribed to {plan} (charge {charge_card['id']}, subscription "
        f"{create_subscription}, {send_receipt})"
    )


subscribe_user.returns("summary")


async def main() -> None:
    billing.reset()
    async with Runtime() as rt:
        print("ann@example.com")
        print(" ", await rt.run(subscribe_user, email="ann@example.com", plan="standard"))
        print("bob@example.com")
        billing.started = trio.current_time()
        try:
            await rt.run(subscribe_user, email="bob@example.com", plan="standard")
        except WorkflowFailedError as error:
            cause = f"{type(error.cause).__name__}: {error.cause}"
            print(f"  failed at {error.step}: {cause}")
            print("  rollback, last completed first:")
            for line in billing.rollback:
                print("   ", line)
            print("  undone:", ", ".join(error.undone))


if __name__ == "__main__":
    trio.run(main)
