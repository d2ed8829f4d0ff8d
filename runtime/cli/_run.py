"""``arborist run``: one workflow run with live progress, its result on stdout, its timeline."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import traceback
from collections.abc import Sequence
from typing import IO, Any

import outcome
import trio

from .._runtime import Runtime
from ..engine._errors import (
    WorkflowCancelledError,
    WorkflowCrashedError,
    WorkflowFailedError,
    WorkflowHaltedError,
)
from ..engine._handle import RunHandle
from ..workflow._errors import WorkflowDefinitionError, WorkflowInputError
from ..workflow._workflow import Workflow
from ._exits import DEFAULT_TIMELINE_WIDTH, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, PROG
from ._load import UsageError, load_workflow, parse_inputs, recorded_target
from ._observe import write_trace
from ._output import format_result
from ._progress import PROGRESS_EVENTS, PlainProgress, Progress, RichProgress, rich_available
from ._runs import STORE_ENV

__all__ = ["run_command"]


def _progress(args: argparse.Namespace, workflow: Workflow, err: IO[str]) -> Progress | None:
    choice = args.progress
    if choice == "off":
        return None
    if choice == "rich" and not rich_available():
        raise UsageError("--progress rich needs the rich package: pip install 'arborist[rich]'")
    if choice == "rich" or (choice == "auto" and err.isatty() and rich_available()):
        from rich.console import Console

        return RichProgress(Console(file=err), tuple(workflow.steps))
    width = max((len(name) for name in workflow.steps), default=4)
    return PlainProgress(err, name_width=width)


def _timeline_width(args: argparse.Namespace, workflow: Workflow, err: IO[str]) -> int:
    if args.timeline_width is not None:
        return max(int(args.timeline_width), 10)
    if not err.isatty():
        return DEFAULT_TIMELINE_WIDTH
    names = max((len(name) for name in workflow.steps), default=4)
    columns = shutil.get_terminal_size((100, 24)).columns
    return max(20, min(100, columns - names - 45))


def _names(names: Sequence[str]) -> str:
    return ", ".join(names) or "none"


def _report_failure(exc: BaseException, err: IO[str], *, debug: bool) -> None:
    match exc:
        case WorkflowFailedError():
            cause = exc.cause
            lines = [
                f"{PROG}: run {exc.run_id} failed at step {exc.step!r}: "
                f"{type(cause).__name__}: {cause}",
                f"  completed: {_names(exc.completed)}",
                f"  cancelled: {_names(exc.cancelled)}",
            ]
            if exc.skipped:
                lines.append(f"  skipped: {_names(exc.skipped)}")
            lines.append(f"  undone: {_names(exc.undone)}")
            lines.extend(
                f"  undo of {step!r} failed: {type(error).__name__}: {error}"
                for step, error in exc.undo_errors
            )
        case _:
            lines = [f"{PROG}: {exc}"]
    err.write("\n".join(lines) + "\n")
    if debug:
        traceback.print_exception(exc, file=err)


async def _watch_interrupts(
    run: list[RunHandle],
    err: IO[str],
    interrupted: list[int],
    progress: Progress | None,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """First Ctrl-C: cancel the run (it rolls back). Second: stop waiting for it.

    The receiver is installed before the run starts, so no Ctrl-C reaches the runtime's tasks
    as a raw KeyboardInterrupt.
    """
    with trio.open_signal_receiver(signal.SIGINT) as signals:
        task_status.started()
        del task_status  # it keeps trio's start() nursery alive (see Cell.hand_over)
        async for _ in signals:
            interrupted.append(1)
            if len(interrupted) > 1:
                raise KeyboardInterrupt
            if run:
                _cancel_run(run[0], err, progress)
            # else: the run is still starting; _run cancels it once its handle exists


def _cancel_run(handle: RunHandle, err: IO[str], progress: Progress | None) -> None:
    text = f"{PROG}: interrupted: cancelling run {handle.run_id} (Ctrl-C again to stop at once)"
    if progress is not None:
        progress.note(text)  # a live display would paint over a plain write
    else:
        err.write(f"{text}\n")
        err.flush()
    handle.cancel()


async def _run(args: argparse.Namespace, workflow: Workflow, inputs: dict[str, Any]) -> int:
    err = sys.stderr
    progress = _progress(args, workflow, err)
    width = _timeline_width(args, workflow, err)
    store = args.store or os.environ.get(STORE_ENV) or None
    try:
        runtime = Runtime(shutdown_timeout=args.shutdown_timeout, store=store)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    async with runtime as rt:
        if progress is not None:
            rt.subscribe(progress.on_event, only=PROGRESS_EVENTS)
            progress.open(trio.current_time(), None)
        try:
            interrupted: list[int] = []
            run: list[RunHandle] = []
            async with trio.open_nursery() as nursery:
                await nursery.start(_watch_interrupts, run, err, interrupted, progress)
                started = await outcome.acapture(
                    rt.start,
                    workflow,
                    inputs=inputs,
                    max_concurrency=args.max_concurrency,
                    concurrent=not args.sequential,
                    key=args.key,
                    target=recorded_target(args.target, workflow) if store else None,
                )
                if isinstance(started, outcome.Value):
                    handle = started.unwrap()
                    run.append(handle)
                    if interrupted:  # Ctrl-C arrived while the run was starting
                        _cancel_run(handle, err, progress)
                    result = await outcome.acapture(handle.result)
                nursery.cancel_scope.cancel()
            if isinstance(started, outcome.Error):
                error = started.error
                if isinstance(error, WorkflowInputError | WorkflowDefinitionError | ValueError):
                    raise UsageError(str(error)) from error
                raise error
        finally:
            if progress is not None:
                progress.close()
        err.write("\n" + handle.timeline(width))
        err.flush()
        if args.trace is not None:
            write_trace(handle, args.trace)
        if isinstance(result, outcome.Value):
            sys.stdout.write(format_result(result.value, args.output) + "\n")
            sys.stdout.flush()
            return EXIT_OK
        error = result.error
        if not isinstance(
            error,
            WorkflowFailedError
            | WorkflowCancelledError
            | WorkflowHaltedError
            | WorkflowCrashedError,
        ):
            result.unwrap()  # a bug: let it propagate with its traceback
        _report_failure(error, err, debug=args.debug)
        if isinstance(error, WorkflowCancelledError) and interrupted:
            return EXIT_INTERRUPTED
        return EXIT_FAILED


def run_command(args: argparse.Namespace) -> int:
    workflow = load_workflow(args.target)
    inputs = parse_inputs(args.input, args.input_json)
    try:
        workflow.plan().check_inputs(inputs)  # before opening a runtime: a one-line error
    except (WorkflowInputError, WorkflowDefinitionError) as exc:
        raise UsageError(str(exc)) from exc
    return trio.run(_run, args, workflow, inputs)
