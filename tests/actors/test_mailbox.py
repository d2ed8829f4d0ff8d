"""Mailbox: FIFO per sender (also as a hypothesis property), bounds, backpressure, nothing lost."""

import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from arborist.actors import (
    Actor,
    ActorDeadError,
    ActorDiedError,
    MailboxFullError,
    Normal,
    open_actor_system,
)


class Gated(Actor):
    """Blocks on a gate while handling "block"; records everything else it handles."""

    def __init__(self, log: list[object], gate: trio.Event) -> None:
        self.log = log
        self.gate = gate

    async def on_receive(self, message: object) -> object:
        if message == "block":
            await self.gate.wait()
        else:
            self.log.append(message)
        return message


async def blocked_bounded(system, size: int):
    """A Gated actor with a bounded mailbox, busy with "block" and with an empty queue."""
    log: list[object] = []
    gate = trio.Event()
    ref = await system.spawn(Gated, log, gate, mailbox_size=size)
    ref.tell("block")
    await trio.testing.wait_all_tasks_blocked()
    return ref, log, gate


async def test_tell_to_a_full_bounded_mailbox_raises_mailbox_full_error(system):
    ref, _, gate = await blocked_bounded(system, 2)
    ref.tell(1)
    ref.tell(2)

    with pytest.raises(MailboxFullError) as caught:
        ref.tell(3)

    assert (caught.value.ref, caught.value.capacity) == (ref, 2)
    assert str(caught.value) == (
        f"mailbox of {ref!r} is full (2 messages); "
        "use `await ref.send(msg)` to wait for room, or raise mailbox_size"
    )
    gate.set()


async def test_a_refused_tell_is_not_queued(system):
    ref, log, gate = await blocked_bounded(system, 1)
    ref.tell(1)
    with pytest.raises(MailboxFullError):
        ref.tell(2)

    gate.set()
    await ref.stop()

    assert log == [1]


async def test_send_waits_for_room_and_resumes_when_the_actor_drains(system):
    ref, log, gate = await blocked_bounded(system, 1)
    ref.tell(1)
    sent: list[int] = []

    async def send(n: int) -> None:
        await ref.send(n)
        sent.append(n)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(send, 2)
        await trio.testing.wait_all_tasks_blocked()
        assert sent == []
        assert ref.mailbox_size == 1

        gate.set()

    assert sent == [2]
    await ref.stop()
    assert log == [1, 2]


async def test_many_waiting_senders_lose_nothing_and_keep_their_own_order(system):
    ref, log, gate = await blocked_bounded(system, 2)

    async def sender(name: str) -> None:
        for n in range(5):
            await ref.send((name, n))

    async with trio.open_nursery() as nursery:
        for name in "abc":
            nursery.start_soon(sender, name)
        await trio.testing.wait_all_tasks_blocked()
        gate.set()

    await ref.stop()
    assert sorted(log) == sorted((name, n) for name in "abc" for n in range(5))
    for name in "abc":
        assert [n for sender_name, n in log if sender_name == name] == list(range(5))


async def test_ask_to_a_full_bounded_mailbox_waits_for_room(system):
    ref, log, gate = await blocked_bounded(system, 1)
    ref.tell(1)
    replies: list[object] = []

    async def ask() -> None:
        replies.append(await ref.ask(2))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(ask)
        await trio.testing.wait_all_tasks_blocked()
        assert replies == []
        gate.set()

    assert replies == [2]
    assert log == [1, 2]


async def test_an_ask_waiting_for_room_times_out_without_queueing(system, autojump_clock):
    ref, log, gate = await blocked_bounded(system, 1)
    ref.tell(1)

    with pytest.raises(TimeoutError):
        await ref.ask(2, timeout=1.0)
    gate.set()
    await ref.stop()

    assert log == [1]


async def test_a_sender_waiting_for_room_gets_actor_dead_error_when_the_actor_dies(system):
    ref, _, _ = await blocked_bounded(system, 1)
    ref.tell(1)

    async with trio.open_nursery() as nursery:

        async def kill_soon() -> None:
            await trio.testing.wait_all_tasks_blocked()
            ref.kill()

        nursery.start_soon(kill_soon)
        with pytest.raises(ActorDeadError):
            await ref.send(2)


async def test_an_ask_waiting_for_room_gets_actor_died_error_when_the_actor_dies(system):
    ref, _, _ = await blocked_bounded(system, 1)
    ref.tell(1)

    async with trio.open_nursery() as nursery:

        async def kill_soon() -> None:
            await trio.testing.wait_all_tasks_blocked()
            ref.kill()

        nursery.start_soon(kill_soon)
        with pytest.raises(ActorDiedError):
            await ref.ask(2)


async def test_send_to_a_dead_actor_raises_actor_dead_error(system):
    ref, _, gate = await blocked_bounded(system, 1)
    gate.set()
    await ref.stop()

    with pytest.raises(ActorDeadError):
        await ref.send("late")


async def test_an_unbounded_mailbox_takes_any_number_of_tells_without_blocking(system):
    ref, log, gate = await blocked_bounded(system, None)

    for n in range(10_000):
        ref.tell(n)

    assert ref.mailbox_size == 10_000
    gate.set()
    assert await ref.stop() == Normal()
    assert log == list(range(10_000))


async def test_an_actor_that_keeps_telling_itself_does_not_starve_other_tasks(system):
    class Chatty(Actor):
        def __init__(self) -> None:
            self.count = 0

        def on_receive(self, message: object) -> int:
            self.count += 1
            if message == "again":
                self.ref.tell("again")
            return self.count

    ref = await system.spawn(Chatty)
    ref.tell("again")
    await trio.lowlevel.checkpoint()

    # The test task got to run again while the actor is still busy with itself.
    assert ref.is_alive
    await ref.shutdown()


# --- ordering as a property ------------------------------------------------------------------

operation = st.tuples(st.sampled_from(["tell", "ask"]), st.booleans())  # (kind, yield after)
scripts = st.lists(st.lists(operation, max_size=12), min_size=1, max_size=4)


@settings(max_examples=60, deadline=None)
@given(scripts=scripts, bound=st.none() | st.integers(min_value=1, max_value=3))
def test_random_interleavings_of_tells_and_asks_preserve_each_senders_order(scripts, bound):
    seen: list[tuple[int, int]] = []

    class Log(Actor):
        async def on_receive(self, message: tuple[int, int]) -> tuple[int, int]:
            seen.append(message)
            await trio.lowlevel.checkpoint()
            return message

    async def main() -> None:
        async with open_actor_system() as system:
            ref = await system.spawn(Log, mailbox_size=bound)

            async def sender(index: int, script: list[tuple[str, bool]]) -> None:
                for seq, (kind, pause) in enumerate(script):
                    message = (index, seq)
                    if kind == "ask":
                        assert await ref.ask(message) == message
                    else:
                        await ref.send(message)
                    if pause:
                        await trio.lowlevel.checkpoint()

            async with trio.open_nursery() as nursery:
                for index, script in enumerate(scripts):
                    nursery.start_soon(sender, index, script)
            await ref.stop()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))

    for index, script in enumerate(scripts):
        assert [seq for sender, seq in seen if sender == index] == list(range(len(script)))
    assert len(seen) == sum(len(script) for script in scripts)


# --- the tell fast path as a property ----------------------------------------------------------

step = st.sampled_from(["tell", "ask", "checkpoint", "idle"])


@settings(max_examples=60, deadline=None)
@given(script=st.lists(step, min_size=1, max_size=40))
def test_a_tell_reaches_a_sync_actor_whether_it_is_parked_busy_or_just_woken(script):
    # A tell only appends while the actor's task is not parked; a parked one must be woken.
    # Whatever the actor was doing, every message arrives, in order, and the mailbox's
    # "just append" flag always says exactly that: open, unbounded and no receiver parked.
    seen: list[int] = []

    class Log(Actor):
        def on_receive(self, message: int) -> int:
            seen.append(message)
            return message

    def flag_is_exact(mailbox) -> bool:
        return mailbox._just_append == (mailbox._fast and mailbox._receiver is None)

    async def main() -> None:
        async with open_actor_system() as system:
            ref = await system.spawn(Log)
            mailbox = ref._mailbox
            for number, kind in enumerate(script):
                if kind == "tell":
                    ref.tell(number)
                elif kind == "ask":
                    assert await ref.ask(number) == number
                elif kind == "checkpoint":
                    await trio.lowlevel.checkpoint()
                else:
                    await trio.testing.wait_all_tasks_blocked()
                assert flag_is_exact(mailbox), (kind, number)
            await ref.stop()
            assert flag_is_exact(mailbox)
            assert mailbox._just_append is False
            with pytest.raises(ActorDeadError):
                ref.tell("late")

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))

    assert seen == [number for number, kind in enumerate(script) if kind in ("tell", "ask")]
