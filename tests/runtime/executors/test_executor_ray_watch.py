"""RayWatcher against a fake ``ray`` module: batches, errors, failures of Ray, stop.

The fake's refs end when a test says so; ``wait`` and ``get`` follow Ray's contract (``wait``
returns at most ``num_returns`` ready refs, after ``timeout`` at the latest; ``get`` of a list
raises the first error). No cluster is needed, so these run without the ray extra.
"""

import threading
from typing import Any

import pytest

from arborist.runtime.executors._ray_watch import FEW, RayWatcher

BOUND = 10.0  # seconds a test waits for the watcher's thread at most (it takes microseconds)


class FakeRef:
    def __init__(self, name: str) -> None:
        self.name = name
        self.outcome: Any = None
        self.failed = False
        self.ready = False


class FakeRay:
    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.broken: Exception | None = None
        self.waits: list[int] = []  # how many refs each poll that returned any returned
        self.gate = threading.Event()  # wait() starts once it is set
        self.gate.set()

    def end(self, ref: FakeRef, outcome: Any, *, failed: bool = False) -> None:
        with self.changed:
            ref.outcome, ref.failed, ref.ready = outcome, failed, True
            self.changed.notify_all()

    def end_all(self, ends: list[tuple[FakeRef, Any, bool]]) -> None:
        with self.changed:  # all at once: one poll sees them together
            for ref, outcome, failed in ends:
                ref.outcome, ref.failed, ref.ready = outcome, failed, True
            self.changed.notify_all()

    def wait(self, refs, *, num_returns, timeout):
        assert self.gate.wait(BOUND)
        with self.changed:
            if self.broken is not None:
                raise self.broken
            self.changed.wait_for(
                lambda: sum(r.ready for r in refs) >= num_returns or self.broken, timeout
            )
            if self.broken is not None:
                raise self.broken
            ready = [r for r in refs if r.ready][:num_returns]
            if ready and timeout:  # a poll, not the catch-up of what else is ready
                self.waits.append(len(ready))
            return ready, [r for r in refs if r not in ready]

    def get(self, refs):
        if isinstance(refs, list):
            return [self.get(r) for r in refs]
        if refs.failed:
            raise refs.outcome
        return refs.outcome

    def break_down(self, error: Exception) -> None:
        with self.changed:
            self.broken = error
            self.changed.notify_all()


class Call:
    def __init__(self, *, explode: bool = False) -> None:
        self.settled = threading.Event()
        self.outcome: tuple[Any, bool] | None = None
        self.explode = explode

    def _settle_outcome(self, outcome: Any, ok: bool) -> None:
        self.outcome = (outcome, ok)
        self.settled.set()
        if self.explode:
            raise RuntimeError("a done callback's bug")


@pytest.fixture
def ray():
    return FakeRay()


@pytest.fixture
def watcher(ray):
    watcher = RayWatcher(ray, "test-watcher")
    yield watcher
    watcher.stop()


def watched(watcher, n, **kwargs):
    refs = [FakeRef(f"r{i}") for i in range(n)]
    calls = [Call(**kwargs) for _ in refs]
    for ref, call in zip(refs, calls, strict=True):
        watcher.watch(ref, call)
    return refs, calls


def test_a_ref_that_ends_settles_its_call_with_the_value(ray, watcher):
    [ref], [call] = watched(watcher, 1)

    ray.end(ref, 42)

    assert call.settled.wait(BOUND)
    assert call.outcome == (42, True)


def test_many_refs_ending_together_are_fetched_in_one_poll(ray, watcher):
    ray.gate.clear()  # the watcher's first wait holds the refs it had taken by then
    refs, calls = watched(watcher, FEW * 3)
    ray.end_all([(ref, i, False) for i, ref in enumerate(refs)])

    ray.gate.set()

    assert all(call.settled.wait(BOUND) for call in calls)
    assert [call.outcome for call in calls] == [(i, True) for i in range(FEW * 3)]
    assert len(ray.waits) <= 2  # the first poll's refs, then all the others: not one per ref
    assert sum(ray.waits) >= FEW * 3 - FEW  # the catch-ups return at most FEW - 1


def test_a_failing_ref_in_a_batch_gets_its_error_and_the_others_their_values(ray, watcher):
    refs, calls = watched(watcher, 3)
    error = KeyError("no")

    ray.end_all([(refs[0], "a", False), (refs[1], error, True), (refs[2], "c", False)])

    assert all(call.settled.wait(BOUND) for call in calls)
    assert [call.outcome for call in calls] == [("a", True), (error, False), ("c", True)]


def test_a_ref_watched_while_another_is_pending_is_settled_without_waiting_for_it(ray, watcher):
    _, [slow_call] = watched(watcher, 1)
    [quick], [quick_call] = watched(watcher, 1)

    ray.end(quick, "quick")

    assert quick_call.settled.wait(BOUND)
    assert not slow_call.settled.is_set()


def test_a_failure_of_ray_itself_fails_every_pending_call(ray, watcher):
    _, calls = watched(watcher, 3)
    error = RuntimeError("ray was shut down")

    ray.break_down(error)

    assert all(call.settled.wait(BOUND) for call in calls)
    assert all(call.outcome == (error, False) for call in calls)


def test_a_call_whose_settling_raises_does_not_stop_the_watching_of_others(ray, watcher, caplog):
    [first], [bad] = watched(watcher, 1, explode=True)
    ray.end(first, 1)
    assert bad.settled.wait(BOUND)

    [second], [good] = watched(watcher, 1)
    ray.end(second, 2)

    assert good.settled.wait(BOUND)
    assert good.outcome == (2, True)
    assert "settling a Ray call failed" in caplog.text


def test_stop_returns_the_calls_never_settled_and_refuses_new_ones(ray):
    watcher = RayWatcher(ray, "test-watcher")
    refs, calls = watched(watcher, 2)
    ray.end(refs[0], "done")
    assert calls[0].settled.wait(BOUND)

    left = watcher.stop()

    assert left == [calls[1]]
    with pytest.raises(RuntimeError, match="stopped"):
        watcher.watch(FakeRef("late"), Call())
