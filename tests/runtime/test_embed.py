"""Embedding: the background runtime for threaded hosts, guest mode for asyncio hosts.

These tests use real threads and a real event loop, so they run on the real clock with short
sleeps inside the workflows only, and never assert on elapsed time.
"""

import asyncio
import concurrent.futures
import threading

import pytest
import trio

from arborist.runtime import (
    Runtime,
    RuntimeClosedError,
    RuntimeShutdownReport,
    Workflow,
    WorkflowCancelledError,
    WorkflowFailedError,
    open_asyncio_runtime,
)


def _double() -> Workflow:
    wf = Workflow("double", inputs=["x"])

    @wf.step
    async def double(x):
        await trio.sleep(0.001)
        return 2 * x

    wf.returns("double")
    return wf


def _failing() -> Workflow:
    wf = Workflow("failing")

    @wf.step
    async def boom():
        raise ValueError("boom")

    return wf


# -- threaded hosts ---------------------------------------------------------------------------


def test_a_background_runtime_runs_a_workflow_from_a_plain_thread():
    with Runtime.background() as rt:
        assert rt.run(_double(), x=21) == 42


def test_a_background_runtime_serves_eight_threads_at_once():
    wf = _double()
    with Runtime.background() as rt, concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: rt.run(wf, x=i), range(80)))
    assert results == [2 * i for i in range(80)]


def test_submit_returns_a_future_of_the_result():
    with Runtime.background() as rt:
        futures = [rt.submit(_double(), x=i) for i in range(5)]
        assert [f.result(timeout=10) for f in futures] == [0, 2, 4, 6, 8]


def test_submit_returns_once_the_run_has_started_so_its_future_cannot_be_cancelled():
    with Runtime.background() as rt:
        future = rt.submit(_double(), x=1)

        assert future.running()
        assert future.cancel() is False
        assert future.result(timeout=10) == 2


def test_a_future_whose_run_is_cut_by_the_close_fails_with_the_runs_cancellation():
    wf = Workflow("slow")

    @wf.step
    async def slow():
        await trio.sleep_forever()

    with Runtime.background(shutdown_timeout=0) as rt:
        future = rt.submit(wf)

    assert isinstance(future.exception(timeout=10), WorkflowCancelledError)


def test_a_failed_run_raises_its_error_in_the_calling_thread_and_in_the_future():
    with Runtime.background() as rt:
        with pytest.raises(WorkflowFailedError, match="failed at step 'boom'"):
            rt.run(_failing())
        future = rt.submit(_failing())
        assert isinstance(future.exception(timeout=10), WorkflowFailedError)


def test_fire_and_forget_from_a_thread_runs_the_job():
    done = threading.Event()

    async def job():
        done.set()

    with Runtime.background() as rt:
        rt.fire_and_forget(job)
        assert done.wait(10)


def test_a_blocking_call_from_the_runtimes_own_thread_is_refused_with_a_clear_error():
    with Runtime.background() as rt:

        async def inside():
            rt.run(_double(), x=1)

        with pytest.raises(RuntimeError, match="on the runtime's own thread"):
            rt.call(inside)


def test_closing_a_background_runtime_returns_the_shutdown_report_and_is_idempotent():
    rt = Runtime.background()
    with rt:
        rt.run(_double(), x=1)
    report = rt.close()
    assert isinstance(report, RuntimeShutdownReport)
    assert report is rt.report
    with pytest.raises(RuntimeClosedError, match="closed"):
        rt.run(_double(), x=1)


def test_the_background_runtime_shows_its_tree():
    with Runtime.background() as rt:
        text = str(rt.tree())
    assert "runs" in text
    assert "jobs" in text


# -- asyncio hosts ----------------------------------------------------------------------------


def test_an_asyncio_program_runs_workflows_concurrently_in_guest_mode():
    wf = _double()

    async def main():
        async with open_asyncio_runtime() as rt:
            return await asyncio.gather(*(rt.run(wf, x=i) for i in range(10)))

    assert asyncio.run(main()) == [2 * i for i in range(10)]


def test_guest_mode_runs_on_the_asyncio_thread():
    threads = []
    wf = Workflow("where")

    @wf.step
    async def where():
        threads.append(threading.get_ident())

    async def main():
        async with open_asyncio_runtime() as rt:
            await rt.run(wf)

    asyncio.run(main())
    assert threads == [threading.get_ident()]


def test_a_failed_run_raises_its_error_in_the_asyncio_caller():
    async def main():
        async with open_asyncio_runtime() as rt:
            await rt.run(_failing())

    with pytest.raises(WorkflowFailedError, match="failed at step 'boom'"):
        asyncio.run(main())


def test_cancelling_the_asyncio_caller_cancels_the_run():
    cancelled = []
    started = None
    wf = Workflow("slow")

    @wf.step
    async def slow():
        started.set()  # guest mode: trio runs inside asyncio's own callbacks, same thread
        try:
            await trio.sleep(30)
        except trio.Cancelled:
            cancelled.append(True)
            raise

    async def main():
        nonlocal started
        started = asyncio.Event()
        async with open_asyncio_runtime() as rt:
            task = asyncio.create_task(rt.run(wf))
            await started.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        return rt.report

    report = asyncio.run(main())
    assert cancelled == [True]
    assert report is not None
    assert report.runs_cancelled == ()


def test_fire_and_forget_from_asyncio_runs_the_job():
    ran = []

    async def job(x):
        ran.append(x)

    async def main():
        async with open_asyncio_runtime() as rt:
            rt.fire_and_forget(job, 7)
        # Leaving the block shut the runtime down gracefully: the job has run.

    asyncio.run(main())
    assert ran == [7]
