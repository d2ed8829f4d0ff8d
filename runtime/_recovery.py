"""DurableRuns: a durable runtime's runs in its store: recovery, lookup, resume, cancel by id.

On ``async with Runtime(store=..., workflows=[...])`` (``recover="auto"``) the runtime
recovers, before it accepts new runs:

1. *Reap* the owners that died (their lock is free, or their lease ran out) and *claim* the
   unfinished (``running`` / ``rolling_back``) runs of closed owners, each under a new fence:
   a stale owner's later writes are refused, two runtimes never drive one run.
2. *Gate* each claimed run: its workflow must be registered here, its plan must hash as it
   did when the run started (else the steps added, removed or rewired are named), its pools
   must exist, its stored values must decode, and it must not have been claimed over and
   over (a crash loop). A run that fails a gate is marked ``needs_attention`` with that
   reason and a ``RunNeedsAttention`` event: never resumed blindly, never silently stranded;
   ``rt.resume(run_id)`` retries it once the cause is fixed.
3. *Rebuild* each other run from its journal (``engine._replay``) and start its coordinator:
   completed steps are not run again, cut steps follow their ``on_resume``, waits are
   re-armed, a run that was rolling back finishes its rollback.

Every claimed run's journal is loaded first (at most ``PARALLEL`` reads at once, while nothing
of this store writes, so no read waits for a commit), then the coordinators are started (as
many at once). A child run is started
by whichever comes first: its own recovery (as a top-level run) or its parent's step asking
for it again (in the parent's nursery); never twice.

Then, while the runtime lives, the same sweep runs again every ``store.lease`` seconds
(``keep_recovering``): an owner whose death was not visible yet at start (PostgreSQL notices a
killed client's connection a little later), or another process sharing the store that dies
later, has its unfinished runs taken over here instead of waiting for the next restart.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs
import trio

from .engine._durable_errors import (
    RunNeedsAttentionError,
    RunNotFoundError,
    RunOwnedElsewhereError,
)
from .engine._errors import RuntimeClosedError
from .engine._handle import RunHandle
from .engine._journal import Journal
from .engine._recovery_events import RunNeedsAttention, RunRecovered
from .engine._replay import Resumed, rebuild, stored_outcome
from .store import (
    ACTIVE_RUN_STATUSES,
    DecodeError,
    NotClaimableError,
    RunInfo,
    RunJournal,
    RunStatus,
    StoreError,
)
from .workflow._errors import WorkflowDefinitionError
from .workflow._shape import describe_change, plan_hash

if TYPE_CHECKING:
    from arborist.supervision._events import EventBus

    from ._durability import Durability
    from ._runs import RunLauncher
    from .store import Receipt, Store
    from .workflow._planner import Plan
    from .workflow._workflow import Workflow

__all__ = ["MAX_RECOVERY_ATTEMPTS", "PARALLEL", "DurableRuns", "RecoveryReport"]

MAX_RECOVERY_ATTEMPTS = 10
"""A run claimed from dead owners more often than this is parked as ``needs_attention``."""

PARALLEL = 16
"""How many runs recovery loads and starts at once."""


@attrs.frozen
class RecoveryReport:
    """What a runtime's recovery on ``async with`` did.

    Attributes:
        reaped: owners found dead and closed.
        recovered: runs rebuilt from their journals and started again.
        needs_attention: ``(run_id, reason)`` for each run parked for an operator.
        duration: seconds it took, on trio's clock.
    """

    reaped: int
    recovered: tuple[str, ...]
    needs_attention: tuple[tuple[str, str], ...]
    duration: float


class _Parked(Exception):  # noqa: N818 - an internal signal: the gate's reason
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


Loaded = RunJournal | DecodeError | None
"""A run's journal as the store read it: None (no such run), or the error decoding it."""


def _found(run_id: str, loaded: Loaded) -> RunJournal:
    """The journal read for ``run_id``; a missing run or a bad stored value parks it."""
    if isinstance(loaded, DecodeError):
        raise _Parked(f"a stored value no longer decodes: {loaded}") from loaded
    if loaded is None:
        raise _Parked(f"its journal names run {run_id}, which is not in the store")
    return loaded


class DurableRuns:
    """The store side of a durable runtime's runs (made by the runtime with its store)."""

    def __init__(
        self, launcher: RunLauncher, durability: Durability, events: EventBus[Any]
    ) -> None:
        self._launcher = launcher
        self._durability = durability
        self._events = events
        self._starting: dict[str, trio.Event] = {}
        self.report: RecoveryReport | None = None

    @property
    def store(self) -> Store:
        """The open store."""
        store = self._launcher.services.store
        if store is None:
            raise RuntimeError("the runtime's store is not open")
        return store

    def register(self, workflow: Workflow) -> None:
        """Know ``workflow`` by name (a durable runtime knows every workflow it runs)."""
        self._durability.register(workflow)

    # -- recovery ----------------------------------------------------------------------------

    async def keep_recovering(self, period: float) -> None:
        """Sweep for orphaned runs every ``period`` seconds until the runtime closes."""
        while True:
            await trio.sleep(period)
            try:
                await self.recover_all(record=False)
            except (RuntimeClosedError, StoreError):
                return  # the runtime is closing, or its store failed (that failure is loud)

    async def recover_all(self, *, record: bool = True) -> RecoveryReport:
        """Reap dead owners, claim their unfinished runs and recover each (module docstring)."""
        started = trio.current_time()
        store = self.store
        reaped = await store.reap_dead_owners()
        claimed = await store.claim_orphaned_runs()
        recovered: list[str] = []
        parked: list[tuple[str, str]] = []
        ready: list[tuple[RunInfo, Workflow, Resumed]] = []
        limiter = trio.CapacityLimiter(PARALLEL)
        mine = [info for info in claimed if info.run_id not in self._starting]
        events = {info.run_id: trio.Event() for info in mine}
        self._starting.update(events)

        journals = await store.load_journals(info.run_id for info in mine)

        async def load(info: RunInfo) -> None:
            async with limiter:
                try:
                    wf, resumed = await self._prepare(info, None, journals[info.run_id])
                except _Parked as parked_run:
                    parked.append((info.run_id, parked_run.reason))
                    self._park(info, parked_run.reason)
                else:
                    ready.append((info, wf, resumed))

        try:
            # Load every journal first, while nothing writes (a read waits for this store's
            # pending writes), then start the coordinators.
            async with trio.open_nursery() as nursery:
                for info in mine:
                    nursery.start_soon(load, info)

            async def start(info: RunInfo, wf: Workflow, resumed: Resumed) -> None:
                async with limiter:
                    await self._start(info, wf, resumed, None)
                recovered.append(info.run_id)
                events[info.run_id].set()

            async with trio.open_nursery() as nursery:
                for info, wf, resumed in ready:
                    nursery.start_soon(start, info, wf, resumed)
        finally:
            for run_id, event in events.items():
                event.set()
                self._starting.pop(run_id, None)
        await store.flush()  # the parked runs' status
        report = RecoveryReport(
            reaped=len(reaped),
            recovered=tuple(sorted(recovered)),
            needs_attention=tuple(sorted(parked)),
            duration=trio.current_time() - started,
        )
        if record:
            self.report = report
        return report

    async def _recover(
        self,
        info: RunInfo,
        nursery: trio.Nursery | None,
        *,
        cancel: bool = False,
        workflow: Workflow | None = None,
    ) -> RunHandle:
        """Gate, rebuild and start one claimed run (``info`` carries our fence).

        Raises:
            _Parked: a gate failed; the run is marked ``needs_attention``.
        """
        run_id = info.run_id
        event = self._starting.setdefault(run_id, trio.Event())
        try:
            try:
                wf, resumed = await self._prepare(info, workflow)
            except _Parked as parked:
                await self._park(info, parked.reason)
                raise
            if cancel and resumed.failure is None:
                resumed = attrs.evolve(resumed, cancelled=True)
            return await self._start(info, wf, resumed, nursery)
        finally:
            event.set()
            self._starting.pop(run_id, None)

    async def _start(
        self, info: RunInfo, wf: Workflow, resumed: Resumed, nursery: trio.Nursery | None
    ) -> RunHandle:
        """Start the coordinator of a claimed, rebuilt run, journaling under our fence."""
        store = self.store
        journal = Journal(store.recorder(info), store.wall_clock)
        if info.status not in ACTIVE_RUN_STATUSES:
            journal.recorder.set_status(RunStatus.RUNNING, message=None)
        state = resumed.state
        handle = await self._launcher.launch(
            wf, dict(state.inputs), state.options, info.run_id, nursery,
            journal=journal, resumed=resumed,
        )  # fmt: skip
        if self._events:
            self._events.emit(
                RunRecovered(info.run_id, wf.name, trio.current_time(), info.recovery_attempts)
            )
        return handle

    async def _prepare(
        self, info: RunInfo, workflow: Workflow | None, loaded: Loaded | None = None
    ) -> tuple[Workflow, Resumed]:
        """The gates of the module docstring; the workflow and the rebuilt state.

        ``loaded`` is the run's journal as ``load_journals`` found it (read here if None).
        """
        name = info.workflow
        wf = workflow if workflow is not None else self._durability.workflows.get(name)
        if wf is None:
            raise _Parked(
                f"workflow {name!r} is not registered in this process: pass it as "
                f"Runtime(workflows=[...]) (or to rt.resume(run_id, workflow=...)), then resume"
            )
        if workflow is not None:
            self.register(workflow)
        plan = _plan(wf)
        if plan_hash(plan) != info.plan_hash:
            change = describe_change(info.options.get("plan"), plan)
            raise _Parked(
                f"workflow {name!r} changed since the run started ({change}); its journal may "
                "not fit the new steps: restore the old definition to resume it, or cancel it"
            )
        if info.recovery_attempts > MAX_RECOVERY_ATTEMPTS and workflow is None:
            raise _Parked(
                f"it was recovered {info.recovery_attempts} times: the process running it "
                "keeps dying (a crash loop?); find out why, then rt.resume(run_id)"
            )
        options = {k: v for k, v in info.options.items() if k != "plan"}
        try:
            self._launcher.check(wf, plan, options)
        except WorkflowDefinitionError as exc:
            raise _Parked(f"{exc}; declare it with Runtime(pools={{...}})") from exc
        journal = await self._load(info.run_id) if loaded is None else _found(info.run_id, loaded)
        children: dict[str, tuple[Plan, RunJournal]] = {}
        for row in journal.undo:
            child_id = row.child_run_id
            if child_id is None or child_id in children:
                continue
            child = await self._load(child_id)
            child_wf = self._durability.workflows.get(child.run.workflow)
            if child_wf is None:
                raise _Parked(
                    f"its undo log holds steps of child run {child_id} of workflow "
                    f"{child.run.workflow!r}, which is not registered in this process"
                )
            children[child_id] = (_plan(child_wf), child)
        return wf, rebuild(plan, attrs.evolve(journal, run=info), children=children)

    async def _load(self, run_id: str) -> RunJournal:
        try:
            journal = await self.store.load_journal(run_id)
        except DecodeError as exc:
            return _found(run_id, exc)
        return _found(run_id, journal)

    def _park(self, info: RunInfo, reason: str) -> Receipt:
        """Mark a run ``needs_attention`` with ``reason`` (posted) and emit the event."""
        receipt = self.store.recorder(info).set_status(RunStatus.NEEDS_ATTENTION, message=reason)
        if self._events:
            self._events.emit(
                RunNeedsAttention(info.run_id, info.workflow, trio.current_time(), reason)
            )
        return receipt

    # -- runs by id --------------------------------------------------------------------------

    async def existing(
        self, info: RunInfo, workflow: Workflow, nursery: trio.Nursery | None
    ) -> RunHandle:
        """The handle of a run that already exists under the key asked for (a key, a child).

        A run in flight here: its handle. Unfinished and left by a dead owner (or claimed
        here and not started yet): recovered now, in ``nursery``. Finished, halted or
        parked: a settled handle (its result, or the error it ended with).

        Raises:
            RunOwnedElsewhereError: another live process drives it.
        """
        run_id = info.run_id
        live = await self._live(run_id)
        if live is not None:
            return live
        if info.status not in ACTIVE_RUN_STATUSES:
            return await self._settled(run_id, workflow)
        # Ours to start from here on: a recovery sweep that claimed it skips it (see
        # recover_all), so no coordinator is ever started with the fence this claim replaces.
        event = self._starting.setdefault(run_id, trio.Event())
        try:
            try:
                claimed = await self.store.claim_run(run_id)
            except NotClaimableError as exc:
                raise RunOwnedElsewhereError(
                    run_id, info.owner_id, "its handle is only there"
                ) from exc
            try:
                return await self._recover(claimed, nursery, workflow=workflow)
            except _Parked as parked:
                raise RunNeedsAttentionError(run_id, info.workflow, parked.reason) from None
        finally:
            event.set()
            self._starting.pop(run_id, None)

    async def _live(self, run_id: str) -> RunHandle | None:
        starting = self._starting.get(run_id)
        if starting is not None:
            await starting.wait()
        return self._launcher.live.get(run_id)

    async def _settled(self, run_id: str, workflow: Workflow | None) -> RunHandle:
        journal = await self.store.load_journal(run_id)
        if journal is None:
            raise RunNotFoundError(run_id, " in this runtime's store")
        wf = workflow or self._durability.workflows.get(journal.run.workflow)
        plan = None
        if wf is not None and plan_hash(_plan(wf)) == journal.run.plan_hash:
            plan = _plan(wf)
        value, error = stored_outcome(plan, journal)
        handle = RunHandle(run_id, journal.run.workflow)
        if plan is not None and error is None:
            handle._undo_log = list(rebuild(plan, journal).state.undo_log)
        handle._set(value, error)
        return handle

    async def get_run(self, run_id: str) -> RunHandle:
        """The run's handle: in flight here, or settled from the store (see ``Runtime``)."""
        live = await self._live(run_id)
        if live is not None:
            return live
        info = await self.store.get_run(run_id)
        if info is None:
            raise RunNotFoundError(run_id, " in this runtime nor in its store")
        if info.status in ACTIVE_RUN_STATUSES:
            open_owners = {owner.owner_id for owner in await self.store.list_owners()}
            if info.owner_id in open_owners and info.owner_id != self.store.owner_id:
                raise RunOwnedElsewhereError(
                    run_id, info.owner_id, "ask that process for it, or wait for it to finish"
                )
            raise RunNeedsAttentionError(
                run_id, info.workflow,
                "it is unfinished and not running in any live process: rt.resume(run_id) "
                "continues it here",
            )  # fmt: skip
        return await self._settled(run_id, None)

    async def resume(self, run_id: str, workflow: Workflow | None) -> RunHandle:
        """Claim a halted, parked or orphaned run and start it again; its handle.

        Raises:
            RunNotFoundError: no such run. ValueError: it runs here, or it has finished.
            RunOwnedElsewhereError: a live process drives it.
            RunNeedsAttentionError: it still cannot resume (the reason is recorded).
        """
        if run_id in self._launcher.live:
            raise ValueError(f"run {run_id} is running in this runtime; await its handle")
        store = self.store
        info = await store.get_run(run_id)
        if info is None:
            raise RunNotFoundError(run_id, " in this runtime's store")
        if info.status not in (RunStatus.HALTED, RunStatus.NEEDS_ATTENTION, *ACTIVE_RUN_STATUSES):
            raise ValueError(
                f"run {run_id} has finished ({info.status.value}); there is nothing to resume"
            )
        claimed = await self._claim(info)
        try:
            return await self._recover(claimed, None, workflow=workflow)
        except _Parked as parked:
            raise RunNeedsAttentionError(run_id, info.workflow, parked.reason) from None

    async def _claim(self, info: RunInfo) -> RunInfo:
        try:
            return await self.store.claim_run(info.run_id)
        except NotClaimableError as exc:
            raise RunOwnedElsewhereError(
                info.run_id, info.owner_id, "stop it there first (or wait for it to end)"
            ) from exc

    async def cancel(self, run_id: str, workflow: Workflow | None) -> None:
        """Cancel a run and roll back its completed steps, in memory or from its journal.

        A run in flight here is cancelled through its handle; an unfinished, halted or parked
        run is claimed and rolled back from its journal. Returns once it is cancelled and
        rolled back (no-op for a finished run).
        """
        live = await self._live(run_id)
        if live is None:
            info = await self.store.get_run(run_id)
            if info is None:
                raise RunNotFoundError(run_id, " in this runtime's store")
            if info.status in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED):
                return
            claimed = await self._claim(info)
            try:
                live = await self._recover(claimed, None, cancel=True, workflow=workflow)
            except _Parked as parked:
                raise RunNeedsAttentionError(run_id, info.workflow, parked.reason) from None
        live.cancel()
        await live._done.wait()

    async def runs(
        self,
        *,
        status: RunStatus | str | Iterable[RunStatus | str] | None,
        workflow: str | None,
        limit: int,
    ) -> list[RunInfo]:
        """Runs from the store, newest first."""
        statuses = None if status is None else _statuses(status)
        return await self.store.list_runs(status=statuses, workflow=workflow, limit=limit)


def _plan(workflow: Workflow) -> Plan:
    try:
        return workflow.plan()
    except WorkflowDefinitionError as exc:
        raise _Parked(f"its workflow no longer plans: {exc}") from exc


def _statuses(value: RunStatus | str | Iterable[RunStatus | str]) -> list[RunStatus]:
    items = [value] if isinstance(value, str) else list(value)
    try:
        return [RunStatus(item) for item in items]
    except ValueError:
        raise ValueError(
            f"status must be one of {', '.join(s.value for s in RunStatus)}; got {value!r}"
        ) from None
