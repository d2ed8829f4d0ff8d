"""Killing a child process at a point it announces, and waiting until its store sees it dead."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable
from typing import TypeVar

import trio

from arborist.runtime.store import open_store

T = TypeVar("T")


def kill_after(child: subprocess.Popen[str], read: Callable[[subprocess.Popen[str]], T]) -> T:
    """Run ``read(child)`` (it reads what the child announces), then SIGKILL the child.

    Whatever ``read`` does, the child is killed, waited for and its pipes closed.
    """
    try:
        value = read(child)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=30)
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                stream.close()
    return value


def reap_killed_owner(url: str) -> None:
    """Wait until the store sees the killed owner dead (PostgreSQL: its backend ended)."""

    async def reap() -> None:
        async with open_store(url) as store:
            for _ in range(500):
                if await store.reap_dead_owners() or url.startswith("sqlite"):
                    return
                await trio.sleep(0.01)

    trio.run(reap)
