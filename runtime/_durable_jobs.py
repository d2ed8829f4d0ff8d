"""Durable fire-and-forget jobs: ``rt.fire_and_forget(fn, *args, durable=True)``, ``rt.enqueue``.

A durable job is a row of the store's ``jobs`` table: the function's ``module:qualname``, the
job's name (``name=``, else that ``module:qualname``), its pickled arguments, a status
(``pending`` -> ``running`` -> ``done`` or ``failed`` with the error's text) and how many
times it was started. It runs as a job of the runtime's task supervisor, like an in-memory job
(``TaskStarted`` / ``TaskFinished`` / ``TaskFailed`` events), and in this order:

1. the call checks everything (a function found again by name, arguments that pickle, that
   fit its signature) and *posts* the row to the store's writer, already ``running`` (attempt
   1, owned by this runtime's store: it runs here at once) (``fire_and_forget`` returns here,
   a sync call; ``await rt.enqueue(...)`` returns only once the row is committed);
2. the job waits for that commit before it starts: a job never runs unrecorded;
3. ``fn(*args)`` runs (a ``def`` on a worker thread); ``current_job()`` inside it gives the
   job's id, attempt and idempotency key;
4. ``finish_job`` records ``done``, or ``failed`` with the error (a failure is never retried
   by the runtime: it is recorded, and reported as ``TaskFailed``).

Two writes per job. A job recovered from a dead owner is claimed (``pending`` again, its fence
bumped), then ``start_job`` marks it ``running`` and counts the attempt (refused if yet
another owner claimed it meanwhile: then it does not run here) before step 3.

The promise is *at least once*, to completion or to a recorded failure, never exactly once:
a job that was running when its process died (or whose completion was not committed yet) runs
again from the top when a runtime opens the store again (``recover="auto"`` on ``async with``,
or ``await rt.recover_jobs()``), and while a runtime lives it sweeps every ``store.lease``
seconds for the jobs of processes that died since. Key external effects on
``current_job().idempotency_key``. A job that ``fire_and_forget`` returned but whose row was
not committed yet when the process died (the writer commits within about a millisecond) is
lost: use ``await rt.enqueue(...)`` when the caller must know the job is recorded.

At a clean shutdown a job still running gets the runtime's shutdown time; one cut after it is
put back to ``pending`` (recorded), so the next runtime on the store runs it again. A job
started more than ``MAX_JOB_ATTEMPTS`` times without finishing (its process keeps dying) and a
job whose function no longer imports or whose arguments no longer unpickle are recorded
``failed`` with the reason on recovery, not run.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import pickle
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs
import trio

from arborist.actors._logging import get_logger
from arborist.supervision import Job, TaskSupervisor
from arborist.supervision._task_checks import check_job
from arborist.supervision._task_jobs import is_async

from .engine._errors import RuntimeClosedError
from .store import (
    EncodeError,
    FencedOutError,
    JobRow,
    JobStatus,
    ResultTooLargeError,
    StoreError,
)
from .store._jobs import callable_ref, resolve_callable

if TYPE_CHECKING:
    from .store import Receipt, Store

__all__ = [
    "MAX_JOB_ATTEMPTS",
    "DurableJob",
    "DurableJobs",
    "JobContext",
    "JobRecoveryReport",
    "current_job",
]

logger = get_logger("arborist.runtime")

MAX_JOB_ATTEMPTS = 10
"""A job started this many times without finishing is recorded ``failed`` on recovery."""

_CURRENT: contextvars.ContextVar[JobContext] = contextvars.ContextVar("arborist_job")


@attrs.frozen
class JobContext:
    """The durable job running in this task or thread (``current_job()``).

    Attributes:
        job_id: the job's id in the store (a UUIDv7).
        fn: its function's ``module:qualname``.
        attempt: 1 for its first start, 2 after one restart, and so on.
    """

    job_id: str
    fn: str
    attempt: int

    @property
    def idempotency_key(self) -> str:
        """``job/<job_id>``: the same for every attempt; hand it to APIs that deduplicate.

        A job that was running when its process died runs again (at least once), so an
        effect that must not happen twice (a charge, an email) should be keyed on it.
        """
        return f"job/{self.job_id}"


def current_job() -> JobContext:
    """The durable job this code runs in (its id, attempt and idempotency key).

    Works in an ``async def`` job and in a ``def`` job on its worker thread.

    Raises:
        RuntimeError: not called from inside a durable job.
    """
    try:
        return _CURRENT.get()
    except LookupError:
        raise RuntimeError(
            "current_job() is only available inside a durable job, started with "
            "rt.fire_and_forget(fn, *args, durable=True) or await rt.enqueue(fn, *args)"
        ) from None


@attrs.frozen(eq=False)
class DurableJob:
    """A durable job just started: its id in the store and its task supervisor ``Job``.

    Attributes:
        job_id: the job's id in the store (``rt.jobs()``, ``arborist jobs list``).
        fn: its function's ``module:qualname``.
        job: the task supervisor's job running it in this process (its state, its name).
    """

    job_id: str
    fn: str
    job: Job
    _receipt: Receipt = attrs.field(repr=False, alias="receipt")

    @property
    def committed(self) -> bool:
        """Whether the job's row is durable in the store (or its commit failed)."""
        return self._receipt.committed

    async def wait_committed(self) -> None:
        """Return once the job's row is durable.

        Raises:
            StoreError: the store failed before committing it (the job does not run).
        """
        await self._receipt


@attrs.frozen
class JobRecoveryReport:
    """What one recovery of durable jobs did (``await rt.recover_jobs()``).

    Attributes:
        reaped: owners found dead and closed.
        recovered: ids of the jobs claimed and started again here, oldest first.
    """

    reaped: int
    recovered: tuple[str, ...]


class DurableJobs:
    """The durable jobs of a runtime with a store (made by the runtime when it opens)."""

    def __init__(self, store: Store, supervisor: Callable[[], TaskSupervisor]) -> None:
        self._store = store
        self._supervisor = supervisor

    # -- starting -----------------------------------------------------------------------------

    def fire(self, fn: Callable[..., Any], args: tuple[Any, ...], name: str | None) -> DurableJob:
        """Check, post the row and start the job (see the module docstring); never blocks.

        Raises:
            ValueError: ``fn`` cannot be found by name by a new process.
            TypeError: an argument does not pickle (its position and type are named), the
                arguments do not fit ``fn``, or ``name`` is not a str.
            RuntimeClosedError: the runtime is shutting down.
        """
        supervisor = self._supervisor()  # a closed runtime refuses before anything is posted
        check_job(fn, args, name, "fire_and_forget")
        ref = _ref(fn)
        try:
            row, receipt = self._store.post_job(ref, args, name=name or None, running=True)
        except ResultTooLargeError:
            raise
        except EncodeError as exc:
            raise _unpicklable(ref, args, exc) from exc
        job = supervisor.start_child(
            self._execute, row, receipt, (fn, args), name=name or ref.partition(":")[2]
        )
        return DurableJob(row.job_id, ref, job, receipt=receipt)

    async def enqueue(
        self, fn: Callable[..., Any], args: tuple[Any, ...], name: str | None
    ) -> DurableJob:
        """As ``fire``, then wait until the row is committed.

        The job is started first, so a caller cancelled while waiting loses nothing.
        """
        durable = self.fire(fn, args, name)
        await durable.wait_committed()
        return durable

    # -- running ------------------------------------------------------------------------------

    async def _execute(
        self,
        row: JobRow,
        receipt: Receipt | None,
        call: tuple[Callable[..., Any], tuple[Any, ...]] | None,
    ) -> None:
        store = self._store
        if receipt is not None:  # inserted as running: durable before the job does anything
            existing = await receipt
            if existing is not None:  # pragma: no cover - fire never reuses an id
                logger.warning("durable job %s exists already; not run again here", row.job_id)
                return
        try:
            fn, args, kwargs = await self._resolve(row, call)
            if receipt is None:  # a recovered (claimed) job: start it, counting the attempt
                try:
                    row = await store.post_start_job(row)
                except FencedOutError:
                    logger.warning("durable job %s was claimed by another owner; not run", row)
                    return
            token = _CURRENT.set(JobContext(row.job_id, row.fn, row.attempts))
            try:
                if is_async(fn):
                    await fn(*args, **kwargs)
                else:
                    bound = functools.partial(fn, *args, **kwargs)
                    await trio.to_thread.run_sync(bound, abandon_on_cancel=True)
            finally:
                _CURRENT.reset(token)
        except Exception as exc:
            with trio.CancelScope(shield=True):
                await store.post_finish_job(row, error=exc)
            raise
        except BaseException:
            _release(store, row)  # cut (shutdown): pending again, for the next runtime
            raise
        with trio.CancelScope(shield=True):
            await store.post_finish_job(row)

    async def _resolve(
        self, row: JobRow, call: tuple[Callable[..., Any], tuple[Any, ...]] | None
    ) -> tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]:
        if call is not None:
            return call[0], call[1], {}
        if row.attempts >= MAX_JOB_ATTEMPTS:
            raise RuntimeError(
                f"durable job {row.job_id} ({row.fn}) was started {row.attempts} times and "
                "never finished: the process running it keeps dying (a crash loop?); it is "
                "not run again"
            )
        stored = await self._store.job_call(row)
        return resolve_callable(stored.fn), tuple(stored.args), dict(stored.kwargs)

    # -- recovery -----------------------------------------------------------------------------

    async def recover(self) -> JobRecoveryReport:
        """Reap dead owners, claim their unfinished jobs and start each again here."""
        store = self._store
        supervisor = self._supervisor()
        reaped = await store.reap_dead_owners()
        claimed = await store.claim_orphaned_jobs()
        for row in claimed:
            supervisor.start_child(self._execute, row, None, None, name=_task_name(row))
        if claimed:
            logger.info("recovered %d durable jobs", len(claimed))
        return JobRecoveryReport(len(reaped), tuple(row.job_id for row in claimed))

    async def recover_and_keep(self, nursery: trio.Nursery) -> JobRecoveryReport:
        """Recover now, then keep recovering in ``nursery`` (``recover="auto"``)."""
        report = await self.recover()
        nursery.start_soon(self.keep_recovering, self._store.lease)
        return report

    async def keep_recovering(self, period: float) -> None:
        """Recover the jobs of owners that die later, every ``period`` seconds, until closed."""
        while True:
            await trio.sleep(period)
            try:
                await self.recover()
            except (RuntimeClosedError, StoreError):
                return  # the runtime is closing, or its store failed (that failure is loud)

    # -- listing ------------------------------------------------------------------------------

    async def jobs(self, status: JobStatus | str | None, limit: int) -> list[JobRow]:
        """The store's jobs, oldest first (see ``Runtime.jobs``)."""
        wanted = None
        if status is not None:
            try:
                wanted = JobStatus(status)
            except ValueError:
                raise ValueError(
                    f"status must be one of {', '.join(s.value for s in JobStatus)}; got {status!r}"
                ) from None
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit must be a positive int; got {limit!r}")
        return await self._store.list_jobs(status=wanted, limit=limit)


def _task_name(row: JobRow) -> str:
    """The task supervisor's name for a recovered job: its ``name=``, else its qualname."""
    return row.fn.partition(":")[2] if row.name == row.fn else row.name


def _ref(fn: Callable[..., Any]) -> str:
    """``fn``'s ``module:qualname``, or a ValueError naming the function and why not."""
    qualname = getattr(fn, "__qualname__", None)
    if isinstance(qualname, str) and "<lambda>" in qualname:
        why = "it is a lambda"
    elif isinstance(qualname, str) and "<locals>" in qualname:
        why = "it is defined inside a function (a closure or local function)"
    elif inspect.ismethod(fn):
        why = "it is a bound method (its object is not stored)"
    elif qualname is None or getattr(fn, "__module__", None) is None:
        why = f"a {type(fn).__name__} has no module and qualified name"
    else:
        try:
            return callable_ref(fn)
        except ValueError as exc:
            why = str(exc)
    raise ValueError(
        f"durable job function {fn!r} cannot be found by name ('module:qualname') after a "
        f"restart: {why}; define it at module level and pass its arguments to "
        "fire_and_forget (they are pickled into the store)"
    )


def _unpicklable(ref: str, args: tuple[Any, ...], exc: EncodeError) -> TypeError:
    for position, value in enumerate(args):
        try:
            pickle.dumps(value, protocol=5)
        except Exception as cause:  # any pickling failure: name the argument
            return TypeError(
                f"argument {position} of durable job {ref} (a {type(value).__name__}) does "
                f"not pickle ({cause}); durable job arguments are stored in the store: pass "
                "plain data (ids, strings, dicts) and rebuild the object inside the job"
            )
    return TypeError(f"the arguments of durable job {ref} do not pickle: {exc}")


def _release(store: Store, row: JobRow) -> None:
    try:
        store.release_job(row)  # committed by the writer before the store closes
    except StoreError:  # a store that failed or closed: the job stays as last committed
        logger.warning("durable job %s cut and not released (the store is closed)", row.job_id)
