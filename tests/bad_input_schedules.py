"""Bad-input cases for schedules: triggers, rt.schedule and its options, custom triggers, clocks."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from bad_input_env import Case, bad, blocking_job, job, new_workflow, no_args

from arborist.runtime import (
    Cron,
    Interval,
    ManualWallClock,
    ScheduleExistsError,
    ScheduleManager,
    ScheduleNotFoundError,
    ScheduleOptions,
    TrioWallClock,
    WorkflowInputError,
    at,
    cron,
    every,
    plan_catch_up,
)

NAN = math.nan
INF = math.inf
NAIVE = datetime(2030, 1, 1, 8, 0)
SOON = datetime(2030, 1, 1, 8, 0, tzinfo=UTC)


class Replies:
    """A custom trigger whose ``next_after`` returns the given values in turn, then None."""

    def __init__(self, *values: Any) -> None:
        self._values = list(values)

    def next_after(self, after: datetime) -> Any:
        return self._values.pop(0) if self._values else None


class NotAfter:
    """A custom trigger answering the instant it is asked about (not strictly after it)."""

    def __init__(self) -> None:
        self.calls = 0

    def next_after(self, after: datetime) -> datetime | None:
        self.calls += 1
        return after if self.calls == 1 else None


async def _gen() -> Any:
    yield 1


def _every(**amounts: Any):
    return lambda e: every(**amounts)


def _sched(trigger: Any = None, job_: Any = job, **options: Any):
    def call(e: Any) -> Any:
        return e.rt.schedule("s", every(seconds=1) if trigger is None else trigger, job_, **options)

    return call


def _trigger(make: Any):
    return lambda e: e.rt.schedule("s", make(), job)


async def _twice(env: Any) -> Any:
    env.rt.schedule("s", every(seconds=1), job)
    return env.rt.schedule("s", every(seconds=1), job)


def _manager(**options: Any):
    return lambda e: ScheduleManager(e.system, **options)


CASES: list[Case] = [
    # -- every(...) and Interval ------------------------------------------------------------------
    bad("every(seconds=-1)", _every(seconds=-1), "seconds", -1),
    bad("every(seconds='5')", _every(seconds="5"), "seconds", "5"),
    bad("every(seconds=nan)", _every(seconds=NAN), "seconds", NAN),
    bad("every(seconds=inf)", _every(seconds=INF), "seconds", INF),
    bad("every(seconds=True)", _every(seconds=True), "seconds", True),
    bad("every(seconds=None)", _every(seconds=None), "seconds", None),
    bad("every(seconds=0)", _every(seconds=0), "seconds", 0),
    bad("every()", _every(), "seconds"),
    bad("every(seconds=1e-9)", _every(seconds=1e-9), "seconds", 1e-9),
    bad("every(minutes=-1)", _every(minutes=-1), "minutes", -1),
    bad("every(hours='1')", _every(hours="1"), "hours", "1"),
    bad("every(days=nan)", _every(days=NAN), "days", NAN),
    bad(
        "every(seconds=1, immediate='yes')", _every(seconds=1, immediate="yes"), "immediate", "yes"
    ),
    bad("every(secs=5)", _every(secs=5), "secs"),
    bad("Interval(period=-1)", lambda e: Interval(-1), "period", -1),
    bad("Interval(period='5')", lambda e: Interval("5"), "period", "5"),
    bad("Interval(period=1e-9)", lambda e: Interval(1e-9), "period", 1e-9),
    bad("Interval(1).nth_fire(0.0, 0)", lambda e: Interval(1).nth_fire(0.0, 0), "n", 0),
    # -- cron(...) and at(...) --------------------------------------------------------------------
    bad("cron(5)", lambda e: cron(5), ("expr", "cron expression"), 5),
    bad("cron('* * *')", lambda e: cron("* * *"), ("expr", "cron expression"), "* * *"),
    bad("cron('61 * * * *')", lambda e: cron("61 * * * *"), "minute", "61"),
    bad("cron('* 24 * * *')", lambda e: cron("* 24 * * *"), "hour", "24"),
    bad("cron('* * 32 * *')", lambda e: cron("* * 32 * *"), "day-of-month", "32"),
    bad("cron('* * * 13 *')", lambda e: cron("* * * 13 *"), "month", "13"),
    bad("cron('* * * * 8')", lambda e: cron("* * * * 8"), "day-of-week", "8"),
    bad("cron('')", lambda e: cron(""), ("expr", "cron expression"), ""),
    bad(
        "cron('@sometimes')",
        lambda e: cron("@sometimes"),
        ("expr", "cron expression"),
        "@sometimes",
    ),
    bad(
        "cron(tz='Mars/Olympus')",
        lambda e: cron("0 8 * * *", tz="Mars/Olympus"),
        ("tz", "time zone"),
        "Mars/Olympus",
    ),
    bad("cron(tz=5)", lambda e: cron("0 8 * * *", tz=5), "tz", 5),
    bad("cron(tz=None)", lambda e: cron("0 8 * * *", tz=None), "tz", None),
    bad(
        "cron(tz=fixed offset)",
        lambda e: cron("0 8 * * *", tz=timezone(timedelta(hours=1))),
        "tz",
        shows=["tz", "offset"],
    ),
    bad(
        "Cron('0 8 * * *').next_after(naive)",
        lambda e: Cron("0 8 * * *").next_after(NAIVE),
        "naive",
    ),
    bad("at(naive)", lambda e: at(NAIVE), ("when", "at()"), NAIVE),
    bad("at('2030-01-01')", lambda e: at("2030-01-01"), ("when", "at()"), "2030-01-01"),
    bad("at(None)", lambda e: at(None), ("when", "at()"), None),
    bad("at(5)", lambda e: at(5), ("when", "at()"), 5),
    # -- rt.schedule(name, trigger, job) ----------------------------------------------------------
    bad("rt.schedule(name=5)", lambda e: e.rt.schedule(5, every(seconds=1), job), "name", 5),
    bad("rt.schedule(name='')", lambda e: e.rt.schedule("", every(seconds=1), job), "name", ""),
    bad("rt.schedule(name taken)", _twice, "s", errors=(ScheduleExistsError,), shows=["'s'"]),
    bad("rt.schedule(trigger='*/5 * * * *')", _sched("*/5 * * * *"), "trigger", "*/5 * * * *"),
    bad("rt.schedule(trigger=5)", _sched(5), "trigger", 5),
    bad("rt.schedule(trigger=None)", lambda e: e.rt.schedule("s", None, job), "trigger", None),
    bad("rt.schedule(trigger=Cron)", _sched(Cron), "trigger", shows=["trigger", "Cron"]),
    bad(
        "rt.schedule(trigger=at(past))",
        _sched(at(datetime(2000, 1, 1, tzinfo=UTC))),
        "trigger",
        shows=["trigger", "2000-01-01"],
    ),
    bad("rt.schedule(job=5)", _sched(job_=5), "job", 5),
    bad(
        "rt.schedule(job=coroutine)",
        lambda e: e.rt.schedule("s", every(seconds=1), job()),
        "job",
        shows=["job", "coroutine"],
    ),
    bad("rt.schedule(job=generator fn)", _sched(job_=_gen), "job", shows=["job", "generator"]),
    bad("rt.schedule(job=class)", _sched(job_=int), "job", shows=["job", "int"]),
    bad("rt.schedule(overlap_policy=...)", _sched(overlap_policy="skip"), "overlap_policy"),
    bad("rt.schedule(overlap='no')", _sched(overlap="no"), "overlap", "no"),
    bad("rt.schedule(overlap=5)", _sched(overlap=5), "overlap", 5),
    bad("rt.schedule(overlap='queue')", _sched(overlap="queue"), "overlap", "queue"),
    bad("rt.schedule(misfire_grace=-1)", _sched(misfire_grace=-1), "misfire_grace", -1),
    bad("rt.schedule(misfire_grace='5')", _sched(misfire_grace="5"), "misfire_grace", "5"),
    bad("rt.schedule(misfire_grace=nan)", _sched(misfire_grace=NAN), "misfire_grace", NAN),
    bad("rt.schedule(misfire_grace=True)", _sched(misfire_grace=True), "misfire_grace", True),
    bad("rt.schedule(catch_up='sometimes')", _sched(catch_up="sometimes"), "catch_up", "sometimes"),
    bad("rt.schedule(jitter=-1)", _sched(jitter=-1), "jitter", -1),
    bad("rt.schedule(jitter='1')", _sched(jitter="1"), "jitter", "1"),
    bad("rt.schedule(jitter=inf)", _sched(jitter=INF), "jitter", INF),
    bad("rt.schedule(timeout=0)", _sched(timeout=0), "timeout", 0),
    bad("rt.schedule(timeout=-1)", _sched(timeout=-1), "timeout", -1),
    bad("rt.schedule(timeout='5')", _sched(timeout="5"), "timeout", "5"),
    bad("rt.schedule(timeout=nan)", _sched(timeout=NAN), "timeout", NAN),
    bad("rt.schedule(max_runs=0)", _sched(max_runs=0), "max_runs", 0),
    bad("rt.schedule(max_runs='5')", _sched(max_runs="5"), "max_runs", "5"),
    bad("rt.schedule(max_runs=True)", _sched(max_runs=True), "max_runs", True),
    bad("rt.schedule(max_runs=1.5)", _sched(max_runs=1.5), "max_runs", 1.5),
    bad("rt.schedule(start=naive)", _sched(start=NAIVE), "start", NAIVE),
    bad("rt.schedule(start='2030-01-01')", _sched(start="2030-01-01"), "start", "2030-01-01"),
    bad("rt.schedule(end=naive)", _sched(end=NAIVE), "end", NAIVE),
    bad(
        "rt.schedule(end before start)",
        _sched(start=SOON, end=SOON - timedelta(hours=1)),
        "end",
        shows=["end", "start"],
    ),
    bad(
        "rt.schedule(end in the past)",
        _sched(end=datetime(2000, 1, 1, tzinfo=UTC)),
        "end",
        shows=["end", "2000-01-01"],
    ),
    bad("rt.schedule(args=5)", _sched(args=5), "args", 5),
    bad("rt.schedule(args=[1])", _sched(args=[1]), "args", [1]),
    bad(
        "rt.schedule(no_args, args=(1,)) args do not fit",
        _sched(job_=no_args, args=(1,)),
        "args",
        (1,),
    ),
    bad(
        "rt.schedule(job, args=(1, 2)) args do not fit",
        _sched(args=(1, 2)),
        "args",
        (1, 2),
    ),
    bad(
        "rt.schedule(def job, args=(1,)) args do not fit",
        _sched(job_=blocking_job, args=(1,)),
        "args",
        (1,),
    ),
    bad("rt.schedule(job, inputs={...})", _sched(inputs={"x": 1}), "inputs", shows=["inputs"]),
    bad(
        "rt.schedule(workflow, inputs=5)",
        lambda e: e.rt.schedule("s", every(seconds=1), e.wf, inputs=5),
        "inputs",
        5,
    ),
    bad(
        "rt.schedule(workflow, args=(1,))",
        lambda e: e.rt.schedule("s", every(seconds=1), e.wf, args=(1,)),
        "args",
        (1,),
    ),
    bad(
        "rt.schedule(workflow, missing input)",
        lambda e: e.rt.schedule("s", every(seconds=1), new_workflow()),
        "x",
        errors=(WorkflowInputError,),
    ),
    bad(
        "rt.schedule(every(seconds=1e-9))",
        lambda e: e.rt.schedule("s", every(seconds=1e-9), job),
        "seconds",
        1e-9,
    ),
    # -- custom triggers returning bad values -----------------------------------------------------
    bad(
        "custom trigger returning naive",
        _trigger(lambda: Replies(NAIVE)),
        "trigger",
        NAIVE,
    ),
    bad(
        "custom trigger returning a str",
        _trigger(lambda: Replies("tomorrow")),
        "trigger",
        "tomorrow",
    ),
    bad(
        "custom trigger returning a float",
        _trigger(lambda: Replies(1.5)),
        "trigger",
        1.5,
    ),
    bad(
        "custom trigger returning not-after",
        _trigger(NotAfter),
        "trigger",
        shows=["trigger", "after"],
    ),
    bad(
        "custom trigger returning None first",
        _trigger(Replies),
        "trigger",
        shows=["trigger", "never"],
    ),
    # -- pause, resume, run now, remove -----------------------------------------------------------
    bad(
        "rt.pause_schedule('missing')",
        lambda e: e.rt.pause_schedule("missing"),
        "missing",
        errors=(ScheduleNotFoundError,),
        shows=["'missing'"],
    ),
    bad(
        "rt.run_schedule_now('missing')",
        lambda e: e.rt.run_schedule_now("missing"),
        "missing",
        errors=(ScheduleNotFoundError,),
        shows=["'missing'"],
    ),
    bad(
        "rt.unschedule('missing')",
        lambda e: e.rt.unschedule("missing"),
        "missing",
        errors=(ScheduleNotFoundError,),
        shows=["'missing'"],
    ),
    bad(
        "rt.unschedule(5)",
        lambda e: e.rt.unschedule(5),
        "name",
        5,
        errors=(TypeError, ValueError, ScheduleNotFoundError),
    ),
    # -- ScheduleOptions, plan_catch_up -----------------------------------------------------------
    bad("ScheduleOptions(overlap='x')", lambda e: ScheduleOptions(overlap="x"), "overlap", "x"),
    bad("ScheduleOptions(max_runs=-1)", lambda e: ScheduleOptions(max_runs=-1), "max_runs", -1),
    bad(
        "plan_catch_up(unordered)",
        lambda e: plan_catch_up([2.0, 1.0], 3.0, ScheduleOptions()),
        "ascending",
        shows=["ascending", "2.0"],
    ),
    bad(
        "plan_catch_up(due after now)",
        lambda e: plan_catch_up([5.0], 3.0, ScheduleOptions()),
        "now",
        5.0,
    ),
    bad(
        "plan_catch_up(mixed kinds)",
        lambda e: plan_catch_up([SOON], 3.0, ScheduleOptions()),
        "now",
        3.0,
    ),
    bad(
        "plan_catch_up(options=None)",
        lambda e: plan_catch_up([1.0], 3.0, None),
        "options",
        None,
    ),
    # -- wall clocks and the schedule manager -----------------------------------------------------
    bad("ManualWallClock(naive)", lambda e: ManualWallClock(NAIVE), "start", NAIVE),
    bad(
        "ManualWallClock(...).advance(-1)", lambda e: ManualWallClock(SOON).advance(-1), "delta", -1
    ),
    bad(
        "ManualWallClock(...).advance('1')",
        lambda e: ManualWallClock(SOON).advance("1"),
        "delta",
        "1",
    ),
    bad(
        "ManualWallClock(...).set(naive)", lambda e: ManualWallClock(SOON).set(NAIVE), "set", NAIVE
    ),
    bad("TrioWallClock(naive)", lambda e: TrioWallClock(NAIVE), "start", NAIVE),
    bad("TrioWallClock(...).jump(nan)", lambda e: TrioWallClock(SOON).jump(NAN), "jump", NAN),
    bad("ScheduleManager(wall_recheck=0)", _manager(wall_recheck=0), "wall_recheck", 0),
    bad("ScheduleManager(wall_recheck='5')", _manager(wall_recheck="5"), "wall_recheck", "5"),
    bad("ScheduleManager(wall_clock=5)", _manager(wall_clock=5), "wall_clock", 5),
    bad(
        "ScheduleManager(shutdown_timeout='5')",
        _manager(shutdown_timeout="5"),
        "shutdown_timeout",
        "5",
    ),
    bad(
        "ScheduleManager(shutdown_timeout=-1)",
        _manager(shutdown_timeout=-1),
        "shutdown_timeout",
        -1,
    ),
    bad(
        "ScheduleManager(system='system')",
        lambda e: ScheduleManager("system"),
        "system",
        "system",
    ),
]
