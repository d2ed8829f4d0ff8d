"""The soak's driver (W11): its configuration, and the tasks that start, cancel and crash things.

``Driver`` paces each kind of load on the real clock (runs, jobs, messages), keeps the runs it
started in flight (at most ``max_in_flight`` holding a slot), cancels the runs whose plan says
so, and runs the chaos: a worker crashed or killed, or a scheduler killed, every
``chaos_every`` seconds (alternating, so each supervisor sees one restart per two seconds, under
its intensity of 3 in 5 s), and every ``burst_every`` seconds the extra actor ``soak-victim``
killed five times in a row (a crash loop).
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import trio

from arborist.runtime import (
    Runtime,
    ScheduleHandle,
    WorkflowCancelledError,
    WorkflowCrashedError,
    WorkflowFailedError,
    every,
)
from benchmarks._soak_ledger import Ledger
from benchmarks._soak_load import (
    Ask,
    Boom,
    Plan,
    Tell,
    Worker,
    build_workflows,
    draw_plan,
    fire_job,
    schedule_job,
    sync_schedule_job,
)
from benchmarks._soak_ticks import ScheduleBook

__all__ = ["DEFAULT_SECONDS", "SCHEDULES", "TICK_MARGIN", "Driver", "SoakConfig"]

DEFAULT_SECONDS = 300.0
WORKERS = 6
VICTIM = "soak-victim"
SLOT_HOLD = 5.0
"""A run holds its in-flight slot at most this long (a hung run must not stall the load)."""
TICK_MARGIN = 1.0
"""Ticks due this close to a schedule's removal may not have been evaluated yet."""


@attrs.frozen
class SoakConfig:
    """How long and how hard the soak runs (rates are per second of the real clock)."""

    seconds: float = DEFAULT_SECONDS
    seed: int = 11
    run_rate: float = 30.0
    max_in_flight: int = 24
    cancel_share: float = 0.15
    job_rate: float = 40.0
    message_rate: float = 150.0
    chaos_every: float = 1.0
    burst_every: float | None = 60.0
    drain: float = 10.0
    shutdown_timeout: float = 1.0
    sample_every: float = 1.0
    warmup: float | None = None
    """Seconds of samples left out of the slope (default: 20% of the soak, at most 60 s)."""

    @property
    def warmup_seconds(self) -> float:
        """The warm-up actually used."""
        return min(60.0, 0.2 * self.seconds) if self.warmup is None else self.warmup


# (name, period, overlap, kind, job options, schedule options)
SCHEDULES: tuple[tuple[str, float, str, str, dict[str, Any], dict[str, Any]], ...] = (
    ("skip", 0.1, "skip", "async", {"low": 0.02, "high": 0.25}, {}),
    ("buffer_one", 0.1, "buffer_one", "async", {"low": 0.02, "high": 0.2}, {}),
    ("buffer_all", 0.2, "buffer_all", "async", {"low": 0.02, "high": 0.3}, {}),
    ("cancel_other", 0.1, "cancel_other", "async", {"low": 0.02, "high": 0.2, "nursery": True}, {}),
    ("allow", 0.1, "allow", "async", {"low": 0.02, "high": 0.3, "fail_every": 7}, {"timeout": 0.3}),
    ("nursery", 0.15, "skip", "async", {"low": 0.05, "high": 0.3, "nursery": True}, {}),
    ("thread", 0.3, "skip", "sync", {}, {}),
    ("workflow", 0.25, "skip", "workflow", {}, {}),
)


class Driver:
    """The load of one soak in one runtime (see the module docstring)."""

    def __init__(self, config: SoakConfig, rt: Runtime, ledger: Ledger) -> None:
        self.config = config
        self.rt = rt
        self.ledger = ledger
        self.rng = random.Random(config.seed)
        self.workflows = build_workflows(ledger)
        self.slots = trio.Semaphore(config.max_in_flight)
        self.handles: dict[str, Any] = {}  # open driver runs, for the shutdown check
        self.schedules: dict[str, ScheduleHandle] = {}
        self.workers = [f"soak-worker-{i}" for i in range(WORKERS)]
        self.chaos = 0
        self.running = True
        self._job_token = self._seq = 0

    async def drive(
        self,
        rate: float,
        action: Callable[[trio.Nursery | None], Awaitable[None]],
        nursery: trio.Nursery | None,
    ) -> None:
        """Call ``action`` ``rate`` times per second until the load stops (never cut mid-call).

        Behind schedule, it catches up at most one second's worth at once.
        """
        interval = 1.0 / rate
        due = trio.current_time()
        while self.running:
            due = max(due + interval, trio.current_time() - 1.0)
            await trio.sleep_until(due)
            if self.running:
                await action(nursery)

    # -- setup ---------------------------------------------------------------------------------

    async def setup(self) -> None:
        for name in (*self.workers, VICTIM):
            await self.rt.spawn(Worker, self.ledger, name=name)
        for name, period, overlap, kind, job_options, schedule_options in SCHEDULES:
            job: Any
            options = dict(schedule_options)
            if kind == "workflow":
                job = self.workflows["scheduled"]
                options["inputs"] = {"plan": Plan("scheduled", items=5, delay=0.004)}
            elif kind == "sync":
                job = sync_schedule_job(self.ledger, name)
            else:
                rng = random.Random(f"{self.config.seed}-{name}")
                job = schedule_job(self.ledger, name, rng, **job_options)
            anchor = trio.current_time()  # rt.schedule anchors the grid at this same instant
            book = ScheduleBook(name, period, anchor, kind, self.ledger.problems)
            self.ledger.add_schedule(book)
            self.schedules[name] = self.rt.schedule(
                name, every(seconds=period), job, overlap=overlap, **options
            )

    # -- runs ----------------------------------------------------------------------------------

    async def start_run(self, waiters: trio.Nursery | None) -> None:
        assert waiters is not None
        plan = draw_plan(self.rng, cancel_share=self.config.cancel_share)
        await self.slots.acquire()
        try:
            handle = await self.rt.start(self.workflows[plan.shape], plan=plan)
        except Exception as error:
            self.slots.release()
            self.ledger.run_refused(error)
            return
        self.ledger.run_started(handle.run_id, plan)
        self.handles[handle.run_id] = handle
        waiters.start_soon(self.wait_run, handle)
        if plan.cancel_after is not None:
            waiters.start_soon(self.cancel_later, handle, plan.cancel_after)

    async def cancel_later(self, handle: Any, delay: float) -> None:
        await trio.sleep(delay)
        self.ledger.run_cancel_requested(handle.run_id)
        handle.cancel()

    async def wait_run(self, handle: Any) -> None:
        outcome = None
        with trio.move_on_after(SLOT_HOLD):
            outcome = await _outcome(handle)
        self.slots.release()
        if outcome is None:
            outcome = await _outcome(handle)
        del self.handles[handle.run_id]
        self.ledger.run_outcome(handle.run_id, outcome)

    # -- jobs and messages ---------------------------------------------------------------------

    async def fire(self, _: trio.Nursery | None) -> None:
        self._job_token += 1
        token = self._job_token
        fail = self.rng.random() < 0.2
        delay = self.rng.uniform(0.0, 0.02)
        try:
            job = self.rt.fire_and_forget(fire_job, self.ledger, token, delay, fail)
        except Exception as error:
            self.ledger.job_refused(error)
        else:
            self.ledger.job_fired(job.id, token, fail)

    async def message(self, waiters: trio.Nursery | None) -> None:
        assert waiters is not None
        name = self.rng.choice((*self.workers, VICTIM))
        if self.rng.random() < 0.5:
            try:
                ref = self.rt.system.resolve(name)
                ref.tell(Tell())
            except Exception as error:
                self.ledger.tell_refused(error)
            else:
                self.ledger.tell_sent(ref)
            return
        self._seq += 1
        self.ledger.asks_sent += 1
        self.ledger.asks_open += 1
        waiters.start_soon(self.ask, name, self._seq, self.rng.choice((0.0, 0.0, 0.002)))

    async def ask(self, name: str, seq: int, delay: float) -> None:
        try:
            reply = await self.rt.system.ask(name, Ask(seq, delay), timeout=2.0)
        except Exception as error:
            self.ledger.ask_done(seq, None, error)
        else:
            self.ledger.ask_done(seq, reply, None)

    # -- chaos ---------------------------------------------------------------------------------

    async def chaos_loop(self) -> None:
        beat = 0
        while True:
            await trio.sleep(self.config.chaos_every)
            beat += 1
            if beat % 2:  # a worker: crash it (queued messages first) or kill it
                ref = self.rt.system.whereis(self.rng.choice(self.workers))
                if ref is not None:
                    if beat % 4 == 1:
                        ref.kill()
                    else:
                        try:
                            ref.tell(Boom())
                        except Exception:
                            continue
                    self.chaos += 1
            else:  # a scheduler
                handle = self.schedules[self.rng.choice(sorted(self.schedules))]
                scheduler = handle.ref
                if scheduler is not None and scheduler.is_alive:
                    scheduler.kill()
                    self.chaos += 1

    async def burst_loop(self, every: float) -> None:
        await trio.sleep(every / 2)
        while True:
            for _ in range(5):  # more than the actors supervisor's 3 restarts in 5 s
                ref = None
                with trio.move_on_after(1.0):
                    while (ref := self.rt.system.whereis(VICTIM)) is None:  # noqa: ASYNC110
                        await trio.sleep(0.01)  # polling the registry: it has no event to wait on
                if ref is None:
                    break
                ref.kill()
                self.chaos += 1
                await ref.wait_exit()
            await trio.sleep(every)

    # -- the end -------------------------------------------------------------------------------

    async def remove_schedules(self) -> dict[str, tuple[int, float]]:
        """Remove every schedule; return how many ticks each had consumed, and when."""
        stops: dict[str, tuple[int, float]] = {}
        for name, handle in self.schedules.items():
            book = self.ledger.schedules[name]
            info = handle.info()
            consumed = 0
            if info.next_time is not None:  # tick n is due at anchor + n * period
                consumed = round((info.next_time - book.anchor) / book.period) - 1
            stops[name] = (consumed, trio.current_time())
            try:
                await handle.remove()
            except Exception as error:
                self.ledger.problems.add("schedule removal failed", f"{name}: {error!r}")
        return stops

    def settled(self) -> bool:
        ledger = self.ledger
        return (
            not self.handles
            and not ledger.open_runs()
            and not ledger.open_jobs()
            and ledger.asks_open == 0
            and ledger.tells_pending() == 0
            and not any(book.open_runs() for book in ledger.schedules.values())
        )


async def _outcome(handle: Any) -> str:
    try:
        await handle.result()
    except WorkflowFailedError:
        return "failed"
    except WorkflowCancelledError:
        return "cancelled"
    except WorkflowCrashedError:
        return "crashed"
    except Exception as error:
        return f"raised {type(error).__name__}"
    return "ok"
