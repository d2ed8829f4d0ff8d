"""Fire-and-forget and fan-out/fan-in under a task supervisor (Elixir's Task.Supervisor).

1. ``process_event`` fires a Slack notification with ``start_child`` and carries on at once;
   the notification is sent 0.2 s later. A notification that fails is reported as an event
   (and logged), never raised into ``process_event``.
2. ``send_notifications`` fans out one ``start_task`` per address and awaits them all: it
   takes as long as the slowest one (0.3 s), not the sum. A task past its timeout fails with
   ``TaskTimeoutError`` in the awaiter.
3. Leaving the block gives running jobs the shutdown time (1 s), then cuts the rest; the
   report says what happened.

Expected output::

    [0.0] process_event returned 'event #1 handled' without waiting
    [0.1] event: notify failed: ConnectionError: slack is down
    [0.2] slack: Hey! We got an event!
    [0.5] sent: ['sent to ana@example.com', 'sent to bo@example.com', 'sent to cy@example.com']
    [0.7] send_single_notification to dee@example.com: timed out (0.2 s)
    [1.7] shutdown: 0 completed, 0 failed, 1 cancelled; cut: ['nightly-digest']
    statistics: 7 started, 4 finished, 2 failed, 1 cancelled
"""

import logging

import trio

from arborist.supervision import (
    TaskEvent,
    TaskFailed,
    TaskSupervisor,
    TaskTimeoutError,
    open_task_supervisor,
)

START = 0.0


def stamp() -> str:
    return f"[{trio.current_time() - START:.1f}]"


async def send_slack_notification(text: str, seconds: float = 0.2) -> None:
    await trio.sleep(seconds)  # the HTTP call
    if text.startswith("!"):
        raise ConnectionError("slack is down")
    print(stamp(), "slack:", text)


def process_event(tasks: TaskSupervisor, event: int) -> str:
    # Start the notification under the supervisor and forget it: this returns at once.
    tasks.start_child(send_slack_notification, "Hey! We got an event!")
    tasks.start_child(send_slack_notification, "!this one fails", 0.1, name="notify")
    return f"event #{event} handled"


async def send_single_notification(address: str, seconds: float) -> str:
    await trio.sleep(seconds)
    return f"sent to {address}"


async def send_notifications(tasks: TaskSupervisor, addresses: dict[str, float]) -> list[str]:
    handles = [tasks.start_task(send_single_notification, a, s) for a, s in addresses.items()]
    return [await handle for handle in handles]


def on_event(event: TaskEvent) -> None:
    if isinstance(event, TaskFailed) and not isinstance(event.exc, TaskTimeoutError):
        print(stamp(), f"event: {event.job.name} failed: {type(event.exc).__name__}: {event.exc}")


async def main() -> None:
    global START  # noqa: PLW0603  (times are printed relative to the start)
    START = trio.current_time()
    # The failure is also logged on "arborist.supervision"; this example only prints events.
    logging.getLogger("arborist.supervision").setLevel(logging.CRITICAL)

    async with open_task_supervisor(shutdown=1.0) as tasks:
        tasks.subscribe(on_event)
        print(stamp(), f"process_event returned {process_event(tasks, 1)!r} without waiting")
        await trio.sleep(0.2)

        addresses = {"ana@example.com": 0.1, "bo@example.com": 0.3, "cy@example.com": 0.2}
        sent = await send_notifications(tasks, addresses)
        print(stamp(), "sent:", sent)

        slow = tasks.start_task(send_single_notification, "dee@example.com", 5.0, timeout=0.2)
        try:
            await slow
        except TaskTimeoutError as error:
            print(stamp(), f"{error.job.name} to dee@example.com: timed out ({error.timeout} s)")

        tasks.start_child(trio.sleep_forever, name="nightly-digest")

    report = tasks.report
    assert report is not None
    cut = [job.name for job in report.cut]
    print(
        stamp(),
        f"shutdown: {report.completed} completed, {report.failed} failed, "
        f"{report.cancelled} cancelled; cut: {cut}",
    )
    stats = tasks.statistics()
    print(
        f"statistics: {stats.started} started, {stats.finished} finished, "
        f"{stats.failed} failed, {stats.cancelled} cancelled"
    )


if __name__ == "__main__":
    trio.run(main)
