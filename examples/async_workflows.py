"""Building async workflows: independent steps run concurrently (seed 000, Reactor's tutorial).

A workflow fetches a user's profile (0.2 s), preferences (0.15 s) and activity (0.3 s), then
aggregates them. The fetches depend only on the input ``user_id``, so they run at the same
time and the run takes its critical path, the slowest fetch (0.30 s), not the sum. With
``concurrent=False`` one step runs at a time in the plan's order and the run takes the sum
(0.65 s). ``max_concurrency=2`` sits in between: activity starts when preferences finishes.

``aggregate`` is a plain ``def``: blocking work, so it runs on a worker thread. Times are
rounded to the nearest 0.05 s, so a run on the real clock prints the same text.

Expected output::

    concurrent: 0.30 s
    concurrent=False: 0.65 s
    max_concurrency=2: 0.45 s
    one step at a time, in plan order: fetch_profile, fetch_preferences, fetch_activity, aggregate
    summary: User 123 has 42 logins
    profile: {'id': 123, 'name': 'User 123', 'email': 'user123@example.com'}
    preferences: {'user_id': 123, 'theme': 'light', 'language': 'en'}
    activity: {'user_id': 123, 'last_login': '2024-05-01T09:30:00Z', 'login_count': 42}
"""

from typing import Any

import trio

from arborist.runtime import Runtime, StepStarted, Workflow

wf = Workflow("user_data", inputs=["user_id"])


# These three steps take only the input, so they run in parallel.
@wf.step
async def fetch_profile(user_id: int) -> dict[str, Any]:
    await trio.sleep(0.2)
    return {"id": user_id, "name": f"User {user_id}", "email": f"user{user_id}@example.com"}


@wf.step
async def fetch_preferences(user_id: int) -> dict[str, Any]:
    await trio.sleep(0.15)
    return {"user_id": user_id, "theme": "light", "language": "en"}


@wf.step
async def fetch_activity(user_id: int) -> dict[str, Any]:
    await trio.sleep(0.3)
    return {"user_id": user_id, "last_login": "2024-05-01T09:30:00Z", "login_count": 42}


# This step takes all three results, so it waits for the three fetches.
@wf.step
def aggregate(
    fetch_profile: dict[str, Any],
    fetch_preferences: dict[str, Any],
    fetch_activity: dict[str, Any],
) -> dict[str, Any]:
    return {
        "profile": fetch_profile,
        "preferences": fetch_preferences,
        "activity": fetch_activity,
        "summary": f"User {fetch_profile['id']} has {fetch_activity['login_count']} logins",
    }


wf.returns("aggregate")


async def timed(rt: Runtime, **options: Any) -> tuple[float, dict[str, Any]]:
    """Run the workflow and return its wall time, rounded to the nearest 0.05 s."""
    start = trio.current_time()
    data = await rt.run(wf, user_id=123, **options)
    return round((trio.current_time() - start) * 20) / 20, data


async def main() -> None:
    async with Runtime() as rt:
        elapsed, data = await timed(rt)
        print(f"concurrent: {elapsed:.2f} s")

        order: list[str] = []
        unsubscribe = rt.subscribe(
            lambda event: order.append(event.step) if isinstance(event, StepStarted) else None
        )
        elapsed, _ = await timed(rt, concurrent=False)
        unsubscribe()
        print(f"concurrent=False: {elapsed:.2f} s")

        elapsed, _ = await timed(rt, max_concurrency=2)
        print(f"max_concurrency=2: {elapsed:.2f} s")

    print("one step at a time, in plan order:", ", ".join(order))
    print("summary:", data["summary"])
    for key in ("profile", "preferences", "activity"):
        print(f"{key}: {data[key]}")


if __name__ == "__main__":
    trio.run(main)
