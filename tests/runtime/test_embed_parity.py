"""The three runtimes expose the same verbs with the same meaning.

``Runtime`` (trio), ``Runtime.background()`` (a thread, blocking calls) and
``open_asyncio_runtime()`` (trio guest mode in asyncio). ``VERBS`` is the table the README's
embedding section shows: how each verb is called on each runtime. Each behaviour below is
written once, as a scenario against ``Verbs`` (``await do("verb", ...)`` calls the verb the
way that runtime calls it), and run on all three. The trio runtime runs on trio's MockClock;
the thread and asyncio runtimes run on the real clock, polling briefly for what happens in the
background, and nothing asserts on elapsed time.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio
import trio.lowlevel

from arborist.actors import Actor
from arborist.runtime import (
    BackgroundRuntime,
    Runtime,
    RuntimeClosedError,
    RuntimeShutdownReport,
    Workflow,
    WorkflowCancelledError,
    every,
    open_asyncio_runtime,
)
from arborist.runtime.embed import AsyncioRuntime
from arborist.runtime.embed._host import call_on_trio
from arborist.runtime.engine import RunFinished

AWAIT, PLAIN = "await", "plain"

# verb -> how the trio Runtime calls it; AsyncioRuntime calls it the same way, and
# BackgroundRuntime always blocks the calling thread instead.
VERBS: dict[str, str] = {
    "run": AWAIT,
    "start": AWAIT,
    "get_run": AWAIT,
    "resume": AWAIT,
    "cancel_run": AWAIT,
    "runs": AWAIT,
    "enqueue": AWAIT,
    "recover_jobs": AWAIT,
    "jobs": AWAIT,
    "schedule": PLAIN,
    "unschedule": AWAIT,
    "schedules": PLAIN,
    "pause_schedule": PLAIN,
    "resume_schedule": PLAIN,
    "run_schedule_now": PLAIN,
    "fire_and_forget": PLAIN,
    "spawn": AWAIT,
    "tree": AWAIT,
    "pool": PLAIN,
    "pool_statistics": PLAIN,
    "subscribe": PLAIN,
}

FLAVORS = ["trio", "thread", "asyncio"]
POLLS = 2000  # real-clock polls of 5 ms at most before a scenario gives up (10 s)


class Verbs:
    """Calls a runtime's verbs the way that runtime calls them, for scenarios written once."""

    def __init__(self, rt: Any, flavor: str) -> None:
        self.rt = rt
        self.flavor = flavor

    async def __call__(self, verb: str, /, *args: Any, **kwargs: Any) -> Any:
        if verb == "call" and self.flavor == "trio":  # trio code calls the function itself
            return await call_on_trio(*args)
        value = getattr(self.rt, verb)(*args, **kwargs)
        if inspect.isawaitable(value):
            value = await value
        return value

    async def result(self, handle: Any) -> Any:
        value = handle.result()
        return (await value) if inspect.isawaitable(value) else value

    async def until(self, predicate: Callable[[], bool], what: str) -> None:
        for _ in range(POLLS):
            if predicate():
                return
            await self.pause()
        raise AssertionError(f"never happened: {what}")

    async def pause(self) -> None:
        """A short wait: a mock second on trio, 5 ms of real time elsewhere."""
        if self.flavor == "trio":
            await trio.sleep(1)
        else:
            await asyncio.sleep(0.005)


Scenario = Callable[[Verbs], Awaitable[Any]]


async def on(flavor: str, scenario: Scenario, **options: Any) -> Any:
    """Run ``scenario`` against a fresh runtime of ``flavor``; return what it returns."""
    if flavor == "trio":
        async with Runtime(**options) as rt:
            return await scenario(Verbs(rt, flavor))

    async def in_asyncio() -> Any:
        if flavor == "asyncio":
            async with open_asyncio_runtime(**options) as aio:
                return await scenario(Verbs(aio, flavor))
        with Runtime.background(**options) as bg:
            return await scenario(Verbs(bg, flavor))

    return await trio.to_thread.run_sync(asyncio.run, in_asyncio())


@pytest.fixture(params=FLAVORS)
def flavor(request: pytest.FixtureRequest) -> str:
    """Each test also takes ``autojump_clock``: the trio runtime runs on trio's MockClock."""
    return str(request.param)


def _double() -> Workflow:
    wf = Workflow("double", inputs=["x"])

    @wf.step
    async def double(x):
        return 2 * x

    wf.returns("double")
    return wf


def _stuck() -> Workflow:
    wf = Workflow("stuck")

    @wf.step
    async def wait():
        await trio.sleep_forever()

    return wf


class Adder(Actor):
    def __init__(self) -> None:
        self.total = 0

    def on_receive(self, message: int) -> int:
        self.total += message
        return self.total


# -- the verb table ---------------------------------------------------------------------------


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_every_verb_is_called_the_same_way_on_trio_and_asyncio_and_blocks_on_a_thread(verb):
    awaited = VERBS[verb] == AWAIT

    assert inspect.iscoroutinefunction(getattr(Runtime, verb)) is awaited
    assert inspect.iscoroutinefunction(getattr(AsyncioRuntime, verb)) is awaited
    assert callable(getattr(BackgroundRuntime, verb))
    assert not inspect.iscoroutinefunction(getattr(BackgroundRuntime, verb))


def test_the_table_holds_every_public_verb_of_the_trio_runtime():
    lifecycle = {"background", "aclose", "store", "system", "shutdown_report"}
    lifecycle |= {"start_task", "recovery_report"}  # start_task: use call; a property
    public = {name for name in dir(Runtime) if not name.startswith("_")}

    assert public - lifecycle == set(VERBS)


def test_the_recovery_report_is_a_property_on_all_three():
    for cls in (Runtime, BackgroundRuntime, AsyncioRuntime):
        assert isinstance(inspect.getattr_static(cls, "recovery_report"), property)


# -- runs -------------------------------------------------------------------------------------


async def test_run_returns_the_workflows_result(flavor, autojump_clock):
    async def scenario(do: Verbs) -> Any:
        return await do("run", _double(), x=21)

    assert await on(flavor, scenario) == 42


async def test_start_returns_a_handle_whose_result_is_the_runs(flavor, autojump_clock):
    async def scenario(do: Verbs) -> Any:
        handle = await do("start", _double(), x=4)
        assert handle.workflow == "double"
        return await do.result(handle)

    assert await on(flavor, scenario) == 8


async def test_get_run_finds_a_run_in_flight_by_its_id(flavor, autojump_clock):
    async def scenario(do: Verbs) -> Any:
        handle = await do("start", _stuck())
        found = await do("get_run", handle.run_id)
        handle.cancel()
        return found.run_id == handle.run_id

    assert await on(flavor, scenario) is True


async def test_cancel_run_cancels_a_run_in_flight_and_waits_for_it(flavor, autojump_clock):
    async def scenario(do: Verbs) -> Any:
        handle = await do("start", _stuck())
        await do("cancel_run", handle.run_id)
        with pytest.raises(WorkflowCancelledError):
            await do.result(handle)
        return handle.done

    assert await on(flavor, scenario) is True


async def test_runs_without_a_store_says_it_needs_one(flavor, autojump_clock):
    async def scenario(do: Verbs) -> Any:
        with pytest.raises(RuntimeError, match="needs a store"):
            await do("runs")

    await on(flavor, scenario)


# -- schedules --------------------------------------------------------------------------------


async def test_a_schedule_fires_until_it_is_unscheduled(flavor, autojump_clock):
    async def scenario(do: Verbs) -> Any:
        ticks: list[int] = []

        async def tick() -> None:
            ticks.append(1)

        await do("schedule", "tick", every(seconds=0.05), tick)
        await do.until(lambda: len(ticks) >= 2, "two ticks")
        await do("unschedule", "tick")
        fired = len(ticks)
        for _ in range(5):
            await do.pause()
        names = [info.name for info in await do("schedules")]
        return fired, len(ticks), names

    fired, after, names = await on(flavor, scenario)
    assert after == fired
    assert names == []


async def test_schedules_lists_each_schedule_and_prints_as_a_table(flavor, autojump_clock):
    async def job() -> None:
        pass

    async def scenario(do: Verbs) -> Any:
        await do("schedule", "hourly", every(hours=1), job)
        return await do("schedules")

    table = await on(flavor, scenario)
    assert [info.name for info in table] == ["hourly"]
    assert str(table).splitlines()[0].split()[:2] == ["schedule", "trigger"]
    assert "hourly" in str(table)


async def test_pause_schedule_and_resume_schedule_change_its_state(flavor, autojump_clock):
    async def job() -> None:
        pass

    async def scenario(do: Verbs) -> Any:
        await do("schedule", "s", every(hours=1), job)
        await do("pause_schedule", "s")
        paused = (await do("schedules"))[0].paused
        await do("resume_schedule", "s")
        return paused, (await do("schedules"))[0].paused

    assert await on(flavor, scenario) == (True, False)


async def test_run_schedule_now_ticks_the_schedule_at_once(flavor, autojump_clock):
    async def scenario(do: Verbs) -> Any:
        ticks: list[int] = []

        async def tick() -> None:
            ticks.append(1)

        await do("schedule", "s", every(hours=1), tick)
        await do("run_schedule_now", "s")
        await do.until(lambda: ticks == [1], "the tick run now")

    await on(flavor, scenario)


# -- jobs, actors, pools, events, call ----------------------------------------------------------


async def test_fire_and_forget_runs_the_job(flavor, autojump_clock):
    async def scenario(do: Verbs) -> Any:
        ran: list[int] = []

        async def job(x: int) -> None:
            ran.append(x)

        await do("fire_and_forget", job, 7)
        await do.until(lambda: ran == [7], "the job ran")

    await on(flavor, scenario)


async def test_spawn_starts_an_actor_that_call_can_ask(flavor, autojump_clock):
    async def scenario(do: Verbs) -> Any:
        ref = await do("spawn", Adder, name="adder")
        await do("call", ref.ask, 2)
        return await do("call", ref.ask, 3)

    assert await on(flavor, scenario) == 5


async def test_call_awaits_an_async_function_on_the_trio_side(flavor, autojump_clock):
    async def add(a: int, b: int) -> int:
        await trio.lowlevel.checkpoint()  # a trio checkpoint: this runs in trio
        return a + b

    async def scenario(do: Verbs) -> Any:
        return await do("call", add, 2, 3)

    assert await on(flavor, scenario) == 5


async def test_call_calls_a_sync_function_in_a_trio_task(flavor, autojump_clock):
    def where(a: int) -> tuple[int, str]:
        return a, trio.lowlevel.current_task().name  # raises outside a trio task

    async def scenario(do: Verbs) -> Any:
        return await do("call", where, 1)

    value, task = await on(flavor, scenario)
    assert value == 1
    assert task


async def test_tree_shows_the_runtimes_supervisors(flavor, autojump_clock):
    async def scenario(do: Verbs) -> Any:
        return str(await do("tree"))

    text = await on(flavor, scenario)
    assert "jobs" in text
    assert "runs" in text


async def test_pool_declares_a_pool_that_pool_statistics_lists(flavor, autojump_clock):
    async def scenario(do: Verbs) -> Any:
        await do("pool", "db", 3)
        return await do("pool_statistics")

    [stats] = await on(flavor, scenario)
    assert (stats.name, stats.limit) == ("db", 3)


async def test_subscribe_delivers_events_until_unsubscribed(flavor, autojump_clock):
    async def scenario(do: Verbs) -> Any:
        seen: list[Any] = []
        unsubscribe = await do("subscribe", seen.append, only=RunFinished)
        await do("run", _double(), x=1)
        await do.until(lambda: len(seen) == 1, "the first run's RunFinished")
        unsubscribe()
        await do("run", _double(), x=2)
        for _ in range(3):
            await do.pause()
        return seen

    seen = await on(flavor, scenario)
    assert [type(event) for event in seen] == [RunFinished]


# -- closing ----------------------------------------------------------------------------------


async def _nothing() -> None:
    pass


async def _close(do: Verbs) -> Any:
    return await do("close" if do.flavor == "thread" else "aclose")


async def test_close_returns_the_report_is_idempotent_and_refuses_new_runs(flavor, autojump_clock):
    async def scenario(do: Verbs) -> Any:
        first = await _close(do)
        second = await _close(do)
        with pytest.raises(RuntimeClosedError):
            await do("run", _double(), x=1)
        with pytest.raises(RuntimeClosedError):
            await do("schedule", "late", every(hours=1), _nothing)
        with pytest.raises(RuntimeClosedError):
            await do("fire_and_forget", _nothing)
        return first, second

    first, second = await on(flavor, scenario)
    assert isinstance(first, RuntimeShutdownReport)
    assert second is first


def test_a_background_runtime_opens_and_closes_without_with():
    rt = Runtime.background()
    assert rt.open() is rt
    assert rt.open() is rt  # idempotent
    assert rt.run(_double(), x=5) == 10
    report = rt.close()
    assert rt.close() is report


def test_a_closed_background_runtime_cannot_be_opened_again():
    rt = Runtime.background()
    rt.open()
    rt.close()
    with pytest.raises(RuntimeError, match="started once"):
        rt.open()


def test_close_resolves_every_pending_future_of_a_background_runtime():
    rt = Runtime.background(shutdown_timeout=0).open()
    handles = [rt.start(_stuck()) for _ in range(3)]
    rt.close()
    assert all(handle.future.done() for handle in handles)
    assert all(isinstance(h.future.exception(), WorkflowCancelledError) for h in handles)


@pytest.mark.parametrize("verb", ["run", "schedule", "schedules", "fire_and_forget", "call"])
def test_an_asyncio_runtime_refuses_calls_once_its_block_has_ended(verb):
    arguments: dict[str, tuple[Any, ...]] = {
        "run": (_double(),),
        "schedule": ("late", every(hours=1), _nothing),
        "schedules": (),
        "fire_and_forget": (_nothing,),
        "call": (_nothing,),
    }

    async def main() -> None:
        async with open_asyncio_runtime() as rt:
            pass
        with pytest.raises(RuntimeClosedError, match="block has ended"):
            await Verbs(rt, "asyncio")(verb, *arguments[verb])

    asyncio.run(main())


def test_a_plain_asyncio_verb_called_off_the_loops_thread_is_refused():
    async def main() -> None:
        async with open_asyncio_runtime() as rt:
            loop = asyncio.get_running_loop()
            with pytest.raises(RuntimeError, match="off the asyncio loop's thread"):
                await loop.run_in_executor(None, rt.schedules)

    asyncio.run(main())


async def test_a_started_runs_handle_gives_its_timeline_on_all_three(flavor, autojump_clock):
    async def scenario(do: Verbs) -> Any:
        handle = await do("start", _double(), x=1)
        await do.result(handle)
        return handle.timeline()

    assert "double" in await on(flavor, scenario)
