"""Tree snapshots: a frozen picture of a whole supervision tree and its box-drawing text."""

import attrs
import pytest
import trio
from sup_helpers import make_exit, ref_of, settle, worker

from arborist.supervision import (
    Backoff,
    ChildState,
    Kind,
    NodeSnapshot,
    Strategy,
    SupervisorRef,
    SupervisorSpec,
    TreeSnapshot,
    start_supervisor,
)
from arborist.supervision import ChildSpec as Spec


async def build(system):
    inner = SupervisorSpec(
        [worker("a", []), worker("b", [])],
        strategy=Strategy.ONE_FOR_ALL,
        backoff=Backoff(initial=10.0, factor=1.0, max=10.0, jitter=0.0),
    )
    spec = SupervisorSpec([worker("db", []), worker("cache", []), Spec("workers", inner)])
    return await start_supervisor(system, spec, name="app")


async def test_the_text_form_draws_the_tree_with_states_restarts_and_mailboxes(
    system, autojump_clock
):
    app = await build(system)
    await make_exit(await ref_of(app, "cache"), "crash")
    db = await ref_of(app, "db")
    db.tell(("hang", 100.0))
    db.tell("queued")
    db.tell("queued")
    workers = SupervisorRef(await ref_of(app, "workers"))
    await make_exit(await ref_of(workers, "b"), "crash")  # both wait 10 s to restart
    await settle()

    snapshot = await app.tree()

    assert str(snapshot) == (
        "app  one_for_one  running\n"
        "├── db  Worker  running  mailbox=2\n"
        "├── cache  Worker  running  restarts=1\n"
        "└── workers  one_for_all  running\n"
        "    ├── a  restarting\n"
        "    └── b  restarting"
    )


async def test_a_snapshot_is_frozen_data_that_can_be_walked_and_searched(system):
    app = await build(system)

    snapshot = await app.tree()

    assert isinstance(snapshot, TreeSnapshot)
    node = snapshot.find("workers", "b")
    assert (node.id, node.kind, node.state, node.actor) == ("b", Kind.WORKER, "running", "Worker")
    assert [(depth, n.id) for depth, n in snapshot.walk()] == [
        (0, "app"),
        (1, "db"),
        (1, "cache"),
        (1, "workers"),
        (2, "a"),
        (2, "b"),
    ]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        node.state = ChildState.STOPPED
    with pytest.raises(LookupError, match="node 'workers' has no child 'z'"):
        snapshot.find("workers", "z")


async def test_restart_counts_in_the_snapshot_match_the_restarts(system):
    app = await build(system)
    for _ in range(2):
        await make_exit(await ref_of(app, "db"), "crash")

    snapshot = await app.tree()

    assert snapshot.find("db").restart_count == 2
    assert snapshot.find("cache").restart_count == 0


async def test_a_stopped_child_shows_as_stopped_without_an_actor(system):
    app = await build(system)
    await app.terminate_child("workers")

    node = (await app.tree()).find("workers")

    assert (node.state, node.actor, node.children) == ("stopped", None, ())
    assert node.label() == "workers  stopped"


def test_a_node_renders_on_its_own():
    leaf = NodeSnapshot("w", Kind.WORKER, ChildState.RUNNING, actor="Worker")
    root = NodeSnapshot(
        "root",
        Kind.SUPERVISOR,
        ChildState.RUNNING,
        strategy=Strategy.REST_FOR_ONE,
        children=[leaf, leaf],
    )

    assert (
        root.render()
        == "root  rest_for_one  running\n├── w  Worker  running\n└── w  Worker  running"
    )


async def test_a_tree_that_does_not_answer_in_time_raises_ask_timeout(system, autojump_clock):
    from arborist.actors import AskTimeoutError

    app = await build(system)
    db = await ref_of(app, "db")
    db.tell(("hang", 100.0))  # stopping db takes its full 5 s shutdown time
    await settle()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(app.terminate_child, "db")  # keeps the supervisor busy for 5 s
        await settle()
        with pytest.raises(AskTimeoutError, match=r"did not reply to 'tree\(\)' within 1.0 s"):
            await app.tree(timeout=1.0)

    assert trio.current_time() == 5.0
