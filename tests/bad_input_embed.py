"""Bad-input cases for the Runtime's options and its embeddings (background thread, asyncio).

``CASES`` run inside trio like the other tables. ``THREAD_CASES`` are blocking calls made
from a plain thread into a ``Runtime.background()`` (the test passes it), or asyncio code run
with ``asyncio.run``; their call returns the value of the blocking call.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from bad_input_env import Case, bad, enter, job, new_workflow

from arborist.runtime import Runtime, WorkflowInputError, every, open_asyncio_runtime

NAN = math.nan
INF = math.inf


def _runtime(**options: Any):
    return lambda e: Runtime(**options)


def _background(**options: Any):
    return lambda e: Runtime.background(**options)


CASES: list[Case] = [
    # -- Runtime(...) -----------------------------------------------------------------------------
    bad("Runtime(thread_limit=0)", _runtime(thread_limit=0), "thread_limit", 0),
    bad("Runtime(thread_limit='5')", _runtime(thread_limit="5"), "thread_limit", "5"),
    bad("Runtime(thread_limit=True)", _runtime(thread_limit=True), "thread_limit", True),
    bad("Runtime(thread_limit=1.5)", _runtime(thread_limit=1.5), "thread_limit", 1.5),
    bad("Runtime(thread_limit=None)", _runtime(thread_limit=None), "thread_limit", None),
    bad("Runtime(executors=5)", _runtime(executors=5), "executors", 5),
    bad("Runtime(executors=['dask'])", _runtime(executors=["dask"]), "executors", ["dask"]),
    bad("Runtime(executors={'d': 5})", _runtime(executors={"d": 5}), "executors", 5),
    bad("Runtime(executors={5: ...})", _runtime(executors={5: None}), "executors", 5),
    bad("Runtime(executors={'': ...})", _runtime(executors={"": None}), "executors", ""),
    bad(
        "Runtime(shutdown_timeout='5')",
        _runtime(shutdown_timeout="5"),
        "shutdown_timeout",
        "5",
    ),
    bad(
        "Runtime(shutdown_timeout=None)",
        _runtime(shutdown_timeout=None),
        "shutdown_timeout",
        None,
    ),
    bad(
        "Runtime(shutdown_timeout=-1)",
        _runtime(shutdown_timeout=-1),
        "shutdown_timeout",
        -1,
    ),
    bad(
        "Runtime(shutdown_timeout=nan)",
        _runtime(shutdown_timeout=NAN),
        "shutdown_timeout",
        NAN,
    ),
    bad(
        "Runtime(shutdown_timeout=True)",
        _runtime(shutdown_timeout=True),
        "shutdown_timeout",
        True,
    ),
    bad("Runtime(seed=[1])", _runtime(seed=[1]), "seed", [1]),
    bad("Runtime(wall_clock=5)", _runtime(wall_clock=5), "wall_clock", 5),
    bad("Runtime(shutdown=5)", _runtime(shutdown=5), "shutdown"),
    bad("Runtime(5)", lambda e: Runtime(5), "positional", shows=["positional"]),
    bad(
        "Runtime.background(thread_limit=0)",
        _background(thread_limit=0),
        "thread_limit",
        0,
    ),
    bad(
        "Runtime.background(shutdown_timeout='5')",
        _background(shutdown_timeout="5"),
        "shutdown_timeout",
        "5",
    ),
    # -- open_asyncio_runtime outside asyncio -----------------------------------------------------
    bad(
        "open_asyncio_runtime() outside asyncio",
        lambda e: enter(open_asyncio_runtime()),
        "asyncio",
        errors=(RuntimeError,),
        shows=["asyncio"],
    ),
]


def _close(**options: Any):
    def call(bg: Any) -> Any:
        with Runtime.background() as own:
            return own.close(**options)

    return call


def _in_asyncio(fn: Any, **options: Any):
    async def main() -> Any:
        async with open_asyncio_runtime(**options) as host:
            return await fn(host)

    return lambda bg: asyncio.run(main())


async def _nothing(host: Any) -> None:
    return None


def _submit(*args: Any, **kwargs: Any):
    return lambda bg: bg.submit(*args, **kwargs)


THREAD_CASES: list[Case] = [
    # -- BackgroundRuntime methods (blocking, from a plain thread) --------------------------------
    bad("bg.run('wf')", lambda bg: bg.run("wf"), "workflow", "wf"),
    bad("bg.run(wf, bogus=1)", lambda bg: bg.run(new_workflow(), x=1, bogus=1), "bogus"),
    bad(
        "bg.run(wf) missing input",
        lambda bg: bg.run(new_workflow()),
        "x",
        errors=(WorkflowInputError,),
    ),
    bad(
        "bg.run(concurrent='no')",
        lambda bg: bg.run(new_workflow(), x=1, concurrent="no"),
        "concurrent",
        "no",
    ),
    bad(
        "bg.run(max_concurrency=0)",
        lambda bg: bg.run(new_workflow(), x=1, max_concurrency=0),
        "max_concurrency",
        0,
    ),
    bad("bg.submit('wf')", _submit("wf"), "workflow", "wf"),
    bad("bg.submit(wf, bogus=1)", _submit(new_workflow(), x=1, bogus=1), "bogus"),
    bad(
        "bg.submit(wf) missing input",
        _submit(new_workflow()),
        "x",
        errors=(WorkflowInputError,),
    ),
    bad(
        "bg.submit(max_concurrency=0)",
        _submit(new_workflow(), x=1, max_concurrency=0),
        "max_concurrency",
        0,
    ),
    bad("bg.fire_and_forget(5)", lambda bg: bg.fire_and_forget(5), ("fn", "callable"), 5),
    bad(
        "bg.fire_and_forget(job, 1, 2) args do not fit",
        lambda bg: bg.fire_and_forget(job, 1, 2),
        "args",
        shows=["job", "argument"],
    ),
    bad(
        "bg.schedule(trigger='* * * * *')",
        lambda bg: bg.schedule("s", "* * * * *", job),
        "trigger",
        "* * * * *",
    ),
    bad(
        "bg.schedule(overlap='no')",
        lambda bg: bg.schedule("s", every(seconds=60), job, overlap="no"),
        "overlap",
        "no",
    ),
    bad("bg.call(5)", lambda bg: bg.call(5), ("fn", "function"), 5),
    bad(
        "bg.call(job, 1, 2) args do not fit",
        lambda bg: bg.call(job, 1, 2),
        "job",
        shows=["job", "argument"],
    ),
    bad("bg.start('wf')", lambda bg: bg.start("wf"), "workflow", "wf"),
    bad(
        "bg.start(wf) missing input",
        lambda bg: bg.start(new_workflow()),
        "x",
        errors=(WorkflowInputError,),
    ),
    bad("bg.get_run(5)", lambda bg: bg.get_run(5), "run id", 5),
    bad(
        "bg.start(wf).result(timeout='5')",
        lambda bg: bg.start(new_workflow(), x=1).result(timeout="5"),
        "timeout",
        "5",
    ),
    bad("bg.subscribe(5)", lambda bg: bg.subscribe(5), "handler", 5),
    bad("bg.close(timeout='5')", _close(timeout="5"), "timeout", "5"),
    bad("bg.close(timeout=-1)", _close(timeout=-1), "timeout", -1),
    bad("bg.close(timeout=nan)", _close(timeout=NAN), "timeout", NAN),
    # -- inside asyncio ---------------------------------------------------------------------------
    bad(
        "open_asyncio_runtime(shutdown_timeout='5')",
        _in_asyncio(_nothing, shutdown_timeout="5"),
        "shutdown_timeout",
        "5",
    ),
    bad("open_asyncio_runtime(bogus=1)", _in_asyncio(_nothing, bogus=1), "bogus"),
    bad(
        "open_asyncio_runtime(thread_limit=0)",
        _in_asyncio(_nothing, thread_limit=0),
        "thread_limit",
        0,
    ),
    bad("aio.run('wf')", _in_asyncio(lambda host: host.run("wf")), "workflow", "wf"),
    bad(
        "aio.run(wf, bogus=1)",
        _in_asyncio(lambda host: host.run(new_workflow(), x=1, bogus=1)),
        "bogus",
    ),
    bad(
        "aio.fire_and_forget(5)",
        _in_asyncio(lambda host: host.fire_and_forget(5)),
        ("fn", "callable"),
        5,
    ),
    bad("aio.start('wf')", _in_asyncio(lambda host: host.start("wf")), "workflow", "wf"),
    bad("aio.call(5)", _in_asyncio(lambda host: host.call(5)), ("fn", "function"), 5),
    bad("aio.get_run(5)", _in_asyncio(lambda host: host.get_run(5)), "run id", 5),
    bad(
        "aio.schedule(trigger=5)",
        _in_asyncio(lambda host: host.schedule("s", 5, job)),
        "trigger",
        5,
    ),
]
