"""A hypothesis state machine crashes random children of a live two-level tree and checks, after
every step, that exactly the right children were stopped and started, in the right order, that
restart counts match a model of OTP's rules, and that nothing is left running at the end.

The tree lives in a trio run (on a MockClock) in a helper thread for the whole example; each
step calls into it with ``trio.from_thread.run``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import trio
import trio.testing
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from sup_helpers import Log, make_exit, worker

from arborist.actors import ActorRef, open_actor_system
from arborist.supervision import (
    ChildSpec,
    ChildStarted,
    NodeSnapshot,
    Restart,
    Strategy,
    SupervisorRef,
    SupervisorSpec,
    start_supervisor,
)

EXITS = ["normal", "shutdown", "crash", "killed"]
OWN_STOP = {"normal": "normal", "shutdown": "shutdown", "crash": "crashed"}
ROOT_WORKERS = ("a", "b")
SUB_WORKERS = ("x", "y", "z")

# --- the model ----------------------------------------------------------------------------------


@dataclass
class MChild:
    id: str
    restart: Restart
    restarts: int = 0
    state: str = "running"
    sub: MSup | None = None


@dataclass
class MSup:
    strategy: Strategy
    template: list[tuple[str, Restart]]
    children: list[MChild] = field(default_factory=list)

    def fresh(self) -> MSup:
        return MSup(self.strategy, self.template, [MChild(i, r) for i, r in self.template])


def stop(child: MChild, log: Log) -> None:
    if child.state != "running":
        return
    if child.sub is not None:
        for grandchild in reversed(child.sub.children):
            stop(grandchild, log)
    else:
        log.append(("stop", child.id, "shutdown"))
    child.state = "stopped"


def start(child: MChild, log: Log) -> None:
    child.state = "running"
    if child.sub is not None:
        child.sub = child.sub.fresh()
        for grandchild in child.sub.children:
            start(grandchild, log)
    else:
        log.append(("start", child.id))


def apply_exit(sup: MSup, child: MChild, how: str, log: Log) -> None:
    """What OTP does when ``child`` of ``sup`` exits ``how``; appends the expected log."""
    if child.sub is None and how != "killed":
        log.append(("stop", child.id, OWN_STOP[how]))
    child.state = "stopped"
    restart = child.restart is Restart.PERMANENT or (
        child.restart is Restart.TRANSIENT and how in ("crash", "killed")
    )
    if not restart:
        if child.restart is Restart.TEMPORARY:
            sup.children.remove(child)
        return
    if sup.strategy is Strategy.ONE_FOR_ONE:
        group = [child]
    elif sup.strategy is Strategy.ONE_FOR_ALL:
        group = list(sup.children)
    else:
        group = sup.children[sup.children.index(child) :]
    for other in reversed(group):
        if other is not child:
            stop(other, log)
    for other in group:
        if other is not child and other.restart is Restart.TEMPORARY:
            sup.children.remove(other)
            continue
        start(other, log)
        other.restarts += 1


def model_shape(sup: MSup) -> list[Any]:
    return [
        (c.id, c.state, c.restarts, model_shape(c.sub) if c.sub and c.state == "running" else [])
        for c in sup.children
    ]


def tree_shape(node: NodeSnapshot) -> list[Any]:
    return [(c.id, str(c.state), c.restart_count, tree_shape(c)) for c in node.children]


# --- the machine --------------------------------------------------------------------------------


class SupervisionTree(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.token: trio.lowlevel.TrioToken | None = None
        self.log: Log = []
        self.refs: list[ActorRef] = []
        self.model: MSup | None = None
        self.error: BaseException | None = None

    # -- the trio side, in a helper thread --

    def _run_tree(self, spec: SupervisorSpec, ready: threading.Event) -> None:
        async def main() -> None:
            async with open_actor_system() as system:
                self.root = await start_supervisor(system, spec, name="root")
                self.refs.append(self.root.ref)
                self.root.subscribe(
                    lambda e: isinstance(e, ChildStarted) and self.refs.append(e.ref)
                )
                for info in await self.root.which_children():
                    self.refs.append(info.ref)
                for info in await SupervisorRef(await self._ref("sub")).which_children():
                    self.refs.append(info.ref)
                self.done = trio.Event()
                self.token = trio.lowlevel.current_trio_token()
                ready.set()
                await self.done.wait()

        try:
            trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
        except BaseException as exc:  # reported by teardown
            self.error = exc
            ready.set()

    async def _ref(self, *path: str) -> ActorRef:
        sup = self.root
        for step in path:
            [info] = [i for i in await sup.which_children() if i.id == step]
            assert info.ref is not None
            ref = info.ref
            sup = SupervisorRef(ref) if step == "sub" else sup
        return ref

    def call(self, fn: Any, *args: Any) -> Any:
        return trio.from_thread.run(fn, *args, trio_token=self.token)

    # -- rules --

    @initialize(
        root_strategy=st.sampled_from(list(Strategy)),
        sub_strategy=st.sampled_from(list(Strategy)),
        restarts=st.lists(st.sampled_from(list(Restart)), min_size=5, max_size=5),
    )
    def start_tree(self, root_strategy, sub_strategy, restarts) -> None:
        sub_template = list(zip(SUB_WORKERS, restarts[2:], strict=True))
        sub_spec = SupervisorSpec(
            [worker(i, self.log, r) for i, r in sub_template],
            strategy=sub_strategy,
            max_restarts=1_000_000,
        )
        spec = SupervisorSpec(
            [
                worker("a", self.log, restarts[0]),
                ChildSpec("sub", sub_spec),
                worker("b", self.log, restarts[1]),
            ],
            strategy=root_strategy,
            max_restarts=1_000_000,
        )
        sub_model = MSup(sub_strategy, sub_template).fresh()
        self.model = MSup(
            root_strategy,
            [],
            [
                MChild("a", restarts[0]),
                MChild("sub", Restart.PERMANENT, sub=sub_model),
                MChild("b", restarts[1]),
            ],
        )
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run_tree, args=(spec, ready), daemon=True)
        self.thread.start()
        ready.wait(timeout=30)
        assert self.error is None, self.error
        self.log.clear()

    def running_workers(self) -> list[tuple[str, ...]]:
        assert self.model is not None
        found = []
        for child in self.model.children:
            if child.state != "running":
                continue
            if child.sub is None:
                found.append((child.id,))
            else:
                found.extend(("sub", g.id) for g in child.sub.children if g.state == "running")
        return found

    @precondition(lambda self: self.model is not None and self.running_workers())
    @rule(data=st.data(), how=st.sampled_from(EXITS))
    def exit_a_worker(self, data, how) -> None:
        path = data.draw(st.sampled_from(self.running_workers()))

        async def act() -> None:
            await make_exit(await self._ref(*path), how)

        self.call(act)

        expected: Log = []
        assert self.model is not None
        if len(path) == 1:
            [child] = [c for c in self.model.children if c.id == path[0]]
            apply_exit(self.model, child, how, expected)
        else:
            [sub] = [c for c in self.model.children if c.id == "sub"]
            assert sub.sub is not None
            [child] = [c for c in sub.sub.children if c.id == path[1]]
            apply_exit(sub.sub, child, how, expected)
        assert self.log == expected
        self.log.clear()

    @precondition(lambda self: self.model is not None)
    @rule()
    def kill_the_nested_supervisor(self) -> None:
        async def act() -> None:
            (await self._ref("sub")).kill()
            await trio.testing.wait_all_tasks_blocked()

        self.call(act)

        expected: Log = []
        assert self.model is not None
        [sub] = [c for c in self.model.children if c.id == "sub"]
        apply_exit(self.model, sub, "killed", expected)
        assert self.log == expected
        self.log.clear()

    @invariant()
    def the_tree_matches_the_model(self) -> None:
        if self.model is None or self.token is None:
            return

        async def snapshot() -> Any:
            return await self.root.tree()

        tree = self.call(snapshot)
        assert tree_shape(tree.root) == model_shape(self.model)

    def teardown(self) -> None:
        if self.token is not None:
            trio.from_thread.run_sync(self.done.set, trio_token=self.token)
            self.thread.join(timeout=30)
            assert not self.thread.is_alive()
        if self.error is not None:
            raise self.error
        leftover = [ref for ref in self.refs if ref.is_alive]
        assert leftover == [], f"still running after shutdown: {leftover}"


SupervisionTree.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_random_crashes_restart_exactly_the_children_otp_restarts = SupervisionTree.TestCase
