"""A background runtime closing while threads still call it: every call ends, cleanly.

Every ``submit`` future resolves, with the run's result or a ``RuntimeClosedError``; blocking
calls made after ``close()`` (or while it runs) raise ``RuntimeClosedError``; ``close()`` is
idempotent and never raises trio's internal errors. Real threads, a trivial workflow, no sleeps
on the real clock.
"""

import concurrent.futures
import threading

import pytest

from arborist.runtime import Runtime, RuntimeClosedError, Workflow


def _echo() -> Workflow:
    wf = Workflow("echo", inputs=["x"])

    @wf.step
    async def echo(x):
        return x

    wf.returns("echo")
    return wf


def test_every_future_submitted_by_sixteen_threads_racing_close_resolves():
    wf = _echo()
    futures: list[concurrent.futures.Future] = []
    lock = threading.Lock()
    rt = Runtime.background().__enter__()
    started = threading.Barrier(17)

    def submitter(n: int) -> None:
        started.wait()
        for i in range(300):
            try:
                future = rt.submit(wf, x=(n, i))
            except RuntimeClosedError:
                return
            with lock:
                futures.append(future)

    threads = [threading.Thread(target=submitter, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    started.wait()
    rt.close()
    for thread in threads:
        thread.join(timeout=30)
    done, not_done = concurrent.futures.wait(futures, timeout=30)

    assert not_done == set()
    outcomes = {type(f.exception()).__name__ if f.exception() else "ok" for f in done}
    assert outcomes <= {"ok", "RuntimeClosedError"}
    assert rt.close() is rt.report  # idempotent, and it raises nothing


@pytest.mark.parametrize(
    "call",
    [
        lambda rt, wf: rt.run(wf, x=1),
        lambda rt, wf: rt.submit(wf, x=1).result(timeout=10),
        lambda rt, wf: rt.fire_and_forget(print),
        lambda rt, wf: rt.call(_noop),
        lambda rt, wf: rt.tree(),
    ],
    ids=["run", "submit", "fire_and_forget", "call", "tree"],
)
def test_a_call_after_close_raises_runtime_closed_error(call):
    wf = _echo()
    with Runtime.background() as rt:
        pass
    with pytest.raises(RuntimeClosedError, match="closed"):
        call(rt, wf)


async def _noop() -> None:
    return None


def test_tree_racing_close_gives_a_snapshot_or_runtime_closed_error_never_an_actor_error():
    outcomes: list[str] = []
    rt = Runtime.background().__enter__()

    def poll() -> None:
        for _ in range(200):
            try:
                rt.tree()
            except RuntimeClosedError:
                outcomes.append("closed")
                return
            outcomes.append("tree")

    poller = threading.Thread(target=poll)
    poller.start()
    rt.close()
    poller.join(timeout=30)

    assert set(outcomes) <= {"tree", "closed"}
    assert outcomes
