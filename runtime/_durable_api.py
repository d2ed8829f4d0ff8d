"""The runtime's methods for runs by id: find, resume, cancel and list them.

``Runtime`` mixes them in; with a store they reach runs of earlier processes too, through
``_recovery``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .engine._durable_errors import RunNotFoundError
from .engine._saga import HaltedRun
from .workflow._workflow import Workflow

if TYPE_CHECKING:
    from ._recovery import DurableRuns, RecoveryReport
    from ._runs import RunLauncher
    from .engine._handle import RunHandle
    from .store import RunInfo, RunStatus

__all__ = ["RunsById"]


class RunsById:
    """Runs by id (mixed into ``Runtime``; see each method)."""

    _runs: RunLauncher
    _durable: DurableRuns | None

    def _store_side(self, what: str) -> DurableRuns:
        durable = self._durable
        if durable is None:
            raise RuntimeError(
                f"{what} needs a store: Runtime(store='sqlite:///arborist.db') keeps runs "
                "across restarts; a runtime without one knows only the runs in flight"
            )
        return durable

    @property
    def recovery_report(self) -> RecoveryReport | None:
        """What recovery did when the runtime was entered (None: no store, or ``"manual"``)."""
        return None if self._durable is None else self._durable.report

    async def get_run(self, run_id: str, /) -> RunHandle:
        """The handle of run ``run_id``: ``await handle.result()`` waits for it.

        A run in flight in this runtime (started, resumed or recovered here) gives its live
        handle. With a store, a run that has ended gives a settled handle: ``result()``
        returns its stored result or raises the error it ended with (rebuilt from its
        journal), ``WorkflowHaltedError`` for a halted run, ``RunNeedsAttentionError`` for a
        parked one. Reads the store; never starts anything.

        Raises:
            RunNotFoundError: no such run (here, or in the store).
            RunOwnedElsewhereError: another live process drives it.
            RunNeedsAttentionError: it is unfinished but no live process drives it
                (``rt.resume(run_id)`` continues it here).
        """
        if not isinstance(run_id, str):
            raise TypeError(f"rt.get_run() takes a run id (str); got {run_id!r}")
        live = self._runs.live.get(run_id)
        if live is not None:
            return live
        if self._durable is None:
            raise RunNotFoundError(
                run_id, " in flight in this runtime (without a store, ended runs are forgotten)"
            )
        return await self._durable.get_run(run_id)

    async def resume(self, state: HaltedRun | str, /, *, workflow: Workflow | None = None) -> Any:
        """Resume a halted run and wait for its result; completed steps do not run again.

        Without a store, ``state`` is ``WorkflowHaltedError.state`` and the run resumes in
        memory (as a new run). With a store, ``state`` is a run id (or that state): a halted
        run, a run parked as ``needs_attention`` once its cause is fixed, or an unfinished
        run no live process drives, from this process or an earlier one, is claimed and
        continued from its journal, under its own id.

        Args:
            state: the halted run's state, or (with a store) a run id.
            workflow: the run's workflow, when it is not registered here.

        Raises:
            RunNotFoundError: no such run. ValueError: it is running here or has ended.
            RunNeedsAttentionError: it still cannot resume (the reason says why).
            RunOwnedElsewhereError: another live process drives it.
        """
        if not isinstance(state, HaltedRun | str):
            raise TypeError(
                f"rt.resume() takes WorkflowHaltedError.state or a run id; got {state!r}"
            )
        if self._durable is not None or isinstance(state, str):
            return await self._resume_by_id(state, workflow)
        handle = await self._runs.start(
            state.workflow, dict(state.inputs), dict(state.options), resume=state
        )
        return await handle.result()

    async def _resume_by_id(self, state: HaltedRun | str, workflow: Workflow | None) -> Any:
        durable = self._store_side("rt.resume(run_id)")
        run_id = state.run_id if isinstance(state, HaltedRun) else state
        if isinstance(state, HaltedRun):
            workflow = workflow or state.workflow
        if workflow is not None and not isinstance(workflow, Workflow):
            raise TypeError(f"workflow= takes a Workflow; got {workflow!r}")
        handle = await durable.resume(run_id, workflow)
        return await handle.result()

    async def cancel_run(self, run_id: str, /, *, workflow: Workflow | None = None) -> None:
        """Cancel run ``run_id`` and roll back its completed steps; wait until that is done.

        A run in flight here is cancelled through its handle. With a store, a run that is not
        in memory (halted, parked, or left unfinished by a process that died) is claimed and
        rolled back from its journal, each undo journaled; its undo functions come from its
        workflow (registered, or given as ``workflow=``). A run that has ended is left as it
        is.

        Raises:
            RunNotFoundError: no such run.
            RunOwnedElsewhereError: another live process drives it (cancel it there).
            RunNeedsAttentionError: it cannot be rolled back here (its workflow is not
                registered or changed).
        """
        if not isinstance(run_id, str):
            raise TypeError(f"rt.cancel_run() takes a run id (str); got {run_id!r}")
        if workflow is not None and not isinstance(workflow, Workflow):
            raise TypeError(f"workflow= takes a Workflow; got {workflow!r}")
        live = self._runs.live.get(run_id)
        if live is not None and self._durable is None:
            live.cancel()
            await live._done.wait()
            return
        if self._durable is None:
            raise RunNotFoundError(run_id, " in flight in this runtime")
        await self._durable.cancel(run_id, workflow)

    async def runs(
        self,
        *,
        status: RunStatus | str | Iterable[RunStatus | str] | None = None,
        workflow: str | Workflow | None = None,
        limit: int = 100,
    ) -> list[RunInfo]:
        """The runs recorded in the store, newest first (``RunInfo`` rows, no values).

        Args:
            status: only runs in this status (or these), e.g. ``"halted"``.
            workflow: only runs of this workflow (a name or the workflow).
            limit: at most this many.

        Raises:
            RuntimeError: the runtime has no store.
            ValueError: an unknown status or a bad limit.
        """
        durable = self._store_side("rt.runs()")
        name = workflow.name if isinstance(workflow, Workflow) else workflow
        return await durable.runs(status=status, workflow=name, limit=limit)
