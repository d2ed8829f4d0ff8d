"""RunServices: the narrow interface a run needs from the runtime that hosts it.

The engine never sees ``Runtime``: the coordinator, its step runner, step contexts and map
steps reach the outside world only through this object, which the runtime builds once. It holds
the shared pieces (events, pools, the thread limiter, the random source) and two callables:
starting a child run and starting a fire-and-forget job, and the runtime's executors (opened
before any run starts and closed after the last one ends).
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import attrs
import trio

if TYPE_CHECKING:
    from arborist.supervision._events import EventBus

    from ..executors._protocol import Executor
    from ..store import Store
    from ..workflow._workflow import Workflow
    from ._handle import RunHandle
    from ._pools import Pool

__all__ = ["ChildOf", "RunServices", "StartChildRun"]


@attrs.frozen
class ChildOf:
    """Where a child run comes from: its parent run, step, and a deterministic key.

    The events of the child name its parent run and step. ``key`` is the same when the
    parent's step runs again after a crash (it continues the same try), so a durable step
    finds the child it started instead of starting a second one.
    """

    run_id: str
    step: str
    key: str


class StartChildRun(Protocol):
    """``start_child(workflow, inputs, nursery, parent=...)``: a child run in ``nursery``.

    ``parent`` (a ``ChildOf``) is the step starting it (None: a schedule's run): the child's
    ``RunStarted``/``RunFinished`` events name it, and a durable child is found again by it.
    """

    def __call__(
        self,
        workflow: Workflow,
        inputs: dict[str, Any],
        nursery: trio.Nursery,
        *,
        parent: ChildOf | None = None,
    ) -> Awaitable[RunHandle]:
        """Start the child run and return its handle once its coordinator is running."""
        ...


@attrs.frozen(eq=False)
class RunServices:
    """What the engine may use of its runtime (built once per runtime, shared by every run).

    Attributes:
        events: the runtime's event bus (``emit`` is called synchronously).
        pools: the runtime's named pools, by name (the runtime adds to it).
        thread_limiter: bounds the worker threads of blocking (``def``) steps and undos.
        random: the random source behind retry jitter.
        shutdown_timeout: seconds a child run may take to roll back when its parent is cut.
        start_child: starts a child run of a step (``ctx.run``, included workflows).
        fire_and_forget: starts a supervised job (``ctx.fire_and_forget``).
        owner: the user-facing runtime, shown to steps as ``ctx.runtime``.
        store: the open store runs journal to, or None (in memory).
        executors: the runtime's executors by name (open while runs use them); steps
            declared with ``executor=name`` run on them.
    """

    events: EventBus[Any]
    pools: Mapping[str, Pool]
    thread_limiter: trio.CapacityLimiter
    random: random.Random
    shutdown_timeout: float
    start_child: StartChildRun
    fire_and_forget: Callable[..., Any]
    owner: Any = None
    store: Store | None = None
    executors: Mapping[str, Executor] = attrs.field(factory=dict)
