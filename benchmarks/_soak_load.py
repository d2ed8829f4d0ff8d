"""The soak's load (W11): its workflows, jobs, schedule jobs and actors, and their plans.

Everything here records what it did in the soak's ledger (``_soak_ledger.Ledger``) at the
moment it did it: an undoable step records its side effect just before it returns, its undo
records the rollback, a job records whether it returned or raised, a worker actor records each
message it handled. The ledger then compares those records with what the runtime reported.
Only the public API of ``arborist.runtime`` and ``arborist.actors`` is used.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import attrs
import trio

from arborist.actors import Actor
from arborist.runtime import Retry, StepContext, Workflow

if TYPE_CHECKING:
    from benchmarks._soak_ledger import Ledger

__all__ = [
    "RETRY_ATTEMPTS",
    "SHAPES",
    "Ask",
    "Boom",
    "ChaosError",
    "Injected",
    "Plan",
    "Tell",
    "Transient",
    "Worker",
    "build_workflows",
    "draw_plan",
    "fire_job",
    "schedule_job",
    "sync_schedule_job",
]

RETRY_ATTEMPTS = 3
"""Attempts of the soak's retrying steps: a plan with ``transient >= 3`` exhausts them."""

SHAPES = ("chain", "fanout", "map", "parent")
"""The workflow shapes a driver run takes (``Plan.shape``)."""


class Injected(Exception):  # noqa: N818 - it is the failure the plan asked for
    """A failure the run's plan asked for (never retried)."""


class Transient(Exception):  # noqa: N818 - a retried failure, not an error of the soak
    """A failure the step's ``Retry`` retries."""


class ChaosError(Exception):
    """Raised by a worker actor told ``Boom()``: the chaos task crashing it."""


@attrs.frozen
class Plan:
    """What one run does, drawn in advance from the soak's seeded random generator.

    Attributes:
        shape: which workflow (one of ``SHAPES``).
        fail: the step that raises ``Injected`` (None: none does).
        transient: how many attempts of the retrying step raise ``Transient`` first
            (``RETRY_ATTEMPTS`` or more: the retries are exhausted and the run fails).
        items: the map step's number of elements.
        fail_item: the map element that raises ``Injected`` (None: none does).
        delay: seconds each step sleeps.
        cancel_after: seconds after its start the driver calls ``handle.cancel()`` (None:
            never).
    """

    shape: str
    fail: str | None = None
    transient: int = 0
    items: int = 0
    fail_item: int | None = None
    delay: float = 0.002
    cancel_after: float | None = None

    @property
    def fails(self) -> bool:
        """Whether the run must end with ``WorkflowFailedError`` unless cancelled first."""
        return (
            self.fail is not None or self.transient >= RETRY_ATTEMPTS or self.fail_item is not None
        )


_FAILING_STEPS = {"chain": "notify", "fanout": "branch_d", "parent": "finish"}


def draw_plan(rng: random.Random, *, cancel_share: float = 0.15) -> Plan:
    """Draw the next run's plan: a shape, maybe a failure, retries, maybe a cancellation."""
    shape = rng.choices(SHAPES, weights=(3, 3, 2, 2))[0]
    fail: str | None = None
    fail_item: int | None = None
    transient = rng.choice((0, 0, 0, 1, 2))
    items = rng.randint(6, 20) if shape == "map" else 0
    roll = rng.random()
    if roll < 0.12:
        if shape == "map":
            fail_item = rng.randrange(items)
        elif shape == "parent":
            fail = rng.choice(("finish", "confirm"))
        else:
            fail = _FAILING_STEPS[shape]
    elif roll < 0.2 and shape in ("chain", "fanout"):
        transient = RETRY_ATTEMPTS
    cancel_after = rng.uniform(0.0, 0.03) if rng.random() < cancel_share else None
    return Plan(
        shape=shape,
        fail=fail,
        transient=transient,
        items=items,
        fail_item=fail_item,
        delay=rng.uniform(0.001, 0.006),
        cancel_after=cancel_after,
    )


def _retry() -> Retry:
    return Retry(attempts=RETRY_ATTEMPTS, delay=0.001, retry_on=Transient)


def build_workflows(ledger: Ledger) -> dict[str, Workflow]:
    """The soak's workflows by shape, plus ``"child"`` and ``"scheduled"``, bound to ``ledger``.

    - chain: reserve (undo) -> charge (retry, undo) -> ship (a plain ``def``, undo) -> notify
      (may fail).
    - fanout: source -> five branches (a, e undoable; b undoable with its own nursery; c with
      retry, undoable; d may fail) -> join.
    - map: lock (undo) and items -> work, a map step with retry per element (may fail on one)
      -> total.
    - parent: prep (undo) -> delegate, which runs the child workflow through ``ctx.run`` ->
      finish (may fail). The child: book (undo) -> confirm (may fail).
    - scheduled: the workflow job of a schedule: items -> a map step -> gather, a step with
      its own nursery. No undo (a killed scheduler's runs are cut, not rolled back).
    """

    async def undo(result: tuple[str, str], arguments: Any) -> None:
        ledger.undo(result)

    chain = Workflow("soak_chain", inputs=["plan"])

    @chain.step
    async def reserve(plan: Plan, ctx: StepContext) -> tuple[str, str]:
        await trio.sleep(plan.delay)
        return ledger.apply(ctx.run_id, "reserve")

    reserve.undo(undo)

    @chain.step(retry=_retry())
    async def charge(reserve: Any, plan: Plan, ctx: StepContext) -> tuple[str, str]:
        await trio.sleep(plan.delay)
        if ctx.attempt <= plan.transient:
            raise Transient(f"charge attempt {ctx.attempt}")
        return ledger.apply(ctx.run_id, "charge")

    charge.undo(undo)

    @chain.step
    def ship(charge: Any, plan: Plan, ctx: StepContext) -> tuple[str, str]:
        time.sleep(plan.delay)  # blocking work: this step runs on a worker thread
        return ledger.apply(ctx.run_id, "ship")

    ship.undo(undo)

    @chain.step
    async def notify(ship: Any, plan: Plan) -> str:
        await trio.sleep(plan.delay)
        if plan.fail == "notify":
            raise Injected("notify")
        return "notified"

    chain.returns(notify)

    fanout = Workflow("soak_fanout", inputs=["plan"])

    @fanout.step
    async def source(plan: Plan) -> float:
        await trio.sleep(plan.delay)
        return plan.delay

    @fanout.step
    async def branch_a(source: float, ctx: StepContext) -> tuple[str, str]:
        await trio.sleep(source)
        return ledger.apply(ctx.run_id, "branch_a")

    @fanout.step
    async def branch_b(source: float, ctx: StepContext) -> tuple[str, str]:
        async with trio.open_nursery() as nursery:  # a step with a nursery of its own
            nursery.start_soon(trio.sleep, source)
            nursery.start_soon(trio.sleep, source / 2)
        return ledger.apply(ctx.run_id, "branch_b")

    @fanout.step(retry=_retry())
    async def branch_c(source: float, plan: Plan, ctx: StepContext) -> tuple[str, str]:
        await trio.sleep(source)
        if ctx.attempt <= plan.transient:
            raise Transient(f"branch_c attempt {ctx.attempt}")
        return ledger.apply(ctx.run_id, "branch_c")

    @fanout.step
    async def branch_d(source: float, plan: Plan) -> str:
        await trio.sleep(source * 2)
        if plan.fail == "branch_d":
            raise Injected("branch_d")
        return "d"

    @fanout.step
    async def branch_e(source: float, ctx: StepContext) -> tuple[str, str]:
        await trio.sleep(source / 2)
        return ledger.apply(ctx.run_id, "branch_e")

    for step in (branch_a, branch_b, branch_c, branch_e):
        step.undo(undo)

    @fanout.step
    async def join(
        branch_a: Any, branch_b: Any, branch_c: Any, branch_d: Any, branch_e: Any
    ) -> int:
        return 5

    fanout.returns(join)

    mapped = Workflow("soak_map", inputs=["plan"])

    @mapped.step
    async def lock(plan: Plan, ctx: StepContext) -> tuple[str, str]:
        await trio.sleep(plan.delay)
        return ledger.apply(ctx.run_id, "lock")

    lock.undo(undo)

    @mapped.step
    async def items(plan: Plan) -> list[int]:
        return list(range(plan.items))

    @mapped.map(over="items", batch_size=4, retry=Retry(attempts=2, retry_on=Transient))
    async def work(item: int, plan: Plan, ctx: StepContext) -> int:
        await trio.sleep(plan.delay)
        if item == plan.fail_item:
            raise Injected(f"element {item}")
        if item % 5 == 1 and ctx.attempt == 1:
            raise Transient(f"element {item} attempt 1")
        return item

    @mapped.step
    async def total(work: list[int], lock: Any) -> int:
        return sum(work)

    mapped.returns(total)

    child = Workflow("soak_child", inputs=["plan", "parent"])

    @child.step
    async def book(plan: Plan, parent: str, ctx: StepContext) -> tuple[str, str]:
        ledger.link(ctx.run_id, parent)
        await trio.sleep(plan.delay)
        return ledger.apply(ctx.run_id, "book")

    book.undo(undo)

    @child.step
    async def confirm(book: Any, plan: Plan) -> str:
        await trio.sleep(plan.delay)
        if plan.fail == "confirm":
            raise Injected("confirm")
        return "confirmed"

    child.returns(confirm)

    parent = Workflow("soak_parent", inputs=["plan"])

    @parent.step
    async def prep(plan: Plan, ctx: StepContext) -> tuple[str, str]:
        await trio.sleep(plan.delay)
        return ledger.apply(ctx.run_id, "prep")

    prep.undo(undo)

    @parent.step
    async def delegate(prep: Any, plan: Plan, ctx: StepContext) -> Any:
        return await ctx.run(child, plan=plan, parent=ctx.run_id)

    @parent.step
    async def finish(delegate: Any, plan: Plan) -> Any:
        await trio.sleep(plan.delay)
        if plan.fail == "finish":
            raise Injected("finish")
        return delegate

    parent.returns(finish)

    scheduled = Workflow("soak_scheduled", inputs=["plan"])

    @scheduled.step
    async def elements(plan: Plan) -> list[int]:
        return list(range(plan.items))

    @scheduled.map(over="elements", batch_size=3)
    async def poll(element: int, plan: Plan) -> int:
        await trio.sleep(plan.delay)
        return element

    @scheduled.step
    async def gather(poll: list[int], plan: Plan) -> int:
        async with trio.open_nursery() as nursery:
            for _ in range(3):
                nursery.start_soon(trio.sleep, plan.delay)
        return len(poll)

    scheduled.returns(gather)

    return {
        "chain": chain,
        "fanout": fanout,
        "map": mapped,
        "parent": parent,
        "child": child,
        "scheduled": scheduled,
    }


# -- jobs ----------------------------------------------------------------------------------------


async def fire_job(ledger: Ledger, token: int, delay: float, fail: bool) -> None:
    """A fire-and-forget job: sleep, then return or raise ``Injected`` (recorded first)."""
    await trio.sleep(delay)
    if fail:
        ledger.job_ran(token, "raised")
        raise Injected(f"job {token}")
    ledger.job_ran(token, "returned")


def schedule_job(
    ledger: Ledger,
    name: str,
    rng: random.Random,
    *,
    low: float,
    high: float,
    fail_every: int = 0,
    nursery: bool = False,
) -> Callable[[], Awaitable[None]]:
    """An async schedule job recording its calls; ``nursery=True`` sleeps in its own nursery."""
    calls = 0

    async def job() -> None:
        nonlocal calls
        calls += 1
        ledger.schedule_job_called(name)
        duration = rng.uniform(low, high)
        if nursery:
            async with trio.open_nursery() as tasks:
                tasks.start_soon(trio.sleep, duration)
                tasks.start_soon(trio.sleep, duration / 2)
        else:
            await trio.sleep(duration)
        if fail_every and calls % fail_every == 0:
            raise Injected(f"schedule {name!r} call {calls}")

    job.__name__ = job.__qualname__ = f"soak_{name}_job"
    return job


def sync_schedule_job(ledger: Ledger, name: str) -> Callable[[], None]:
    """A blocking schedule job (a worker thread): it records its call and sleeps 5 ms."""

    def job() -> None:
        ledger.schedule_job_called(name)
        time.sleep(0.005)

    job.__name__ = job.__qualname__ = f"soak_{name}_job"
    return job


# -- actors --------------------------------------------------------------------------------------


@attrs.frozen
class Tell:
    """A message told to a worker: it only counts it."""


@attrs.frozen
class Ask:
    """A request to a worker: it answers ``seq`` after ``delay`` seconds."""

    seq: int
    delay: float


@attrs.frozen
class Boom:
    """Crash the worker (the chaos task's message)."""


class Worker(Actor):
    """A worker actor spawned with ``rt.spawn``: counts tells, answers asks, crashes on ``Boom``."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    async def on_receive(self, message: Any) -> Any:
        match message:
            case Tell():
                self._ledger.tell_handled(self.ref.id)
                return None
            case Ask(seq, delay):
                if delay:
                    await trio.sleep(delay)
                return seq
            case Boom():
                raise ChaosError("crashed by the soak's chaos task")
        raise TypeError(f"a soak worker got {message!r}")
