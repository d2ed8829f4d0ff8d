"""The runtime's methods for durable jobs: enqueue, recover and list them (see ``_durable_jobs``).

``Runtime`` mixes them in; ``Runtime.fire_and_forget(..., durable=True)`` calls
``_fire_durable``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._durable_jobs import DurableJob, DurableJobs, JobRecoveryReport

if TYPE_CHECKING:
    from .store import JobRow, JobStatus

__all__ = ["DurableJobMethods"]


class DurableJobMethods:
    """Durable jobs (mixed into ``Runtime``; see each method)."""

    _djobs: DurableJobs | None = None

    def _job_side(self, what: str) -> DurableJobs:
        djobs = self._djobs
        if djobs is None:
            raise RuntimeError(
                f"{what} needs a store: pass Runtime(store='sqlite:///arborist.db') (or a "
                "postgresql:// URL) so jobs survive a restart, and use it inside `async with`; "
                "without one, rt.fire_and_forget(fn, *args) runs an in-memory job"
            )
        return djobs

    def _fire_durable(
        self, fn: Callable[..., Any], args: tuple[Any, ...], name: str | None, durable: object
    ) -> DurableJob:
        if durable is not True:
            raise TypeError(f"fire_and_forget durable= takes True or False; got {durable!r}")
        return self._job_side("rt.fire_and_forget(..., durable=True)").fire(fn, args, name)

    async def enqueue(
        self, fn: Callable[..., Any], /, *args: Any, name: str | None = None
    ) -> DurableJob:
        """Record ``fn(*args)`` as a durable job, start it, and return once it is committed.

        As ``fire_and_forget(fn, *args, durable=True)``, with a guarantee that call cannot
        give: when this returns, the job is in the store, so it runs (at least once, to
        completion or to a recorded failure) even if this process dies at once. Cancelling the
        wait does not withdraw the job.

        Raises:
            RuntimeError: the runtime has no store.
            ValueError: ``fn`` cannot be found by ``module:qualname`` (a lambda, a local
                function, a bound method).
            TypeError: an argument does not pickle (its position and type are named), or the
                arguments do not fit ``fn``.
            StoreError: the store failed before the job was committed.
        """
        return await self._job_side("rt.enqueue()").enqueue(fn, args, name)

    async def recover_jobs(self) -> JobRecoveryReport:
        """Claim the unfinished durable jobs of dead owners and run each again here.

        ``recover="auto"`` does this on ``async with`` (and every ``store.lease`` seconds
        after); with ``recover="manual"`` call it when the process is ready for them.

        Raises:
            RuntimeError: the runtime has no store.
        """
        return await self._job_side("rt.recover_jobs()").recover()

    async def jobs(
        self, *, status: JobStatus | str | None = None, limit: int = 100
    ) -> list[JobRow]:
        """The durable jobs recorded in the store, oldest first (``JobRow`` rows, no arguments).

        Args:
            status: only jobs in this status (``"pending"``, ``"running"``, ``"done"``,
                ``"failed"``).
            limit: at most this many.

        Raises:
            RuntimeError: the runtime has no store.
            ValueError: an unknown status or a bad limit.
        """
        return await self._job_side("rt.jobs()").jobs(status, limit)
