"""A sync handler given a run of queued messages at once: same order, stops, crashes and budget.

With more than 32 plain messages queued for a sync ``on_receive`` (unbounded mailbox), the loop
hands them to the handler from C, without bytecode between two messages (benchmarks W1). These
tests pin what must not change with it: FIFO order, a self-stop or a crash ending the run at
the message in hand (the rest stays queued and is reported), and a checkpoint at least every
1024 messages.
"""

import logging

import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from arborist.actors import Actor, Crashed, Normal, open_actor_system

BATCH = 1024  # actors._runs.BATCH: the most messages handled between two checkpoints


class Recorder(Actor):
    """Sync handler: records each message; "stop" stops, "boom" raises, ("echo", m) tells m."""

    def __init__(self, seen: list[object]) -> None:
        self.seen = seen

    def on_receive(self, message: object) -> None:
        self.seen.append(message)
        if message == "stop":
            self.stop()
        elif message == "boom":
            raise ValueError("boom")
        elif isinstance(message, tuple):
            self.ref.tell(message[1])


def unhandled(caplog) -> list[object]:
    """The counts of unhandled messages the actor logged as it exited."""
    return [r.args[2] for r in caplog.records if "unhandled messages" in r.getMessage()]


async def test_a_run_of_queued_messages_is_handled_in_the_order_told(system):
    seen: list[object] = []
    ref = await system.spawn(Recorder, seen)

    for n in range(3000):
        ref.tell(n)

    assert await ref.stop() == Normal()
    assert seen == list(range(3000))


async def test_messages_a_handler_tells_itself_during_a_run_come_after_the_run(system):
    seen: list[object] = []
    ref = await system.spawn(Recorder, seen)

    for n in range(100):
        ref.tell(("echo", f"echo {n}"))

    await trio.testing.wait_all_tasks_blocked()
    assert seen == [("echo", f"echo {n}") for n in range(100)] + [f"echo {n}" for n in range(100)]
    await ref.stop()


async def test_a_self_stop_in_a_run_ends_it_at_that_message_and_reports_the_rest(system, caplog):
    seen: list[object] = []
    ref = await system.spawn(Recorder, seen)

    with caplog.at_level(logging.DEBUG, logger="arborist.actors"):
        for message in [0, 1, 2, "stop", *range(4, 50)]:
            ref.tell(message)
        assert await ref.wait_exit() == Normal()

    assert seen == [0, 1, 2, "stop"]
    assert unhandled(caplog) == [46]


async def test_a_crash_in_a_run_ends_it_at_that_message_and_reports_the_rest(system, caplog):
    seen: list[object] = []
    ref = await system.spawn(Recorder, seen)

    with caplog.at_level(logging.DEBUG, logger="arborist.actors"):
        for message in [0, 1, "boom", *range(3, 50)]:
            ref.tell(message)
        reason = await ref.wait_exit()

    assert isinstance(reason, Crashed)
    assert str(reason.exc) == "boom"
    assert seen == [0, 1, "boom"]
    assert unhandled(caplog) == [47]


class StepSizes(trio.abc.Instrument):
    """How many messages were handled in each task step (a step ends at a checkpoint)."""

    def __init__(self, seen: list[object]) -> None:
        self.seen = seen
        self.before = 0
        self.sizes: list[int] = []

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self.before = len(self.seen)

    def after_task_step(self, task: trio.lowlevel.Task) -> None:
        self.sizes.append(len(self.seen) - self.before)


async def handled_per_step(system, messages: list[object], total: int) -> list[int]:
    seen: list[object] = []
    ref = await system.spawn(Recorder, seen)
    steps = StepSizes(seen)
    trio.lowlevel.add_instrument(steps)
    try:
        for message in messages:
            ref.tell(message)
        while len(seen) < total:
            await trio.lowlevel.checkpoint()
    finally:
        trio.lowlevel.remove_instrument(steps)
    await ref.stop()
    return steps.sizes


async def test_a_flood_of_tells_lets_other_tasks_run_at_least_every_1024_messages(system):
    sizes = await handled_per_step(system, list(range(10 * BATCH + 7)), 10 * BATCH + 7)

    assert max(sizes) == BATCH
    assert sorted(sizes)[-11:] == [7] + [BATCH] * 10


async def test_self_tells_after_a_run_count_towards_the_same_1024_messages(system):
    # A run of 100 messages, each the head of a 30-hop chain the actor tells itself.
    chains: list[object] = []
    for n in range(100):
        message: object = n
        for _ in range(30):
            message = ("echo", message)
        chains.append(message)

    sizes = await handled_per_step(system, chains, 100 * 31)

    assert max(sizes) == BATCH
    assert sum(sizes) == 100 * 31


# A script: plain messages, then perhaps an ending ("stop" or "boom") somewhere among them.
scripts = st.tuples(
    st.integers(min_value=0, max_value=2500),
    st.none() | st.tuples(st.sampled_from(["stop", "boom"]), st.integers(min_value=0)),
)


@settings(max_examples=40, deadline=None)
@given(script=scripts)
def test_whatever_the_run_length_a_run_handles_exactly_the_messages_up_to_its_end(script):
    length, ending = script
    messages: list[object] = list(range(length))
    if ending is not None:
        word, at = ending
        messages.insert(at % (length + 1), word)
    seen: list[object] = []
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("arborist.actors")
    level = logger.level

    async def main() -> None:
        async with open_actor_system() as system:
            ref = await system.spawn(Recorder, seen)
            for message in messages:
                ref.tell(message)
            await ref.wait_exit() if ending is not None else await ref.stop()

    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        trio.run(main)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)

    end = len(messages) if ending is None else messages.index(ending[0]) + 1
    assert seen == messages[:end]
    left = [r.args[2] for r in records if "unhandled messages" in r.getMessage()]
    assert left == ([len(messages) - end] if end < len(messages) else [])
