"""A supervision tree that crashes and heals.

The tree: ``app`` (one_for_one) supervises a database worker, a cache registered under the
name "cache", and a ``pipeline`` (rest_for_one) where the parser depends on the fetcher. The
cache crashes and comes back under the same name with fresh state; the fetcher crashes and the
parser is restarted after it; a flaky worker crash-loops with a backoff until its supervisor
gives up, which its parent sees as a crash. Crash reports are logged to stderr.

Expected output::

    app  one_for_one  running
    ├── db  Database  running
    ├── cache  Cache  running
    └── pipeline  rest_for_one  running
        ├── fetcher  Fetcher  running
        └── parser  Parser  running
    the cache holds 2 entries
    -- the cache crashes --
    'cache' is a new incarnation, with 0 entries
    -- the fetcher crashes --
      pipeline: fetcher exited (crashed: ConnectionError: upstream went away)
      pipeline: parser exited (shutdown)
      pipeline: fetcher restarted (restart 1)
      pipeline: parser restarted (restart 1)
    -- a flaky worker under a backoff --
      jobs: flaky restarted after 0.5 s
      jobs: flaky restarted after 1.0 s
      jobs: gave up on flaky (crashed: RuntimeError: flaky)
      app: jobs restarted (restart 1) at t+1.5 s
    app  one_for_one  running
    ├── db  Database  running
    ├── cache  Cache  running  restarts=1
    ├── pipeline  rest_for_one  running
    │   ├── fetcher  Fetcher  running  restarts=1
    │   └── parser  Parser  running  restarts=1
    └── jobs  one_for_one  running  restarts=1
        └── flaky  Flaky  running
    stopped: shutdown
"""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import trio

from arborist.actors import Actor, ActorRef, open_actor_system
from arborist.supervision import (
    Backoff,
    ChildExited,
    ChildRestarted,
    ChildSpec,
    Strategy,
    SupervisorEvent,
    SupervisorGaveUp,
    SupervisorRef,
    SupervisorSpec,
    start_supervisor,
)


class Database(Actor):
    def on_receive(self, message: Any) -> Any:
        return message


class Cache(Actor):
    def __init__(self) -> None:
        self.entries: dict[str, str] = {}

    def on_receive(self, message: Any) -> Any:
        match message:
            case ("put", key, value):
                self.entries[key] = value
            case "size":
                return len(self.entries)
            case "corrupt":
                raise KeyError("corrupted entry")
        return None


class Fetcher(Actor):
    def on_receive(self, message: Any) -> Any:
        raise ConnectionError("upstream went away")


class Parser(Actor):
    pass


class Flaky(Actor):
    crashes = 0

    def on_start(self) -> None:
        self.send_after(0.0, "work")

    def on_receive(self, message: Any) -> Any:
        if Flaky.crashes < 3:
            Flaky.crashes += 1
            raise RuntimeError("flaky")
        return None


def show_pipeline(event: SupervisorEvent) -> None:
    match event:
        case ChildExited(id=child_id, reason=reason):
            print(f"  pipeline: {child_id} exited ({reason})")
        case ChildRestarted(id=child_id, restart_count=n):
            print(f"  pipeline: {child_id} restarted (restart {n})")


def show_jobs(t0: float) -> Callable[[SupervisorEvent], None]:
    def show(event: SupervisorEvent) -> None:
        match event:
            case ChildRestarted(id="flaky", delay=delay):
                print(f"  jobs: flaky restarted after {delay:.1f} s")
            case SupervisorGaveUp(id="flaky", reason=reason):
                print(f"  jobs: gave up on flaky ({reason})")
            case ChildRestarted(id="jobs", restart_count=n):
                elapsed = trio.current_time() - t0
                print(f"  app: jobs restarted (restart {n}) at t+{elapsed:.1f} s")

    return show


@asynccontextmanager
async def restart_of(sup: SupervisorRef, child_id: str) -> AsyncIterator[None]:
    """Run the block, then wait until ``sup`` (or a supervisor under it) restarts ``child_id``."""
    restarted = trio.Event()

    def watch(event: SupervisorEvent) -> None:
        if isinstance(event, ChildRestarted) and event.id == child_id:
            restarted.set()

    unsubscribe = sup.subscribe(watch)
    try:
        yield
        await restarted.wait()
    finally:
        unsubscribe()


async def main() -> None:
    Flaky.crashes = 0
    pipeline = SupervisorSpec(
        [ChildSpec("fetcher", Fetcher), ChildSpec("parser", Parser)],
        strategy=Strategy.REST_FOR_ONE,
    )
    spec = SupervisorSpec(
        [
            ChildSpec("db", Database),
            ChildSpec("cache", Cache, name="cache"),
            ChildSpec("pipeline", pipeline),
        ]
    )
    async with open_actor_system() as system:
        app = await start_supervisor(system, spec, name="app")
        print(await app.tree())

        system.tell("cache", ("put", "a", "1"))
        system.tell("cache", ("put", "b", "2"))
        print(f"the cache holds {await system.ask('cache', 'size')} entries")
        print("-- the cache crashes --")
        async with restart_of(app, "cache"):
            system.tell("cache", "corrupt")
        print(f"'cache' is a new incarnation, with {await system.ask('cache', 'size')} entries")

        print("-- the fetcher crashes --")
        pipeline = SupervisorRef(await child_ref(app, "pipeline"))
        unsubscribe = pipeline.subscribe(show_pipeline)
        async with restart_of(pipeline, "parser"):
            (await child_ref(pipeline, "fetcher")).tell("fetch")
        unsubscribe()

        print("-- a flaky worker under a backoff --")
        unsubscribe = app.subscribe(show_jobs(trio.current_time()))
        jobs = SupervisorSpec(
            [ChildSpec("flaky", Flaky)],
            max_restarts=2,
            max_seconds=10.0,
            backoff=Backoff(initial=0.5, factor=2.0, max=4.0, jitter=0.0),
        )
        async with restart_of(app, "jobs"):
            await app.start_child(ChildSpec("jobs", jobs))
        unsubscribe()
        print(await app.tree())

        print(f"stopped: {await app.shutdown()}")


async def child_ref(sup: SupervisorRef, child_id: str) -> ActorRef:
    """The running incarnation of ``child_id`` under ``sup``."""
    for info in await sup.which_children():
        if info.id == child_id and info.ref is not None:
            return info.ref
    raise LookupError(child_id)


if __name__ == "__main__":
    trio.run(main)
