"""Dask plugins that report when an arborist task has left the cluster ("gone").

Dask's cancel forgets a task on the scheduler at once, while a worker already running it
lets it run to its end (dask/distributed#2617, #4694). These plugins report, on the
``arborist-gone`` topic, the key of every arborist task (key prefix ``arborist-``) once it
no longer runs anywhere: a worker reports the task forgotten (it never started, or its
function has returned), the scheduler reports a task released before any worker had it.
Imported only by ``DaskExecutor(track_gone=True)``; arborist must be importable where the
scheduler and workers run.

The transition hooks are an advanced Dask feature whose state names may change between
versions; ``tests/runtime/executors/test_dask.py`` pins the behaviour this relies on.
"""

from __future__ import annotations

from typing import Any

from distributed.diagnostics.plugin import SchedulerPlugin, WorkerPlugin

__all__ = ["GONE_TOPIC", "KEY_PREFIX", "GoneSchedulerPlugin", "GoneWorkerPlugin"]

GONE_TOPIC = "arborist-gone"
"""The event topic the plugins log gone keys to."""

KEY_PREFIX = "arborist-"
"""Every task key an arborist executor submits starts with it."""

_NEVER_SENT = frozenset({"queued", "no-worker", "waiting"})


class GoneWorkerPlugin(WorkerPlugin):
    """Logs an arborist key when its worker forgets it (the function is not running)."""

    idempotent = True
    name = "arborist-gone-worker"

    def setup(self, worker: Any) -> None:
        """Remember the worker to log through."""
        self._worker = worker

    def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
        """On ``* -> forgotten`` of an arborist key, log the key on ``GONE_TOPIC``."""
        if finish == "forgotten" and isinstance(key, str) and key.startswith(KEY_PREFIX):
            self._worker.log_event(GONE_TOPIC, key)


class GoneSchedulerPlugin(SchedulerPlugin):
    """Logs an arborist key released by the scheduler before any worker had it."""

    idempotent = True
    name = "arborist-gone-scheduler"

    async def start(self, scheduler: Any) -> None:
        """Remember the scheduler to log through."""
        self._scheduler = scheduler

    def transition(self, key: Any, start: str, finish: str, *args: Any, **kwargs: Any) -> None:
        """On ``queued/no-worker/waiting -> released``, log the key on ``GONE_TOPIC``."""
        if (
            finish in ("released", "forgotten")
            and start in _NEVER_SENT
            and isinstance(key, str)
            and key.startswith(KEY_PREFIX)
        ):
            self._scheduler.log_event(GONE_TOPIC, key)
