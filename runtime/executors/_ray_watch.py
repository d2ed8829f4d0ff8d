"""``RayWatcher``: one thread per Ray executor that waits for every pending task, in batches.

A callback per ref (``ref._on_completed``, or ``ref.future()`` on top of it) runs Python on
Ray's IO thread once per task: the GIL changes hands once per result, and each result is
deserialised on its own. In a 400-wide burst that doubled the CPU of Ray's IO thread over a
plain ``ray.get([...])`` (225 -> 450 us per task). The watcher does what ``ray.get([...])``
does: ``ray.wait`` over the pending refs (the GIL released while Ray waits in C++), then one
``ray.get`` of all that are ready, settled together, so their done callbacks share one trio
wake-up (``wait_remote``).

- With at most ``FEW`` (8) tasks pending, a poll returns as soon as one of them ends (the
  others ready by then come with it): a chain or a small fan-out sees each result at once.
- With more, a poll returns when all are ready or after ``MIN_POLL`` (5 ms) with those that
  are: a burst is settled in batches, each poll costing ~0.5 us per pending task (returning
  at every result would cost that per result: quadratic in a wide burst).
- ``ray.wait`` cannot be interrupted when a new task is submitted, so every poll has a
  timeout: ``MIN_POLL`` after a poll that found results or new tasks, doubling after each
  empty one up to ``MAX_POLL`` (20 ms). A task submitted while others run is seen at the
  next poll, within ``MAX_POLL``; a task submitted when none runs, at once.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Final, Protocol

__all__ = ["FEW", "MAX_POLL", "MIN_POLL", "RayWatcher", "Watched"]

FEW: Final = 8
"""Up to this many pending tasks, a poll returns at the first that ends."""
MIN_POLL: Final = 0.005
"""Seconds a poll waits after one that found results or new tasks."""
MAX_POLL: Final = 0.02
"""The longest a poll waits (after empty polls): the delay bound for a task submitted while
others run."""


class Watched(Protocol):
    """A call the watcher settles."""

    def _settle_outcome(self, outcome: Any, ok: bool) -> None:
        """Its value (``ok``) or Ray's error for it; called once, on the watcher's thread."""


logger = logging.getLogger(__name__)


def _give(call: Watched, outcome: Any, ok: bool) -> None:
    try:
        call._settle_outcome(outcome, ok)
    except Exception:  # a done callback's bug must not stop the watching of the others
        logger.exception("settling a Ray call failed")


class RayWatcher:
    """Waits, on one daemon thread, for the refs given to ``watch`` and settles them.

    Args:
        ray: the ``ray`` module.
        name: the thread's name.
    """

    def __init__(self, ray: Any, name: str) -> None:
        self._ray = ray
        self._name = name
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._new: list[tuple[Any, Watched]] = []
        self._thread: threading.Thread | None = None
        self._stopped = False

    def watch(self, ref: Any, call: Watched) -> None:
        """Settle ``call`` (on the watcher's thread) once ``ref`` is ready; any thread.

        Raises:
            RuntimeError: the watcher was stopped.
        """
        with self._lock:
            if self._stopped:
                raise RuntimeError(f"{self._name} is stopped")
            self._new.append((ref, call))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            elif len(self._new) == 1:
                self._wake.notify()

    def stop(self) -> list[Watched]:
        """Stop the thread (after its current poll); return the calls never settled."""
        with self._lock:
            self._stopped = True
            self._wake.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        with self._lock:
            left = [call for _, call in self._new]
            self._new = []
        return left

    def _run(self) -> None:
        ray = self._ray
        pending: dict[Any, Watched] = {}
        poll = MIN_POLL
        try:
            while True:
                with self._lock:
                    while not self._new and not pending and not self._stopped:
                        self._wake.wait()
                    if self._stopped:
                        return
                    if self._new:
                        pending.update(self._new)
                        self._new = []
                        poll = MIN_POLL
                refs = list(pending)
                few = len(refs) <= FEW
                try:
                    ready, rest = ray.wait(refs, num_returns=1 if few else len(refs), timeout=poll)
                    if few and ready and rest:
                        more, _ = ray.wait(rest, num_returns=len(rest), timeout=0)
                        ready += more
                except Exception as exc:  # Ray is gone (shut down under the executor)
                    for call in pending.values():
                        _give(call, exc, False)
                    pending.clear()
                    continue
                if not ready:
                    poll = min(poll * 2, MAX_POLL)
                    continue
                poll = MIN_POLL
                self._settle(ready, pending)
        finally:
            with self._lock:  # stopped: what is still pending goes back to stop()'s caller
                self._new[:0] = list(pending.items())

    def _settle(self, ready: list[Any], pending: dict[Any, Watched]) -> None:
        ray = self._ray
        try:
            values = ray.get(ready)  # all ready and local: no waiting
        except Exception:  # one of them failed: each alone, to give each its own outcome
            for ref in ready:
                call = pending.pop(ref)
                try:
                    value = ray.get(ref)
                except Exception as exc:
                    _give(call, exc, False)
                else:
                    _give(call, value, True)
            return
        for ref, value in zip(ready, values, strict=True):
            _give(pending.pop(ref), value, True)
