"""How many steps run at once: max_concurrency, worker threads for def steps, inline steps."""

import threading

import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arborist.runtime import RunStarted, Runtime, Workflow


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


def _fan_out(gauge, width, seconds=1.0):
    wf = Workflow("fan_out")
    for n in range(width):

        async def work():
            await gauge.hold(seconds)

        wf.step(name=f"work_{n}")(work)
    return wf


async def test_max_concurrency_bounds_the_steps_of_a_run_in_flight_at_once(autojump_clock):
    gauge = Gauge()
    async with Runtime() as rt:
        await rt.run(_fan_out(gauge, 10), max_concurrency=3)
        assert trio.current_time() == 4.0  # ceil(10 / 3) waves of 1 s
    assert gauge.peak == 3


async def test_without_max_concurrency_every_ready_step_runs_at_once(autojump_clock):
    gauge = Gauge()
    async with Runtime() as rt:
        await rt.run(_fan_out(gauge, 10))
        assert trio.current_time() == 1.0
    assert gauge.peak == 10


async def test_a_step_waiting_for_a_slot_starts_the_moment_one_frees(autojump_clock):
    started = {}
    wf = Workflow("slots")
    for name, seconds in [("a", 0.5), ("b", 2.0), ("c", 1.0)]:

        async def work(name=name, seconds=seconds):
            started[name] = trio.current_time()
            await trio.sleep(seconds)

        wf.step(name=name, args={})(work)
    async with Runtime() as rt:
        await rt.run(wf, max_concurrency=2)
    assert started == {"a": 0.0, "b": 0.0, "c": 0.5}


@st.composite
def _dags(draw):
    size = draw(st.integers(min_value=1, max_value=8))
    deps = [
        draw(st.sets(st.integers(min_value=0, max_value=n - 1), max_size=3)) if n else set()
        for n in range(size)
    ]
    durations = [draw(st.sampled_from([0.0, 0.5, 1.0, 2.5])) for _ in range(size)]
    limit = draw(st.integers(min_value=1, max_value=4))
    return deps, durations, limit


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_dags())
def test_over_random_graphs_no_run_exceeds_its_limit_and_every_step_follows_its_needs(case):
    deps, durations, limit = case
    gauge = Gauge()
    spans = {}
    wf = Workflow("random")
    for n, (needs, seconds) in enumerate(zip(deps, durations, strict=True)):

        async def work(n=n, seconds=seconds):
            start = trio.current_time()
            await gauge.hold(seconds)
            spans[n] = (start, trio.current_time())

        wf.step(name=f"s{n}", args={}, wait_for=[f"s{d}" for d in sorted(needs)])(work)

    async def main():
        async with Runtime() as rt:
            await rt.run(wf, max_concurrency=limit)

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert gauge.peak <= limit
    assert sorted(spans) == list(range(len(deps)))
    for n, needs in enumerate(deps):
        for dep in needs:
            assert spans[dep][1] <= spans[n][0]


async def test_a_def_step_runs_on_a_worker_thread_and_does_not_block_the_trio_loop():
    release = threading.Event()
    threads = []
    ticks = 0
    wf = Workflow("blocking")

    @wf.step
    def wait_for_release():
        threads.append(threading.current_thread())
        assert release.wait(timeout=10)
        return "released"

    wf.returns("wait_for_release")

    async def ticker():
        nonlocal ticks
        while ticks < 5:
            await trio.sleep(0.001)
            ticks += 1
        release.set()  # only a loop that kept running can get here

    with trio.fail_after(5):
        async with Runtime() as rt, trio.open_nursery() as nursery:
            handle = await rt.start(wf)
            nursery.start_soon(ticker)
            assert await handle.result() == "released"
    assert ticks == 5
    assert threads[0] is not threading.main_thread()


async def test_the_thread_limit_bounds_how_many_def_steps_block_at_once():
    release = threading.Event()
    two_entered = trio.Event()
    lock = threading.Lock()
    running = [0]
    peak = [0]

    def entered():
        if running[0] == 2:
            two_entered.set()

    wf = Workflow("threads")
    for n in range(4):

        def block():
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
            trio.from_thread.run_sync(entered)
            release.wait(timeout=10)
            with lock:
                running[0] -= 1

        wf.step(name=f"block_{n}")(block)

    with trio.fail_after(5):
        async with Runtime(thread_limit=2) as rt:
            handle = await rt.start(wf)
            await two_entered.wait()
            await trio.testing.wait_all_tasks_blocked()
            stats = rt._thread_limiter.statistics()
            assert (stats.borrowed_tokens, stats.tasks_waiting) == (2, 2)
            release.set()
            await handle.result()
    assert peak[0] == 2


async def test_an_inline_step_runs_in_the_coordinators_own_task():
    tasks = {}
    wf = Workflow("inline")

    @wf.step(inline=True)
    async def tiny():
        tasks["tiny"] = trio.lowlevel.current_task()
        return 1

    @wf.step(inline=True)
    def tiny_sync(tiny):
        tasks["tiny_sync"] = trio.lowlevel.current_task()
        return tiny + 1

    @wf.step
    async def normal(tiny_sync):
        tasks["normal"] = trio.lowlevel.current_task()
        return tiny_sync + 1

    wf.returns("normal")
    async with Runtime() as rt:
        # RunStarted is emitted by the coordinator, so its handler runs in the coordinator's task.
        rt.subscribe(
            lambda _: tasks.setdefault("coordinator", trio.lowlevel.current_task()), only=RunStarted
        )
        assert await rt.run(wf) == 3
    coordinator_task = tasks["coordinator"]
    assert tasks["tiny"] is coordinator_task
    assert tasks["tiny_sync"] is coordinator_task
    assert tasks["normal"] is not coordinator_task


async def test_an_inline_step_counts_against_max_concurrency(autojump_clock):
    gauge = Gauge()
    wf = Workflow("inline_limit")

    @wf.step(inline=True)
    async def tiny():
        await gauge.hold(1.0)

    @wf.step
    async def other():
        await gauge.hold(1.0)

    async with Runtime() as rt:
        await rt.run(wf, max_concurrency=1)
        assert trio.current_time() == 2.0
    assert gauge.peak == 1
