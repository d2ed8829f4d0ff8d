"""Durable fire-and-forget jobs: a function reference and pickled arguments that survive.

A job is ``pending`` when enqueued, ``running`` once started (its ``attempts`` counted), and
``done`` or ``failed`` (with the error's text) at the end. A job its owner runs at once is
inserted ``running`` (attempt 1, under the owner's fence 0): two writes per job, the insert
and the end. A job whose owner died unfinished
is claimed by another owner (``claim_orphaned_jobs``: fence bumped, back to ``pending``) and
run again: at least once, to completion or to a recorded failure.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from ._codecs import encode_error
from ._core import StoreCore
from ._errors import NotFoundError
from ._ids import uuid7
from ._reads import JOB_COLUMNS, parse_job, stamp, to_datetime
from ._receipt import Receipt, fence_check, fenced_out
from ._rows import JobCall, JobRow, JobStatus
from ._sql import Tx

__all__ = ["JobsMixin", "callable_ref", "resolve_callable"]


def resolve_callable(ref: str) -> Callable[..., Any]:
    """Import ``module:qualname`` and return the callable it names.

    Raises:
        TypeError: ``ref`` is not a str.
        ValueError: ``ref`` is not ``module:qualname``, or does not resolve to a callable.
    """
    if not isinstance(ref, str):
        raise TypeError(f"a function reference must be a 'module:qualname' str; got {ref!r}")
    module_name, sep, qualname = ref.partition(":")
    if not (sep and module_name and qualname):
        raise ValueError(f"a function reference must be 'module:qualname'; got {ref!r}")
    try:
        found: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"function reference {ref!r} does not resolve: {exc}") from exc
    if not callable(found):
        raise ValueError(  # noqa: TRY004 - a bad reference (a value), not a bad argument type
            f"function reference {ref!r} names {found!r}, which is not callable"
        )
    return found  # type: ignore[no-any-return]


def callable_ref(fn: Callable[..., Any] | str) -> str:
    """The ``module:qualname`` of ``fn``, checked to import back to the same object.

    Raises:
        ValueError: ``fn`` is a lambda, a local function, a bound method or otherwise not
            importable by name (a durable job must be found again by a new process).
    """
    if isinstance(fn, str):
        resolve_callable(fn)
        return fn
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None)
    if not module or not qualname or "<" in qualname:
        raise ValueError(
            f"{fn!r} cannot be found by name after a restart: a durable job needs a "
            "module-level function (not a lambda, a local function or a bound method)"
        )
    ref = f"{module}:{qualname}"
    if resolve_callable(ref) is not fn:
        raise ValueError(f"{ref!r} does not import back to {fn!r}: define it at module level")
    return ref


class JobsMixin(StoreCore):
    """The job operations of a store (see ``Store``)."""

    async def enqueue_job(
        self,
        fn: Callable[..., Any] | str,
        args: Iterable[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        *,
        job_id: str | None = None,
        name: str | None = None,
    ) -> JobRow:
        """Record a durable job (``pending``, owned by this store); waits until durable.

        Args:
            fn: a module-level function or its ``"module:qualname"``.
            args: its positional arguments; pickled at the call, with ``kwargs``.
            kwargs: its keyword arguments.
            job_id: a chosen id (default: a UUIDv7); an existing id returns that job.
            name: the job's name in listings (default: ``fn``'s ``module:qualname``).

        Raises:
            ValueError: ``fn`` cannot be found by name. EncodeError: the arguments do not
                pickle. ResultTooLargeError: they are over ``max_result_bytes``.
        """
        row, receipt = self.post_job(fn, args, kwargs, job_id=job_id, name=name)
        committed: JobRow | None = await receipt
        return row if committed is None else committed

    def post_job(
        self,
        fn: Callable[..., Any] | str,
        args: Iterable[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        *,
        job_id: str | None = None,
        name: str | None = None,
        running: bool = False,
    ) -> tuple[JobRow, Receipt]:
        """Post a durable job's row without waiting (never blocks): the row and its receipt.

        The row is committed by the writer thread shortly after (group commit);
        ``await receipt`` returns once it is durable (the stored row if ``job_id`` existed
        already, else None). Until then a process crash loses it. Raises as ``enqueue_job``.

        With ``running``, the job is inserted as started here: ``running``, attempt 1, owned
        by this store under fence 0, for a caller that runs it at once once the row is
        durable (no ``start_job``: two writes per job instead of three). A crash leaves it
        ``running`` under a dead owner, which ``claim_orphaned_jobs`` takes over.
        """
        ref = callable_ref(fn)
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"name must be a non-empty str or None; got {name!r}")
        self._check_open()
        jid = str(uuid7()) if job_id is None else job_id
        payload = self._codecs.encode(
            (tuple(args), dict(kwargs or {})), "pickle", f"the arguments of job {jid!r} ({ref})"
        )
        now = self._wall()
        status = JobStatus.RUNNING if running else JobStatus.PENDING
        attempts = 1 if running else 0
        label = ref if name is None else name
        values = (jid, ref, label, payload.data, payload.codec, status.value, self._owner_id,
                  attempts, now, now)  # fmt: skip
        stamp_now = to_datetime(now)
        row = JobRow(jid, ref, status, self._owner_id, 0, attempts, None, payload.codec,
                     stamp_now, stamp_now, None, label)  # fmt: skip
        return row, self._post(_enqueue, values)

    def release_job(self, job: JobRow) -> Receipt:
        """Put a job this store drives back to ``pending`` (posted; ``await`` to wait).

        A job cut by a clean shutdown is released so the next runtime on the store runs it
        again (its owner is closed, so it is claimable at once).

        Raises (on await):
            FencedOutError: another owner claimed the job since ``job`` was read.
        """
        return self._post(_release, job.job_id, job.fence, self._wall())

    async def start_job(self, job: JobRow) -> JobRow:
        """Mark a job ``running`` and count the attempt; returns the updated row.

        Raises:
            FencedOutError: another owner claimed the job since ``job`` was read.
        """
        return await self.post_start_job(job)  # type: ignore[no-any-return]

    def post_start_job(self, job: JobRow) -> Receipt:
        """``start_job`` without waiting: its receipt gives the updated row once committed."""
        return self._post(_start, job.job_id, job.fence, self._wall())

    async def finish_job(self, job: JobRow, *, error: BaseException | str | None = None) -> None:
        """Mark a job ``done`` (no ``error``) or ``failed`` with the error's text.

        Raises:
            FencedOutError: another owner claimed the job since ``job`` was read.
        """
        await self.post_finish_job(job, error=error)

    def post_finish_job(self, job: JobRow, *, error: BaseException | str | None = None) -> Receipt:
        """``finish_job`` without waiting: its receipt settles once committed."""
        status = JobStatus.DONE if error is None else JobStatus.FAILED
        text = None if error is None else encode_error(error)[1]
        return self._post(_finish, job.job_id, job.fence, status.value, text, self._wall())

    async def claim_orphaned_jobs(self) -> list[JobRow]:
        """Take over the unfinished jobs whose owner is closed; return them.

        Each gets this store as owner, its fence bumped and its status back to ``pending``.
        Call ``reap_dead_owners`` first. Waits until durable.
        """
        return await self._post(_claim, self._owner_id, self._wall())  # type: ignore[no-any-return]

    async def get_job(self, job_id: str) -> JobRow | None:
        """One job's row, or None."""
        return await self._read(_get, job_id)

    async def list_jobs(self, *, status: JobStatus | None = None, limit: int = 100) -> list[JobRow]:
        """Jobs, oldest first, optionally of one status."""
        sql = f"SELECT {JOB_COLUMNS} FROM jobs"
        params: list[Any] = []
        if status is not None:
            sql += " WHERE status = ?"
            params.append(JobStatus(status).value)
        sql += " ORDER BY job_id LIMIT ?"
        params.append(int(limit))
        return await self._read(lambda tx: [parse_job(r) for r in tx.all(sql, params)])

    async def job_call(self, job: JobRow) -> JobCall:
        """The job's function reference and decoded arguments.

        Raises:
            NotFoundError: the job was pruned. DecodeError: the arguments do not unpickle.
        """
        return await self._read(self._job_call, job.job_id)

    def _job_call(self, tx: Tx, job_id: str) -> JobCall:
        row = tx.one("SELECT fn, payload, codec FROM jobs WHERE job_id = ?", (job_id,))
        if row is None:
            raise NotFoundError("job", job_id)
        args, kwargs = self._codecs.decode(row[2], row[1], f"the arguments of job {job_id!r}")
        return JobCall(fn=row[0], args=tuple(args), kwargs=dict(kwargs))

    async def prune_jobs(
        self,
        *,
        older_than: datetime,
        statuses: Iterable[JobStatus] = (JobStatus.DONE, JobStatus.FAILED),
    ) -> int:
        """Delete jobs in ``statuses`` last updated before ``older_than``; return how many."""
        cutoff = stamp(older_than, "older_than")
        wanted = sorted(JobStatus(s).value for s in statuses)
        if not wanted:
            return 0
        return await self._post(_prune, cutoff, wanted)  # type: ignore[no-any-return]


def _enqueue(tx: Tx, values: tuple[Any, ...]) -> JobRow | None:
    inserted = tx.execute(
        "INSERT INTO jobs (job_id, fn, name, payload, codec, status, owner_id, attempts,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        values,
    )
    if inserted:
        tx.fences[("jobs", values[0])] = 0
        return None
    return _get(tx, values[0])


def _get(tx: Tx, job_id: str) -> JobRow | None:
    row = tx.one(f"SELECT {JOB_COLUMNS} FROM jobs WHERE job_id = ?", (job_id,))
    return None if row is None else parse_job(row)


# Each write to a job checks its fence in its own WHERE clause (no separate read): a write
# that changed no row was fenced out (another owner claimed the job) or its job is gone. On
# PostgreSQL a concurrent claim's row lock makes the UPDATE wait and re-check the fence.


def _start(tx: Tx, job_id: str, fence: int, now: float) -> JobRow:
    row = tx.one(
        "UPDATE jobs SET status = 'running', attempts = attempts + 1, updated_at = ?"
        f" WHERE job_id = ? AND fence = ? RETURNING {JOB_COLUMNS}",
        (now, job_id, fence),
    )
    if row is None:
        raise fenced_out(tx, "job", "jobs", job_id, fence)
    return parse_job(row)


def _release(tx: Tx, job_id: str, fence: int, now: float) -> None:
    def check(rows: int) -> None:  # no row changed: fenced out, or finished (nothing to do)
        if not rows and tx.fence("jobs", "job_id", job_id) != fence:
            raise fenced_out(tx, "job", "jobs", job_id, fence)

    tx.execute_counted(
        "UPDATE jobs SET status = 'pending', updated_at = ? WHERE job_id = ? AND fence = ?"
        " AND status IN ('pending', 'running')",
        (now, job_id, fence),
        check,
    )


def _finish(tx: Tx, job_id: str, fence: int, status: str, error: str | None, now: float) -> None:
    tx.execute_counted(
        "UPDATE jobs SET status = ?, error = ?, updated_at = ?, finished_at = ?"
        " WHERE job_id = ? AND fence = ?",
        (status, error, now, now, job_id, fence),
        fence_check(tx, "job", "jobs", job_id, fence),
    )


def _claim(tx: Tx, owner_id: str, now: float) -> list[JobRow]:
    # As for runs (see _runs._claim_orphaned): find the gone owners, then update on the row.
    dead = [
        row[0]
        for row in tx.all(
            "SELECT DISTINCT owner_id FROM jobs WHERE status IN ('pending', 'running')"
            " AND NOT EXISTS (SELECT 1 FROM owners o"
            " WHERE o.owner_id = jobs.owner_id AND o.closed_at IS NULL)"
        )
    ]
    if not dead:
        return []
    rows = tx.all(
        "UPDATE jobs SET owner_id = ?, fence = fence + 1, status = 'pending', updated_at = ?"
        f" WHERE status IN ('pending', 'running') AND owner_id IN ({', '.join('?' * len(dead))})"
        f" RETURNING {JOB_COLUMNS}",
        (owner_id, now, *dead),
    )
    claimed = sorted((parse_job(r) for r in rows), key=lambda job: job.job_id)
    for job in claimed:
        tx.fences[("jobs", job.job_id)] = job.fence
    return claimed


def _prune(tx: Tx, cutoff: float, statuses: list[str]) -> int:
    marks = ", ".join("?" * len(statuses))
    return tx.execute(
        f"DELETE FROM jobs WHERE status IN ({marks}) AND updated_at < ?", (*statuses, cutoff)
    )
