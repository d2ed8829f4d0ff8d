"""Named pools bound steps across every run of a runtime."""

import trio
import trio.testing

from arborist.runtime import Runtime, Workflow


class Gauge:
    """Counts the steps running now and the most that ever ran at once."""

    def __init__(self):
        self.running = 0
        self.peak = 0

    async def hold(self, seconds):
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            await trio.sleep(seconds)
        finally:
            self.running -= 1


def _fan_out(name, gauges, width, *, pool=None, seconds=1.0):
    wf = Workflow(name)
    for n in range(width):

        async def work():
            for gauge in gauges:
                gauge.running += 1
                gauge.peak = max(gauge.peak, gauge.running)
            try:
                await trio.sleep(seconds)
            finally:
                for gauge in gauges:
                    gauge.running -= 1

        wf.step(name=f"work_{n}", pool=pool)(work)
    return wf


async def test_a_run_pool_bounds_the_steps_of_all_runs_using_it_together(autojump_clock):
    in_pool = Gauge()
    async with Runtime() as rt:
        rt.pool("db", limit=3)
        first = await rt.start(_fan_out("first", [in_pool], 4), pool="db")
        second = await rt.start(_fan_out("second", [in_pool], 4), pool="db")
        await first.result()
        await second.result()
        assert trio.current_time() == 3.0  # 8 steps of 1 s through 3 slots
    assert in_pool.peak == 3


async def test_a_step_pool_bounds_that_step_across_runs_while_other_steps_run_freely(
    autojump_clock,
):
    in_pool = Gauge()
    free = Gauge()
    wf = Workflow("mixed")

    @wf.step(pool="api")
    async def call_api():
        await in_pool.hold(1.0)

    @wf.step
    async def compute():
        await free.hold(1.0)

    async with Runtime() as rt:
        rt.pool("api", limit=1)
        handles = [await rt.start(wf) for _ in range(3)]
        for handle in handles:
            await handle.result()
        assert trio.current_time() == 3.0
    assert in_pool.peak == 1
    assert free.peak == 3


async def test_a_step_respects_both_its_pool_and_its_runs_max_concurrency(autojump_clock):
    run_gauge = Gauge()
    pool_gauge = Gauge()
    async with Runtime() as rt:
        rt.pool("db", limit=2)
        limited = _fan_out("limited", [run_gauge, pool_gauge], 6, pool="db")
        other = _fan_out("other", [pool_gauge], 6, pool="db")
        first = await rt.start(limited, max_concurrency=1)
        second = await rt.start(other)
        await first.result()
        await second.result()
    assert run_gauge.peak == 1
    assert pool_gauge.peak == 2


async def test_a_step_with_its_own_pool_in_a_run_with_a_pool_holds_both(autojump_clock):
    async with Runtime() as rt:
        db = rt.pool("db", limit=5)
        api = rt.pool("api", limit=5)
        seen = []
        wf = Workflow("both")

        @wf.step(pool="api")
        async def call():
            seen.append((db.statistics().in_use, api.statistics().in_use))

        await rt.run(wf, pool="db")
    assert seen == [(1, 1)]
    assert (db.statistics().in_use, api.statistics().in_use) == (0, 0)


async def test_a_parent_step_holding_the_only_slot_can_run_a_child_needing_the_same_pool(
    autojump_clock,
):
    child = Workflow("child", inputs=["n"])

    @child.step(pool="db")
    async def query(n):
        await trio.sleep(1.0)
        return n * 10

    child.returns("query")
    parent = Workflow("parent")

    @parent.step(pool="db")
    async def outer(ctx):
        first = await ctx.run(child, n=1)
        second = await ctx.run(child, n=2)
        return first + second

    parent.returns("outer")
    async with Runtime() as rt:
        db = rt.pool("db", limit=1)
        with trio.fail_after(10):
            assert await rt.run(parent) == 30
        assert trio.current_time() == 2.0
        assert db.statistics().in_use == 0


async def test_a_parent_step_gets_its_slot_back_after_its_child_run(autojump_clock):
    child = Workflow("child")

    @child.step(pool="db")
    async def query():
        await trio.sleep(1.0)

    parent = Workflow("parent")
    in_use = []

    @parent.step(pool="db")
    async def outer(ctx):
        await ctx.run(child)
        in_use.append(rt.pool("db", limit=1).statistics().in_use)

    async with Runtime() as rt:
        rt.pool("db", limit=1)
        await rt.run(parent)
    assert in_use == [1]


async def test_resizing_a_pool_changes_its_limit_for_later_steps(autojump_clock):
    gauge = Gauge()
    async with Runtime() as rt:
        pool = rt.pool("db", limit=1)
        assert rt.pool("db", limit=4) is pool
        await rt.run(_fan_out("resized", [gauge], 8, pool="db"))
        assert trio.current_time() == 2.0
    assert gauge.peak == 4


async def test_a_pools_repr_and_statistics_show_slots_in_use_and_waiters():
    async with Runtime() as rt:
        pool = rt.pool("db", limit=2)
        release = trio.Event()
        wf = Workflow("holders")
        for n in range(3):

            async def hold():
                await release.wait()

            wf.step(name=f"hold_{n}", pool="db")(hold)
        handle = await rt.start(wf)
        await trio.testing.wait_all_tasks_blocked()
        assert repr(pool) == "<Pool 'db' 2/2 in use, 1 waiting>"
        assert (pool.statistics().in_use, pool.statistics().waiting) == (2, 1)
        release.set()
        await handle.result()
        assert repr(pool) == "<Pool 'db' 0/2 in use, 0 waiting>"


# -- fairness between runs ----------------------------------------------------------------------


def _timed_run(name, width, *, pool, seconds=1.0):
    """A run of ``width`` independent steps of ``seconds`` each; records when each starts."""
    wf = Workflow(name)
    starts = []
    for n in range(width):

        async def work(n=n):
            starts.append((n, trio.current_time()))
            await trio.sleep(seconds)

        wf.step(name=f"{name}_{n}", pool=pool)(work)
    return wf, starts


async def test_two_runs_sharing_a_pool_take_turns_for_the_slots_that_free_up(autojump_clock):
    first, _ = _timed_run("first", 6, pool="p")
    second, _ = _timed_run("second", 6, pool="p")
    ended = {}
    async with Runtime() as rt:
        rt.pool("p", limit=3)

        async def run(wf):
            await rt.run(wf)
            ended[wf.name] = trio.current_time()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(run, first)
            await trio.testing.wait_all_tasks_blocked()
            nursery.start_soon(run, second)
    # FIFO across runs would end them at 2.0 and 4.0: round-robin shares every freed slot.
    assert ended == {"first": 3.0, "second": 4.0}


async def test_a_big_run_cannot_starve_a_small_run_that_comes_later(autojump_clock):
    big, _ = _timed_run("big", 40, pool="p")
    small, small_starts = _timed_run("small", 2, pool="p")
    async with Runtime() as rt:
        rt.pool("p", limit=2)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(rt.run, big)
            await trio.sleep(0.5)
            await rt.run(small)
            small_done = trio.current_time()
            nursery.cancel_scope.cancel()
    # With FIFO the small run would wait for all 40 steps of the big one (20 s).
    assert [t for _, t in small_starts] == [1.0, 2.0]
    assert small_done == 3.0
