"""TaskSupervisor under load: 10,000 jobs with seeded random failures; nothing is lost."""

import collections
import logging
import random

import trio

from arborist.supervision import (
    JobState,
    TaskCancelled,
    TaskFailed,
    TaskFinished,
    TaskStarted,
    open_task_supervisor,
)

N = 10_000


class Boom(Exception):
    pass


class Collect(logging.Handler):
    """Keeps records unformatted (formatting 2,000 tracebacks would dominate the test)."""

    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)


async def job(kind, delay):
    if kind == "hang":
        await trio.sleep_forever()
    await trio.sleep(delay)
    if kind == "fail":
        raise Boom(delay)


async def test_ten_thousand_jobs_every_failure_reported_once_none_lost_hanging_ones_cut(
    autojump_clock, monkeypatch
):
    logger = logging.getLogger("arborist.supervision")
    collect = Collect()
    monkeypatch.setattr(logger, "propagate", False)
    logger.addHandler(collect)
    try:
        await run_and_check(collect)
    finally:
        logger.removeHandler(collect)


async def run_and_check(collect):
    rng = random.Random(20240605)
    # Few distinct delays keep the number of scheduler rounds (and the test) small; none ends
    # exactly when the shutdown begins (1.5), so "during the grace period" is unambiguous.
    plan = [
        (
            rng.choice(["ok", "ok", "ok", "fail", "hang"]),
            rng.randrange(30) / 10 + 0.05,
            rng.random() < 0.5,
        )
        for _ in range(N)
    ]
    events = []
    async with open_task_supervisor(shutdown=2) as tasks:
        tasks.subscribe(events.append)
        jobs = [
            (tasks.start_task if as_task else tasks.start_child)(job, kind, delay)
            for kind, delay, as_task in plan
        ]
        await trio.sleep(1.5)

    kinds = collections.Counter(kind for kind, _, _ in plan)
    assert tasks.report is not None
    stats = tasks.statistics()
    assert stats.started == N
    assert stats.running == 0
    assert stats.started == stats.finished + stats.failed + stats.cancelled
    assert (stats.finished, stats.failed, stats.cancelled) == (
        kinds["ok"],
        kinds["fail"],
        kinds["hang"],
    )

    failing = {j for j, (kind, _, _) in zip(jobs, plan, strict=True) if kind == "fail"}
    failed_events = collections.Counter(e.job for e in events if isinstance(e, TaskFailed))
    assert set(failed_events) == failing
    assert set(failed_events.values()) == {1}

    ends = collections.Counter(
        e.job for e in events if isinstance(e, TaskFinished | TaskFailed | TaskCancelled)
    )
    assert len(ends) == N
    assert set(ends.values()) == {1}
    assert sum(isinstance(e, TaskStarted) for e in events) == N

    late = collections.Counter(kind for kind, delay, _ in plan if delay > 1.5)
    assert (tasks.report.completed, tasks.report.failed, tasks.report.cancelled) == (
        late["ok"],
        late["fail"],
        kinds["hang"],
    )

    hanging = [j for j, (kind, _, _) in zip(jobs, plan, strict=True) if kind == "hang"]
    assert list(tasks.report.cut) == hanging
    assert all(j.state is JobState.CANCELLED for j in hanging)

    logged = collections.Counter(
        record.exc_info[1] for record in collect.records if record.exc_info is not None
    )
    assert len(logged) == len(failing)
    assert set(logged.values()) == {1}
