"""The ``arborist`` command line: run a workflow, serve an application, print its tree.

Commands (``arborist <command> --help`` for each)::

    arborist run  TARGET [--input k=v]... [--input-json JSON] [--max-concurrency N]
                  [--sequential] [--output auto|json|repr] [--progress auto|plain|rich|off]
                  [--trace FILE]
    arborist serve TARGET [--tree] [--shutdown-timeout S] [--metrics HOST:PORT]
                  [--dashboard [HOST:PORT]] [--dashboard-token TOKEN] [--allow-remote]
    arborist tree  TARGET
    arborist runs  list|show|resume|cancel|prune [--store URL]   (default $ARBORIST_STORE)
    arborist jobs  list|prune [--store URL]

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

import logging
import sys
import traceback
from collections.abc import Sequence

import trio

from ._exits import EXIT_INTERRUPTED, PROG
from ._jobs import jobs_command
from ._load import UsageError, load_app
from ._parser import build_parser
from ._run import run_command
from ._runs import runs_command
from ._schedules_list import schedules_command
from ._serve import AppSetupError, serve, tree

__all__ = ["main"]


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
        direct = {
            "run": run_command,
            "runs": runs_command,
            "jobs": jobs_command,
            "schedules": schedules_command,
        }.get(args.command)
        if direct is not None:
            return direct(args)
        app = load_app(args.target)
        return trio.run(serve if args.command == "serve" else tree, args, app)
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
