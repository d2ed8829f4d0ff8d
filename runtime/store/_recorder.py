"""A run's journal writer: step attempts, map elements, undo entries and status, fenced.

Every method posts one record and returns at once with a ``Receipt``; ``await`` it when the
write must be durable before going on (a completed step's result before a dependent sees
it), or drop it (a ``started`` record). Writes of one recorder commit in the order posted.
Each write carries the run's fence: when another owner has claimed the run since, the write
is refused, the recorder is marked lost (``lost``), an awaited receipt raises
``FencedOutError``, and every later call through the recorder raises it at the call.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from ._codecs import encode_error
from ._errors import FencedOutError
from ._reads import stamp
from ._receipt import Receipt, Refusal, fence_check, fenced_out
from ._rows import TERMINAL_RUN_STATUSES, AttemptStatus, RunStatus, UndoStatus
from ._schedules import RUN_TICK_OUTCOMES
from ._sql import POSTGRES, SQLITE, Tx

if TYPE_CHECKING:
    from ._core import StoreCore

__all__ = ["RunRecorder"]

_NOTHING: Any = object()
_STATUS = {status: status.value for status in AttemptStatus}  # plain str for the drivers

# Each journal write checks the run's fence in the same statement (no separate read): an
# attempt or undo row is only inserted or updated WHERE the run still holds the writer's
# fence; PostgreSQL also share-locks that run row, so a concurrent claim waits for this
# transaction. A write that changed no row was fenced out (or its run is gone).
_FENCED = "WHERE EXISTS (SELECT 1 FROM runs WHERE run_id = ? AND fence = ?{lock})"

_ON_CONFLICT = (
    " ON CONFLICT (run_id, step, element, attempt) DO UPDATE SET status = excluded.status,"
    " started_at = COALESCE(step_attempts.started_at, excluded.started_at),"
    " finished_at = excluded.finished_at, wait_until = excluded.wait_until,"
    " arguments = COALESCE(excluded.arguments, step_attempts.arguments),"
    " arguments_codec = COALESCE(excluded.arguments_codec, step_attempts.arguments_codec),"
    " result = excluded.result, result_codec = excluded.result_codec, error = excluded.error,"
    " error_text = excluded.error_text, reason = excluded.reason"
)

_UPSERT_ATTEMPT = (
    "INSERT INTO step_attempts (run_id, step, element, attempt, status, started_at,"
    " finished_at, wait_until, arguments, arguments_codec, result, result_codec, error,"
    f" error_text, reason) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? {_FENCED}"
    + _ON_CONFLICT
)

_UPSERT_UNDO = (
    "INSERT INTO undo_log (run_id, seq, step, child_run_id, status, attempts, error, error_text,"
    f" updated_at) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? {_FENCED}"
    " ON CONFLICT (run_id, seq) DO UPDATE SET"
    " status = excluded.status, attempts = excluded.attempts, error = excluded.error,"
    " error_text = excluded.error_text, updated_at = excluded.updated_at,"
    " child_run_id = COALESCE(excluded.child_run_id, undo_log.child_run_id)"
)

# An ``ok`` row names only the columns it sets (the others are NULL): binding six NULLs and
# carrying them through the statement cost about 2 of 14 us a row on SQLite (an INSERT of 9
# columns against 15). The same conflict clause applies: an omitted column's ``excluded``
# value is its default, NULL, as the full statement would bind.
_OK_INTO = (
    "INSERT INTO step_attempts (run_id, step, element, attempt, status, started_at,"
    " finished_at, result, result_codec)"
)
_UPSERT_OK = f"{_OK_INTO} SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? {_FENCED}{_ON_CONFLICT}"

_SQL: dict[tuple[str, str], str] = {
    (name, dialect.name): text.format(lock=dialect.share_lock)
    for name, text in (("attempt", _UPSERT_ATTEMPT), ("ok", _UPSERT_OK), ("undo", _UPSERT_UNDO))
    for dialect in (SQLITE, POSTGRES)
}


def _upsert_attempt(tx: Tx, values: tuple[Any, ...], fence: int) -> None:
    run_id = values[0]
    check = fence_check(tx, "run", "runs", run_id, fence)
    tx.execute_counted(_SQL["attempt", tx.dialect.name], (*values, run_id, fence), check)


# A run's ok rows posted one after another share one record (``Writer.post_row``): a wide
# fan-out's results, say. A lone row is fenced in its own statement, as every other journal
# write is. Several go in one ``executemany`` once the run's fence is checked: the
# transaction holds SQLite's write lock, and on PostgreSQL the check share-locks the run row,
# so the fence cannot change before the commit; unfenced, the statement is a plain upsert. In
# PostgreSQL's pipeline mode (where a read costs a round trip of its own) each row is fenced
# in its own statement, and the first row's count tells whether the fence was stale.
_UPSERT_OK_UNFENCED = f"{_OK_INTO} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?){_ON_CONFLICT}"


def _unchecked(rows: int) -> None:
    """The count check of a row fenced like the first row of its record (checked there)."""


def _upsert_ok_rows(tx: Tx, key: tuple[str, int], rows: list[tuple[Any, ...]]) -> None:
    """Write a run's ok rows (``key`` is ``(run_id, fence)``); refuse them all if fenced out."""
    run_id, fence = key
    if len(rows) == 1:
        check = fence_check(tx, "run", "runs", run_id, fence)
        tx.execute_counted(_SQL["ok", tx.dialect.name], (*rows[0], run_id, fence), check)
        return
    if tx.pipelining:
        sql = _SQL["ok", tx.dialect.name]
        check = fence_check(tx, "run", "runs", run_id, fence)
        for row in rows:
            tx.execute_counted(sql, (*row, run_id, fence), check)
            check = _unchecked
        return
    if tx.fence("runs", "run_id", run_id) != fence:
        raise fenced_out(tx, "run", "runs", run_id, fence)
    tx.execute_many(_UPSERT_OK_UNFENCED, rows)


def _upsert_ok_many(
    tx: Tx, batch: list[tuple[tuple[str, int], list[tuple[Any, ...]]]]
) -> list[Refusal | None]:
    """``_upsert_ok_rows`` for several records ``(key, rows)`` (of several runs): refusals."""
    verdicts: dict[tuple[str, int], Refusal | None] = {}
    fresh: list[tuple[Any, ...]] = []
    out: list[Refusal | None] = []
    for key, rows in batch:
        if key not in verdicts:
            run_id, fence = key
            current = tx.fence("runs", "run_id", run_id) == fence
            verdicts[key] = None if current else fenced_out(tx, "run", "runs", run_id, fence)
        verdict = verdicts[key]
        if verdict is None:
            fresh.extend(rows)
        out.append(verdict)
    if fresh:
        tx.execute_many(_UPSERT_OK_UNFENCED, fresh)
    return out


_upsert_ok_rows.many = _upsert_ok_many  # type: ignore[attr-defined]


def _upsert_undo(tx: Tx, values: tuple[Any, ...], fence: int) -> None:
    run_id = values[0]
    check = fence_check(tx, "run", "runs", run_id, fence)
    tx.execute_counted(_SQL["undo", tx.dialect.name], (*values, run_id, fence), check)


def _set_status(tx: Tx, values: tuple[Any, ...], with_result: bool, fence: int) -> None:
    run_id = values[-1]
    if with_result:
        sql = (
            "UPDATE runs SET status = ?, message = ?, error = ?, updated_at = ?,"
            " finished_at = ?, result = ?, result_codec = ? WHERE run_id = ? AND fence = ?"
        )
    else:
        sql = (
            "UPDATE runs SET status = ?, message = ?, error = ?, updated_at = ?,"
            " finished_at = ? WHERE run_id = ? AND fence = ?"
        )
    tx.execute_counted(sql, (*values, fence), fence_check(tx, "run", "runs", run_id, fence))
    outcome = RUN_TICK_OUTCOMES.get(values[0])
    if outcome is not None:  # a schedule's recovered fire: its interrupted tick gets the end
        ended = (outcome, f"; it ended {values[0]}", values[3], run_id, fence, run_id)
        tx.execute(_TICK_OF_RUN, ended)


# The due instant of a schedule's workflow fire whose owner died and whose run was resumed
# elsewhere (``interrupt_tick`` left it ``interrupted``): the run's end is its outcome. Two
# primary-key lookups, nothing for a run no schedule fired (its schedule_name is NULL).
_TICK_OF_RUN = (
    "UPDATE schedule_ticks SET outcome = ?, reason = COALESCE(reason, '') || ?, finished_at = ?"
    " WHERE outcome = 'interrupted'"
    " AND name = (SELECT schedule_name FROM runs WHERE run_id = ? AND fence = ?)"
    " AND due = (SELECT schedule_due FROM runs WHERE run_id = ?)"
)


def _check_step(step: object, element: object, attempt: object, *, least: int = 1) -> None:
    if not isinstance(step, str) or not step:
        raise ValueError(f"step must be a non-empty str; got {step!r}")
    if type(element) is not int or element < -1:
        raise ValueError(f"element must be an int >= -1 (-1: the step itself); got {element!r}")
    if type(attempt) is not int or attempt < least:
        raise ValueError(f"attempt must be an int >= {least}; got {attempt!r}")


class RunRecorder:
    """Writes one run's journal through its store, with the fence of its claim.

    Made by ``store.recorder(run)``; no public constructor. Methods never block; each
    returns a ``Receipt`` (see the module docstring for ordering and fencing).
    """

    __slots__ = ("_fence", "_key", "_lost", "_on_refused", "_run_id", "_store")

    def __init__(self, store: StoreCore, run_id: str, fence: int) -> None:
        self._store = store
        self._run_id = run_id
        self._fence = fence
        self._key = (run_id, fence)  # the key of its ok rows' records (``Writer.post_row``)
        self._lost: FencedOutError | None = None
        self._on_refused = self._refused

    @property
    def run_id(self) -> str:
        """The run this recorder writes."""
        return self._run_id

    @property
    def fence(self) -> int:
        """The fence every write carries."""
        return self._fence

    @property
    def lost(self) -> FencedOutError | None:
        """Why the run was lost to another owner (a refused write), or None."""
        return self._lost

    def __repr__(self) -> str:
        state = "lost" if self._lost is not None else "active"
        return f"<RunRecorder run {self._run_id} fence {self.fence} {state}>"

    def _refused(self, error: BaseException) -> None:
        if isinstance(error, FencedOutError) and self._lost is None:
            self._lost = error

    def _post(self, op: Any, args: tuple[Any, ...]) -> Receipt:
        if self._lost is not None:
            raise self._lost.with_traceback(None)
        store = self._store
        if store._state != "open":
            store._check_open()
        return store._writer.post(op, args, self._on_refused)

    def _attempt(
        self,
        step: str,
        element: int,
        attempt: int,
        status: AttemptStatus,
        *,
        started: bool = False,
        wait_until: datetime | None = None,
        arguments: Any = _NOTHING,
        result: Any = _NOTHING,
        codec: str | None = None,
        error: BaseException | str | None = None,
        reason: str | None = None,
        least: int = 1,
        at: datetime | None = None,
        began: float | None = None,
    ) -> Receipt:
        _check_step(step, element, attempt, least=least)
        store = self._store
        now = store._wall() if at is None else stamp(at, "at")

        def where() -> str:  # only formatted when an error or a warning needs it
            return self._where(step, element, attempt)

        args_data = args_codec = result_data = result_codec = None
        if arguments is not _NOTHING:
            args_codec, args_data = store._codecs.encode_raw(
                arguments, codec, lambda: f"the arguments of {where()}"
            )
        if result is not _NOTHING:
            result_codec, result_data = store._codecs.encode_raw(
                result, codec, lambda: f"the result of {where()}"
            )
        error_data, error_text = (None, None) if error is None else encode_error(error)
        values = (
            self._run_id, step, element, attempt, _STATUS[status],
            now if started else began, None if started else now,
            None if wait_until is None else stamp(wait_until, "wait_until"),
            args_data, args_codec, result_data, result_codec, error_data, error_text, reason,
        )  # fmt: skip
        return self._post(_upsert_attempt, (values, self._fence))

    # -- attempts ----------------------------------------------------------------------------

    def step_started(
        self, step: str, attempt: int, *, element: int = -1, arguments: Any = _NOTHING,
        codec: str | None = None, at: datetime | None = None,
    ) -> Receipt:  # fmt: skip
        """Record that an attempt began; ``arguments`` only when needed later (halt, undo).

        ``at`` is when it began, when that was before this call (default: now).
        """
        return self._attempt(
            step, element, attempt, AttemptStatus.STARTED, started=True, arguments=arguments,
            codec=codec, at=at,
        )  # fmt: skip

    def step_ok(
        self, step: str, attempt: int, result: Any, *, element: int = -1,
        codec: str | None = None, started_at: datetime | float | None = None,
    ) -> Receipt:  # fmt: skip
        """Record an attempt's result; await it before any dependent sees the result.

        ``started_at`` (an aware datetime or Unix seconds) records when the attempt began in
        the same row, for an attempt whose ``started`` row was not written: one write for
        both, the row ``step_started`` then ``step_ok`` would leave.

        Raises:
            EncodeError, ResultTooLargeError: at the call, when the result cannot be stored.
        """
        _check_step(step, element, attempt)
        began = (
            started_at
            if started_at is None or type(started_at) is float
            else stamp(started_at, "started_at")  # type: ignore[arg-type]
        )
        return self.ok_row(step, attempt, result, began, element=element, codec=codec)

    def ok_row(
        self, step: str, attempt: int, result: Any, began: float | None, *, element: int = -1,
        codec: str | None = None,
    ) -> Receipt:  # fmt: skip
        """``step_ok`` for a caller whose arguments are known to be valid (the engine's journal).

        Nothing is checked but the result's encoding: ``step`` a non-empty str, ``attempt`` an
        int >= 1, ``element`` an int >= -1, ``began`` Unix seconds or None.

        Raises:
            EncodeError, ResultTooLargeError: at the call, when the result cannot be stored.
        """
        # The hot path of a durable step: the row is built here rather than by ``_attempt``.
        store = self._store
        result_codec, data = store._codecs.encode_raw(
            result, codec, lambda: f"the result of {self._where(step, element, attempt)}"
        )
        row = (self._run_id, step, element, attempt, "ok", began, store._wall(), data, result_codec)
        if self._lost is not None:
            raise self._lost.with_traceback(None)
        if store._state != "open":
            store._check_open()
        return store._writer.post_row(_upsert_ok_rows, self._key, row, self._on_refused)

    def _where(self, step: str, element: int, attempt: int) -> str:
        """How an error names a row: its step, element, attempt and run."""
        text = f"step {step!r}" + (f" element {element}" if element >= 0 else "")
        return f"{text} (attempt {attempt}) of run {self._run_id!r}"

    def element_ok(
        self, step: str, element: int, result: Any, *, attempt: int = 1, codec: str | None = None
    ) -> Receipt:
        """Record one map element's result (``step_ok`` for ``element >= 0``)."""
        if type(element) is not int or element < 0:
            raise ValueError(f"element must be an int >= 0; got {element!r}")
        return self.step_ok(step, attempt, result, element=element, codec=codec)

    def step_failed(
        self, step: str, attempt: int, error: BaseException | str, *, element: int = -1,
        retry_at: datetime | None = None,
    ) -> Receipt:  # fmt: skip
        """Record a failed attempt; its exception is pickled when it can be, else its text.

        ``retry_at`` is when the next attempt is due, when the step will be retried.
        """
        return self._attempt(
            step, element, attempt, AttemptStatus.FAILED, error=error, wait_until=retry_at
        )

    def step_cancelled(
        self, step: str, attempt: int, *, element: int = -1, reason: str | None = None
    ) -> Receipt:
        """Record an attempt cancelled by the engine (fail-fast, timeout of the run, cancel)."""
        return self._attempt(step, element, attempt, AttemptStatus.CANCELLED, reason=reason)

    def step_again(
        self, step: str, attempt: int, wait_until: datetime, *, element: int = -1
    ) -> Receipt:
        """Record an attempt that returned ``Again``: the next one is due at ``wait_until``."""
        if wait_until is None:
            raise ValueError("wait_until must be an aware datetime for step_again; got None")
        return self._attempt(step, element, attempt, AttemptStatus.AGAIN, wait_until=wait_until)

    def step_halted(self, step: str, attempt: int, reason: str, *, element: int = -1) -> Receipt:
        """Record an attempt that halted the run (``Halt``) with its reason."""
        return self._attempt(step, element, attempt, AttemptStatus.HALTED, reason=reason)

    def step_skipped(self, step: str, reason: str, *, element: int = -1) -> Receipt:
        """Record a guard's decision to skip the step (attempt 0: no call was made)."""
        return self._attempt(step, element, 0, AttemptStatus.SKIPPED, reason=reason, least=0)

    def step_interrupted(
        self, step: str, attempt: int, *, element: int = -1,
        reason: str = "its process died during the attempt",
    ) -> Receipt:  # fmt: skip
        """Mark a started attempt found on recovery as interrupted (before re-running it)."""
        return self._attempt(step, element, attempt, AttemptStatus.INTERRUPTED, reason=reason)

    # -- undo log ----------------------------------------------------------------------------

    def undo_pending(self, seq: int, step: str, *, child_run_id: str | None = None) -> Receipt:
        """Add an undo-log entry (``seq`` = completion order; rollback runs newest first)."""
        return self._undo(seq, step, UndoStatus.PENDING, 0, None, child_run_id)

    def undo_finished(
        self, seq: int, step: str, status: UndoStatus, *, attempts: int,
        error: BaseException | str | None = None,
    ) -> Receipt:  # fmt: skip
        """Record an undo's end: ``undone``, or ``failed`` with its error, after ``attempts``."""
        if UndoStatus(status) is UndoStatus.PENDING:
            raise ValueError("status must be undone or failed for undo_finished; got pending")
        return self._undo(seq, step, UndoStatus(status), attempts, error, None)

    def _undo(
        self, seq: int, step: str, status: UndoStatus, attempts: int,
        error: BaseException | str | None, child_run_id: str | None,
    ) -> Receipt:  # fmt: skip
        if type(seq) is not int or seq < 0:
            raise ValueError(f"seq must be an int >= 0; got {seq!r}")
        if type(attempts) is not int or attempts < 0:
            raise ValueError(f"attempts must be an int >= 0; got {attempts!r}")
        _check_step(step, -1, 1)
        error_data, error_text = (None, None) if error is None else encode_error(error)
        values = (
            self._run_id, seq, step, child_run_id, status.value, attempts, error_data,
            error_text, self._store._wall(),
        )  # fmt: skip
        return self._post(_upsert_undo, (values, self._fence))

    # -- the run -------------------------------------------------------------------------------

    def set_status(
        self,
        status: RunStatus,
        *,
        message: str | None = None,
        result: Any = _NOTHING,
        error: BaseException | str | None = None,
        codec: str | None = None,
    ) -> Receipt:
        """Set the run's status (and ``message``); terminal statuses set ``finished_at``.

        ``result`` (for ``succeeded``) is stored with ``codec``; ``error`` (for ``failed``)
        is stored as text. Await the receipt before reporting the run's end.
        """
        try:
            chosen = RunStatus(status)
        except ValueError:
            raise ValueError(
                f"status must be a RunStatus ({', '.join(s.value for s in RunStatus)}); "
                f"got {status!r}"
            ) from None
        now = self._store._wall()
        finished = now if chosen in TERMINAL_RUN_STATUSES else None
        error_text = None if error is None else encode_error(error)[1]
        head = (chosen.value, message, error_text, now, finished)
        if result is _NOTHING:
            return self._post(_set_status, ((*head, self._run_id), False, self._fence))
        encoded = self._store._codecs.encode(result, codec, f"the result of run {self._run_id!r}")
        values = (*head, encoded.data, encoded.codec, self._run_id)
        return self._post(_set_status, (values, True, self._fence))
