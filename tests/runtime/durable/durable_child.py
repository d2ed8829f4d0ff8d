"""The child process of the kill tests: ``python durable_child.py MODE URL``.

- ``start``: open a durable runtime, start one run per scenario (keyed by its name), wait
  until every block point is reached and journaled, print ``blocked``, then start
  ``after_commit`` and freeze the whole process right after its first step's result commits
  and before its dependent can start (printing ``held``). The test SIGKILLs it there.
- ``recover``: open a runtime on the same store (it recovers the runs on ``async with``),
  wait for each scenario's run (found by its key), resume the halted one by id, and print
  one JSON line: the recovery report and each run's outcome.

``MARKERS`` and ``BLOCK`` come from the environment (see ``durable_flows.py``).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import trio

sys.path.insert(0, str(Path(__file__).parent))

import durable_flows as flows

from arborist.runtime import Runtime, WorkflowHaltedError
from arborist.runtime.engine._coordinator import Coordinator
from arborist.runtime.engine._journal import START_DELAY

SCENARIOS = {
    "mid_step": (flows.MID_STEP, {}),
    "fail": (flows.FAIL, {}),
    "halt": (flows.HALT, {}),
    "rollback": (flows.ROLLBACK, {}),
    "parent": (flows.PARENT, {}),
    "elements": (flows.ELEMENTS, {"items": [0, 1, 2, 3]}),
    "retry_wait": (flows.RETRY_WAIT, {}),
}


def say(*words: object) -> None:
    print(*words, flush=True)


def hold_after(step: str) -> None:
    """Freeze the process once ``step``'s result is durable, before its dependents start."""
    resolve = Coordinator._resolve

    def frozen(self: Coordinator, name: str, *, ok: bool) -> None:
        if name == step:
            say("held")
            time.sleep(3600)  # the test kills the process here
        resolve(self, name, ok=ok)

    Coordinator._resolve = frozen  # type: ignore[method-assign]


async def start(url: str) -> None:
    points = flows.blocking() | {"retry_wait.flaky"}
    async with Runtime(store=url, workflows=flows.ALL) as rt:
        for name, (workflow, inputs) in SCENARIOS.items():
            await rt.start(workflow, inputs=inputs, key=name)
        for point in points:
            await flows.BLOCKED.setdefault(point, trio.Event()).wait()
        await trio.sleep(2 * START_DELAY)  # the blocked steps' deferred started rows go out
        assert rt.store is not None
        await rt.store.flush()
        say("blocked")
        hold_after("produce")
        await rt.start(flows.AFTER_COMMIT, key="after_commit")
        await trio.sleep_forever()


async def outcome_of(rt: Runtime, name: str, workflow: Any, inputs: Any) -> dict[str, Any]:
    handle = await rt.start(workflow, inputs=inputs, key=name)
    try:
        return {"run_id": handle.run_id, "result": await handle.result()}
    except WorkflowHaltedError as halted:
        resumed = await rt.resume(handle.run_id)
        return {"run_id": handle.run_id, "halted": halted.reason, "resumed": resumed}
    except Exception as error:
        cause = getattr(error, "cause", None)
        return {
            "run_id": handle.run_id,
            "error": type(error).__name__,
            "cause": type(cause).__name__ if cause is not None else None,
            "undone": list(getattr(error, "undone", ())),
        }


async def recover(url: str) -> None:
    async with Runtime(store=url, workflows=flows.ALL) as rt:
        report = rt.recovery_report
        assert report is not None
        outcomes = {}
        every = [*SCENARIOS.items(), ("after_commit", (flows.AFTER_COMMIT, {}))]
        for name, (workflow, inputs) in every:
            outcomes[name] = await outcome_of(rt, name, workflow, inputs)
        assert rt.store is not None
        kids = await rt.store.list_runs(workflow="kid")
        say(
            json.dumps(
                {
                    "recovered": len(report.recovered),
                    "needs_attention": report.needs_attention,
                    "outcomes": outcomes,
                    "kid_runs": len(kids),
                }
            )
        )


def main(argv: list[str]) -> None:
    mode, url = argv
    trio.run(start if mode == "start" else recover, url)


if __name__ == "__main__":
    main(sys.argv[1:])
