"""open_dashboard: serve a runtime's live dashboard over HTTP on its own trio loop (Hypercorn)."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import attrs
import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from ._app import DEFAULT_HEARTBEAT, DEFAULT_INTERVAL, dashboard_app
from ._state import DashboardState

__all__ = ["DEFAULT_DASHBOARD_PORT", "Dashboard", "is_loopback", "open_dashboard"]

DEFAULT_DASHBOARD_PORT = 8470
"""The port ``arborist serve --dashboard`` listens on when none is given."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@attrs.define(eq=False)
class Dashboard:
    """A dashboard being served (from ``open_dashboard``).

    Attributes:
        url: the page's address, with the token when there is one (open it in a browser).
        state: what it shows, kept from the runtime's events.
    """

    url: str
    state: DashboardState
    _token: str | None = attrs.field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"<Dashboard {self.url.split('?')[0]}>"


def _check_numbers(port: object, interval: object, heartbeat: object) -> None:
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"port must be an int from 0 (any free port) to 65535; got {port!r}")
    for name, value in (("interval", interval), ("heartbeat", heartbeat)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise ValueError(f"{name} must be a number of seconds > 0; got {value!r}")


def _check(host: str, token: str | None, allow_remote: bool) -> None:
    if token is not None and (not isinstance(token, str) or len(token) < 16):
        raise ValueError(
            "token must be a string of at least 16 characters (secrets.token_urlsafe() "
            f"makes one); got {token!r}"
        )
    if is_loopback(host):
        return
    if not allow_remote:
        raise ValueError(
            f"the dashboard serves 127.0.0.1 only; host {host!r} is not a loopback address: "
            "pass allow_remote=True and a token to serve it on other interfaces"
        )
    if token is None:
        raise ValueError(
            f"serving the dashboard on {host!r} (not loopback) needs a token= as well; anyone "
            "who can reach the port would otherwise see the runtime"
        )


@asynccontextmanager
async def open_dashboard(
    rt: Any,
    host: str = "127.0.0.1",
    port: int = DEFAULT_DASHBOARD_PORT,
    *,
    token: str | None = None,
    allow_remote: bool = False,
    interval: float = DEFAULT_INTERVAL,
    heartbeat: float = DEFAULT_HEARTBEAT,
) -> AsyncIterator[Dashboard]:
    """Serve ``rt``'s live dashboard at ``http://host:port/`` while the block runs.

    The server (Hypercorn's trio worker, a Starlette app) runs in the caller's trio loop,
    beside the runtime: open it inside the runtime's ``async with`` block. Leaving the block
    ends the pages' event streams and stops the server (within about a second).

    Args:
        rt: an open ``Runtime``.
        host: the address to listen on: loopback only, unless ``allow_remote``.
        port: the TCP port (0: any free port; ``url`` tells which).
        token: a secret every request must carry (``?token=`` or ``Authorization: Bearer``);
            at least 16 characters. Needed with ``allow_remote``.
        allow_remote: serve a non-loopback ``host`` (with a token).
        interval: the least seconds between two updates of a page.
        heartbeat: the most seconds between two updates of a page.

    Yields:
        The ``Dashboard`` (its ``url``).

    Raises:
        ValueError: a non-loopback host without ``allow_remote`` and a token, a short token,
            a port outside 0-65535, or an interval or heartbeat that is not > 0.
        OSError: the address cannot be bound.
    """
    if not isinstance(host, str) or not host:
        raise ValueError(f"host must be an address such as '127.0.0.1'; got {host!r}")
    _check(host, token, allow_remote)
    _check_numbers(port, interval, heartbeat)
    state = DashboardState(rt)
    closing = trio.Event()
    app = dashboard_app(state, token=token, interval=interval, heartbeat=heartbeat, closing=closing)
    config = Config()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.graceful_timeout = 1.0
    config.accesslog = None
    config.loglevel = "WARNING"  # Hypercorn's "Running on ..." line is the caller's to print
    stop = trio.Event()
    try:
        async with trio.open_nursery() as nursery:
            binds = await nursery.start(
                functools.partial(serve, app, config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]
            )
            url = f"{binds[0]}/" + (f"?token={token}" if token is not None else "")
            try:
                yield Dashboard(url, state, token)
            finally:
                closing.set()
                state.wake()
                stop.set()
    finally:
        state.close()
