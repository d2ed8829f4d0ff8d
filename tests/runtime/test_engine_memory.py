"""A long run keeps only what is still needed: results are dropped once their consumers start."""

import gc
import weakref

import trio
import trio.testing

from arborist.runtime import Runtime, Workflow


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
