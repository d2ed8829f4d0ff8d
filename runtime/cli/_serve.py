"""``arborist serve`` (an application until SIGINT/SIGTERM) and ``arborist tree``.

Both print the supervision tree (``serve`` with ``--tree``) and then the app's schedules.
"""

from __future__ import annotations

import argparse
import inspect
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

import outcome
import trio

from .._runtime import Runtime
from ._exits import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, PROG
from ._observe import open_observers
from ._schedules import write_schedules

__all__ = ["AppSetupError", "serve", "tree"]


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


async def serve(args: argparse.Namespace, app: Any) -> int:
    out = sys.stdout
    rt = Runtime(shutdown_timeout=args.shutdown_timeout)
    async with rt, open_observers(rt, args, out):
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
                        write_schedules(rt.schedules(), out)
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


async def tree(args: argparse.Namespace, app: Any) -> int:
    async with Runtime(shutdown_timeout=args.shutdown_timeout) as rt:
        await _set_up(app, rt, args.target)
        sys.stdout.write(f"{await rt.tree()}\n")
        write_schedules(rt.schedules(), sys.stdout)
        sys.stdout.flush()
        await rt.aclose(timeout=0)  # only the tree was asked for: no grace for the app's work
    return EXIT_OK
