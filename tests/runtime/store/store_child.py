"""A child process for the store's crash tests: ``python store_child.py MODE URL [ARGS]``.

Modes (each prints ``ready ...`` on stdout once its store is open):

- ``commits URL``: records step results one after another, awaiting each commit, and prints
  each step's number after its commit returned (an acknowledgement), until killed.
- ``ticks URL NAME COUNT``: waits for a line on stdin, then claims due instants 0..COUNT-1 of
  schedule NAME one by one, and prints the JSON list of those it won.
- ``owner URL``: prints its owner id and waits to be killed.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta

import trio

from arborist.runtime.store import open_store

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def say(*words: object) -> None:
    print(*words, flush=True)


async def commits(url: str) -> None:
    async with open_store(url) as store:
        created = await store.create_run("crash", plan_hash="p", inputs=None)
        recorder = store.recorder(created.run)
        say("ready", created.run.run_id)
        n = 0
        while True:
            await recorder.step_ok(f"s{n}", 1, n)
            say(n)
            n += 1


async def ticks(url: str, name: str, count: int) -> None:
    async with open_store(url) as store:
        await store.upsert_schedule(name, trigger="every 1s", job="job")
        say("ready", store.owner_id)
        await trio.to_thread.run_sync(sys.stdin.readline)
        dues = [EPOCH + timedelta(seconds=i) for i in range(count)]
        won = [i for i, due in enumerate(dues) if await store.claim_tick(name, due)]
        say(json.dumps(won))


async def owner(url: str) -> None:
    async with open_store(url) as store:
        say("ready", store.owner_id)
        await trio.sleep_forever()


def main(argv: list[str]) -> None:
    mode, url, *rest = argv
    if mode == "commits":
        trio.run(commits, url)
    elif mode == "ticks":
        trio.run(ticks, url, rest[0], int(rest[1]))
    elif mode == "owner":
        trio.run(owner, url)
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
