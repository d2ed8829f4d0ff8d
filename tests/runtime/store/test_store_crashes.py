"""Real processes, real kills: what a SIGKILLed process acknowledged is in the store, two
processes claim each due instant exactly once between them, a killed owner is seen dead."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import trio

from arborist.runtime.store import open_store

CHILD = Path(__file__).with_name("store_child.py")


@contextmanager
def child(*args: str) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def ready(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("ready "), f"child did not start: {line!r} {proc.stderr.read()}"  # type: ignore[union-attr]
    return line.split()[1]


async def test_every_commit_a_killed_process_acknowledged_is_in_the_store(backend):
    with child("commits", backend.url) as proc:
        run_id = ready(proc)
        assert proc.stdout is not None
        acked = [int(proc.stdout.readline()) for _ in range(300)]
        os.kill(proc.pid, signal.SIGKILL)
        acked += [int(line) for line in proc.stdout.read().split()]
        proc.wait(timeout=30)

    if backend.name == "sqlite":
        assert backend.sql("PRAGMA integrity_check") == [("ok",)]
    async with open_store(backend.make()) as store:
        journal = await store.load_journal(run_id)
    results = journal.results()
    assert proc.returncode == -signal.SIGKILL
    assert acked == list(range(len(acked)))
    assert [results[f"s{n}"] for n in acked] == acked


async def test_two_processes_claim_each_of_1000_due_instants_exactly_once(backend):
    count = 1000
    with child("ticks", backend.url, "every", str(count)) as a, child(
        "ticks", backend.url, "every", str(count)
    ) as b:
        ready(a)
        ready(b)
        for proc in (a, b):
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        won = [json.loads(proc.stdout.readline()) for proc in (a, b)]  # type: ignore[union-attr]

    rows = backend.sql("SELECT due FROM schedule_ticks WHERE name = 'every'")
    assert sorted(won[0] + won[1]) == list(range(count))
    assert set(won[0]).isdisjoint(won[1])
    assert len(rows) == len({row[0] for row in rows}) == count


async def reap_once_the_server_saw_the_death(store, backend):
    """SQLite: the kernel drops the flock with the process, so one reap sees it. PostgreSQL:
    the server drops the advisory lock when the killed client's backend reads EOF, a few ms
    after the kill, and nothing notifies us; so wait (bounded) for that backend to end."""
    for _ in range(500):
        reaped = await store.reap_dead_owners()
        if reaped or backend.name == "sqlite":
            return reaped
        await trio.sleep(0.01)
    return []


async def test_an_owner_killed_by_sigkill_is_reaped_at_once_by_its_lock_not_its_lease(backend):
    async with open_store(backend.make(lease=3600.0)) as store:
        with child("owner", backend.url) as proc:
            owner_id = ready(proc)
            alive = await store.reap_dead_owners()
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            reaped = await reap_once_the_server_saw_the_death(store, backend)

    assert alive == []
    assert [owner.owner_id for owner in reaped] == [owner_id]
    assert reaped[0].closed_reason == "lock released"
