"""A prompt ask: the default ask to a parked actor whose ``on_receive`` is sync.

Its reply comes in the very step the ask woke the actor for, so the ask gives the timer
service no deadline; the 5 s timeout still holds on every path (W2, issue #13).
"""

import pytest
import trio
import trio.testing

import arborist.actors._ref as ref_module
from arborist.actors import DEFAULT_ASK_TIMEOUT, Actor, ActorDiedError, AskTimeoutError, Shutdown


class Recorder(Actor):
    """Sync handler: records how many asks' deadlines the timer service holds meanwhile."""

    def __init__(self, seen: list[int]) -> None:
        self.seen = seen

    def on_receive(self, message: object) -> object:
        self.seen.append(len(self._cell.system._timers._calls))
        return message


class Busy(Actor):
    """Sync handler that holds the trio thread for ``message`` virtual seconds."""

    def __init__(self, clock: trio.testing.MockClock) -> None:
        self.clock = clock

    def on_receive(self, message: float) -> float:
        self.clock.jump(message)
        return message


class SlowToStop(Actor):
    """Sync handler; its stop hook takes a minute, so an answer that waits for it comes late."""

    def on_receive(self, message: str) -> str:
        if message == "boom":
            raise ValueError("boom")
        return message

    async def on_stop(self, reason: object) -> None:
        await trio.sleep(60.0)


class AsyncEcho(Actor):
    async def on_receive(self, message: object) -> object:
        self.seen = len(self._cell.system._timers._calls)
        return message


async def test_a_default_ask_to_an_idle_sync_actor_gives_the_timer_service_no_deadline(system):
    seen: list[int] = []
    ref = await system.spawn(Recorder, seen)

    assert [await ref.ask(index) for index in range(3)] == [0, 1, 2]

    assert seen == [0, 0, 0]


async def test_a_default_ask_to_an_async_actor_still_gives_its_deadline(system):
    ref = await system.spawn(AsyncEcho)

    await ref.ask("x")

    assert ref._cell.actor.seen == 1


async def test_a_sync_handler_that_outlasts_the_timeout_still_times_the_prompt_ask_out(
    system, autojump_clock
):
    ref = await system.spawn(Busy, autojump_clock)
    start = trio.current_time()

    with pytest.raises(AskTimeoutError):
        await ref.ask(DEFAULT_ASK_TIMEOUT + 1.0)

    assert trio.current_time() - start == DEFAULT_ASK_TIMEOUT + 1.0
    assert await ref.ask(0.5) == 0.5  # the actor lives on, and answers in time


async def test_a_prompt_ask_whose_handler_crashes_times_out_while_the_stop_hook_runs(
    system, autojump_clock
):
    ref = await system.spawn(SlowToStop)
    start = trio.current_time()

    with pytest.raises(AskTimeoutError):
        await ref.ask("boom")

    assert trio.current_time() - start == DEFAULT_ASK_TIMEOUT


def _then(cell, act):
    """``reschedule`` for ``ActorRef.ask``: wake the task, then ``act()`` if it is ``cell``'s.

    The seam is the ask waking the parked actor: ``act`` lands after the ask's put and before
    the actor's step.
    """
    wake = ref_module.reschedule

    def wake_then_act(task, *args):
        wake(task, *args)
        if task is cell.task:
            act()

    return wake_then_act


async def test_a_prompt_ask_that_meets_a_stop_times_out_while_the_stop_hook_runs(
    system, autojump_clock, monkeypatch
):
    ref = await system.spawn(SlowToStop)
    cell = ref._cell
    monkeypatch.setattr(
        ref_module, "reschedule", _then(cell, lambda: cell.request_stop(Shutdown()))
    )
    start = trio.current_time()

    with pytest.raises(AskTimeoutError):  # the loop ends on the stop before it answers
        await ref.ask("hello")

    assert trio.current_time() - start == DEFAULT_ASK_TIMEOUT


async def test_a_prompt_ask_to_an_actor_killed_before_its_step_still_gets_the_reply(system):
    ref = await system.spawn(SlowToStop)
    cell = ref._cell

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ref_module, "reschedule", _then(cell, cell.kill))
        # The kill is delivered at the actor's next checkpoint: after the answer.
        assert await ref.ask("hello") == "hello"

    with pytest.raises(ActorDiedError):
        await ref.ask("again")
