"""Workflows whose steps run on a real local Ray: retries by arborist, a timeout kills the task.

Marked ``ray``; skipped unless the ray extra is installed. Ray workers cannot import this
module, so the functions are defined inside the tests (cloudpickle sends them by value) and
the errors are built-in types.
"""

from __future__ import annotations

import os

import pytest

from arborist.runtime import RemoteCallCancelled, Retry, Runtime, Workflow, WorkflowFailedError
from arborist.runtime.executors import CancelResult, RayExecutor, RemoteStepInfo

pytestmark = pytest.mark.ray


async def test_a_step_on_ray_runs_in_a_worker_and_is_retried_by_arborist(ray_session):
    def flaky(x, info: RemoteStepInfo):
        if info.attempt < 2:
            raise ConnectionError(f"attempt {info.attempt}")
        return (x, info.attempt, os.getpid())

    wf = Workflow("ray_retry", inputs=["x"])
    wf.step(flaky, executor="ray", retry=Retry(attempts=2, retry_on=(ConnectionError,)))
    wf.returns("flaky")

    async with Runtime(executors={"ray": RayExecutor()}) as rt:
        value, attempt, pid = await rt.run(wf, x=4)

    assert (value, attempt) == (4, 2)
    assert pid != os.getpid()


async def test_a_timed_out_ray_task_is_killed_and_not_waited_for(ray_session):
    def sleeps(x):
        import time

        time.sleep(30)
        return x

    wf = Workflow("ray_timeout", inputs=["x"])
    wf.step(sleeps, executor="ray", timeout=2.0)
    events = []

    async with Runtime(executors={"ray": RayExecutor()}) as rt:
        rt.subscribe(events.append)
        with pytest.raises(WorkflowFailedError):
            await rt.run(wf, x=1)

    (cancelled,) = [e for e in events if isinstance(e, RemoteCallCancelled)]
    assert (cancelled.cancel, cancelled.gone, cancelled.waited) == (CancelResult.KILLED, None, 0.0)


async def test_a_map_on_ray_returns_in_order(ray_session):
    def cube(item):
        return item**3

    wf = Workflow("ray_map", inputs=["records"])
    wf.map(cube, over="records", executor="ray", batch_size=8, chunk_size=4)
    wf.returns("cube")

    async with Runtime(executors={"ray": RayExecutor()}) as rt:
        assert await rt.run(wf, records=range(30)) == [x**3 for x in range(30)]
