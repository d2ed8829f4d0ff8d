"""The CLI's observability options: ``run --trace``, ``serve --metrics`` and ``--dashboard``.

``add_trace_option``/``add_serve_options`` declare them on the parser; ``write_trace`` writes a
run's Chrome trace; ``open_observers`` serves Prometheus metrics and the dashboard beside a
runtime for as long as ``serve`` runs, printing where. A missing extra is a usage error that
names what to install.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ._load import UsageError

if TYPE_CHECKING:
    from .._runtime import Runtime
    from ..engine._handle import RunHandle

__all__ = [
    "DASHBOARD_TOKEN_ENV",
    "add_serve_options",
    "add_trace_option",
    "open_observers",
    "parse_address",
    "write_trace",
]

DASHBOARD_TOKEN_ENV = "ARBORIST_DASHBOARD_TOKEN"
"""The environment variable ``--dashboard-token`` falls back to."""

_METRICS_PORT = 9464
_DASHBOARD_PORT = 8470


def parse_address(text: str, default_port: int) -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT``, ``PORT`` or ``HOST`` (``[::1]:PORT`` for IPv6) as a pair."""
    host, port_text = "127.0.0.1", ""
    if text.startswith("["):
        bracket = text.find("]")
        host, rest = text[1:bracket], text[bracket + 1 :]
        port_text = rest.removeprefix(":")
    elif text.isdigit():
        port_text = text
    elif ":" in text:
        host, port_text = text.rsplit(":", 1)
        host = host or "127.0.0.1"
    else:
        host = text
    try:
        port = int(port_text) if port_text else default_port
    except ValueError:
        port = -1
    if not 0 <= port <= 65535 or not host:
        raise argparse.ArgumentTypeError(
            f"expected HOST:PORT (e.g. 127.0.0.1:{default_port}) or a port, got {text!r}"
        )
    return host, port


def _trace_path(text: str) -> Path:
    """A file to write the trace to: its folder must exist (checked before the run)."""
    path = Path(text)
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(
            f"cannot write {text!r}: the folder {str(path.parent)!r} does not exist"
        )
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder; name a file, e.g. run.json")
    return path


def add_trace_option(run: argparse.ArgumentParser) -> None:
    """``--trace FILE`` on ``arborist run`` (its folder must exist)."""
    run.add_argument(
        "--trace",
        type=_trace_path,
        default=None,
        metavar="FILE",
        help="write the run's timeline as a Chrome trace (JSON) to FILE, for Perfetto "
        "(ui.perfetto.dev) or chrome://tracing",
    )


def add_serve_options(serve: argparse.ArgumentParser) -> None:
    """``--metrics``, ``--dashboard``, ``--dashboard-token``, ``--allow-remote`` on serve."""
    serve.add_argument(
        "--metrics",
        type=lambda text: parse_address(text, _METRICS_PORT),
        default=None,
        metavar="HOST:PORT",
        help="serve Prometheus metrics at http://HOST:PORT/metrics (needs arborist[prometheus])",
    )
    serve.add_argument(
        "--dashboard",
        type=lambda text: parse_address(text, _DASHBOARD_PORT),
        nargs="?",
        const=("127.0.0.1", _DASHBOARD_PORT),
        default=None,
        metavar="HOST:PORT",
        help=f"serve the live dashboard (default 127.0.0.1:{_DASHBOARD_PORT}; needs "
        "arborist[dashboard])",
    )
    serve.add_argument(
        "--dashboard-token",
        default=None,
        metavar="TOKEN",
        help=f"require TOKEN on every dashboard request (default: ${DASHBOARD_TOKEN_ENV})",
    )
    serve.add_argument(
        "--allow-remote",
        action="store_true",
        help="let --dashboard listen on a non-loopback address (a token is then required)",
    )


def write_trace(handle: RunHandle, path: Path) -> None:
    """Write ``handle.trace()`` as JSON to ``path``."""
    try:
        path.write_text(json.dumps(handle.trace()) + "\n", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--trace {path}: cannot write the trace: {exc}") from exc


def _missing(option: str, extra: str, exc: ImportError) -> UsageError:
    return UsageError(f"{option} needs the {extra} extra: pip install 'arborist[{extra}]' ({exc})")


@asynccontextmanager
async def open_observers(rt: Runtime, args: Any, out: IO[str]) -> AsyncIterator[None]:
    """Serve ``--metrics`` and ``--dashboard`` (when given) while the block runs."""
    async with AsyncExitStack() as stack:
        metrics_at = getattr(args, "metrics", None)
        if metrics_at is not None:
            try:
                from ..telemetry import Metrics, open_metrics_server
            except ImportError as exc:
                raise _missing("--metrics", "prometheus", exc) from exc
            try:
                host, port = await stack.enter_async_context(
                    open_metrics_server(Metrics(rt), *metrics_at)
                )
            except OSError as exc:
                raise UsageError(f"--metrics {metrics_at[0]}:{metrics_at[1]}: {exc}") from exc
            out.write(f"metrics at http://{host}:{port}/metrics\n")
        dashboard_at = getattr(args, "dashboard", None)
        if dashboard_at is not None:
            try:
                from ..dashboard import open_dashboard
            except ImportError as exc:
                raise _missing("--dashboard", "dashboard", exc) from exc
            token = args.dashboard_token or os.environ.get(DASHBOARD_TOKEN_ENV) or None
            try:
                dash = await stack.enter_async_context(
                    open_dashboard(rt, *dashboard_at, token=token, allow_remote=args.allow_remote)
                )
            except (ValueError, OSError) as exc:
                raise UsageError(f"--dashboard: {exc}") from exc
            out.write(f"dashboard at {dash.url}\n")
        out.flush()
        yield
