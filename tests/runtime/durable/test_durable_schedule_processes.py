"""Durable schedules across real processes: two sharing one store, and a SIGKILL mid-claim.

``schedule_child.py`` is the child. These tests use the real wall clock (it is what several
processes share); each takes a few seconds. Both run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trio
from durable_stores import BACKENDS, fresh_store_url
from kill_harness import kill_after, reap_killed_owner

from arborist.runtime import Runtime, ScheduleRunInterrupted, every
from arborist.runtime.schedules import ManualWallClock
from arborist.runtime.store import RunStatus, TickOutcome, open_store

CHILD = Path(__file__).with_name("schedule_child.py")
TICKS = 1000
PERIOD = 0.01


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return fresh_store_url(request, request.param, tmp_path)


def _child(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CHILD), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _ticks(url: str, name: str) -> list[tuple[datetime, TickOutcome, str | None]]:
    async def read() -> list[tuple[datetime, TickOutcome, str | None]]:
        async with open_store(url) as store:
            rows = await store.list_ticks(name, limit=10 * TICKS)
        return [(t.due, t.outcome, t.owner_id) for t in rows]

    return trio.run(read)


def test_two_processes_sharing_one_store_fire_each_due_instant_exactly_once_over_1000_ticks(
    url, tmp_path
):
    out = tmp_path / "fires.txt"
    children = [_child("grid", url, str(PERIOD), str(TICKS), str(out)) for _ in range(2)]
    for child in children:  # both runtimes are open: the window opens 2-3 s from now
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready", child.stderr.read()  # type: ignore[union-attr]
    now = datetime.now(UTC)  # on a whole second: the grid's anchor is kept to the millisecond
    start = now.replace(microsecond=0) + timedelta(seconds=3)
    for child in children:
        assert child.stdin is not None
        child.stdin.write(start.isoformat() + "\n")
        child.stdin.flush()
    reports = []
    for child in children:
        stdout, stderr = child.communicate(timeout=120)
        assert child.returncode == 0, stderr
        reports.append(json.loads(stdout.splitlines()[-1]))

    grid = [(start + timedelta(seconds=PERIOD * k)).isoformat() for k in range(1, TICKS + 1)]
    ran = [due for report in reports for due in report["ran"]]
    assert len(ran) == len(set(ran))  # no due instant ran twice
    assert sorted(set(grid) - set(ran)) == []
    assert set(ran) == set(grid)  # each due instant ran, in one of the two processes
    fires = out.read_text().splitlines()
    assert len(fires) == TICKS
    assert {int(pid) for pid in fires} <= {report["pid"] for report in reports}
    ticks = _ticks(url, "grid")
    assert len(ticks) == TICKS
    assert {outcome for _, outcome, _ in ticks} == {TickOutcome.OK}


def _read_claimed(child: subprocess.Popen[str]) -> str:
    """The due instant the child announces it claimed."""
    assert child.stdout is not None
    word, due_text = child.stdout.readline().split()
    assert word == "claimed", child.stderr.read()  # type: ignore[union-attr]
    return due_text


def test_a_tick_claimed_by_a_process_killed_before_its_run_is_reported_interrupted_on_restart(
    url, tmp_path
):
    out = tmp_path / "fires.txt"
    child = _child("freeze", url, str(out))
    due = datetime.fromisoformat(kill_after(child, _read_claimed))
    reap_killed_owner(url)
    events: list[object] = []

    async def restart() -> None:
        interrupted = trio.Event()

        def seen(event: object) -> None:
            events.append(event)
            if isinstance(event, ScheduleRunInterrupted):
                interrupted.set()

        # The wall clock stands at the claimed instant: nothing newer is due.
        async with Runtime(store=url, wall_clock=ManualWallClock(due)) as rt:
            rt.subscribe(seen)
            rt.schedule("doomed", every(seconds=0.05), lambda: None)
            await interrupted.wait()

    trio.run(restart)

    (event,) = [e for e in events if isinstance(e, ScheduleRunInterrupted)]
    assert event.due == due
    assert not out.exists()  # the claimed run never started, and was not fired again
    outcomes = {tick_due: outcome for tick_due, outcome, _ in _ticks(url, "doomed")}
    assert outcomes.pop(due) is TickOutcome.INTERRUPTED
    # A slow child start may have found older instants due: coalesced into the claimed one.
    assert set(outcomes.values()) <= {TickOutcome.MISSED}


def _read_running(child: subprocess.Popen[str]) -> None:
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line.strip() == "running", child.stderr.read()  # type: ignore[union-attr]


def test_a_workflow_fire_killed_mid_run_is_resumed_and_its_tick_records_the_runs_end(
    url, tmp_path, monkeypatch
):
    from schedule_child import nightly

    kill_after(_child("stuck", url), _read_running)
    reap_killed_owner(url)
    monkeypatch.setenv("ARBORIST_RELEASE", "1")  # the resumed step returns

    async def resume() -> tuple[TickOutcome, str | None, object]:
        async with open_store(url) as store:
            (tick,) = await store.list_ticks("nightly", outcome=TickOutcome.CLAIMED)
        # Recovery resumes the run; the schedule's start finds its tick claimed by the dead
        # owner: tied to the run, whose end is then the tick's outcome.
        async with Runtime(
            store=url, workflows=[nightly], wall_clock=ManualWallClock(tick.due)
        ) as rt:
            assert rt.store is not None
            rt.schedule("nightly", every(seconds=0.05), nightly)
            with trio.fail_after(60):
                while True:
                    (now,) = [t for t in await rt.store.list_ticks("nightly") if t.due == tick.due]
                    if now.outcome not in (TickOutcome.CLAIMED, TickOutcome.INTERRUPTED):
                        break
                    await trio.sleep(0.05)
            run = await rt.store.get_run(now.run_id)
        return now.outcome, now.reason, run

    outcome, reason, run = trio.run(resume)

    assert outcome is TickOutcome.OK
    assert "died before the job reported an end" in str(reason)
    assert getattr(run, "status", None) is RunStatus.SUCCEEDED
