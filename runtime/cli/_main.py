"""The ``arborist`` command line: run a workflow, serve an application, print its tree.

Commands (``arborist <command> --help`` for each)::

    arborist run  TARGET [--input k=v]... [--input-json JSON] [--max-concurrency N]
                  [--sequential] [--output auto|json|repr] [--progress auto|plain|rich|off]
    arborist serve TARGET [--tree] [--shutdown-timeout S]
    arborist tree  TARGET

``TARGET`` is ``module:attr`` (importable from the current directory) or
``path/to/file.py:attr``. ``run`` takes a `Workflow` (``:attr`` may be left out when the module
holds one workflow); ``serve`` and ``tree`` take an application: a function called with the
open `Runtime` (``async def app(rt): ...``, the default attribute ``app``) or an object with a
``setup(rt)`` method, which starts the application's actors, jobs and schedules and returns.

Streams: the result of ``run`` is the only thing on stdout (``--output json`` pipes into
``jq``); progress, the timeline and errors go to stderr. ``serve`` and ``tree`` print on stdout.

Exit status: 0 success; 1 the run failed (or the application's setup raised); 2 a usage error
(bad target, bad input, bad option), printed as one line ``arborist: error: ...`` (``--debug``
adds the traceback); 130 interrupted (Ctrl-C during ``run`` cancels the run and rolls it back;
a second Ctrl-C, or a second signal during ``serve``'s graceful shutdown, exits at once).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import inspect
import json
import logging
import os
import shutil
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
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
from ._load import UsageError, load_app, load_workflow, parse_inputs
from ._progress import PROGRESS_EVENTS, PlainProgress, Progress, RichProgress, rich_available

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "AppSetupError",
    "build_parser",
    "main",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

PROG = "arborist"
DEFAULT_TIMELINE_WIDTH = 60


# -- the parser -------------------------------------------------------------------------------


def _version() -> str:
    try:
        return importlib.metadata.version("arborist")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - run from a checkout
        return "unknown"


def _positive_int(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return number


def _seconds(text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        number = -1.0
    if not number >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, got {text!r}")
    return number


def _common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # On a subcommand, SUPPRESS keeps `arborist --debug run ...` from being reset to False.
    default: Any = False if top else argparse.SUPPRESS
    parser.add_argument(
        "--debug",
        action="store_true",
        default=default,
        help="show tracebacks for errors (user errors print one line without it)",
    )


def _shutdown_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--shutdown-timeout",
        type=_seconds,
        default=5.0,
        metavar="S",
        help="seconds runs and jobs get to finish when the runtime shuts down (default: 5)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``arborist`` argument parser (its subcommands: run, serve, tree)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run arborist workflows and applications.",
        epilog="TARGET is module:attr (importable from the current directory) or "
        "path/to/file.py:attr. `arborist <command> --help` describes each command.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    _common(parser, top=True)
    commands = parser.add_subparsers(dest="command", metavar="<command>", required=True)

    run = commands.add_parser(
        "run",
        help="run a workflow with live progress and print its result and timeline",
        description="Run a workflow once: live progress and the timeline on stderr, the "
        "result on stdout. Exit status 0 on success, 1 if the run failed, 2 for a usage error.",
    )
    run.add_argument("target", metavar="TARGET", help="the workflow: module:attr or file.py:attr")
    run.add_argument(
        "-i",
        "--input",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an input of the run (repeatable); VALUE is parsed as JSON when it is valid JSON "
        "(3, true, [1,2], '\"text\"'), else kept as a string",
    )
    run.add_argument(
        "--input-json",
        action="append",
        default=[],
        metavar="JSON",
        help="inputs as a JSON object, e.g. '{\"user_id\": 1}' (repeatable)",
    )
    run.add_argument(
        "--max-concurrency",
        type=_positive_int,
        default=None,
        metavar="N",
        help="at most N steps in flight at once (default: no limit)",
    )
    run.add_argument(
        "--sequential",
        action="store_true",
        help="run one step at a time, in the plan's topological order",
    )
    run.add_argument(
        "--output",
        choices=("auto", "json", "repr"),
        default="auto",
        help="how to print the result: JSON when it can be (auto, the default), JSON or an "
        "error (json), or Python's repr (repr)",
    )
    run.add_argument(
        "--progress",
        choices=("auto", "plain", "rich", "off"),
        default="auto",
        help="live progress on stderr: a rich table on a terminal when rich is installed "
        "(auto), one line per event (plain), or none (off)",
    )
    run.add_argument(
        "--timeline-width",
        type=_positive_int,
        default=None,
        metavar="N",
        help=f"columns of the timeline's bars, at least 10 (default: {DEFAULT_TIMELINE_WIDTH}, "
        "or what fits a terminal)",
    )
    _shutdown_option(run)
    _common(run, top=False)

    serve = commands.add_parser(
        "serve",
        help="set an application up and run it until SIGINT or SIGTERM",
        description="Open a runtime, call the application's setup with it, then run until "
        "SIGINT (Ctrl-C) or SIGTERM; shut down gracefully and print the shutdown report.",
    )
    serve.add_argument(
        "target",
        metavar="TARGET",
        help="the application: module:attr or file.py:attr (attr defaults to 'app'); a "
        "function called with the runtime, or an object with a setup(rt) method",
    )
    serve.add_argument("--tree", action="store_true", help="print the runtime's tree after setup")
    _shutdown_option(serve)
    _common(serve, top=False)

    tree = commands.add_parser(
        "tree",
        help="set an application up, print the runtime's supervision tree, shut down",
        description="Set the application up, print the runtime's supervision tree and shut "
        "down gracefully.",
    )
    tree.add_argument("target", metavar="TARGET", help="the application (as for serve)")
    _shutdown_option(tree)
    _common(tree, top=False)
    return parser


# -- run ----------------------------------------------------------------------------------------


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


def _format_result(value: Any, output: str) -> str:
    if output == "repr":
        return repr(value)
    try:
        return json.dumps(value, indent=2, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        if output == "json":
            raise UsageError(
                f"the result is a {type(value).__name__}, which is not JSON serialisable "
                f"({exc}); use --output repr or --output auto"
            ) from exc
        return repr(value)


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
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """First Ctrl-C: cancel the run (it rolls back). Second: stop waiting for it.

    The receiver is installed before the run starts, so no Ctrl-C reaches the runtime's tasks
    as a raw KeyboardInterrupt.
    """
    with trio.open_signal_receiver(signal.SIGINT) as signals:
        task_status.started()
        async for _ in signals:
            interrupted.append(1)
            if len(interrupted) > 1:
                raise KeyboardInterrupt
            if run:
                _cancel_run(run[0], err)
            # else: the run is still starting; _run cancels it once its handle exists


def _cancel_run(handle: RunHandle, err: IO[str]) -> None:
    err.write(
        f"{PROG}: interrupted: cancelling run {handle.run_id} (Ctrl-C again to stop at once)\n"
    )
    err.flush()
    handle.cancel()


async def _run(args: argparse.Namespace, workflow: Workflow, inputs: dict[str, Any]) -> int:
    err = sys.stderr
    progress = _progress(args, workflow, err)
    width = _timeline_width(args, workflow, err)
    async with Runtime(shutdown_timeout=args.shutdown_timeout) as rt:
        if progress is not None:
            rt.subscribe(progress.on_event, only=PROGRESS_EVENTS)
            progress.open(trio.current_time(), None)
        try:
            interrupted: list[int] = []
            run: list[RunHandle] = []
            async with trio.open_nursery() as nursery:
                await nursery.start(_watch_interrupts, run, err, interrupted)
                started = await outcome.acapture(
                    rt.start,
                    workflow,
                    inputs=inputs,
                    max_concurrency=args.max_concurrency,
                    concurrent=not args.sequential,
                )
                if isinstance(started, outcome.Value):
                    handle = started.unwrap()
                    run.append(handle)
                    if interrupted:  # Ctrl-C arrived while the run was starting
                        _cancel_run(handle, err)
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
        if isinstance(result, outcome.Value):
            sys.stdout.write(_format_result(result.value, args.output) + "\n")
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


def _run_command(args: argparse.Namespace) -> int:
    workflow = load_workflow(args.target)
    inputs = parse_inputs(args.input, args.input_json)
    try:
        workflow.plan().check_inputs(inputs)  # before opening a runtime: a one-line error
    except (WorkflowInputError, WorkflowDefinitionError) as exc:
        raise UsageError(str(exc)) from exc
    return trio.run(_run, args, workflow, inputs)


# -- serve and tree -----------------------------------------------------------------------------


class AppSetupError(Exception):
    """The application's setup raised; the cause is chained."""

    exit_code = EXIT_FAILED


async def _set_up(app: Any, rt: Runtime, name: str) -> None:
    setup: Callable[[Runtime], Any] = getattr(app, "setup", None) or app
    try:
        returned = setup(rt)
        if inspect.isawaitable(returned):
            await returned
    except Exception as exc:
        raise AppSetupError(f"setting {name!r} up raised {type(exc).__name__}: {exc}") from exc


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:  # pragma: no cover - only the two we listen to arrive
        return str(number)


async def _serve(args: argparse.Namespace, app: Any) -> int:
    out = sys.stdout
    async with Runtime(shutdown_timeout=args.shutdown_timeout) as rt:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            received: list[int] = []
            stop = trio.Event()

            async def watch() -> None:
                async for number in signals:
                    received.append(number)
                    if len(received) == 1:
                        stop.set()
                    else:  # a second signal while shutting down: leave at once
                        sys.stderr.write(
                            f"{PROG}: {_signal_name(number)} again: exiting without waiting "
                            "for the shutdown to finish\n"
                        )
                        sys.stderr.flush()
                        out.flush()
                        os._exit(EXIT_INTERRUPTED)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(watch)
                setup = await _until(stop, _set_up, app, rt, args.target)
                if setup is not None:
                    setup.unwrap()  # setup raised: AppSetupError, after the shutdown below
                if not stop.is_set():
                    out.write(f"serving {args.target} (pid {os.getpid()}; Ctrl-C to stop)\n")
                    if args.tree:
                        out.write(f"{await rt.tree()}\n")
                    out.flush()
                    await stop.wait()
                out.write(
                    f"{_signal_name(received[0])}: shutting down (up to "
                    f"{args.shutdown_timeout:g} s for runs and jobs; again to exit at once)\n"
                )
                out.flush()
                report = await rt.aclose()
                out.write(f"shutdown: {report}\n")
                out.flush()
                nursery.cancel_scope.cancel()
    return EXIT_OK


async def _until(
    stop: trio.Event, fn: Callable[..., Any], *args: Any
) -> outcome.Outcome[Any] | None:
    """Await ``fn(*args)`` unless ``stop`` is set first; its error, or None (done or cut)."""
    result: list[outcome.Outcome[Any]] = []
    async with trio.open_nursery() as nursery:

        async def do() -> None:
            result.append(await outcome.acapture(fn, *args))
            nursery.cancel_scope.cancel()

        async def cut() -> None:
            await stop.wait()
            nursery.cancel_scope.cancel()

        nursery.start_soon(do)
        nursery.start_soon(cut)
    if not result or isinstance(result[0], outcome.Value):
        return None
    return result[0]


async def _tree(args: argparse.Namespace, app: Any) -> int:
    async with Runtime(shutdown_timeout=args.shutdown_timeout) as rt:
        await _set_up(app, rt, args.target)
        sys.stdout.write(f"{await rt.tree()}\n")
        sys.stdout.flush()
        await rt.aclose()
    return EXIT_OK


# -- main ---------------------------------------------------------------------------------------


def _single(exc: BaseException) -> BaseException:
    """The one exception inside nested single-member exception groups, else ``exc``."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``arborist`` command line with ``argv`` (default ``sys.argv[1:]``).

    Returns:
        The exit status: 0 ok, 1 run failed, 2 usage error, 130 interrupted.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format=f"{PROG}: %(levelname)s %(name)s: %(message)s"
    )
    try:
        if args.command == "run":
            return _run_command(args)
        app = load_app(args.target)
        return trio.run(_serve if args.command == "serve" else _tree, args, app)
    except BaseException as raised:
        exc = _single(raised)
        if isinstance(exc, UsageError | AppSetupError):
            sys.stderr.write(f"{PROG}: error: {exc}\n")
            if args.debug:
                traceback.print_exception(exc, file=sys.stderr)
            elif exc.__cause__ is not None and isinstance(exc, AppSetupError):
                sys.stderr.write(f"{PROG}: (--debug shows the traceback)\n")
            return exc.exit_code
        if isinstance(exc, KeyboardInterrupt):
            sys.stderr.write(f"{PROG}: interrupted\n")
            return EXIT_INTERRUPTED
        raise
