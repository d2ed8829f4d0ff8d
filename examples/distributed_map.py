"""Scale-out: a CPU-bound map step on a local Dask cluster of 2 worker processes.

Each element burns ~20 ms of pure-Python CPU, holding the GIL. Run in this process, a map
step's ``def`` elements share one interpreter (worker threads, one GIL: one core's worth);
declared with ``executor="dask"`` they run on the cluster's worker processes, 10 elements to
a Dask task (``chunk_size``), at most ``batch_size`` of them in flight, results in order.
The workflow is the same; only the map's declaration and the runtime's executors change.

Run it (with the dask extra; on a 2-core machine expect about 1.5-1.9x)::

    make demo-distributed
    # or, in a venv: pip install -e '.[dask]' && python examples/distributed_map.py

Expected output (times vary; the test runs 40 elements of ~1 ms on an in-process cluster)::

    [...] elements of ~[...] ms of CPU work; the same results both ways: True
    in this process (threads, one GIL): [...] s
    on [...] s  (speed-up [...]x)
"""

from __future__ import annotations

import time

import distributed
import trio

from arborist.runtime import Runtime, Workflow
from arborist.runtime.executors import DaskExecutor

REAL_CLOCK = True  # Dask's workers run on the real clock
REQUIRES = ("distributed",)  # the test skips this example without the dask extra
TEST_OPTIONS = {"quick": True}  # the test runs a short version on an in-process cluster

ELEMENTS = 400
WORK_SECONDS = 0.020


def burn(seed: int, loops: int) -> int:
    """Pure-Python CPU work: ``loops`` rounds of integer arithmetic (holds the GIL)."""
    total = 0
    for i in range(loops):
        total += (i * seed) % 7
    return total


def calibrate(seconds: float) -> int:
    """How many ``burn`` loops take about ``seconds`` on this machine."""
    started = time.perf_counter()
    burn(3, 200_000)
    return max(1, int(seconds * 200_000 / (time.perf_counter() - started)))


def scores(executor: str | None) -> Workflow:
    """The workflow: one map step over ``seeds``, here or on ``executor``."""
    wf = Workflow("scores", inputs=["seeds", "loops"])
    remote = {"executor": executor, "chunk_size": 10} if executor else {}
    wf.map(burn, over="seeds", name="scores", batch_size=100, **remote)
    wf.returns("scores")
    return wf


async def timed(rt: Runtime, wf: Workflow, **inputs: object) -> tuple[list[int], float]:
    started = time.perf_counter()
    results = await rt.run(wf, **inputs)
    return results, time.perf_counter() - started


async def main(*, quick: bool = False) -> None:
    elements, seconds = (40, 0.001) if quick else (ELEMENTS, WORK_SECONDS)
    loops = calibrate(seconds)
    if quick:  # one process, two worker threads: starts in milliseconds
        where = "an in-process Dask cluster"
        options = {"processes": False, "n_workers": 1, "threads_per_worker": 2}
    else:
        where = "2 Dask worker processes"
        options = {"processes": True, "n_workers": 2, "threads_per_worker": 1, "host": "127.0.0.1"}
    # No dashboard; the scheduler's HTTP server (its metrics) on a free local port, not 8787.
    http = {"dashboard_address": "127.0.0.1:0"}
    cluster = await trio.to_thread.run_sync(
        lambda: distributed.LocalCluster(dashboard_address=None, scheduler_kwargs=http, **options)
    )
    try:
        async with Runtime(executors={"dask": DaskExecutor(cluster=cluster)}) as rt:
            inputs = {"seeds": range(elements), "loops": loops}
            here, local_seconds = await timed(rt, scores(None), **inputs)
            there, remote_seconds = await timed(rt, scores("dask"), **inputs)
    finally:
        await trio.to_thread.run_sync(cluster.close)
    work = f"{elements} elements of ~{seconds * 1000:.0f} ms of CPU work"
    print(f"{work}; the same results both ways: {here == there}")
    print(f"{'in this process (threads, one GIL):':36} {local_seconds:.2f} s")
    speed_up = local_seconds / remote_seconds
    print(f"{f'on {where}:':36} {remote_seconds:.2f} s  (speed-up {speed_up:.1f}x)")


if __name__ == "__main__":  # Dask starts its worker processes by spawning: the guard is needed
    trio.run(main)
