"""Every schedule run that starts has exactly one outcome event; every schedule ends.

Whatever ends a run (its job returns or raises, its timeout, ``cancel_other``, a crash or kill
of its scheduler, ``unschedule``, the runtime's shutdown past the grace time) and whatever the
job does (open its own nursery, run a workflow), ``ScheduleRunStarted`` is followed by one of
``ScheduleRunFinished``, ``ScheduleRunFailed``, ``ScheduleRunTimedOut`` or
``ScheduleRunCancelled``, and each schedule by one ``ScheduleEnded``.
"""

from collections import defaultdict

import pytest
import trio

from arborist.runtime import (
    Runtime,
    ScheduleEnded,
    ScheduleEvent,
    ScheduleRunCancelled,
    ScheduleRunFailed,
    ScheduleRunFinished,
    ScheduleRunStarted,
    ScheduleRunTimedOut,
    Workflow,
    every,
)

OUTCOMES = (ScheduleRunFinished, ScheduleRunFailed, ScheduleRunTimedOut, ScheduleRunCancelled)


class Ledger:
    """Collects schedule events: the outcomes of each run, the ends of each schedule."""

    def __init__(self):
        self.started = set()
        self.outcomes = defaultdict(list)
        self.ended = defaultdict(list)

    def __call__(self, event):
        if isinstance(event, ScheduleRunStarted):
            self.started.add((event.schedule, event.run))
        elif isinstance(event, OUTCOMES):
            self.outcomes[(event.schedule, event.run)].append(type(event).__name__)
        elif isinstance(event, ScheduleEnded):
            self.ended[event.schedule].append(event.reason)

    def runs_without_one_outcome(self):
        return sorted(run for run in self.started if len(self.outcomes[run]) != 1)


async def _nursery_job():
    async with trio.open_nursery() as nursery:
        nursery.start_soon(trio.sleep, 0.7)
        nursery.start_soon(trio.sleep, 0.7)


def _workflow_job():
    wf = Workflow("tick")

    @wf.step
    async def work():
        await trio.sleep(0.7)

    return wf


@pytest.mark.parametrize("job", [_nursery_job, _workflow_job()], ids=["nursery", "workflow"])
async def test_runs_killed_with_their_scheduler_each_report_one_outcome(job, autojump_clock):
    ledger = Ledger()
    async with Runtime() as rt:
        rt.subscribe(ledger, only=ScheduleEvent)
        handle = rt.schedule("s", every(seconds=0.5), job, overlap="allow")
        for _ in range(25):
            await trio.sleep(0.6)
            if handle.ref is not None:
                handle.ref.kill()
        await trio.sleep(1)
    assert len(ledger.started) > 20
    assert ledger.runs_without_one_outcome() == []
    assert ledger.ended["s"] == ["stopped"]


async def test_a_run_that_outlives_the_shutdown_grace_is_cancelled_and_the_schedule_ends(
    autojump_clock,
):
    ledger = Ledger()

    async def stubborn():
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.sleep, 100)

    async with Runtime(shutdown_timeout=1.0) as rt:
        rt.subscribe(ledger, only=ScheduleEvent)
        rt.schedule("slow", every(seconds=1), stubborn)
        await trio.sleep(1.5)
    assert ledger.started == {("slow", 1)}
    assert ledger.outcomes[("slow", 1)] == ["ScheduleRunCancelled"]
    assert ledger.ended["slow"] == ["stopped"]


async def test_unscheduling_a_schedule_whose_run_outlives_the_grace_still_ends_it(
    autojump_clock,
):
    ledger = Ledger()

    async def stubborn():
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.sleep, 100)

    async with Runtime(shutdown_timeout=1.0) as rt:
        rt.subscribe(ledger, only=ScheduleEvent)
        rt.schedule("slow", every(seconds=1), stubborn)
        await trio.sleep(1.5)
        await rt.unschedule("slow")
    assert ledger.outcomes[("slow", 1)] == ["ScheduleRunCancelled"]
    assert ledger.ended["slow"] == ["removed"]


# With max_runs every run goes through _attempt; with no option at all every tick after the
# first is an idle schedule's on-time tick, the scheduler's quick path (_execute_quick).
@pytest.mark.parametrize("max_runs", [3, None], ids=["max_runs", "quick"])
async def test_a_job_raising_a_base_exception_fails_its_run_and_the_schedule_goes_on(
    autojump_clock, max_runs
):
    class Abort(BaseException):
        pass

    ledger = Ledger()

    async def job():
        raise Abort("no")

    async with Runtime() as rt:
        rt.subscribe(ledger, only=ScheduleEvent)
        rt.schedule("abort", every(seconds=1), job, max_runs=max_runs)
        await trio.sleep(3.5)
        if max_runs is None:
            [info] = rt.schedules()
            assert (info.runs, info.running, info.last_outcome.value) == (3, 0, "failed")
        else:
            assert list(rt.schedules()) == []  # it ended with its third run
    assert [ledger.outcomes[("abort", n)] for n in (1, 2, 3)] == [["ScheduleRunFailed"]] * 3
    assert ledger.runs_without_one_outcome() == []
    assert ledger.ended["abort"] == ["max_runs" if max_runs else "stopped"]
