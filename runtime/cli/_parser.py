"""The ``arborist`` argument parser: the commands, their options and the option types."""

from __future__ import annotations

import argparse
from typing import Any

from arborist.actors._version import __version__

from ._exits import DEFAULT_TIMELINE_WIDTH, PROG
from ._jobs import add_jobs_parser
from ._observe import add_serve_options, add_trace_option
from ._runs import STORE_ENV, add_runs_parser
from ._schedules_list import add_schedules_parser

__all__ = ["build_parser"]


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
    """The ``arborist`` argument parser (its subcommands: run, serve, tree, runs)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run arborist workflows and applications.",
        epilog="TARGET is module:attr (importable from the current directory) or "
        "path/to/file.py:attr. `arborist <command> --help` describes each command.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
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
    add_trace_option(run)
    run.add_argument(
        "--store",
        metavar="URL",
        default=None,
        help="journal the run to this store (sqlite:///path.db, postgresql://...) so it "
        f"survives a crash and `arborist runs` can show, resume or cancel it (default: "
        f"${STORE_ENV}, else in memory)",
    )
    run.add_argument(
        "--key",
        default=None,
        help="an idempotency key: with a store, a run already started with it is not started "
        "again (its result is printed)",
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
    add_serve_options(serve)
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

    add_runs_parser(commands)
    add_jobs_parser(commands)
    add_schedules_parser(commands)
    return parser
