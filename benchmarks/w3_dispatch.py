"""W3 dispatch: how fast the workflow engine starts no-op async steps, in three graph shapes.

Shapes (``random.Random(0)`` fixes the layered edges, so every implementation runs the same
graph):

- wide: 10,000 independent steps, then one join step that needs all of them.
- chain: 2,000 steps, each needing the one before.
- layered: 50 layers x 100 steps; each step of layer k > 0 needs 2 distinct pseudo-random
  steps of layer k - 1.

Each step is a no-op that returns a small value; in the chain and layered shapes a step takes
its dependencies' results as arguments (``args={"a": result(...)}``), as users write it. The
wide join orders on its 10,000 producers with ``wait_for=`` and takes no values: a step cannot
have 10,000 named parameters, and the floor's join also only waits. Dask's join does receive
the list of 10,000 values (that is how a dask task depends on keys).

Implementations (one repetition = one full run of the graph, timed from "go" to "all done"):

- trio floor (the fastest; every ratio is to it): one task per node, started only once the
  node is ready. Counters of unmet dependencies are computed first; the roots are started in
  one nursery; a node reads its dependencies' results from a dict, stores its own, counts its
  dependents down and starts, from its own task, each one that has nothing left to wait for.
  No channel, no event, no coordinator task: one trio scheduler batch per chained node.
- trio floor, events (the earlier floor, kept for comparison): all nodes started at once; a
  node awaits the ``trio.Event`` of each dependency. About 1.5-4x slower than the above.
- trio one task (the floor of ``inline=True``'s job, not of the default's): a single task
  awaits each ready node's coroutine itself, in a dependency-counter loop. No task per node,
  so no node runs concurrently with another: a different job from the default mode, where
  each step is a task that can wait without holding up the others.
- arborist rt.run: ``await rt.run(wf)`` on an open ``Runtime`` with the plan already built
  and cached on the workflow (plan building is reported as its own row, below). Default mode:
  each step runs as its own task.
- arborist inline=True: the same with every step declared ``inline=True`` (steps run in the
  coordinator's task, one after another).
- arborist plan+run: the same on a fresh, identical workflow: ``wf.plan()`` + ``rt.run(wf)``.
- asyncio graphlib: ``graphlib.TopologicalSorter`` (built and prepared inside the timing)
  with a ``get_ready()``/``done()`` loop dispatching one asyncio task per node; finished
  nodes report through an ``asyncio.Queue``.
- dask threaded: ``dask.threaded.get`` on a dict graph of no-op sync functions (its default
  thread pool). Skipped when dask is not installed, and in quick mode (its import alone
  takes about a second).

Unit: microseconds per step (lower is better; the note gives steps/second). Targets (issue
#13): arborist rt.run, default mode, within 2x of the fastest floor (at least half its
steps/second) and ahead of dask on every shape.

One more row, ``W3 declaring a join of 10,000 names``: the time ``wf.step(join,
wait_for=names)`` takes on a workflow that already has the 10,000 steps (the steps'
declaration is not timed), against the same names de-duplicated in order by
``dict.fromkeys`` (raw Python). Target (issue #13): linear, under 20 ms (it was a membership
test per name against the names kept so far: ~0.4-0.5 s).
"""

from __future__ import annotations

import asyncio
import collections
import functools
import graphlib
import random
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import trio

from arborist.runtime import Runtime, Workflow, result
from benchmarks._harness import Row, Target, alternate, optional_import, repeats, rows, timed_trio

__all__ = ["Graph", "chain", "layered", "run", "wide"]

FLOOR = "trio floor"
FLOOR_EVENTS = "trio floor, events (old)"
ONE_TASK = "trio one task (inline's job)"
ARBORIST = "arborist rt.run"
INLINE = "arborist inline=True"
ARBORIST_COLD = "arborist plan+run"
ASYNCIO = "asyncio graphlib"
DASK = "dask threaded"
PLAN = "arborist wf.plan()"
DECLARE = "arborist wf.step(wait_for=names)"
DEDUPE = "Python dict.fromkeys(names)"

Graph = dict[str, tuple[str, ...]]
"""Node name -> the nodes it needs, in a topological order of the keys."""


# -- shapes ------------------------------------------------------------------------------------


def wide(n: int) -> Graph:
    """``n`` independent nodes and a join that needs them all."""
    graph: Graph = {f"s{i}": () for i in range(n)}
    graph["join"] = tuple(graph)
    return graph


def chain(n: int) -> Graph:
    """``n`` nodes, each needing the previous one."""
    graph: Graph = {"s0": ()}
    for i in range(1, n):
        graph[f"s{i}"] = (f"s{i - 1}",)
    return graph


def layered(layers: int, width: int, seed: int = 0) -> Graph:
    """``layers`` x ``width`` nodes; each node needs 2 random nodes of the layer before."""
    rng = random.Random(seed)
    graph: Graph = {f"l0_{j}": () for j in range(width)}
    for k in range(1, layers):
        for j in range(width):
            a, b = rng.sample(range(width), 2)
            graph[f"l{k}_{j}"] = (f"l{k - 1}_{a}", f"l{k - 1}_{b}")
    return graph


# -- arborist ----------------------------------------------------------------------------------


async def _noop0() -> int:
    return 1


async def _noop1(a: int) -> int:
    return a


async def _noop2(a: int, b: int) -> int:
    return a + b


async def _join() -> int:
    return 0


def build_workflow(graph: Graph, *, join_by_wait_for: bool, inline: bool = False) -> Workflow:
    """An arborist workflow with the shape of ``graph`` (see the module docstring)."""
    wf = Workflow("w3")
    for name, deps in graph.items():
        if not deps:
            wf.step(_noop0, name=name, inline=inline)
        elif join_by_wait_for and len(deps) > 2:
            wf.step(_join, name=name, wait_for=list(deps), inline=inline)
        elif len(deps) == 1:
            wf.step(_noop1, name=name, args={"a": result(deps[0])}, inline=inline)
        elif len(deps) == 2:
            args = {"a": result(deps[0]), "b": result(deps[1])}
            wf.step(_noop2, name=name, args=args, inline=inline)
        else:
            raise ValueError(
                f"node {name!r} has {len(deps)} dependencies; W3 builds 0, 1, 2 or a join"
            )
    wf.returns(next(reversed(graph)))
    return wf


async def arborist_run(wf: Workflow) -> float:
    wf.plan()  # cached on the workflow: the timing below is dispatch only
    async with Runtime() as rt:
        started = time.perf_counter()
        await rt.run(wf)
        return time.perf_counter() - started


async def arborist_plan_and_run(make: Callable[[], Workflow]) -> float:
    wf = make()
    async with Runtime() as rt:
        started = time.perf_counter()
        wf.plan()
        await rt.run(wf)
        return time.perf_counter() - started


def plan_time(make: Callable[[], Workflow]) -> float:
    wf = make()
    started = time.perf_counter()
    wf.plan()
    return time.perf_counter() - started


def declare_join_time(n: int) -> float:
    """Seconds to declare a step that waits for ``n`` steps already declared."""
    wf = Workflow("w3-declare")
    names = [f"s{i}" for i in range(n)]
    for name in names:
        wf.step(_noop0, name=name)
    started = time.perf_counter()
    wf.step(_join, name="join", wait_for=names)
    return time.perf_counter() - started


def dedupe_time(n: int) -> float:
    names = [f"s{i}" for i in range(n)]
    started = time.perf_counter()
    tuple(dict.fromkeys(names))
    return time.perf_counter() - started


def _declare_rows(quick: bool) -> list[Row]:
    n = 100 if quick else 10_000
    impls = {
        DEDUPE: functools.partial(dedupe_time, n),
        DECLARE: functools.partial(declare_join_time, n),
    }
    return rows(
        f"W3 declaring a join of {n:,} names",
        alternate(impls, repeats(quick)),
        unit="ms",
        floor=DEDUPE,
        scale=1e3,
        targets={DECLARE: [Target(20.0, absolute=True)]},
        notes={DECLARE: f"the join's declaration only; its {n:,} steps are declared untimed"},
    )


# -- trio floors -------------------------------------------------------------------------------


def _counters(graph: Graph) -> tuple[dict[str, int], dict[str, list[str]]]:
    """Each node's count of unmet dependencies, and each node's dependents."""
    missing = {name: len(deps) for name, deps in graph.items()}
    dependents: dict[str, list[str]] = {name: [] for name in graph}
    for name, deps in graph.items():
        for dep in deps:
            dependents[dep].append(name)
    return missing, dependents


async def trio_floor(graph: Graph) -> float:
    started = time.perf_counter()
    missing, dependents = _counters(graph)
    results: dict[str, int] = {}

    async with trio.open_nursery() as nursery:

        async def node(name: str) -> None:
            value = 1
            for dep in graph[name]:
                value += results[dep]
            results[name] = value
            for dependent in dependents[name]:
                left = missing[dependent] - 1
                missing[dependent] = left
                if not left:
                    nursery.start_soon(node, dependent)

        for name, deps in graph.items():
            if not deps:
                nursery.start_soon(node, name)
    return time.perf_counter() - started


async def trio_one_task(graph: Graph) -> float:
    started = time.perf_counter()
    missing, dependents = _counters(graph)
    results: dict[str, int] = {}

    async def node(values: Sequence[int]) -> int:
        return 1 + sum(values)

    ready = collections.deque(name for name, deps in graph.items() if not deps)
    while ready:
        name = ready.popleft()
        results[name] = await node([results[dep] for dep in graph[name]])
        for dependent in dependents[name]:
            left = missing[dependent] - 1
            missing[dependent] = left
            if not left:
                ready.append(dependent)
    await trio.lowlevel.checkpoint()
    return time.perf_counter() - started


async def trio_floor_events(graph: Graph) -> float:
    started = time.perf_counter()
    events = {name: trio.Event() for name in graph}
    results: dict[str, int] = {}

    async def node(name: str, deps: Sequence[str]) -> None:
        value = 1
        for dep in deps:
            await events[dep].wait()
            value += results[dep]
        results[name] = value
        events[name].set()

    async with trio.open_nursery() as nursery:
        for name, deps in graph.items():
            nursery.start_soon(node, name, deps)
    return time.perf_counter() - started


# -- asyncio + graphlib ------------------------------------------------------------------------


async def _asyncio_graphlib(graph: Graph) -> float:
    started = time.perf_counter()
    sorter = graphlib.TopologicalSorter(graph)
    sorter.prepare()
    results: dict[str, int] = {}
    finished: asyncio.Queue[str] = asyncio.Queue()
    tasks: set[asyncio.Task[None]] = set()

    async def node(name: str, deps: Sequence[str]) -> None:
        value = 1
        for dep in deps:
            value += results[dep]
        results[name] = value
        finished.put_nowait(name)

    while sorter.is_active():
        for name in sorter.get_ready():
            task = asyncio.create_task(node(name, graph[name]))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        sorter.done(await finished.get())
        while not finished.empty():
            sorter.done(finished.get_nowait())
    return time.perf_counter() - started


def asyncio_graphlib(graph: Graph) -> float:
    return asyncio.run(_asyncio_graphlib(graph))


# -- dask --------------------------------------------------------------------------------------


def _dask_noop0() -> int:
    return 1


def _dask_noop1(a: int) -> int:
    return a


def _dask_noop2(a: int, b: int) -> int:
    return a + b


def _dask_join(values: list[int]) -> int:
    return 0


def dask_graph(graph: Graph) -> dict[str, Any]:
    """The same graph as a dask task dict of sync functions."""
    dsk: dict[str, Any] = {}
    for name, deps in graph.items():
        if not deps:
            dsk[name] = (_dask_noop0,)
        elif len(deps) == 1:
            dsk[name] = (_dask_noop1, deps[0])
        elif len(deps) == 2:
            dsk[name] = (_dask_noop2, deps[0], deps[1])
        else:
            dsk[name] = (_dask_join, list(deps))
    return dsk


def dask_threaded(dask_threaded_mod: Any, dsk: Mapping[str, Any], last: str) -> float:
    started = time.perf_counter()
    dask_threaded_mod.get(dsk, last)
    return time.perf_counter() - started


# -- run ---------------------------------------------------------------------------------------


def _shapes(quick: bool) -> list[tuple[str, Callable[[], Graph]]]:
    if quick:
        return [
            ("wide 100", lambda: wide(100)),
            ("chain 50", lambda: chain(50)),
            ("layered 4x10", lambda: layered(4, 10)),
        ]
    return [
        ("wide 10k", lambda: wide(10_000)),
        ("chain 2k", lambda: chain(2_000)),
        ("layered 50x100", lambda: layered(50, 100)),
    ]


def _rate_notes(samples: Mapping[str, Sequence[float]], steps: int) -> dict[str, str]:
    return {
        name: f"{steps / statistics.median(values):,.0f} steps/s"
        for name, values in samples.items()
    }


def run(quick: bool) -> list[Row]:
    # Importing dask takes about a second: quick mode (the smoke test) leaves it out.
    dask_mod = None if quick else optional_import("dask.threaded")
    table: list[Row] = []
    for label, make_graph in _shapes(quick):
        graph = make_graph()
        steps = len(graph)
        wf = build_workflow(graph, join_by_wait_for=True)
        wf_inline = build_workflow(graph, join_by_wait_for=True, inline=True)
        make_wf = functools.partial(build_workflow, graph, join_by_wait_for=True)
        impls: dict[str, Callable[[], float]] = {
            FLOOR: functools.partial(timed_trio, trio_floor, graph),
            FLOOR_EVENTS: functools.partial(timed_trio, trio_floor_events, graph),
            ARBORIST: functools.partial(timed_trio, arborist_run, wf),
            INLINE: functools.partial(timed_trio, arborist_run, wf_inline),
            ONE_TASK: functools.partial(timed_trio, trio_one_task, graph),
            ARBORIST_COLD: functools.partial(timed_trio, arborist_plan_and_run, make_wf),
            ASYNCIO: functools.partial(asyncio_graphlib, graph),
        }
        if dask_mod is not None:
            dsk = dask_graph(graph)
            impls[DASK] = functools.partial(dask_threaded, dask_mod, dsk, next(reversed(graph)))
        samples = alternate(impls, repeats(quick))
        # Plan building alone, on fresh identical workflows (not part of the rt.run row).
        plan_samples = alternate({PLAN: functools.partial(plan_time, make_wf)}, repeats(quick))
        samples = {**samples, **plan_samples}
        notes = _rate_notes(samples, steps)
        notes[PLAN] = "building the plan only (cached on the workflow; not in the rt.run row)"
        notes[ARBORIST_COLD] += "; fresh workflow, plan not cached"
        notes[ARBORIST] += "; default mode: a task per step"
        notes[ONE_TASK] += "; no task per node: the floor of inline=True, not of the default"
        if DASK in notes:
            notes[DASK] += "; sync no-op functions, default thread pool"
        table.extend(
            rows(
                f"W3 {label}",
                samples,
                unit="us/step",
                floor=FLOOR,
                per=steps,
                scale=1e6,
                targets={ARBORIST: [Target(2.0), Target(1.0, of=DASK)]},
                notes=notes,
            )
        )
    table.extend(_declare_rows(quick))
    return table
