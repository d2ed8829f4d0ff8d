"""Timers: send_after and send_interval on trio's clock, anchored ticks, cancel, actor death."""

import gc
import math
import re
from functools import partial

import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from arborist.actors import Actor, TimerHandle, open_actor_system


class Clocked(Actor):
    """Records (message, time since spawn) for every message; sets timers on request."""

    def __init__(self, log: list[tuple[object, float]], handles: list[TimerHandle]) -> None:
        self.log = log
        self.handles = handles
        self.t0 = 0.0

    def on_start(self) -> None:
        self.t0 = trio.current_time()

    async def on_receive(self, message: object) -> object:
        match message:
            case ("after", delay, payload):
                self.handles.append(self.send_after(delay, payload))
            case ("every", period, payload):
                self.handles.append(self.send_interval(period, payload))
            case ("every", period, payload, first):
                self.handles.append(self.send_interval(period, payload, first=first))
            case ("cancel", index):
                self.handles[index].cancel()
            case ("slow", seconds):
                await trio.sleep(seconds)
            case _:
                self.log.append((message, trio.current_time() - self.t0))
        return None


async def spawn_clocked(system):
    log: list[tuple[object, float]] = []
    handles: list[TimerHandle] = []
    ref = await system.spawn(Clocked, log, handles)
    return ref, log, handles


async def test_send_after_delivers_the_message_at_exactly_the_delay(system, autojump_clock):
    ref, log, _ = await spawn_clocked(system)

    await ref.ask(("after", 1.5, "ding"))
    await trio.sleep(1.4999)
    assert log == []
    await trio.sleep(0.0001)
    await trio.testing.wait_all_tasks_blocked()

    assert log == [("ding", 1.5)]


async def test_send_after_zero_delivers_at_once(system, autojump_clock):
    ref, log, _ = await spawn_clocked(system)

    await ref.ask(("after", 0, "now"))
    await trio.testing.wait_all_tasks_blocked()

    assert log == [("now", 0.0)]


async def test_a_fired_one_shot_timer_is_no_longer_active(system, autojump_clock):
    ref, _, handles = await spawn_clocked(system)
    await ref.ask(("after", 1.0, "ding"))
    assert handles[0].active

    await trio.sleep(1.0)
    await trio.testing.wait_all_tasks_blocked()

    assert not handles[0].active


async def test_send_interval_ticks_at_exact_multiples_of_the_period(system, autojump_clock):
    ref, log, _ = await spawn_clocked(system)

    await ref.ask(("every", 0.25, "tick"))
    await trio.sleep(1.0)
    await trio.testing.wait_all_tasks_blocked()

    assert log == [("tick", 0.25), ("tick", 0.5), ("tick", 0.75), ("tick", 1.0)]


async def test_send_interval_stays_anchored_when_the_actor_is_busy(system, autojump_clock):
    ref, log, _ = await spawn_clocked(system)
    await ref.ask(("every", 1.0, "tick"))

    await trio.sleep(1.2)
    await ref.ask(("slow", 1.3))  # busy from t=1.2 to t=2.5: the tick due at 2.0 waits
    await trio.sleep(1.0)
    await trio.testing.wait_all_tasks_blocked()

    # The tick due at 2.0 was handled late, at 2.5; the next one is still due at 3.0.
    assert [t for _, t in log] == [1.0, 2.5, 3.0]


async def test_send_interval_with_first_delivers_the_first_tick_early(system, autojump_clock):
    ref, log, _ = await spawn_clocked(system)

    await ref.ask(("every", 1.0, "tick", 0.1))
    await trio.sleep(2.1)
    await trio.testing.wait_all_tasks_blocked()

    assert [t for _, t in log] == [0.1, 1.1, 2.1]


async def test_a_cancelled_one_shot_timer_never_delivers(system, autojump_clock):
    ref, log, handles = await spawn_clocked(system)
    await ref.ask(("after", 1.0, "ding"))

    await ref.ask(("cancel", 0))
    await trio.sleep(5.0)
    await trio.testing.wait_all_tasks_blocked()

    assert log == []
    assert not handles[0].active


async def test_cancelling_an_interval_stops_further_ticks(system, autojump_clock):
    ref, log, _ = await spawn_clocked(system)
    await ref.ask(("every", 1.0, "tick"))
    await trio.sleep(2.5)

    await ref.ask(("cancel", 0))
    await trio.sleep(5.0)
    await trio.testing.wait_all_tasks_blocked()

    assert [t for _, t in log] == [1.0, 2.0]


async def test_cancel_is_idempotent(system, autojump_clock):
    ref, _, handles = await spawn_clocked(system)
    await ref.ask(("after", 1.0, "ding"))

    await ref.ask(("cancel", 0))
    await ref.ask(("cancel", 0))

    assert not handles[0].active


async def test_every_timer_is_cancelled_when_the_actor_exits(system, autojump_clock):
    ref, log, handles = await spawn_clocked(system)
    await ref.ask(("after", 1.0, "once"))
    await ref.ask(("every", 0.5, "tick"))

    await ref.stop()
    await trio.sleep(10.0)

    assert [h.active for h in handles] == [False, False]
    assert len(system._timers) == 0
    assert log == []


async def test_a_timer_message_bypasses_the_mailbox_bound(system, autojump_clock):
    gate = trio.Event()
    log: list[object] = []

    class Bounded(Actor):
        async def on_receive(self, message: object) -> None:
            if message == "start":
                self.send_after(1.0, "timer")
                await gate.wait()
            log.append(message)

    ref = await system.spawn(Bounded, mailbox_size=1)
    ref.tell("start")
    await trio.testing.wait_all_tasks_blocked()
    ref.tell("fills the mailbox")

    await trio.sleep(1.0)
    await trio.testing.wait_all_tasks_blocked()
    gate.set()
    await ref.stop()

    assert log == ["start", "fills the mailbox", "timer"]


@pytest.mark.parametrize("delay", [-0.001, -5, math.nan])
async def test_send_after_refuses_a_negative_or_nan_delay_naming_the_value(system, delay):
    ref, _, _ = await spawn_clocked(system)

    with pytest.raises(Exception) as caught:  # noqa: PT011 - the cause is checked below
        await ref.ask(("after", delay, "never"))

    assert isinstance(caught.value.__cause__, ValueError)
    assert str(caught.value.__cause__) == (
        f"send_after delay must be a number of seconds >= 0; got {delay!r}"
    )


@pytest.mark.parametrize("period", [0, -1.0, math.nan, math.inf, 1e-9, 0.000999])
async def test_send_interval_refuses_a_period_under_1_ms_or_infinite_naming_the_value(
    system, period
):
    ref, _, _ = await spawn_clocked(system)

    with pytest.raises(Exception) as caught:  # noqa: PT011 - the cause is checked below
        await ref.ask(("every", period, "never"))

    assert isinstance(caught.value.__cause__, ValueError)
    assert str(caught.value.__cause__) == (
        f"send_interval period must be a finite number of seconds >= 0.001; got {period!r}; "
        "the shortest period is 1 ms"
    )


async def test_send_interval_takes_a_period_of_exactly_1_ms(system, autojump_clock):
    ref, log, handles = await spawn_clocked(system)

    await ref.ask(("every", 0.001, "tick"))
    await trio.sleep(0.0105)
    handles[0].cancel()

    assert [message for message, _ in log] == ["tick"] * 10


async def test_send_interval_refuses_a_negative_first_delay(system):
    ref, _, _ = await spawn_clocked(system)

    with pytest.raises(Exception) as caught:  # noqa: PT011 - the cause is checked below
        await ref.ask(("every", 1.0, "never", -1.0))

    assert (
        "send_interval first delay must be a number of seconds >= 0, or None for one period; "
        "got -1.0"
    ) in str(caught.value.__cause__)


async def test_a_timer_handle_repr_shows_kind_deadline_and_state(system, autojump_clock):
    ref, _, handles = await spawn_clocked(system)
    now = trio.current_time()
    await ref.ask(("after", 2.0, "x"))
    await ref.ask(("every", 0.5, "y"))

    assert repr(handles[0]) == f"<TimerHandle once due {now + 2.0:.6f} active>"
    assert re.fullmatch(r"<TimerHandle every 0\.5 s due [0-9.]+ active>", repr(handles[1]))
    handles[0].cancel()
    assert repr(handles[0]).endswith(" inactive>")


async def test_cancelled_long_timers_do_not_pile_up_behind_an_earlier_active_one(
    system, autojump_clock
):
    ref, _, _ = await spawn_clocked(system)
    await ref.ask(("every", 600.0, "tick"))  # keeps the top of the heap active

    for index in range(1, 2001):
        await ref.ask(("after", 3600.0, "never"))
        await ref.ask(("cancel", index))

    assert len(system._timers) == 1
    assert len(system._timers._heap) < 200


async def test_rearm_reuses_a_fired_one_shot_timer_and_fires_it_at_the_new_deadline(
    system, autojump_clock
):
    timers = system._timers
    fired: list[tuple[str, float]] = []
    first = timers.call_at(
        trio.current_time() + 1, lambda: fired.append(("a", trio.current_time()))
    )
    await trio.sleep(1.5)

    again = timers.rearm(first, 3.0, lambda: fired.append(("b", trio.current_time())))
    await trio.sleep(2)

    assert again is first
    assert fired == [("a", 1.0), ("b", 3.0)]
    assert not again.active


async def test_rearm_of_a_cancelled_timer_makes_a_new_handle_and_the_old_one_stays_silent(
    system, autojump_clock
):
    timers = system._timers
    fired: list[str] = []
    first = timers.call_at(2.0, lambda: fired.append("old"))
    first.cancel()

    again = timers.rearm(first, 1.0, lambda: fired.append("new"))
    await trio.sleep(3)

    assert again is not first
    assert fired == ["new"]


async def test_a_timer_armed_again_and_again_leaves_no_object_for_the_collector_to_walk(
    system, autojump_clock
):
    timers = system._timers
    handle = timers.call_at(trio.current_time() + 1, _do_nothing)
    for n in range(2, 200):
        await trio.sleep(1)
        handle = timers.rearm(handle, float(n), _do_nothing)

    gc.collect()  # the young pass stops tracking tuples of plain numbers

    assert timers._heap
    assert not [entry for entry in timers._heap if gc.is_tracked(entry)]


async def test_a_burst_of_due_timers_lets_the_tasks_they_start_run_before_it_ends(
    system, autojump_clock
):
    timers = system._timers
    order: list[tuple[str, int]] = []

    async with trio.open_nursery() as nursery:

        async def started(i: int) -> None:
            order.append(("ran", i))

        def fire(i: int) -> None:
            order.append(("fired", i))
            nursery.start_soon(started, i)

        for i in range(500):
            timers.call_at(1.0, partial(fire, i))
        await trio.sleep(2)

    fired = [i for kind, i in order if kind == "fired"]
    assert fired == list(range(500))  # all of them, in the order they were armed
    assert order.index(("ran", 0)) < order.index(("fired", 499))


async def test_a_callback_reads_the_time_its_timer_was_found_due_at_in_fired_at(
    system, autojump_clock
):
    timers = system._timers
    seen: list[float] = []
    timers.call_at(1.25, lambda: seen.append(timers.fired_at))

    await trio.sleep(2)

    assert seen == [1.25]


async def test_fired_at_is_read_again_after_a_bursts_checkpoint(system, autojump_clock):
    timers = system._timers
    seen: list[float] = []

    def fire() -> None:
        seen.append(timers.fired_at)
        if len(seen) == 64:  # the burst's last callback took a while (time goes on)
            autojump_clock.jump(0.5)

    for _ in range(100):  # more than one burst (64)
        timers.call_at(1.0, fire)
    await trio.sleep(3)

    assert seen == [1.0] * 64 + [1.5] * 36


async def test_timers_armed_and_cancelled_by_a_firing_timer_fire_once_each_or_not_at_all(
    system, autojump_clock
):
    timers = system._timers
    fired: list[int] = []
    made: list[TimerHandle] = []

    def arm_many() -> None:  # enough to compact the heap while the timer task fires
        now = trio.current_time()
        made.extend(timers.call_at(now, partial(fired.append, i)) for i in range(300))
        for handle in made[::2]:
            handle.cancel()

    timers.call_at(1.0, arm_many)
    await trio.sleep(2)

    assert fired == list(range(1, 300, 2))
    assert len(timers) == 0


def _do_nothing() -> None:
    pass


async def test_a_repeating_timer_computes_each_deadline_from_its_first_in_one_rounding(
    system, autojump_clock
):
    fired: list[float] = []
    system._timers.call_at(0.1, lambda: fired.append(trio.current_time()), period=0.1)
    await trio.sleep(10.05)

    assert fired == [0.1 + k * 0.1 for k in range(100)]  # adding 0.1 each time drifts off these


async def test_call_every_fires_at_origin_plus_n_periods_from_the_first_n(system, autojump_clock):
    fired: list[float] = []
    handle = system._timers.call_every(1.0, 3, 0.7, lambda: fired.append(trio.current_time()))
    await trio.sleep(5.0)
    handle.cancel()
    await trio.sleep(5.0)

    assert fired == [1.0 + n * 0.7 for n in (3, 4, 5)]


async def test_timers_due_at_the_same_instant_share_one_heap_entry_and_fire_in_arming_order(
    system, autojump_clock
):
    timers = system._timers
    fired: list[int] = []
    for i in range(1000):
        timers.call_at(1.0, partial(fired.append, i))

    assert len(timers._heap) == 1
    await trio.sleep(2)

    assert fired == list(range(1000))
    assert not timers._heap
    assert not timers._groups
    assert not timers._leaders


async def test_repeating_timers_on_one_grid_keep_one_heap_entry_and_their_order_every_tick(
    system, autojump_clock
):
    timers = system._timers
    fired: list[tuple[float, int]] = []
    for i in range(200):
        timers.call_every(0.0, 1, 1.0, lambda i=i: fired.append((trio.current_time(), i)))

    await trio.sleep(3.5)

    assert len(timers._heap) == 1
    assert fired == [(float(t), i) for t in (1, 2, 3) for i in range(200)]


async def test_the_followers_of_a_cancelled_leader_still_fire_at_their_instant(
    system, autojump_clock
):
    timers = system._timers
    fired: list[tuple[str, float]] = []
    leader = timers.call_at(1.0, lambda: fired.append(("leader", trio.current_time())))
    timers.call_at(1.0, lambda: fired.append(("b", trio.current_time())))
    timers.call_at(1.0, lambda: fired.append(("c", trio.current_time())))
    leader.cancel()

    await trio.sleep(2)

    assert fired == [("b", 1.0), ("c", 1.0)]
    assert len(timers) == 0


async def test_a_compaction_while_a_group_fires_neither_repeats_nor_loses_a_follower(
    system, autojump_clock
):
    timers = system._timers
    fired: list[int] = []
    handles: list[TimerHandle] = []

    def churn() -> None:  # arms and cancels enough long timers to compact mid-group
        fired.append(-1)
        for _ in range(400):
            timers.call_at(3600.0, _do_nothing).cancel()
        handles[150].cancel()  # a follower still to fire: it must stay silent

    handles.extend(
        timers.call_at(1.0, churn if i == 100 else partial(fired.append, i)) for i in range(300)
    )
    compactions: list[float] = []
    compact = timers._compact

    def counted() -> None:
        compactions.append(trio.current_time())
        compact()

    timers._compact = counted
    await trio.sleep(2)

    assert compactions  # at 1.0, inside churn: while the timer task held the group
    assert fired == [*range(100), -1, *range(101, 150), *range(151, 300)]
    assert len(timers) == 0


async def test_repeating_followers_lose_no_tick_when_a_compaction_runs_while_they_fire(
    system, autojump_clock
):
    timers = system._timers
    fired: list[tuple[float, int]] = []

    def tick(i: int) -> None:
        fired.append((trio.current_time(), i))
        if i == 100:  # compacts the heap while the timer task holds the rest of the group
            for _ in range(600):
                timers.call_at(3600.0, _do_nothing).cancel()

    for i in range(300):
        timers.call_every(0.0, 1, 1.0, partial(tick, i))
    await trio.sleep(3.5)

    assert fired == [(float(t), i) for t in (1, 2, 3) for i in range(300)]


_TIMER = st.tuples(
    st.sampled_from([1.0, 2.0, 3.0]),  # first deadline: few instants, so many share one
    st.sampled_from([None, 1.0, 2.0]),  # one-shot, or repeating
    st.sampled_from([None, 0.5, 1.5, 2.5]),  # cancelled then, or never
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_TIMER, min_size=1, max_size=40))
def test_timers_sharing_instants_fire_exactly_at_their_deadlines_until_cancelled(specs):
    fired: list[tuple[float, int]] = []

    async def main() -> None:
        async with open_actor_system() as system:
            timers = system._timers
            handles = []
            for i, (deadline, period, _) in enumerate(specs):
                fire = partial(lambda i: fired.append((trio.current_time(), i)), i)
                if period is None:
                    handles.append(timers.call_at(deadline, fire))
                else:
                    handles.append(timers.call_every(deadline - period, 1, period, fire))
            for moment in (0.5, 1.5, 2.5):
                await trio.sleep_until(moment)
                for handle, (_, _, cancel_at) in zip(handles, specs, strict=True):
                    if cancel_at == moment:
                        handle.cancel()
            await trio.sleep_until(4.25)
            for handle in handles:
                handle.cancel()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))

    expected = []
    for i, (deadline, period, cancel_at) in enumerate(specs):
        moment = deadline
        while moment <= 4.25 and (cancel_at is None or moment < cancel_at):
            expected.append((moment, i))
            if period is None:
                break
            moment += period
    assert sorted(fired) == sorted(expected)
    assert [t for t, _ in fired] == sorted(t for t, _ in fired)  # instants in order
    one_shots = [i for t, i in fired if specs[i][1] is None]
    for instant in {t for t, _ in fired}:  # one-shots of one instant: in the order armed
        here = [i for t, i in fired if t == instant and specs[i][1] is None]
        assert here == sorted(here)
    assert len(one_shots) == len(set(one_shots))
