"""The child process of the job kill tests: ``python durable_jobs_child.py MODE URL``.

- ``start``: open a durable runtime, enqueue ``interrupted`` (which blocks after its first
  marker, ``BLOCK_JOBS=1``) and wait until it blocks; then fire ``COUNTED`` ``counted`` jobs
  and freeze the whole process as the first of them is about to start (its row committed as
  ``running``, its function not called yet), once every one's row is committed (printing
  ``held``). The test SIGKILLs it there.
- ``recover``: open a runtime on the same store (it recovers the jobs on ``async with``), wait
  until no job is pending or running, and print one JSON line: every job's row.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).parent))

import durable_jobs_fns as fns

from arborist.runtime import Runtime
from arborist.runtime._durable_jobs import DurableJobs

COUNTED = 5


def say(*words: object) -> None:
    print(*words, flush=True)


async def start(url: str) -> None:
    async with Runtime(store=url) as rt:
        store = rt.store
        assert store is not None
        await rt.enqueue(fns.interrupted)
        await fns.BLOCKED.wait()
        say("blocked")
        resolve = DurableJobs._resolve

        async def frozen(self, row, call):  # type: ignore[no-untyped-def]
            if row.fn.endswith(":counted"):
                await store.flush()  # every counted job's row is durable
                say("held")
                time.sleep(3600)  # noqa: ASYNC251 - freeze the process: the test kills it here
            return await resolve(self, row, call)

        DurableJobs._resolve = frozen  # type: ignore[method-assign]
        for index in range(COUNTED):
            rt.fire_and_forget(fns.counted, index, durable=True)
        await trio.sleep_forever()


async def recover(url: str) -> None:
    async with Runtime(store=url) as rt:
        with trio.fail_after(60):
            while await rt.jobs(status="pending") or await rt.jobs(status="running"):  # noqa: ASYNC110 - polls the store
                await trio.sleep(0.02)
        rows = await rt.jobs()
        say(json.dumps([
            {"job_id": r.job_id, "fn": r.fn, "status": r.status.value, "attempts": r.attempts,
             "error": r.error}
            for r in rows
        ]))  # fmt: skip


def main(argv: list[str]) -> None:
    mode, url = argv
    trio.run(start if mode == "start" else recover, url)


if __name__ == "__main__":
    main(sys.argv[1:])
