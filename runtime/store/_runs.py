"""Runs in the store: create (idempotent by key), find, list, load a journal, claim, prune."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

from ._codecs import Encoded
from ._core import StoreCore
from ._errors import DecodeError, NotClaimableError, NotFoundError
from ._ids import uuid7
from ._reads import (
    ATTEMPT_COLUMNS,
    RUN_COLUMNS,
    UNDO_COLUMNS,
    due_text,
    dumps_json,
    parse_attempt,
    parse_run,
    parse_undo,
    stamp,
    to_datetime,
)
from ._receipt import Refusal
from ._recorder import RunRecorder
from ._rows import (
    ACTIVE_RUN_STATUSES,
    TERMINAL_RUN_STATUSES,
    CreatedRun,
    RunInfo,
    RunJournal,
    RunStatus,
)
from ._sql import Tx

__all__ = ["JOURNALS_PER_READ", "RunsMixin"]

JOURNALS_PER_READ = 256
"""How many runs' journals ``load_journals`` reads in one read transaction (one thread hop)."""

_INSERT_RUN = (
    "INSERT INTO runs (run_id, workflow, plan_hash, status, owner_id, fence, start_key, target,"
    " parent_run_id, parent_step, schedule_name, schedule_due, inputs, inputs_codec, options,"
    " created_at, updated_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT DO NOTHING"
)


def _text(value: object, name: str, *, optional: bool = True) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not value:
        allowed = "a non-empty str or None" if optional else "a non-empty str"
        raise ValueError(f"{name} must be {allowed}; got {value!r}")


def _statuses(value: RunStatus | Iterable[RunStatus] | None, name: str) -> list[str] | None:
    if value is None:
        return None
    items = [value] if isinstance(value, str) else list(value)
    try:
        return sorted(RunStatus(item).value for item in items)
    except ValueError:
        raise ValueError(
            f"{name} must be RunStatus values ({', '.join(s.value for s in RunStatus)}); "
            f"got {value!r}"
        ) from None


def _in(column: str, values: Collection[str]) -> str:
    return f"{column} IN ({', '.join('?' * len(values))})"


class RunsMixin(StoreCore):
    """The run operations of a store (see ``Store``)."""

    async def create_run(
        self,
        workflow: str,
        *,
        plan_hash: str,
        inputs: Any,
        options: Mapping[str, Any] | None = None,
        start_key: str | None = None,
        run_id: str | None = None,
        target: str | None = None,
        parent_run_id: str | None = None,
        parent_step: str | None = None,
        schedule_name: str | None = None,
        schedule_due: datetime | None = None,
        codec: str | None = None,
    ) -> CreatedRun:
        """Record a new run as ``running``, owned by this store; idempotent by key.

        When a run with the same ``start_key`` (or the same ``run_id``) exists, nothing is
        written and that run is returned with ``created=False``; it may be another owner's.
        Derive keys for runs that must start once: ``f"child:{parent}/{step}/{n}"`` for child
        runs, ``f"sched:{name}:{due}"`` for scheduled fires. Waits until durable.

        Args:
            workflow: the workflow's name.
            plan_hash: its plan's hash (the engine checks it on recovery).
            inputs: the run's inputs, encoded with ``codec``.
            options: JSON data (run options).
            start_key: the caller's idempotency key.
            run_id: a chosen id (default: a new UUIDv7).
            target: ``module:attr`` that defines the workflow, when known.
            parent_run_id: the parent run of a child run.
            parent_step: the parent's step that started it.
            schedule_name: the schedule that fired it.
            schedule_due: the due instant it was fired for.
            codec: the codec of the inputs (default: the store's).

        Raises:
            ValueError: a bad argument (named). EncodeError: the inputs do not encode.
        """
        _text(workflow, "workflow", optional=False)
        _text(plan_hash, "plan_hash", optional=False)
        for value, name in (
            (start_key, "start_key"),
            (run_id, "run_id"),
            (target, "target"),
            (parent_run_id, "parent_run_id"),
            (parent_step, "parent_step"),
            (schedule_name, "schedule_name"),
        ):
            _text(value, name)
        self._check_open()
        rid = run_id if run_id is not None else self._new_id()
        encoded = self._codecs.encode(inputs, codec, f"the inputs of run {rid!r} ({workflow})")
        options_text = dumps_json(options or {}, "options")
        due = None if schedule_due is None else due_text(schedule_due, "schedule_due")
        now = self._wall()
        values = (
            rid, workflow, plan_hash, RunStatus.RUNNING.value, self._owner_id, start_key, target,
            parent_run_id, parent_step, schedule_name, due, encoded.data, encoded.codec,
            options_text, now, now,
        )  # fmt: skip
        info = RunInfo(
            run_id=rid,
            workflow=workflow,
            plan_hash=plan_hash,
            status=RunStatus.RUNNING,
            owner_id=self._owner_id,
            fence=0,
            start_key=start_key,
            target=target,
            parent_run_id=parent_run_id,
            parent_step=parent_step,
            schedule_name=schedule_name,
            schedule_due=None if schedule_due is None else to_datetime(schedule_due.timestamp()),
            options=dict(options or {}),
            error=None,
            message=None,
            recovery_attempts=0,
            created_at=to_datetime(now),
            updated_at=to_datetime(now),
            finished_at=None,
        )
        return await self._post(_create_run, values, info)  # type: ignore[no-any-return]

    def recorder(self, run: RunInfo) -> RunRecorder:
        """A ``RunRecorder`` writing ``run``'s journal with ``run.fence``. Never blocks.

        Use the ``RunInfo`` from ``create_run``, ``claim_orphaned_runs`` or ``claim_run``:
        the fence it carries is what makes a stale owner's writes fail.
        """
        self._check_open()
        return RunRecorder(self, run.run_id, run.fence)

    async def get_run(self, run_id: str) -> RunInfo | None:
        """The run's row, or None if there is no such run. Sees this store's own writes."""
        return await self._read(_get_run, run_id)

    async def list_runs(
        self,
        *,
        status: RunStatus | Iterable[RunStatus] | None = None,
        workflow: str | None = None,
        since: datetime | None = None,
        owner_id: str | None = None,
        limit: int = 100,
    ) -> list[RunInfo]:
        """Runs, newest first, filtered by status(es), workflow, creation time and owner."""
        statuses = _statuses(status, "status")
        if not (isinstance(limit, int) and limit >= 1):
            raise ValueError(f"limit must be an int >= 1; got {limit!r}")
        clauses: list[str] = []
        params: list[Any] = []
        if statuses is not None:
            clauses.append(_in("status", statuses))
            params.extend(statuses)
        if workflow is not None:
            clauses.append("workflow = ?")
            params.append(workflow)
        if since is not None:
            clauses.append("created_at >= ?")
            params.append(stamp(since, "since"))
        if owner_id is not None:
            clauses.append("owner_id = ?")
            params.append(owner_id)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT {RUN_COLUMNS} FROM runs{where} ORDER BY created_at DESC, run_id DESC LIMIT ?"
        params.append(limit)
        return await self._read(lambda tx: [parse_run(r) for r in tx.all(sql, params)])

    async def load_journal(self, run_id: str, *, decode: bool = True) -> RunJournal | None:
        """Everything stored about a run, in one consistent snapshot (None if no such run).

        With ``decode=False`` stored values are returned as ``Encoded`` (for inspection).

        Raises:
            DecodeError: a stored value did not decode (the engine marks the run
                ``needs_attention`` with its message).
        """
        return await self._read(self._load_journal, run_id, decode)

    async def load_journals(
        self, run_ids: Iterable[str], *, decode: bool = True
    ) -> dict[str, RunJournal | DecodeError | None]:
        """The journals of many runs (recovery's bulk load), ``JOURNALS_PER_READ`` per read.

        Each read is one consistent snapshot of its share of the runs; the value for a run
        is its journal, None when there is no such run, or the ``DecodeError`` its stored
        values raised (one run's bad value does not fail the others).
        """
        ids = list(dict.fromkeys(run_ids))
        found: dict[str, RunJournal | DecodeError | None] = {}
        for start in range(0, len(ids), JOURNALS_PER_READ):
            chunk = ids[start : start + JOURNALS_PER_READ]
            found.update(await self._read(self._load_journals, chunk, decode))
        return found

    def _load_journals(
        self, tx: Tx, run_ids: list[str], decode: bool
    ) -> dict[str, RunJournal | DecodeError | None]:
        found: dict[str, RunJournal | DecodeError | None] = {}
        for run_id in run_ids:
            try:
                found[run_id] = self._load_journal(tx, run_id, decode)
            except DecodeError as exc:
                found[run_id] = exc
        return found

    def _load_journal(self, tx: Tx, run_id: str, decode: bool) -> RunJournal | None:
        row = tx.one(
            f"SELECT {RUN_COLUMNS}, inputs, inputs_codec, result, result_codec"
            " FROM runs WHERE run_id = ?",
            (run_id,),
        )
        if row is None:
            return None
        run = parse_run(row)
        codecs = self._codecs
        n = len(RUN_COLUMNS.split(","))
        inputs_data, inputs_codec, result_data, result_codec = row[n : n + 4]
        if decode:
            inputs = codecs.decode(inputs_codec, inputs_data, f"the inputs of run {run_id!r}")
            result = (
                None
                if result_data is None
                else codecs.decode(result_codec, result_data, f"the result of run {run_id!r}")
            )
        else:
            inputs = _encoded(inputs_codec, inputs_data)
            result = None if result_data is None else _encoded(result_codec, result_data)
        attempts = tuple(
            parse_attempt(r, codecs, run_id, decode)
            for r in tx.all(
                f"SELECT {ATTEMPT_COLUMNS} FROM step_attempts WHERE run_id = ?"
                " ORDER BY step, element, attempt",
                (run_id,),
            )
        )
        undo = tuple(
            parse_undo(r)
            for r in tx.all(
                f"SELECT {UNDO_COLUMNS} FROM undo_log WHERE run_id = ? ORDER BY seq", (run_id,)
            )
        )
        return RunJournal(run=run, inputs=inputs, result=result, attempts=attempts, undo=undo)

    async def claim_orphaned_runs(
        self,
        *,
        workflows: Iterable[str] | None = None,
        statuses: Iterable[RunStatus] = ACTIVE_RUN_STATUSES,
    ) -> list[RunInfo]:
        """Take over the unfinished runs whose owner is closed (dead or shut down).

        Each claimed run gets this store as owner, its fence bumped and its
        ``recovery_attempts`` counted, in one transaction; two stores claiming at once split
        the runs, never share one. Call ``reap_dead_owners`` first. Waits until durable.

        Args:
            workflows: claim only runs of these workflows (those this process can resume).
            statuses: which runs count as unfinished (default ``running``, ``rolling_back``).

        Returns:
            The claimed runs with their new fences: pass each to ``recorder()``.
        """
        wanted = _statuses(list(statuses), "statuses") or []
        names = None if workflows is None else sorted(set(workflows))
        return await self._post(  # type: ignore[no-any-return]
            _claim_orphaned, self._owner_id, self._wall(), wanted, names
        )

    async def claim_run(self, run_id: str, *, force: bool = False) -> RunInfo:
        """Take over one run to resume it: a halted or needs_attention run, or an orphan.

        A run driven by a live owner is refused unless ``force`` (an operator's decision;
        the old owner's later writes then fail with ``FencedOutError``). Waits until durable.

        Raises:
            NotFoundError: no such run. NotClaimableError: a live owner drives it.
        """
        _text(run_id, "run_id", optional=False)
        return await self._post(  # type: ignore[no-any-return]
            _claim_run, self._owner_id, self._wall(), run_id, force
        )

    async def prune_runs(
        self,
        *,
        older_than: datetime,
        statuses: Iterable[RunStatus] = TERMINAL_RUN_STATUSES,
    ) -> int:
        """Delete runs (with their attempts and undo log) last updated before ``older_than``.

        Only runs in ``statuses`` go (default: succeeded, failed, cancelled). Returns how many
        runs were deleted. Waits until durable.
        """
        cutoff = stamp(older_than, "older_than")
        wanted = _statuses(list(statuses), "statuses") or []
        if not wanted:
            return 0
        return await self._post(_prune_runs, cutoff, wanted)  # type: ignore[no-any-return]

    def _new_id(self) -> str:
        return str(uuid7())


def _encoded(codec: str, data: Any) -> Encoded:
    return Encoded(codec, bytes(data))


def _create_run(tx: Tx, values: tuple[Any, ...], info: RunInfo) -> CreatedRun:
    if tx.execute(_INSERT_RUN, values):
        tx.fences[("runs", info.run_id)] = 0
        return CreatedRun(info, True)
    row = None
    if info.start_key is not None:
        row = tx.one(f"SELECT {RUN_COLUMNS} FROM runs WHERE start_key = ?", (info.start_key,))
    if row is None:
        row = tx.one(f"SELECT {RUN_COLUMNS} FROM runs WHERE run_id = ?", (info.run_id,))
    return CreatedRun(parse_run(row), False)


def _get_run(tx: Tx, run_id: str) -> RunInfo | None:
    row = tx.one(f"SELECT {RUN_COLUMNS} FROM runs WHERE run_id = ?", (run_id,))
    return None if row is None else parse_run(row)


_NO_LIVE_OWNER = (
    "NOT EXISTS (SELECT 1 FROM owners o WHERE o.owner_id = runs.owner_id AND o.closed_at IS NULL)"
)


def _claim_orphaned(
    tx: Tx, owner_id: str, now: float, statuses: list[str], workflows: list[str] | None
) -> list[RunInfo]:
    if not statuses or workflows == []:
        return []
    scope = _in("status", statuses)
    scope_params: list[Any] = list(statuses)
    if workflows is not None:
        scope += f" AND {_in('workflow', workflows)}"
        scope_params.extend(workflows)
    # First the owners that are gone (closed owners never reopen), then an UPDATE whose
    # condition is on the run row alone: PostgreSQL re-checks such a condition on the newest
    # row version when two claims race, which it does not do reliably through a subquery.
    dead = [
        row[0]
        for row in tx.all(
            f"SELECT DISTINCT owner_id FROM runs WHERE {scope} AND {_NO_LIVE_OWNER}",
            scope_params,
        )
    ]
    if not dead:
        return []
    rows = tx.all(
        "UPDATE runs SET owner_id = ?, fence = fence + 1,"
        " recovery_attempts = recovery_attempts + 1, updated_at = ?"
        f" WHERE {scope} AND {_in('owner_id', dead)} RETURNING {RUN_COLUMNS}",
        [owner_id, now, *scope_params, *dead],
    )
    claimed = sorted((parse_run(r) for r in rows), key=lambda run: run.run_id)
    for run in claimed:
        tx.fences[("runs", run.run_id)] = run.fence
    return claimed


def _claim_run(tx: Tx, owner_id: str, now: float, run_id: str, force: bool) -> RunInfo:
    row = tx.one(
        f"SELECT status, owner_id, fence, {_NO_LIVE_OWNER} FROM runs WHERE run_id = ?", (run_id,)
    )
    if row is None:
        raise Refusal(NotFoundError("run", run_id))
    status, current_owner, fence, orphaned = row[0], row[1], int(row[2]), bool(row[3])
    parked = status in (RunStatus.HALTED.value, RunStatus.NEEDS_ATTENTION.value)
    if not (force or parked or orphaned or current_owner == owner_id):
        raise Refusal(NotClaimableError(run_id, current_owner, status))
    updated = tx.one(
        "UPDATE runs SET owner_id = ?, fence = fence + 1,"
        " recovery_attempts = recovery_attempts + 1, updated_at = ?"
        f" WHERE run_id = ? AND fence = ? RETURNING {RUN_COLUMNS}",
        (owner_id, now, run_id, fence),
    )
    if updated is None:  # another owner claimed it between our read and our update
        raise Refusal(NotClaimableError(run_id, "another owner (a concurrent claim)", status))
    claimed = parse_run(updated)
    tx.fences[("runs", run_id)] = claimed.fence
    return claimed


def _prune_runs(tx: Tx, cutoff: float, statuses: list[str]) -> int:
    chosen = f"SELECT run_id FROM runs WHERE {_in('status', statuses)} AND updated_at < ?"
    params = (*statuses, cutoff)
    tx.execute(f"DELETE FROM step_attempts WHERE run_id IN ({chosen})", params)
    tx.execute(f"DELETE FROM undo_log WHERE run_id IN ({chosen})", params)
    return tx.execute(
        f"DELETE FROM runs WHERE {_in('status', statuses)} AND updated_at < ?", params
    )
