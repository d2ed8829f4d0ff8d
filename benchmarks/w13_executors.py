"""W13 executors: the cost of running calls through arborist's executor layer on Dask and Ray.

Per-call overhead (``W13 <engine> chain N`` and ``wide N``), a no-op-ish function (``inc``):

- raw engine (the floor): Dask ``client.submit(inc, x, pure=False).result()`` one after
  another (chain), or N submits then one ``client.gather`` (wide); Ray ``ray.get(f.remote(x))``
  (chain) and ``ray.get([f.remote(i) ...])`` (wide).
- executor: the same calls as ``await wait_remote(executor.submit(inc, (x,)))`` inside trio
  (chain), or N ``submit`` then every ``wait_remote`` (wide): the layer the engine's step runner
  calls, measured without the workflow engine.
- arborist workflow (the end-to-end rows, ``END_TO_END``): one workflow run inside an open
  ``Runtime(executors={"remote": ...})`` whose steps run ``inc`` on the executor
  (``@wf.step(executor="remote")``): a chain of N steps, each taking the previous one's
  result, or N independent steps (wide). The coordinator, the step runner, events and the
  remote call are all in; the runtime's start and the executor's open are not. Target:
  <= 1.3x the raw engine.

CPU-bound map (``W13 CPU map``): 400 elements of ~20 ms pure-Python work (``burn``, calibrated
at start) on a 2-worker-process ``LocalCluster`` (1 thread each):

- ``client.map`` + ``gather`` directly (the floor);
- the executor's ``submit_many`` (one ``client.map`` message), then every ``wait_remote``;
  and the same with ``chunk_size=10`` (10 elements per Dask task);
- an arborist map step, ``wf.map(burn, over="seeds", executor="dask", batch_size=100)``,
  with ``chunk_size=1`` and ``10`` (one workflow run in an open runtime);
- in-process threads (``ThreadPoolExecutor(2)``, GIL-bound: no faster than one core).

Targets: executor map within 1.2x of ``client.map`` and faster than in-process threads. Dask
rows use one cluster for the module (started outside the timing); Ray rows run only when ray
is installed and not in quick mode (its local cluster takes seconds and ~700 MiB). Quick mode
uses an in-process cluster and tiny sizes.
"""

from __future__ import annotations

import concurrent.futures
import functools
import sys
import time
from collections.abc import Callable
from typing import Any

from benchmarks._harness import Row, Target, alternate, optional_import, repeats, rows, timed_trio

__all__ = ["END_TO_END", "run"]

CHAIN = 200
WIDE = 400
QUICK_CHAIN = 2
QUICK_WIDE = 4
MAP_N = 400
QUICK_MAP_N = 4
BURN_SECONDS = 0.020
QUICK_BURN_SECONDS = 0.001

RAW_DASK = "dask client.submit + gather"
RAW_RAY = "ray.get(f.remote())"
EXECUTOR = "arborist executor (wait_remote)"
MAP_RAW = "dask client.map + gather"
MAP_EXECUTOR = "arborist executor submit_many"
MAP_CHUNKED = "arborist executor submit_many, chunk_size=10"
MAP_THREADS = "in-process threads (2, GIL-bound)"
MAP_WORKFLOW = "arborist wf.map(executor='dask'), chunk_size=1"
MAP_WORKFLOW_CHUNKED = "arborist wf.map(executor='dask'), chunk_size=10"
WORKFLOW = "arborist workflow step (executor=)"

END_TO_END: dict[str, Callable[[Any, str, int], Callable[[], float]]] = {}
"""``{implementation: make(executor_factory, shape, n) -> repetition}``: the arborist workflow
rows; each joins the chain/wide rows of every engine (registered below the workflows)."""


def inc(x: int) -> int:
    return x + 1


_BURN_LOOPS = 1_000


def burn(x: int, loops: int) -> int:
    """Pure-Python CPU work holding the GIL (``loops`` calibrated to ~20 ms)."""
    total = 0
    for i in range(loops):
        total += (i * x) % 7
    return total


def calibrate(seconds: float) -> int:
    started = time.perf_counter()
    burn(3, 200_000)
    per_loop = (time.perf_counter() - started) / 200_000
    return max(1, int(seconds / per_loop))


# -- Dask ----------------------------------------------------------------------------------


def dask_chain(client: Any, n: int) -> float:
    started = time.perf_counter()
    x = 0
    for _ in range(n):
        x = client.submit(inc, x, pure=False).result()
    return time.perf_counter() - started


def dask_wide(client: Any, n: int) -> float:
    started = time.perf_counter()
    client.gather([client.submit(inc, i, pure=False) for i in range(n)])
    return time.perf_counter() - started


async def executor_chain(make: Callable[[], Any], n: int) -> float:
    from arborist.runtime.executors import wait_remote

    executor = make()
    await executor.open()
    try:
        started = time.perf_counter()
        x = 0
        for _ in range(n):
            x = await wait_remote(executor.submit(inc, (x,)))
        return time.perf_counter() - started
    finally:
        await executor.aclose()


async def executor_wide(make: Callable[[], Any], n: int) -> float:
    from arborist.runtime.executors import wait_remote

    executor = make()
    await executor.open()
    try:
        started = time.perf_counter()
        calls = [executor.submit(inc, (i,)) for i in range(n)]
        for call in calls:
            await wait_remote(call)
        return time.perf_counter() - started
    finally:
        await executor.aclose()


# -- arborist workflows on an executor -----------------------------------------------------------


def step_workflow(shape: str, n: int) -> Any:
    """N steps running ``inc`` on the executor ``remote``: a chain, or all independent (wide)."""
    from arborist.runtime import Workflow, result, value

    wf = Workflow(f"w13_{shape}_{n}")
    for i in range(n):
        chained = shape == "chain" and i > 0
        source = result(f"s{i - 1}") if chained else value(0 if shape == "chain" else i)
        wf.step(inc, name=f"s{i}", args={"x": source}, executor="remote")
    if shape == "chain":
        wf.returns(f"s{n - 1}")
    wf.plan()  # planned outside the timing
    return wf


async def workflow_repetition(make: Callable[[], Any], wf: Any) -> float:
    from arborist.runtime import Runtime

    async with Runtime(executors={"remote": make()}) as rt:
        started = time.perf_counter()
        await rt.run(wf)
        return time.perf_counter() - started


def workflow_rows(make: Callable[[], Any], shape: str, n: int) -> Callable[[], float]:
    return functools.partial(timed_trio, workflow_repetition, make, step_workflow(shape, n))


END_TO_END[WORKFLOW] = workflow_rows


def map_workflow(chunk_size: int) -> Any:
    from arborist.runtime import Workflow

    wf = Workflow(f"w13_map_{chunk_size}", inputs=["seeds", "loops"])
    wf.map(burn, over="seeds", name="scores", executor="dask", chunk_size=chunk_size)
    wf.returns("scores")
    return wf


def overhead_rows(
    engine: str, raw_name: str, raw: dict[str, Callable[[int], float]], make: Any, quick: bool
) -> list[Row]:
    table: list[Row] = []
    for shape, n in (
        ("chain", QUICK_CHAIN if quick else CHAIN),
        ("wide", QUICK_WIDE if quick else WIDE),
    ):
        shaped = executor_chain if shape == "chain" else executor_wide
        implementations: dict[str, Callable[[], float]] = {
            raw_name: functools.partial(raw[shape], n),
            EXECUTOR: functools.partial(timed_trio, shaped, make, n),
        }
        for name, factory in END_TO_END.items():
            implementations[name] = factory(make, shape, n)
        samples = alternate(implementations, repeats(quick), warmup=not quick)
        table += rows(
            f"W13 {engine} {shape} {n:,}",
            samples,
            unit="ms/call",
            floor=raw_name,
            per=n,
            scale=1e3,
            targets={name: [Target(1.3)] for name in END_TO_END},
        )
    return table


def map_rows(client: Any, quick: bool) -> list[Row]:
    from arborist.runtime.executors import DaskExecutor, wait_remote

    n = QUICK_MAP_N if quick else MAP_N
    loops = calibrate(QUICK_BURN_SECONDS if quick else BURN_SECONDS)

    def raw() -> float:
        started = time.perf_counter()
        client.gather(client.map(burn, range(n), loops=loops, pure=False))
        return time.perf_counter() - started

    async def through_executor(chunk_size: int) -> float:
        executor = DaskExecutor(client=client)
        await executor.open()
        try:
            started = time.perf_counter()
            calls = executor.submit_many(
                burn, [((i,), {"loops": loops}) for i in range(n)], chunk_size=chunk_size
            )
            for call in calls:
                await wait_remote(call)
            return time.perf_counter() - started
        finally:
            await executor.aclose()

    def threads() -> float:
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            started = time.perf_counter()
            list(pool.map(functools.partial(burn, loops=loops), range(n)))
            return time.perf_counter() - started

    async def through_workflow(wf: Any) -> float:
        from arborist.runtime import Runtime

        async with Runtime(executors={"dask": DaskExecutor(client=client)}) as rt:
            started = time.perf_counter()
            await rt.run(wf, seeds=range(n), loops=loops)
            return time.perf_counter() - started

    samples = alternate(
        {
            MAP_RAW: raw,
            MAP_EXECUTOR: functools.partial(timed_trio, through_executor, 1),
            MAP_CHUNKED: functools.partial(timed_trio, through_executor, 10),
            MAP_WORKFLOW: functools.partial(timed_trio, through_workflow, map_workflow(1)),
            MAP_WORKFLOW_CHUNKED: functools.partial(timed_trio, through_workflow, map_workflow(10)),
            MAP_THREADS: threads,
        },
        repeats(quick),
        warmup=not quick,
    )
    target = [Target(1.2), Target(1.0, of=MAP_THREADS)]
    return rows(
        f"W13 CPU map {n} x {1 if quick else 20} ms" + ("" if quick else ", 2 worker processes"),
        samples,
        unit="s",
        floor=MAP_RAW,
        targets=dict.fromkeys((MAP_WORKFLOW, MAP_WORKFLOW_CHUNKED), target),
        notes={
            MAP_THREADS: "ThreadPoolExecutor(2) in this process",
            MAP_WORKFLOW: "batch_size=100: at most 100 elements in flight",
            MAP_WORKFLOW_CHUNKED: "batch_size=100, 10 elements per Dask task",
        },
    )


def dask_rows(quick: bool) -> list[Row]:
    distributed = optional_import("distributed")
    if distributed is None:
        return []
    from arborist.runtime.executors import DaskExecutor

    # No dashboard; the scheduler's HTTP server on a free local port (8787 may be taken).
    options: dict[str, Any] = {
        "dashboard_address": None,
        "scheduler_kwargs": {"dashboard_address": "127.0.0.1:0"},
    }
    if quick:
        options.update(processes=False, n_workers=1, threads_per_worker=2)
    else:
        options.update(processes=True, n_workers=2, threads_per_worker=1, host="127.0.0.1")
    with (
        distributed.LocalCluster(**options) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        client.wait_for_workers(options["n_workers"])
        raw = {
            "chain": functools.partial(dask_chain, client),
            "wide": functools.partial(dask_wide, client),
        }
        make = functools.partial(DaskExecutor, client=client)
        return [*overhead_rows("dask", RAW_DASK, raw, make, quick), *map_rows(client, quick)]


# -- Ray -----------------------------------------------------------------------------------


def ray_rows(quick: bool) -> list[Row]:
    ray = None if quick else optional_import("ray")
    if ray is None:
        return []
    from arborist.runtime.executors import RayExecutor

    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        _node_ip_address="127.0.0.1",
        object_store_memory=200 * 2**20,
    )
    try:
        remote_inc = ray.remote(max_retries=0)(inc)

        def chain(n: int) -> float:
            started = time.perf_counter()
            x = 0
            for _ in range(n):
                x = ray.get(remote_inc.remote(x))
            return time.perf_counter() - started

        def wide(n: int) -> float:
            started = time.perf_counter()
            ray.get([remote_inc.remote(i) for i in range(n)])
            return time.perf_counter() - started

        return overhead_rows("ray", RAW_RAY, {"chain": chain, "wide": wide}, RayExecutor, quick)
    finally:
        ray.shutdown()


def run(quick: bool) -> list[Row]:
    cloudpickle = optional_import("cloudpickle")
    if cloudpickle is not None:  # workers need not import this module: send its functions
        cloudpickle.register_pickle_by_value(sys.modules[__name__])
    return [*dask_rows(quick), *ray_rows(quick)]
