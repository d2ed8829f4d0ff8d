"""Workflows of the durable-run tests: each step appends a marker line, and may block.

A marker line is ``SCENARIO.STEP PID ATTEMPT KEY WALL_TIME``; ``MARKERS`` (an environment variable)
names the file. ``BLOCK`` (comma-separated ``SCENARIO.STEP`` names) makes those steps (or
undos) signal ``blocked`` and wait forever instead of returning: the test kills the process
there. Imported by the child process (``durable_child.py``) and by in-process tests.
"""

from __future__ import annotations

import os
import time
from typing import Any

import trio

from arborist.runtime import Halt, Retry, StepContext, Workflow

BLOCKED: dict[str, trio.Event] = {}
"""The block points reached in this process, by name."""


def blocking() -> set[str]:
    return {name for name in os.environ.get("BLOCK", "").split(",") if name}


def mark(name: str, ctx: StepContext | None = None) -> None:
    attempt = ctx.attempt if ctx is not None else 0
    key = ctx.idempotency_key if ctx is not None else "-"
    with open(os.environ["MARKERS"], "a", encoding="utf-8") as out:
        out.write(f"{name} {os.getpid()} {attempt} {key} {time.time():.6f}\n")


async def maybe_block(name: str) -> None:
    if name in blocking():
        BLOCKED.setdefault(name, trio.Event()).set()
        await trio.sleep_forever()


def step(scenario: str, name: str, value: Any = None):  # type: ignore[no-untyped-def]
    """A step function that marks, maybe blocks, and returns ``value`` (default its name)."""

    async def body(ctx: StepContext) -> Any:
        mark(f"{scenario}.{name}", ctx)
        await maybe_block(f"{scenario}.{name}")
        return name if value is None else value

    return body


def undo(scenario: str, name: str):  # type: ignore[no-untyped-def]
    async def body(result: Any, arguments: Any) -> None:
        mark(f"{scenario}.undo_{name}")
        await maybe_block(f"{scenario}.undo_{name}")

    return body


def chain(scenario: str, *, on_resume: str = "retry", undo_a: bool = False, fail_c: bool = False):
    """a -> b -> c; ``b`` has ``on_resume``; ``a`` and ``b`` optionally undoable."""
    wf = Workflow(scenario)
    a = wf.step(step(scenario, "a", 1), name="a")
    b = wf.step(on_resume=on_resume, name="b", wait_for=["a"])(step(scenario, "b", 2))  # type: ignore[arg-type]
    if fail_c:

        async def c(ctx: StepContext) -> None:
            mark(f"{scenario}.c", ctx)
            raise ValueError(f"{scenario}: c fails")

        wf.step(c, name="c", wait_for=["b"])
    else:
        wf.step(step(scenario, "c", 3), name="c", wait_for=["b"])
    if undo_a:
        a.undo(undo(scenario, "a"))
        b.undo(undo(scenario, "b"))
    wf.returns("c")
    return wf


MID_STEP = chain("mid_step")
FAIL = chain("fail", on_resume="fail", undo_a=True)
HALT = chain("halt", on_resume="halt")
ROLLBACK = chain("rollback", undo_a=True, fail_c=True)

AFTER_COMMIT = Workflow("after_commit")


@AFTER_COMMIT.step
async def produce(ctx: StepContext) -> str:
    mark("after_commit.produce", ctx)
    return f"made by {os.getpid()}"


@AFTER_COMMIT.step
async def consume(produce: str, ctx: StepContext) -> str:
    mark("after_commit.consume", ctx)
    return produce


AFTER_COMMIT.returns("consume")

KID = Workflow("kid")
KID.step(step("kid", "k1"), name="k1")
KID.step(step("kid", "k2"), name="k2", wait_for=["k1"])
KID.returns("k2")

PARENT = Workflow("parent")


@PARENT.step
async def p(ctx: StepContext) -> Any:
    mark("parent.p", ctx)
    return await ctx.run(KID)


PARENT.returns("p")

ELEMENTS = Workflow("elements", inputs=["items"])


@ELEMENTS.map(over="items", journal="elements", batch_size=4)
async def each(item: int, ctx: StepContext) -> int:
    mark(f"elements.e{item}", ctx)
    await maybe_block(f"elements.e{item}")
    return item * 10


ELEMENTS.returns("each")

RETRY_WAIT = Workflow("retry_wait")


@RETRY_WAIT.step(retry=Retry(attempts=3, backoff="constant", delay=1.0))
async def flaky(ctx: StepContext) -> int:
    mark("retry_wait.flaky", ctx)
    if ctx.attempt == 1:
        BLOCKED.setdefault("retry_wait.flaky", trio.Event()).set()
        raise ConnectionError("first attempt fails; the retry waits 1 s")
    return ctx.attempt


RETRY_WAIT.returns("flaky")

HALTING = Workflow("halting")


@HALTING.step
async def ask(ctx: StepContext) -> Any:
    mark("halting.ask", ctx)
    if os.environ.get("APPROVED") != "yes":
        return Halt("waiting for approval")
    return "approved"


HALTING.returns("ask")

ALL = [MID_STEP, FAIL, HALT, ROLLBACK, AFTER_COMMIT, KID, PARENT, ELEMENTS, RETRY_WAIT, HALTING]
