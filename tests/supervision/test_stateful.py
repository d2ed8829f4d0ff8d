"""A hypothesis state machine drives a live two-level supervision tree and checks, after every
step, that exactly the children OTP's rules name were stopped, started and restarted.

The tree (strategies, restart types, intensities and the nested supervisor's place drawn per
example)::

    root                 one_for_one | one_for_all | rest_for_one, max_restarts 2-6 in 1-5 s
    ├── a                worker, permanent | transient | temporary
    ├── sub              a Supervisor child (any restart type), its own strategy and intensity
    │   ├── x, y, z      workers
    └── b                worker

Steps: a worker exits (normal, shutdown, crash, killed); the nested supervisor is killed; the
next starts of a worker are made to fail (so restarts fail and are retried as counted
restarts); virtual time moves on by an exact amount (``MockClock.jump``: no autojump, so the
intensity windows are exact, edges included). A pure model of the OTP rules predicts the log
of ``start`` / ``failed start`` / ``stop`` entries the workers write, in order; after every
step the test compares that log, the tree snapshot (states and restart counts per child id),
which workers are new incarnations, the pending start failures, and who is alive (escalation:
a supervisor over its intensity stops its children in reverse order and crashes, and its
parent handles that as a crash). At the end the tree is shut down and no actor task may be
left in trio's task tree.

The tree lives in a trio run (on a ``MockClock``) in a helper thread for the whole example;
each step calls into it and waits at most ``GUARD`` seconds of real time (a hang fails).

Examples: ``ARBORIST_STATEFUL_EXAMPLES`` (default 300, the CI setting: about 10 s of the 2-core
CI machine); for a thorough run (about 40 s), with hypothesis's counts of what happened::

    ARBORIST_STATEFUL_EXAMPLES=1000 .venv/bin/python -m pytest -q \
        tests/supervision/test_stateful.py --hypothesis-show-statistics
"""

from __future__ import annotations

import itertools
import os
import threading
from dataclasses import dataclass, field
from typing import Any

import outcome
import trio
import trio.testing
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from arborist.actors import Actor, ActorRef, ExitReason, Shutdown, open_actor_system
from arborist.actors._cell import Cell
from arborist.supervision import (
    ChildSpec,
    NodeSnapshot,
    Restart,
    Strategy,
    SupervisorRef,
    SupervisorSpec,
    start_supervisor,
)

EXAMPLES = int(os.environ.get("ARBORIST_STATEFUL_EXAMPLES", "300"))
GUARD = 10.0  # seconds of real time one step may take before the test calls it a hang
EXITS = ["normal", "shutdown", "crash", "killed"]
OWN_STOP = {"normal": "normal", "shutdown": "shutdown", "crash": "crashed"}
ROOT_WORKERS = ("a", "b")
SUB_WORKERS = ("x", "y", "z")

Log = list[tuple[Any, ...]]


class PlannedWorker(Actor):
    """Logs its starts and stops; fails its start while ``plan[id]`` > 0; exits when told."""

    def __init__(self, child_id: str, log: Log, plan: dict[str, int]) -> None:
        self.child_id = child_id
        self.log = log
        self.plan = plan

    def on_start(self) -> None:
        if self.plan.get(self.child_id, 0) > 0:
            self.plan[self.child_id] -= 1
            self.log.append(("failed start", self.child_id))
            raise ValueError(f"{self.child_id} was told to fail its start")
        self.log.append(("start", self.child_id))

    def on_stop(self, reason: ExitReason) -> None:
        self.log.append(("stop", self.child_id, type(reason).__name__.lower()))

    def on_receive(self, message: Any) -> Any:
        match message:
            case "crash":
                raise ValueError(f"{self.child_id} crashed")
            case "normal":
                self.stop()
            case "shutdown":
                self.stop(Shutdown())
        return message


# --- the model: OTP's rules, written plainly --------------------------------------------------


@dataclass(frozen=True)
class MSpec:
    """A supervisor's spec: strategy, intensity and children (id, restart, nested spec)."""

    strategy: Strategy
    max_restarts: int
    max_seconds: float
    children: tuple[tuple[str, Restart, MSpec | None], ...]


@dataclass(eq=False)
class MChild:
    id: str
    restart: Restart
    spec: MSpec | None  # a nested supervisor's spec, None for a worker
    state: str = "stopped"  # running (has an incarnation), restarting, stopped
    restarts: int = 0
    incarnation: int = -1
    sup: MSup | None = None  # the running nested supervisor


@dataclass(eq=False)
class MSup:
    spec: MSpec
    children: list[MChild] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    alive: bool = True


class Model:
    """What the tree must do; every stop and start it predicts is appended to ``log``."""

    def __init__(self, spec: MSpec, plan: dict[str, int]) -> None:
        self.now = 0.0
        self.log: Log = []
        self.plan = plan
        self.serial = itertools.count()
        self.root = MSup(spec)
        for child_id, restart, nested in spec.children:
            child = MChild(child_id, restart, nested)
            self.root.children.append(child)
            if not self.start(child):
                raise AssertionError("the initial start never fails in this machine")

    # -- starting and stopping --

    def start(self, child: MChild) -> bool:
        """Start one incarnation; False (and nothing left running) if its start failed."""
        if child.spec is None:
            if self.plan.get(child.id, 0) > 0:
                self.plan[child.id] -= 1
                self.log.append(("failed start", child.id))
                event("a start failed")
                return False
            self.log.append(("start", child.id))
        else:
            sup = MSup(child.spec)
            for grandchild_id, restart, nested in child.spec.children:
                grandchild = MChild(grandchild_id, restart, nested)
                sup.children.append(grandchild)
                if not self.start(grandchild):
                    sup.children.remove(grandchild)
                    self.stop_all(sup)
                    return False
            child.sup = sup
        child.state = "running"
        child.incarnation = next(self.serial)
        return True

    def terminate(self, child: MChild) -> None:
        """Stop the child's incarnation, if it has one (its supervisor's ``_terminate``)."""
        if child.state != "running":
            return
        if child.sup is None:
            self.log.append(("stop", child.id, "shutdown"))
        else:
            self.stop_all(child.sup)
            child.sup = None
        child.state = "stopped"

    def stop_all(self, sup: MSup) -> None:
        for child in reversed(sup.children):
            self.terminate(child)
            child.state = "stopped"

    # -- exits and restarts --

    def exited(self, sup: MSup, child: MChild, abnormal: bool) -> None:
        """``child`` of ``sup`` ended by itself; escalate if ``sup`` gives up."""
        child.state = "stopped"
        child.sup = None
        restart = child.restart
        if restart is Restart.PERMANENT or (restart is Restart.TRANSIENT and abnormal):
            self.restart(sup, child)
        else:
            self.retire(sup, child)

    def retire(self, sup: MSup, child: MChild) -> None:
        child.state = "stopped"
        if child.restart is Restart.TEMPORARY:
            sup.children.remove(child)

    def restart(self, sup: MSup, child: MChild) -> None:
        times = sup.times
        while times and self.now - times[0] > sup.spec.max_seconds:
            times.pop(0)
        times.append(self.now)
        if len(times) == sup.spec.max_restarts + 1 and times[0] == self.now - sup.spec.max_seconds:
            event("a restart exactly max_seconds after the oldest still counted")
        if len(times) > sup.spec.max_restarts:
            self.retire(sup, child)
            self.give_up(sup)
            return
        if sup.spec.strategy is Strategy.ONE_FOR_ONE:
            group = [child]
        elif sup.spec.strategy is Strategy.ONE_FOR_ALL:
            group = list(sup.children)
        else:
            group = sup.children[sup.children.index(child) :]
        for other in reversed(group):
            if other is not child:
                self.terminate(other)
        kept = []
        for other in group:
            if other is not child and other.restart is Restart.TEMPORARY:
                self.retire(sup, other)
            else:
                other.state = "restarting"
                kept.append(other)
        for other in kept:
            if other not in sup.children or other.state != "restarting":
                continue
            if not self.start(other):
                event("a failed start was retried")
                self.restart(sup, other)  # the retry: a new, counted restart
                return
            other.restarts += 1

    def give_up(self, sup: MSup) -> None:
        """Over its intensity: it stops every child in reverse order and crashes (its parent
        handles that crash: ``SupervisionTree.escalate``)."""
        self.stop_all(sup)
        sup.alive = False
        event("the root gave up" if sup is self.root else "the nested supervisor gave up")

    # -- queries --

    def worker(self, path: tuple[str, ...]) -> tuple[MSup, MChild]:
        sup = self.root
        for step in path[:-1]:
            [node] = [c for c in sup.children if c.id == step]
            assert node.sup is not None
            sup = node.sup
        [child] = [c for c in sup.children if c.id == path[-1]]
        return sup, child

    def running_workers(self) -> list[tuple[str, ...]]:
        if not self.root.alive:
            return []
        found: list[tuple[str, ...]] = []
        for child in self.root.children:
            if child.state != "running":
                continue
            if child.sup is None:
                found.append((child.id,))
            else:
                found.extend((child.id, g.id) for g in child.sup.children if g.state == "running")
        return found

    def incarnations(self) -> dict[str, int]:
        found = {}
        for _, child in self.walk(self.root):
            if child.state == "running" and child.spec is None:
                found[child.id] = child.incarnation
        return found

    def walk(self, sup: MSup) -> list[tuple[MSup, MChild]]:
        found = []
        for child in sup.children:
            found.append((sup, child))
            if child.sup is not None:
                found.extend(self.walk(child.sup))
        return found

    def shape(self, sup: MSup) -> list[Any]:
        return [
            (c.id, c.state, c.restarts, self.shape(c.sup) if c.sup is not None else [])
            for c in sup.children
        ]


def tree_shape(node: NodeSnapshot) -> list[Any]:
    return [(c.id, str(c.state), c.restart_count, tree_shape(c)) for c in node.children]


def actor_tasks() -> list[trio.lowlevel.Task]:
    """Every task in trio's task tree that runs an actor (a ``Cell.run``)."""
    found = []
    stack = [trio.lowlevel.current_root_task()]
    while stack:
        task = stack.pop()
        if task is None:
            continue
        if getattr(task.coro, "cr_code", None) is Cell.run.__code__:
            found.append(task)
        for nursery in task.child_nurseries:
            stack.extend(nursery.child_tasks)
    return found


# --- the machine --------------------------------------------------------------------------------

RESTARTS = st.sampled_from(list(Restart))
STRATEGIES = st.sampled_from(list(Strategy))
ROOT_INTENSITY = st.tuples(st.integers(2, 6), st.sampled_from([1.0, 2.0, 5.0]))
SUB_INTENSITY = st.tuples(st.integers(1, 4), st.sampled_from([1.0, 2.0, 5.0]))


class SupervisionTree(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.token: trio.lowlevel.TrioToken | None = None
        self.log: Log = []
        self.plan: dict[str, int] = {}
        self.seen: list[ActorRef] = []
        self.model: Model | None = None
        self.error: BaseException | None = None
        self.leftover_tasks: list[Any] = []
        self.last_refs: dict[str, ActorRef] = {}
        self.last_incarnations: dict[str, int] = {}

    # -- the trio side, in a helper thread --

    def _run_tree(self, spec: SupervisorSpec, ready: threading.Event) -> None:
        clock = trio.testing.MockClock()  # no autojump: time moves only by `advance_time`

        async def main() -> None:
            async with open_actor_system() as system, trio.open_nursery() as calls:
                self.clock = clock
                self.calls = calls
                self.system = system
                self.root = await start_supervisor(system, spec, name="root")
                self.seen.append(self.root.ref)
                self.root.subscribe(self._record_ref)
                self.done = trio.Event()
                self.token = trio.lowlevel.current_trio_token()
                ready.set()
                await self.done.wait()
                if self.root.is_alive:
                    await self.root.shutdown()
                await trio.testing.wait_all_tasks_blocked()
                self.leftover_tasks = actor_tasks()
                calls.cancel_scope.cancel()

        try:
            trio.run(main, clock=clock)
        except BaseException as exc:  # reported by the step or by teardown
            self.error = exc
            ready.set()

    def _record_ref(self, event: Any) -> None:
        ref = getattr(event, "ref", None)
        if ref is not None and ref not in self.seen:
            self.seen.append(ref)

    def call(self, fn: Any, *args: Any) -> Any:
        """Run ``await fn(*args)`` in the tree's trio run; wait at most GUARD real seconds."""
        assert self.token is not None
        done = threading.Event()
        box: list[outcome.Outcome[Any]] = []

        async def run() -> None:
            box.append(await outcome.acapture(fn, *args))
            done.set()

        self.token.run_sync_soon(self.calls.start_soon, run)
        assert done.wait(GUARD), f"the tree did not answer within {GUARD} s: a hang"
        return box[0].unwrap()

    async def _children(self, path: tuple[str, ...] = ()) -> dict[str, ActorRef]:
        """The running children's refs under the supervisor at ``path``."""
        sup = self.root
        for step in path:
            [info] = [i for i in await sup.which_children() if i.id == step]
            assert info.ref is not None
            sup = SupervisorRef(info.ref)
        return {i.id: i.ref for i in await sup.which_children() if i.ref is not None}

    async def _settle(self) -> None:
        await trio.testing.wait_all_tasks_blocked()

    # -- rules --

    @initialize(
        root=st.tuples(STRATEGIES, ROOT_INTENSITY),
        sub=st.tuples(STRATEGIES, SUB_INTENSITY, RESTARTS),
        restarts=st.lists(RESTARTS, min_size=5, max_size=5),
        place=st.integers(0, 2),
    )
    def start_tree(self, root, sub, restarts, place) -> None:
        (root_strategy, (root_max, root_seconds)) = root
        (sub_strategy, (sub_max, sub_seconds), sub_restart) = sub
        sub_children = tuple(zip(SUB_WORKERS, restarts[2:], [None] * 3, strict=True))
        sub_spec = MSpec(sub_strategy, sub_max, sub_seconds, sub_children)
        root_children: list[tuple[str, Restart, MSpec | None]] = [
            ("a", restarts[0], None),
            ("b", restarts[1], None),
        ]
        root_children.insert(place, ("sub", sub_restart, sub_spec))
        model_spec = MSpec(root_strategy, root_max, root_seconds, tuple(root_children))

        def child_specs(spec: MSpec) -> list[ChildSpec]:
            return [
                ChildSpec(
                    child_id,
                    SupervisorSpec(
                        child_specs(nested),
                        strategy=nested.strategy,
                        max_restarts=nested.max_restarts,
                        max_seconds=nested.max_seconds,
                    )
                    if nested is not None
                    else PlannedWorker,
                    args=() if nested is not None else (child_id, self.log, self.plan),
                    restart=restart,
                )
                for child_id, restart, nested in spec.children
            ]

        spec = SupervisorSpec(
            child_specs(model_spec),
            strategy=root_strategy,
            max_restarts=root_max,
            max_seconds=root_seconds,
        )
        self.model = Model(model_spec, {})
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run_tree, args=(spec, ready), daemon=True)
        self.thread.start()
        assert ready.wait(GUARD), "the tree did not start"
        assert self.error is None, self.error
        self.check_step()

    @precondition(lambda self: self.model is not None and self.model.running_workers())
    @rule(data=st.data(), how=st.sampled_from(EXITS))
    def exit_a_worker(self, data, how) -> None:
        assert self.model is not None
        path = data.draw(st.sampled_from(self.model.running_workers()), label="worker")

        async def act() -> None:
            ref = (await self._children(path[:-1]))[path[-1]]
            if how == "killed":
                ref.kill()
            else:
                ref.tell(how)
            await self._settle()

        self.call(act)

        sup, child = self.model.worker(path)
        if how != "killed":
            self.model.log.append(("stop", child.id, OWN_STOP[how]))
        self.model.exited(sup, child, abnormal=how in ("crash", "killed"))
        self.escalate()
        self.check_step()

    @precondition(
        lambda self: (
            self.model is not None
            and self.model.root.alive
            and any(c.sup is not None for c in self.model.root.children)
        )
    )
    @rule()
    def kill_the_nested_supervisor(self) -> None:
        async def act() -> None:
            (await self._children())["sub"].kill()
            await self._settle()

        self.call(act)

        assert self.model is not None
        [sub] = [c for c in self.model.root.children if c.id == "sub"]
        self.model.exited(self.model.root, sub, abnormal=True)  # killed: no on_stop below it
        self.check_step()

    @precondition(lambda self: self.model is not None and self.model.root.alive)
    @rule(worker=st.sampled_from(ROOT_WORKERS + SUB_WORKERS), failures=st.integers(1, 3))
    def make_the_next_starts_of_a_worker_fail(self, worker, failures) -> None:
        async def act() -> None:
            self.plan[worker] = self.plan.get(worker, 0) + failures

        self.call(act)

        assert self.model is not None
        self.model.plan[worker] = self.model.plan.get(worker, 0) + failures
        self.check_step()

    @precondition(lambda self: self.model is not None)
    @rule(seconds=st.sampled_from([0.5, 1.0, 2.0, 5.0]))
    def advance_time(self, seconds) -> None:
        async def act() -> None:
            self.clock.jump(seconds)
            await self._settle()

        self.call(act)

        assert self.model is not None
        self.model.now += seconds
        self.check_step()

    # -- checks --

    def escalate(self) -> None:
        """A nested supervisor that gave up is a crash of that child for the root."""
        assert self.model is not None
        for child in list(self.model.root.children):
            if child.sup is not None and not child.sup.alive:
                child.sup = None
                self.model.exited(self.model.root, child, abnormal=True)

    def check_step(self) -> None:
        assert self.error is None, self.error
        model = self.model
        assert model is not None
        assert self.log == model.log
        self.log.clear()
        model.log.clear()
        assert self.plan == model.plan

        async def observe() -> Any:
            if not self.root.is_alive:
                return None, {}
            tree = await self.root.tree()
            refs = {}
            children = await self._children()
            for child_id, ref in children.items():
                if child_id == "sub":
                    refs |= await self._children(("sub",))
                else:
                    refs[child_id] = ref
            return tree, refs

        tree, refs = self.call(observe)
        assert (tree is not None) == model.root.alive
        if tree is None:
            return
        assert tree_shape(tree.root) == model.shape(model.root)
        incarnations = model.incarnations()
        assert set(refs) == set(incarnations)
        for worker_id, ref in refs.items():
            if worker_id in self.last_refs and worker_id in self.last_incarnations:
                same_model = self.last_incarnations[worker_id] == incarnations[worker_id]
                assert (ref is self.last_refs[worker_id]) == same_model, worker_id
        self.last_refs, self.last_incarnations = refs, incarnations

    def teardown(self) -> None:
        if self.token is not None:
            self.token.run_sync_soon(self.done.set)
            self.thread.join(timeout=GUARD)
            assert not self.thread.is_alive(), "the tree did not shut down"
        if self.error is not None:
            raise self.error
        assert self.leftover_tasks == [], f"actor tasks left after shutdown: {self.leftover_tasks}"
        assert [ref for ref in self.seen if ref.is_alive] == []


SupervisionTree.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_random_exits_and_failed_starts_restart_exactly_the_children_otp_restarts = (
    SupervisionTree.TestCase
)
