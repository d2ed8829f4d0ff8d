"""Schedules in the store: definitions, single-fire claims of due instants, tick outcomes.

The single-fire guarantee is the primary key ``(name, due)`` of ``schedule_ticks``: claiming a
due instant inserts its row with ``ON CONFLICT DO NOTHING``, so among any number of processes
and restarts exactly one claim of a due instant wins; no lease has to be believed. The same
transaction advances the schedule's ``last_due`` monotonically (never backwards, whatever the
wall clock does).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ._core import StoreCore
from ._errors import NotFoundError
from ._reads import (
    SCHEDULE_COLUMNS,
    TICK_COLUMNS,
    due_text,
    dumps_json,
    parse_schedule,
    parse_tick,
    stamp,
)
from ._receipt import Refusal
from ._rows import ScheduleInfo, TickOutcome, TickRow
from ._sql import Tx

__all__ = ["SchedulesMixin"]

_UPSERT = (
    "INSERT INTO schedules (name, trigger_text, job, options, anchor_utc, created_at, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET"
    " anchor_utc = CASE WHEN schedules.trigger_text = excluded.trigger_text"
    " THEN COALESCE(schedules.anchor_utc, excluded.anchor_utc) ELSE excluded.anchor_utc END,"
    " trigger_text = excluded.trigger_text, job = excluded.job, options = excluded.options,"
    " updated_at = excluded.updated_at"
    f" RETURNING {SCHEDULE_COLUMNS}"
)

_FINISHED = frozenset(
    {
        TickOutcome.OK,
        TickOutcome.FAILED,
        TickOutcome.TIMED_OUT,
        TickOutcome.CANCELLED,
        TickOutcome.SKIPPED,
    }
)
_CLAIMS = frozenset({TickOutcome.CLAIMED, TickOutcome.SKIPPED, TickOutcome.MISSED})


def _name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty str; got {name!r}")
    return name


def _outcome(value: object, allowed: frozenset[TickOutcome], name: str) -> TickOutcome:
    try:
        outcome = TickOutcome(str(value))
    except ValueError:
        outcome = None
    if outcome not in allowed:
        choices = ", ".join(sorted(o.value for o in allowed))
        raise ValueError(f"{name} must be one of {choices}; got {value!r}")
    assert outcome is not None
    return outcome


class SchedulesMixin(StoreCore):
    """The schedule operations of a store (see ``Store``)."""

    async def upsert_schedule(
        self,
        name: str,
        *,
        trigger: str,
        job: str,
        options: Mapping[str, Any] | None = None,
        anchor_utc: datetime | None = None,
    ) -> ScheduleInfo:
        """Create or replace a schedule's definition; the code is the source of truth.

        A changed ``trigger``, ``job`` or ``options`` replaces the stored ones, but
        ``last_due``, ``runs`` and ``paused`` are kept, so a restart or a deploy neither
        re-fires nor forgets what was consumed. The interval anchor is kept while the trigger
        text is unchanged (the wall-clock grid survives restarts) and replaced with it.
        Waits until durable.

        Args:
            name: unique.
            trigger: canonical text (``"cron 0 8 * * * Europe/Paris"``, ``"every 30s"``).
            job: what fires (``"workflow:etl"``).
            options: JSON data (the schedule's options).
            anchor_utc: when the definition was first registered (wall clock): the origin
                of an ``every()`` grid, and where catching up starts before any due.
        """
        _name(name)
        for value, label in ((trigger, "trigger"), (job, "job")):
            if not isinstance(value, str) or not value:
                raise ValueError(f"{label} must be a non-empty str; got {value!r}")
        values = (
            name,
            trigger,
            job,
            dumps_json(options or {}, "options"),
            stamp(anchor_utc, "anchor_utc"),
            self._wall(),
            self._wall(),
        )
        return await self._post(_upsert_schedule, values)  # type: ignore[no-any-return]

    async def pause_schedule(self, name: str, paused: bool = True) -> None:
        """Mark a schedule paused (or not, with ``paused=False``). Waits until durable.

        Raises:
            NotFoundError: no such schedule.
        """
        await self._post(_pause, _name(name), bool(paused), self._wall())

    async def delete_schedule(self, name: str) -> bool:
        """Delete a schedule and its ticks; return whether it existed. Waits until durable."""
        return await self._post(_delete, _name(name))  # type: ignore[no-any-return]

    async def claim_tick(
        self,
        name: str,
        due: datetime,
        *,
        outcome: TickOutcome = TickOutcome.CLAIMED,
        reason: str | None = None,
        run_id: str | None = None,
    ) -> bool:
        """Claim one due instant of a schedule; return whether this call won it.

        At most one claim of ``(name, due)`` ever wins, across processes and restarts. The
        winner's transaction also moves ``last_due`` forward to ``due`` (never back) and, for
        ``claimed``, counts a run. Claim with ``outcome=MISSED`` or ``SKIPPED`` (and a
        ``reason``) to record a due instant that will not run: it is consumed the same way,
        never silent. Waits until durable: start the job only after a win.

        Raises:
            NotFoundError: no such schedule (``upsert_schedule`` first).
        """
        won = await self.claim_due(name, due, outcome=outcome, reason=reason, run_id=run_id)
        return won is not None

    async def claim_due(
        self,
        name: str,
        due: datetime,
        *,
        outcome: TickOutcome = TickOutcome.CLAIMED,
        reason: str | None = None,
        run_id: str | None = None,
        alone: bool = False,
        retake: bool = False,
    ) -> TickOutcome | None:
        """``claim_tick`` that says what it recorded: the outcome won, or None if lost.

        Args:
            name: the schedule (``upsert_schedule`` first).
            due: the due instant claimed.
            outcome: ``claimed`` (to run it), ``missed`` or ``skipped`` (recorded only).
            reason: why, for ``missed`` and ``skipped``.
            run_id: the run it fires, when known at the claim.
            alone: for an overlap ``"skip"`` schedule: a ``claimed`` claim made while another
                open owner (another process on this store) holds a claimed tick of the same
                schedule (its run is still going) is recorded ``skipped`` instead, with a
                reason naming that tick, and SKIPPED is returned. Decided in the claim's
                own transaction, so two processes cannot both start overlapping runs.
            retake: a due instant already claimed (``claimed``) by this same owner is won
                again, with the new outcome: the scheduler incarnation that claimed it was
                restarted before it acted on the claim (it never ran).
        """
        chosen = _outcome(outcome, _CLAIMS, "outcome")
        values = (
            _name(name),
            due_text(due),
            chosen.value,
            reason,
            run_id,
            self._owner_id,
            self._wall(),
        )
        won = await self._post(_claim_tick, values, bool(alone), bool(retake))
        return None if won is None else TickOutcome(won)

    async def finish_tick(
        self,
        name: str,
        due: datetime,
        outcome: TickOutcome,
        *,
        reason: str | None = None,
        run_id: str | None = None,
    ) -> None:
        """Record how a claimed due instant's job ended: ok, failed, timed_out or cancelled.

        ``skipped`` records a claimed instant that did not run after all (the overlap policy
        refused it once the claim was won).

        Waits until durable.

        Raises:
            NotFoundError: the due instant was never claimed.
        """
        chosen = _outcome(outcome, _FINISHED, "outcome")
        values = (chosen.value, reason, run_id, self._wall(), _name(name), due_text(due))
        await self._post(_finish_tick, values)

    async def interrupt_tick(
        self, name: str, due: datetime, reason: str, *, run_key: str | None = None
    ) -> TickOutcome | None:
        """Record a ``claimed`` due instant whose owner died; return what was recorded.

        Only a tick still ``claimed`` changes (None is returned for any other): one whose job
        reported an end meanwhile keeps its outcome. The due instant stays consumed: it is
        reported, never fired again. Waits until durable.

        With ``run_key`` (a workflow fire's start key), the tick is tied to that run if one
        was created: a run that has already finished (recovered and completed by another
        owner) gives the tick its outcome now (``ok``, ``failed`` or ``cancelled``); a run
        still unfinished leaves the tick ``interrupted`` with its run id, and the run's end
        (``RunRecorder.set_status``) records the outcome on the tick when it comes.
        Otherwise the tick is marked ``interrupted`` (returned as INTERRUPTED).
        """
        values = (reason, self._wall(), _name(name), due_text(due))
        found = await self._post(_interrupt_tick, values, run_key)
        return None if found is None else TickOutcome(found)

    async def get_schedule(self, name: str, *, ticks: int = 10) -> ScheduleInfo | None:
        """One schedule with its ``ticks`` newest ticks, or None."""
        return await self._read(_schedules, _name(name), ticks)

    async def list_schedules(self, *, ticks: int = 5) -> list[ScheduleInfo]:
        """Every schedule by name, each with its ``ticks`` newest ticks."""
        return await self._read(_schedules, None, ticks)

    async def list_ticks(
        self,
        name: str,
        *,
        since: datetime | None = None,
        outcome: TickOutcome | None = None,
        limit: int = 100,
    ) -> list[TickRow]:
        """A schedule's ticks, newest due first, filtered by ``since`` and ``outcome``.

        ``outcome=CLAIMED`` lists the fires whose job has not reported an end: after a crash,
        the ones whose run must be found (or started, when the claim's run was never created).
        """
        params: list[Any] = [_name(name)]
        sql = f"SELECT {TICK_COLUMNS} FROM schedule_ticks WHERE name = ?"
        if outcome is not None:  # a literal (an enum value): lets the partial index serve it
            sql += f" AND outcome = '{TickOutcome(outcome).value}'"
        if since is not None:
            sql += " AND due >= ?"
            params.append(due_text(since, "since"))
        sql += " ORDER BY due DESC LIMIT ?"
        params.append(int(limit))
        return await self._read(lambda tx: [parse_tick(r) for r in tx.all(sql, params)])


def _upsert_schedule(tx: Tx, values: tuple[Any, ...]) -> ScheduleInfo:
    return parse_schedule(tx.one(_UPSERT, values), ())


def _pause(tx: Tx, name: str, paused: bool, now: float) -> None:
    if not tx.execute(
        "UPDATE schedules SET paused = ?, updated_at = ? WHERE name = ?", (int(paused), now, name)
    ):
        raise Refusal(NotFoundError("schedule", name))


def _delete(tx: Tx, name: str) -> bool:
    tx.execute("DELETE FROM schedule_ticks WHERE name = ?", (name,))
    return bool(tx.execute("DELETE FROM schedules WHERE name = ?", (name,)))


_RUNNING_ELSEWHERE = (
    "SELECT t.due, t.owner_id FROM schedule_ticks t JOIN owners o ON o.owner_id = t.owner_id"
    " WHERE t.name = ? AND t.outcome = 'claimed' AND t.owner_id <> ?"
    " AND o.closed_at IS NULL AND o.lease_until > ? ORDER BY t.due LIMIT 1"
)


def _claim_tick(tx: Tx, values: tuple[Any, ...], alone: bool, retake: bool) -> str | None:
    name, due, outcome, reason, _run_id, owner, now = values
    if tx.one("SELECT 1 FROM schedules WHERE name = ?", (name,)) is None:
        raise Refusal(NotFoundError("schedule", name, "upsert_schedule() it first"))
    if alone and outcome == TickOutcome.CLAIMED.value:
        busy = tx.one(_RUNNING_ELSEWHERE, (name, owner, tx.now()))
        if busy is not None:
            outcome = TickOutcome.SKIPPED.value
            reason = f"overlap: the run of {busy[0]} is still going in owner {busy[1]}"
            values = (name, due, outcome, reason, _run_id, owner, now)
    won = tx.execute(
        "INSERT INTO schedule_ticks (name, due, outcome, reason, run_id, owner_id, claimed_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        values,
    )
    if not won:
        if not retake:
            return None
        # A claim of this owner that its scheduler never acted on: won again, counted once.
        if not tx.execute(
            "UPDATE schedule_ticks SET outcome = ?, reason = ?, claimed_at = ?"
            " WHERE name = ? AND due = ? AND owner_id = ? AND outcome = 'claimed'",
            (outcome, reason, now, name, due, owner),
        ):
            return None
        if outcome != TickOutcome.CLAIMED.value:
            tx.execute("UPDATE schedules SET runs = runs - 1 WHERE name = ?", (name,))
        return str(outcome)
    counted = 1 if outcome == TickOutcome.CLAIMED.value else 0
    tx.execute(
        "UPDATE schedules SET runs = runs + ?, updated_at = ?, last_due = CASE"
        " WHEN last_due IS NULL OR last_due < ? THEN ? ELSE last_due END WHERE name = ?",
        (counted, now, due, due, name),
    )
    return str(outcome)


def _finish_tick(tx: Tx, values: tuple[Any, ...]) -> None:
    if not tx.execute(
        "UPDATE schedule_ticks SET outcome = ?, reason = ?, run_id = COALESCE(?, run_id),"
        " finished_at = ? WHERE name = ? AND due = ?",
        values,
    ):
        raise Refusal(NotFoundError("tick", f"{values[4]} @ {values[5]}", "claim_tick() it first"))


RUN_TICK_OUTCOMES = {"succeeded": "ok", "failed": "failed", "cancelled": "cancelled"}
"""The tick outcome a finished run of a schedule's workflow gives its due instant."""


def _interrupt_tick(tx: Tx, values: tuple[Any, ...], run_key: str | None) -> str | None:
    reason, now, name, due = values
    outcome, run_id = TickOutcome.INTERRUPTED.value, None
    run = None
    if run_key is not None:
        run = tx.one("SELECT run_id, status FROM runs WHERE start_key = ?", (run_key,))
    if run is not None:
        run_id, status = run
        ended = RUN_TICK_OUTCOMES.get(status)
        if ended is not None:
            outcome, reason = ended, f"{reason}; its run {run_id} was resumed and ended {status}"
        else:
            reason = f"{reason}; its run {run_id} is resumed by run recovery"
    changed = tx.execute(
        "UPDATE schedule_ticks SET outcome = ?, reason = ?, run_id = COALESCE(?, run_id),"
        " finished_at = ? WHERE name = ? AND due = ? AND outcome = 'claimed'",
        (outcome, reason, run_id, now, name, due),
    )
    return outcome if changed else None


def _schedules(tx: Tx, name: str | None, ticks: int) -> Any:
    if name is None:
        rows = tx.all(f"SELECT {SCHEDULE_COLUMNS} FROM schedules ORDER BY name")
    else:
        rows = tx.all(f"SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE name = ?", (name,))
    found = []
    for row in rows:
        recent = tuple(
            parse_tick(r)
            for r in tx.all(
                f"SELECT {TICK_COLUMNS} FROM schedule_ticks WHERE name = ?"
                " ORDER BY due DESC LIMIT ?",
                (row[0], ticks),
            )
        )
        found.append(parse_schedule(row, recent))
    if name is None:
        return found
    return found[0] if found else None
