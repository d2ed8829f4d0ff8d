"""ask: timeouts on exact virtual time, abandoned requests, and asks to crashing or dead actors."""

import math
import re

import pytest
import trio
import trio.testing

from arborist.actors import (
    DEFAULT_ASK_TIMEOUT,
    Actor,
    ActorDeadError,
    ActorDiedError,
    AskTimeoutError,
    Crashed,
)


class Slow(Actor):
    """Replies to ``seconds`` after sleeping that long; records when each reply was made."""

    def __init__(self, replies: list[float]) -> None:
        self.replies = replies

    async def on_receive(self, message: float) -> float:
        await trio.sleep(message)
        self.replies.append(trio.current_time())
        return message


class Fragile(Actor):
    def __init__(self, gate: trio.Event | None = None) -> None:
        self.gate = gate

    async def on_receive(self, message: str) -> str:
        if message == "wait":
            assert self.gate is not None
            await self.gate.wait()
            return "waited"
        if message == "boom":
            raise ValueError("boom")
        return message


# --- timeouts --------------------------------------------------------------------------------


async def test_the_default_ask_timeout_is_five_seconds():
    assert DEFAULT_ASK_TIMEOUT == 5.0


async def test_ask_raises_ask_timeout_error_after_exactly_the_default_five_seconds(
    system, autojump_clock
):
    ref = await system.spawn(Slow, [])
    start = trio.current_time()

    with pytest.raises(AskTimeoutError) as caught:
        await ref.ask(60.0)

    assert trio.current_time() - start == 5.0
    assert (caught.value.ref, caught.value.message, caught.value.timeout) == (ref, 60.0, 5.0)
    assert str(caught.value) == f"{ref!r} did not reply to 60.0 within 5.0 s"


async def test_ask_timeout_error_is_a_timeout_error(system, autojump_clock):
    ref = await system.spawn(Slow, [])

    with pytest.raises(TimeoutError):
        await ref.ask(60.0, timeout=1.0)


async def test_a_reply_just_inside_the_timeout_is_returned(system, autojump_clock):
    ref = await system.spawn(Slow, [])

    assert await ref.ask(2.999, timeout=3.0) == 2.999


async def test_a_reply_just_after_the_timeout_is_not_returned(system, autojump_clock):
    ref = await system.spawn(Slow, [])
    start = trio.current_time()

    with pytest.raises(AskTimeoutError):
        await ref.ask(3.001, timeout=3.0)

    assert trio.current_time() - start == 3.0


async def test_a_reply_made_at_the_very_instant_of_the_deadline_is_a_timeout(
    system, autojump_clock
):
    ref = await system.spawn(Slow, [])

    # The reply and the deadline land on the same virtual instant; the deadline always wins
    # (trio's scheduling order between the two must not matter), so repeat to catch a race.
    for _ in range(10):
        start = trio.current_time()
        with pytest.raises(AskTimeoutError):
            await ref.ask(3.0, timeout=3.0)
        assert trio.current_time() - start == 3.0


async def test_answered_timed_out_and_cancelled_asks_leave_no_timer_behind(system, autojump_clock):
    ref = await system.spawn(Slow, [])
    await ref.ask(0.5)
    with pytest.raises(AskTimeoutError):
        await ref.ask(2.0, timeout=1.0)
    with trio.move_on_after(1.0):
        await ref.ask(2.0)

    assert len(system._timers) == 0


async def test_a_shorter_timeout_made_after_a_default_ask_still_expires_at_its_own_deadline(
    system, autojump_clock
):
    ref = await system.spawn(Slow, [])
    other = await system.spawn(Slow, [])
    start = trio.current_time()
    ended: dict[str, float] = {}

    async def ask_and_time(name: str, target, timeout: float = DEFAULT_ASK_TIMEOUT) -> None:
        with pytest.raises(AskTimeoutError):
            await target.ask(60.0, timeout=timeout)
        ended[name] = trio.current_time() - start

    async with trio.open_nursery() as nursery:
        nursery.start_soon(ask_and_time, "default", ref)
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(ask_and_time, "short", other, 1.0)

    assert ended == {"short": 1.0, "default": 5.0}


async def test_answered_asks_behind_one_still_waiting_do_not_pile_up(system, autojump_clock):
    slow = await system.spawn(Slow, [])
    fast = await system.spawn(Fragile)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(slow.ask, 4.0)  # waits at the front of the asks' deadlines
        await trio.testing.wait_all_tasks_blocked()
        for index in range(2000):
            assert await fast.ask(index) == index
        assert len(system._timers) == 1
        assert len(system._timers._calls) < 200


async def test_a_timed_out_callee_keeps_working_and_its_late_reply_is_discarded(
    system, autojump_clock
):
    replies: list[float] = []
    ref = await system.spawn(Slow, replies)
    start = trio.current_time()
    with pytest.raises(AskTimeoutError):
        await ref.ask(8.0)

    assert await ref.ask(1.0) == 1.0

    # The late reply was made at start + 8 and went nowhere; the next one at start + 9.
    assert [t - start for t in replies] == [8.0, 9.0]
    assert ref.is_alive


async def test_ask_with_timeout_none_waits_as_long_as_it_takes(system, autojump_clock):
    ref = await system.spawn(Slow, [])
    start = trio.current_time()

    assert await ref.ask(3600.0, timeout=None) == 3600.0
    assert trio.current_time() - start == 3600.0


async def test_cancelling_an_ask_abandons_it_without_harming_the_callee(system, autojump_clock):
    replies: list[float] = []
    ref = await system.spawn(Slow, replies)

    with trio.move_on_after(1.0):
        await ref.ask(2.0, timeout=None)

    assert await ref.ask(0.5) == 0.5
    assert len(replies) == 2


async def test_a_proxy_call_times_out_after_the_proxys_timeout(system, autojump_clock):
    class Sleeper(Actor):
        async def nap(self, seconds: float) -> None:
            await trio.sleep(seconds)

    ref = await system.spawn(Sleeper)
    start = trio.current_time()

    with pytest.raises(AskTimeoutError):
        await ref.proxy(timeout=2.5).nap(10)

    assert trio.current_time() - start == 2.5


@pytest.mark.parametrize("timeout", [-1.0, math.nan])
async def test_ask_refuses_a_negative_or_nan_timeout_naming_the_value(system, timeout):
    log: list[str] = []

    class Logger(Actor):
        def on_receive(self, message: str) -> None:
            log.append(message)

    ref = await system.spawn(Logger)

    with pytest.raises(
        ValueError,
        match=re.escape(
            "ask timeout must be a number of seconds >= 0, or None to wait forever; "
            f"got {timeout!r}"
        ),
    ):
        await ref.ask("hello", timeout=timeout)

    await trio.testing.wait_all_tasks_blocked()
    assert log == []


# --- crashes ---------------------------------------------------------------------------------


async def test_an_ask_whose_handler_crashes_gets_actor_died_error_with_the_exception_as_cause(
    system,
):
    ref = await system.spawn(Fragile)

    with pytest.raises(ActorDiedError) as caught:
        await ref.ask("boom")

    error = caught.value
    assert isinstance(error.__cause__, ValueError)
    assert str(error.__cause__) == "boom"
    assert error.ref is ref
    assert error.reason == Crashed(error.__cause__)
    assert str(error) == f"{ref!r} died before replying (crashed: ValueError: boom)"


async def test_a_crash_ends_the_actor_with_crashed_holding_the_exception(system):
    ref = await system.spawn(Fragile)
    ref.tell("boom")

    reason = await ref.wait_exit()

    assert isinstance(reason, Crashed)
    assert isinstance(reason.exc, ValueError)


async def test_asks_queued_behind_a_crash_all_get_actor_died_error_with_the_cause(system):
    gate = trio.Event()
    ref = await system.spawn(Fragile, gate)
    errors: list[BaseException] = []

    async def ask(message: str) -> None:
        try:
            await ref.ask(message)
        except ActorDiedError as error:
            errors.append(error)

    async with trio.open_nursery() as nursery:
        ref.tell("wait")
        ref.tell("boom")
        nursery.start_soon(ask, "first")
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(ask, "second")
        await trio.testing.wait_all_tasks_blocked()
        gate.set()

    assert len(errors) == 2
    assert all(isinstance(error.__cause__, ValueError) for error in errors)


async def test_an_ask_after_the_crash_gets_actor_died_error_with_the_cause(system):
    ref = await system.spawn(Fragile)
    ref.tell("boom")
    await ref.wait_exit()

    with pytest.raises(ActorDiedError) as caught:
        await ref.ask("anyone there?")

    assert isinstance(caught.value.__cause__, ValueError)


async def test_an_ask_to_an_actor_that_stopped_normally_gets_actor_died_error(system):
    ref = await system.spawn(Fragile)
    await ref.stop()

    with pytest.raises(ActorDiedError, match=re.escape(f"{ref!r} died before replying (normal)")):
        await ref.ask("anyone there?")


async def test_an_ask_to_a_stopping_actor_is_refused_saying_it_is_stopping(system, autojump_clock):
    gate = trio.Event()
    ref = await system.spawn(Fragile, gate)
    ref.tell("wait")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(ref.stop)
        await trio.testing.wait_all_tasks_blocked()

        with pytest.raises(ActorDiedError, match=re.escape(f"{ref!r} is stopping")):
            await ref.ask("too late")
        gate.set()


async def test_actor_died_error_is_an_actor_dead_error(system):
    ref = await system.spawn(Fragile)

    with pytest.raises(ActorDeadError):
        await ref.ask("boom")


async def test_a_proxy_refuses_a_negative_timeout_when_it_is_made(system):
    ref = await system.spawn(Fragile)

    with pytest.raises(ValueError, match=re.escape("got -0.5")):
        ref.proxy(timeout=-0.5)


async def test_an_actor_asking_itself_fails_at_once_instead_of_waiting_for_the_timeout(
    system, autojump_clock
):
    class Narcissus(Actor):
        async def on_receive(self, message: str) -> str:
            if message == "ask yourself":
                return await self.ref.ask("hello")
            return message

    ref = await system.spawn(Narcissus)
    start = trio.current_time()

    with pytest.raises(ActorDiedError) as caught:
        await ref.ask("ask yourself")

    assert trio.current_time() == start
    assert "asked itself" in str(caught.value.__cause__)


async def test_asks_queued_between_plain_messages_are_handled_in_mailbox_order(system):
    class Recorder(Actor):
        def __init__(self) -> None:
            self.seen: list[object] = []

        def on_receive(self, message: object) -> list[object]:
            self.seen.append(message)
            return list(self.seen)

    ref = await system.spawn(Recorder)
    ref.tell(1)
    ref.tell(2)
    first = await ref.ask("q")
    ref.tell(3)

    assert first == [1, 2, "q"]
    assert await ref.ask("end") == [1, 2, "q", 3, "end"]
