"""Bad-input cases for durable jobs: ``rt.fire_and_forget(..., durable=True)``, ``rt.enqueue``,
``rt.jobs`` and ``rt.recover_jobs``.

Cases that need a store open a runtime of their own on a fresh SQLite file (``durable``);
the others use the shared runtime, which has none.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bad_input_env import Case, bad, job

from arborist.runtime import Runtime


def durable(call: Callable[[Runtime], Any]) -> Callable[[Any], Any]:
    """A case calling ``call(rt)`` in a runtime with a store (awaited if it is async)."""

    async def in_store(env: Any) -> Any:
        folder = Path(tempfile.mkdtemp(prefix="bad-jobs-"))
        raised: Exception | None = None
        try:
            async with Runtime(store=f"sqlite:///{folder / 'jobs.db'}") as rt:
                try:
                    result = call(rt)
                    if hasattr(result, "__await__"):
                        await result
                except Exception as error:  # raised below, not wrapped by the runtime's exit
                    raised = error
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        if raised is not None:
            raise raised

    return in_store


def _local_job() -> Callable[[], Any]:
    async def local() -> None:
        pass

    return local


CASES: list[Case] = [
    bad(
        "rt.fire_and_forget(durable=True) without a store",
        lambda e: e.rt.fire_and_forget(job, durable=True),
        "store",
        errors=(RuntimeError,),
    ),
    bad(
        "rt.enqueue() without a store",
        lambda e: e.rt.enqueue(job),
        "store",
        errors=(RuntimeError,),
    ),
    bad(
        "rt.recover_jobs() without a store",
        lambda e: e.rt.recover_jobs(),
        "store",
        errors=(RuntimeError,),
    ),
    bad(
        "rt.fire_and_forget(durable='yes')",
        durable(lambda rt: rt.fire_and_forget(job, durable="yes")),
        "durable",
        "yes",
    ),
    bad(
        "rt.fire_and_forget(lambda, durable=True)",
        durable(lambda rt: rt.fire_and_forget(lambda: None, durable=True)),
        "lambda",
    ),
    bad(
        "rt.fire_and_forget(local function, durable=True)",
        durable(lambda rt: rt.fire_and_forget(_local_job(), durable=True)),
        ("local", "inside a function"),
    ),
    bad(
        "rt.enqueue(lambda)",
        durable(lambda rt: rt.enqueue(lambda: None)),
        "lambda",
    ),
    bad(
        "rt.fire_and_forget(job, lock, durable=True) does not pickle",
        durable(lambda rt: rt.fire_and_forget(job, threading.Lock(), durable=True)),
        "argument 0",
        shows=["argument 0", "lock", "pickle"],
    ),
    bad(
        "rt.fire_and_forget(job, 1, 2, durable=True) args do not fit",
        durable(lambda rt: rt.fire_and_forget(job, 1, 2, durable=True)),
        "args",
    ),
    bad(
        "rt.fire_and_forget(job, name=5, durable=True)",
        durable(lambda rt: rt.fire_and_forget(job, name=5, durable=True)),
        "name",
        5,
    ),
    bad(
        "rt.jobs(status='finished')",
        durable(lambda rt: rt.jobs(status="finished")),
        "status",
        "finished",
    ),
    bad("rt.jobs(limit=0)", durable(lambda rt: rt.jobs(limit=0)), "limit", 0),
    bad("rt.jobs(limit='5')", durable(lambda rt: rt.jobs(limit="5")), "limit", "5"),
]
