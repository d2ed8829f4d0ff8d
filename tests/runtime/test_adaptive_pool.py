"""Adaptive pools find a service's saturation point from latency and errors."""

import itertools

import pytest
import trio
import trio.testing

from arborist.runtime import Retry, Runtime, Workflow
from arborist.runtime.engine import Pool, PoolLimitChanged
from arborist.runtime.engine._adaptive import Adaptive, AdaptiveController

# -- the spec ---------------------------------------------------------------------------------


def test_an_adaptive_spec_starts_at_min_unless_given_an_initial_limit():
    assert Adaptive(min=2, max=8).start == 2
    assert Adaptive(min=2, max=8, initial=5).start == 5


def test_an_adaptive_spec_has_documented_defaults():
    spec = Adaptive(max=64)
    assert (spec.min, spec.initial, spec.tolerance, spec.backoff) == (1, None, 1.5, 0.9)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"min": 0, "max": 4}, ValueError, r"Adaptive\(min=0\): min must be at least 1"),
        ({"min": 5, "max": 2}, ValueError, r"max must be >= min; raise max or lower min"),
        ({"min": 1, "max": 4, "initial": 9}, ValueError, r"initial must lie in \[min, max\]"),
        ({"max": 4, "tolerance": 1.0}, ValueError, r"tolerance=1.0.*must be a finite number > 1"),
        ({"max": 4, "backoff": 1.0}, ValueError, r"backoff=1.0.*strictly between 0 and 1"),
        ({"max": 4, "backoff": 0}, ValueError, r"backoff=0.*strictly between 0 and 1"),
        ({"max": 4.0}, TypeError, r"Adaptive\(max=4.0\): max must be an int"),
        ({"max": True}, TypeError, r"max must be an int"),
        ({"max": 4, "tolerance": "2"}, TypeError, r"tolerance must be a number"),
    ],
)
def test_an_adaptive_spec_rejects_bad_bounds_and_knobs_naming_the_value(kwargs, error, message):
    with pytest.raises(error, match=message):
        Adaptive(**kwargs)


def test_an_adaptive_spec_requires_max():
    with pytest.raises(TypeError, match="max"):
        Adaptive(min=1)  # type: ignore[call-arg]


# -- the controller (pure) --------------------------------------------------------------------


def feed(controller, latency, count, *, saturated=True):
    """Report ``count`` attempts of the current epoch; return the changes they caused."""
    changes = []
    for _ in range(count):
        change = controller.observe(controller.epoch, latency, error=False, saturated=saturated)
        if change is not None:
            changes.append(change)
    return changes


def test_a_saturated_round_at_baseline_latency_doubles_the_limit_during_slow_start():
    controller = AdaptiveController(Adaptive(min=1, max=64))
    assert feed(controller, 0.1, 4) == [(1, 2, "growth")]
    assert feed(controller, 0.1, 4) == [(2, 4, "growth")]
    assert feed(controller, 0.1, 4) == [(4, 8, "growth")]
    assert controller.baseline == pytest.approx(0.1)


def test_a_round_is_at_least_four_attempts_and_otherwise_as_many_as_the_limit():
    controller = AdaptiveController(Adaptive(min=1, max=64, initial=6))
    assert feed(controller, 0.1, 5) == []
    assert feed(controller, 0.1, 1) == [(6, 12, "growth")]
    small = AdaptiveController(Adaptive(min=1, max=64))
    assert feed(small, 0.1, 3) == []
    assert feed(small, 0.1, 1) == [(1, 2, "growth")]


def test_an_unsaturated_round_leaves_the_limit_alone():
    controller = AdaptiveController(Adaptive(min=1, max=64, initial=4))
    assert feed(controller, 0.1, 40, saturated=False) == []
    assert controller.limit == 4


def test_one_saturated_attempt_makes_its_round_saturated():
    controller = AdaptiveController(Adaptive(min=1, max=64, initial=4))
    feed(controller, 0.1, 3, saturated=False)
    assert feed(controller, 0.1, 1, saturated=True) == [(4, 8, "growth")]


def test_a_round_slower_than_tolerance_times_baseline_shrinks_by_gradient_and_backoff():
    controller = AdaptiveController(Adaptive(min=1, max=64, initial=32))
    feed(controller, 0.1, 32, saturated=False)  # baseline 0.1, no change
    # twice the baseline: limit * backoff / ratio = 32 * 0.9 / 2 = 14.4
    assert feed(controller, 0.2, 32) == [(32, 14, "latency")]


def test_a_round_exactly_at_tolerance_does_not_shrink_and_just_above_does():
    at_edge = AdaptiveController(Adaptive(min=1, max=64, initial=8))
    feed(at_edge, 0.1, 8, saturated=False)
    assert feed(at_edge, 0.15, 8, saturated=False) == []
    above = AdaptiveController(Adaptive(min=1, max=64, initial=8))
    feed(above, 0.1, 8, saturated=False)
    assert feed(above, 0.1501, 8, saturated=False) == [(8, 4, "latency")]


def test_after_the_first_decrease_a_saturated_round_grows_the_limit_by_one():
    controller = AdaptiveController(Adaptive(min=1, max=64, initial=32))
    feed(controller, 0.1, 32, saturated=False)
    feed(controller, 0.2, 32)  # 32 -> 14, slow start is over
    assert feed(controller, 0.1, 14) == [(14, 15, "growth")]
    assert feed(controller, 0.1, 15) == [(15, 16, "growth")]


def test_an_error_shrinks_the_limit_by_backoff_at_once_and_ends_slow_start():
    controller = AdaptiveController(Adaptive(min=1, max=64, initial=10))
    assert controller.observe(0, 0.1, error=True, saturated=True) == (10, 9, "error")
    assert feed(controller, 0.1, 9) == [(9, 10, "growth")]


def test_errors_of_attempts_started_before_the_last_change_are_ignored():
    controller = AdaptiveController(Adaptive(min=1, max=64, initial=10))
    assert controller.observe(0, 0.1, error=True, saturated=True) == (10, 9, "error")
    assert controller.observe(0, 0.1, error=True, saturated=True) is None
    assert controller.observe(0, 0.1, error=False, saturated=True) is None
    assert controller.limit == 9
    assert controller.observe(1, 0.1, error=True, saturated=True) == (9, 8, "error")


def test_the_limit_never_leaves_min_and_max():
    controller = AdaptiveController(Adaptive(min=3, max=5, initial=4))
    assert feed(controller, 0.1, 4) == [(4, 5, "growth")]
    assert feed(controller, 0.1, 50) == []
    assert controller.limit == 5
    assert controller.observe(controller.epoch, 0.1, error=True, saturated=True) == (
        5,
        4,
        "error",
    )
    assert controller.observe(controller.epoch, 0.1, error=True, saturated=True) == (
        4,
        3,
        "error",
    )
    assert controller.observe(controller.epoch, 0.1, error=True, saturated=True) is None
    assert feed(controller, 10.0, 4) == []  # queueing at the floor: nothing below min
    assert controller.limit == 3


def test_at_the_floor_a_slow_round_relearns_the_baseline_so_growth_can_resume():
    controller = AdaptiveController(Adaptive(min=1, max=64))
    feed(controller, 0.1, 4, saturated=False)
    assert controller.baseline == pytest.approx(0.1)
    assert feed(controller, 0.3, 4) == []  # the service is 3x slower even at one slot
    assert controller.baseline == pytest.approx(0.3)
    assert feed(controller, 0.3, 4) == [(1, 2, "growth")]


def test_the_controller_repr_shows_limit_baseline_and_epoch():
    controller = AdaptiveController(Adaptive(min=1, max=8))
    assert repr(controller) == "<AdaptiveController limit=1 baseline=? epoch=0>"
    feed(controller, 0.25, 4)
    assert repr(controller) == "<AdaptiveController limit=2 baseline=0.25s epoch=1>"


# -- pools in a runtime -----------------------------------------------------------------------


class Service:
    """A simulated service with ``capacity`` servers: beyond them requests queue.

    A request's latency is ``base`` while at most ``capacity`` requests are in flight, and
    ``base * in_flight / capacity`` beyond (the time to get through the queue).
    """

    def __init__(self, capacity, base=0.1):
        self.capacity = capacity
        self.base = base
        self.in_flight = 0

    async def call(self):
        self.in_flight += 1
        try:
            await trio.sleep(self.base * max(1.0, self.in_flight / self.capacity))
        finally:
            self.in_flight -= 1


def fan_out(name, calls, count, *, retry=None):
    wf = Workflow(name)
    for n in range(count):

        async def call():
            await calls()

        wf.step(name=f"call_{n}", pool="api", retry=retry)(call)
    return wf


def limit_changes(rt):
    changes = []
    rt.subscribe(lambda event: changes.append(event) if isinstance(event, PoolLimitChanged) else 0)
    return changes


def limits_over(changes, initial, since, until):
    """Time-weighted (limit, seconds) pieces of the limit's history within [since, until]."""
    pieces = []
    limit, at = initial, since
    for change in changes:
        if change.time > since:
            pieces.append((limit, min(change.time, until) - at))
            at = min(change.time, until)
        limit = change.new
    pieces.append((limit, until - at))
    return [(limit, seconds) for limit, seconds in pieces if seconds > 0]


@pytest.mark.parametrize("capacity", [4, 16])
async def test_the_adaptive_limit_finds_the_knee_of_a_queueing_service_without_being_told(
    autojump_clock, capacity
):
    service = Service(capacity)
    requests = 150 * capacity
    async with Runtime() as rt:
        rt.pool("api", limit=Adaptive(min=1, max=64))
        changes = limit_changes(rt)
        await rt.run(fan_out("calls", service.call, requests))
        end = trio.current_time()
    ideal = requests * service.base / capacity
    assert end <= 1.1 * ideal  # throughput within 10% of the service's best
    late = limits_over(changes, 1, end / 2, end)
    assert all(0.5 * capacity <= limit <= 2 * capacity for limit, _ in late)
    mean = sum(limit * seconds for limit, seconds in late) / sum(s for _, s in late)
    assert capacity <= mean <= 1.5 * capacity


async def test_the_adaptive_limit_stays_low_when_the_service_queues_from_the_first_request(
    autojump_clock,
):
    service = Service(capacity=1)
    async with Runtime() as rt:
        rt.pool("api", limit=Adaptive(min=1, max=64))
        changes = limit_changes(rt)
        await rt.run(fan_out("calls", service.call, 200))
        end = trio.current_time()
    late = limits_over(changes, 1, end / 2, end)
    assert max(limit for limit, _ in late) <= 2


async def test_each_limit_change_is_an_event_and_the_pool_statistics_follow_it(autojump_clock):
    seen = []
    service = Service(capacity=8)

    async def call():
        await service.call()
        seen.append(rt._pools["api"].statistics().limit)

    async with Runtime() as rt:
        pool = rt.pool("api", limit=Adaptive(min=1, max=64))
        changes = limit_changes(rt)
        await rt.run(fan_out("calls", call, 40))
        assert [(c.pool, c.old, c.new, c.reason) for c in changes[:3]] == [
            ("api", 1, 2, "growth"),
            ("api", 2, 4, "growth"),
            ("api", 4, 8, "growth"),
        ]
        assert [c.time for c in changes[:3]] == pytest.approx([0.4, 0.6, 0.7])
        assert all(c.old != c.new for c in changes)
        assert all(a.new == b.old for a, b in itertools.pairwise(changes))
        assert pool.statistics().limit == changes[-1].new
        assert pool.statistics().adaptive
        assert pool.statistics().baseline == pytest.approx(0.1)


async def test_failing_attempts_shrink_the_limit_and_are_reported_as_errors(autojump_clock):
    state = {"failing": False}

    async def call():
        await trio.sleep(0.1)
        if state["failing"]:
            state["failing"] = False
            raise ConnectionError("overloaded")

    async with Runtime() as rt:
        pool = rt.pool("api", limit=Adaptive(min=1, max=64, initial=10))
        changes = limit_changes(rt)
        state["failing"] = True
        await rt.run(fan_out("calls", call, 10, retry=Retry(attempts=2)))
        assert changes[0] == PoolLimitChanged("api", 10, 9, 0.1, "error")
        assert pool.limit == 9


async def test_a_step_timeout_counts_as_an_error_of_its_pool(autojump_clock):
    wf = Workflow("slow")

    @wf.step(pool="api", timeout=1.0, retry=Retry(attempts=2))
    async def call(ctx):
        if ctx.attempt == 1:
            await trio.sleep(5)

    async with Runtime() as rt:
        rt.pool("api", limit=Adaptive(min=1, max=64, initial=4))
        changes = limit_changes(rt)
        await rt.run(wf)
    assert changes == [PoolLimitChanged("api", 4, 3, 1.0, "error")]


async def test_a_cancelled_attempt_is_not_reported_to_its_adaptive_pool(autojump_clock):
    async def forever():
        await trio.sleep_forever()

    async with Runtime() as rt:
        pool = rt.pool("api", limit=Adaptive(min=1, max=64, initial=4))
        changes = limit_changes(rt)
        handle = await rt.start(fan_out("stuck", forever, 4))
        await trio.sleep(1.0)
        assert pool.statistics().in_use == 4
        handle.cancel()
        with pytest.raises(Exception, match="cancel"):
            await handle.result()
        assert changes == []
        assert pool.statistics().in_use == 0
        assert pool.limit == 4


async def test_a_fixed_pool_ignores_reports_and_emits_no_events(autojump_clock):
    service = Service(capacity=2)
    async with Runtime() as rt:
        pool = rt.pool("api", limit=3)
        changes = limit_changes(rt)
        await rt.run(fan_out("calls", service.call, 30))
        assert changes == []
        assert pool.limit == 3
        assert not pool.statistics().adaptive


async def test_redeclaring_a_pool_switches_between_fixed_and_adaptive_limits(autojump_clock):
    async with Runtime() as rt:
        pool = rt.pool("api", limit=5)
        assert rt.pool("api", limit=Adaptive(min=2, max=9)) is pool
        assert pool.limit == 2
        assert pool.statistics().adaptive
        rt.pool("api", limit=7)
        assert pool.limit == 7
        assert not pool.statistics().adaptive


async def test_an_adaptive_pool_repr_says_so(autojump_clock):
    async with Runtime() as rt:
        pool = rt.pool("api", limit=Adaptive(min=3, max=9))
        assert repr(pool) == "<Pool 'api' adaptive 0/3 in use, 0 waiting>"
        assert repr(rt.pool("db", limit=2)) == "<Pool 'db' 0/2 in use, 0 waiting>"


async def test_an_adaptive_pool_that_shrinks_below_its_slots_in_use_waits_for_releases(
    autojump_clock,
):
    pool = Pool("api", Adaptive(min=1, max=8, initial=4))
    borrowers = [object() for _ in range(5)]
    for borrower in borrowers[:4]:
        await pool.acquire(borrower)
    pool.observe(borrowers[0], error=True)  # 4 -> 3 while four slots are held
    assert pool.limit == 3
    async with trio.open_nursery() as nursery:
        nursery.start_soon(pool.acquire, borrowers[4])
        await trio.testing.wait_all_tasks_blocked()
        pool.release(borrowers[0])
        await trio.testing.wait_all_tasks_blocked()
        assert (pool.statistics().in_use, pool.statistics().waiting) == (3, 1)
        pool.release(borrowers[1])
        await trio.testing.wait_all_tasks_blocked()
        assert (pool.statistics().in_use, pool.statistics().waiting) == (3, 0)


async def test_a_step_cancelled_while_waiting_for_its_second_pool_gives_back_the_first(
    autojump_clock,
):
    blocker = Workflow("blocker")

    @blocker.step(pool="b")
    async def hold():
        await trio.sleep(10)

    wf = Workflow("waits")

    @wf.step(pool="b")
    async def needs_both(ctx):
        return ctx.attempt

    async with Runtime() as rt:
        first = rt.pool("a", limit=1)
        rt.pool("b", limit=1)
        held = await rt.start(blocker)
        await trio.sleep(1)
        handle = await rt.start(wf, pool="a")
        await trio.sleep(1)
        assert first.statistics().in_use == 1
        handle.cancel()
        with pytest.raises(Exception, match="cancel"):
            await handle.result()
        assert first.statistics().in_use == 0
        await held.result()
