"""A long run keeps only what is still needed: results are dropped once their consumers start."""

import gc
import weakref

import trio
import trio.testing

from arborist.runtime import Runtime, Workflow
from arborist.runtime.engine import Coordinator
from arborist.supervision import ChildStarted


class Blob:
    """A result object we can hold a weak reference to."""

    def __init__(self, label):
        self.label = label


async def test_a_result_is_dropped_once_every_step_that_takes_it_has_started():
    refs = {}
    release = trio.Event()
    wf = Workflow("pipeline")

    @wf.step
    async def load():
        blob = Blob("raw")
        refs["load"] = weakref.ref(blob)
        return blob

    @wf.step
    async def parse(load):
        return len(load.label)

    @wf.step
    async def count(load):
        return load.label.upper()

    @wf.step
    async def publish(parse, count):
        await release.wait()  # a later step still running
        return (parse, count)

    wf.returns("publish")
    async with Runtime() as rt:
        handle = await rt.start(wf)
        await trio.testing.wait_all_tasks_blocked()
        gc.collect()
        assert refs["load"]() is None
        assert not handle.done
        release.set()
        assert await handle.result() == (3, "RAW")


async def test_a_result_is_kept_while_a_step_that_takes_it_has_not_started(autojump_clock):
    refs = {}
    alive_when_consumer_starts = []
    wf = Workflow("late_consumer")

    @wf.step
    async def load():
        blob = Blob("raw")
        refs["load"] = weakref.ref(blob)
        return blob

    @wf.step
    async def early(load):
        return load.label

    @wf.step
    async def slow():
        await trio.sleep(1.0)

    @wf.step
    async def late(load, slow):
        alive_when_consumer_starts.append(load.label)

    async with Runtime() as rt:
        await rt.run(wf)
    assert alive_when_consumer_starts == ["raw"]


async def test_the_returned_result_is_kept_until_the_run_returns_it():
    refs = {}
    release = trio.Event()
    wf = Workflow("returned")

    @wf.step
    async def build():
        blob = Blob("kept")
        refs["build"] = weakref.ref(blob)
        return blob

    @wf.step
    async def inspect_it(build):
        return build.label

    @wf.step
    async def finish(inspect_it):
        await release.wait()

    wf.returns("build")
    async with Runtime() as rt:
        handle = await rt.start(wf)
        await trio.testing.wait_all_tasks_blocked()
        gc.collect()
        assert refs["build"]() is not None
        release.set()
        assert (await handle.result()).label == "kept"


async def test_a_result_nobody_takes_is_never_kept():
    refs = {}
    release = trio.Event()
    wf = Workflow("unused")

    @wf.step
    async def side_effect():
        blob = Blob("unused")
        refs["side_effect"] = weakref.ref(blob)
        return blob

    @wf.step(wait_for=["side_effect"])
    async def after():
        await release.wait()

    async with Runtime() as rt:
        handle = await rt.start(wf)
        await trio.testing.wait_all_tasks_blocked()
        gc.collect()
        assert refs["side_effect"]() is None
        release.set()
        await handle.result()


async def test_finished_runs_leave_nothing_behind_even_when_their_handles_are_kept(
    autojump_clock,
):
    wf = Workflow("tiny")

    @wf.step
    async def one():
        return 1

    coordinators = []
    handles = []

    def started(event):
        if isinstance(event.ref._cell.actor, Coordinator):
            coordinators.append(weakref.ref(event.ref._cell.actor))

    async with Runtime() as rt:
        rt.subscribe(started, only=ChildStarted)
        for _ in range(300):
            handle = await rt.start(wf)
            await handle.result()
            handles.append(handle)  # a handle kept after its run ends does not keep the run
        await trio.testing.wait_all_tasks_blocked()
        gc.collect()
        alive = [ref for ref in coordinators if ref() is not None]
    assert len(coordinators) == 300
    assert alive == []


async def test_the_objects_left_after_many_runs_do_not_grow_with_their_number(autojump_clock):
    wf = Workflow("tiny")

    @wf.step
    async def one():
        return 1

    async with Runtime() as rt:
        for _ in range(200):  # warm up caches
            await rt.run(wf)
        gc.collect()
        before = len(gc.get_objects())
        for _ in range(2000):
            await rt.run(wf)
        await trio.testing.wait_all_tasks_blocked()
        gc.collect()
        after = len(gc.get_objects())
    # Before the fix every finished run left ~48 objects (78 kB per 1,000 runs): 96,000 here.
    assert after - before < 500


async def test_a_runtime_with_workflows_in_flight_keeps_no_trio_task_status(live):
    release = trio.Event()
    wf = Workflow("waiting")

    @wf.step
    async def first():
        await release.wait()
        return 1

    @wf.step
    async def second(first):
        return first + 1

    wf.returns("second")
    async with Runtime() as rt:
        handles = [await rt.start(wf) for _ in range(5)]
        await trio.testing.wait_all_tasks_blocked()
        assert live("_TaskStatus") == 0  # each would keep its start() nursery alive
        release.set()
        assert [await handle.result() for handle in handles] == [2] * 5
