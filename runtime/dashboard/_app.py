"""The dashboard's web app: the page, a JSON snapshot and a server-sent event stream (Starlette).

Routes (every one needs the token when the dashboard has one: ``?token=...`` or an
``Authorization: Bearer ...`` header):

- ``GET /``: the page (``_page.PAGE``), which draws what the stream sends;
- ``GET /api/snapshot``: one snapshot (``DashboardState.snapshot``) as JSON;
- ``GET /api/events``: ``text/event-stream``; a snapshot at once, then one whenever an event
  changed something (at most one per ``interval`` seconds), and at least one per
  ``heartbeat`` seconds (running bars grow, next fires count down).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import trio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from ._page import PAGE

if TYPE_CHECKING:
    from ._state import DashboardState

__all__ = ["DEFAULT_HEARTBEAT", "DEFAULT_INTERVAL", "dashboard_app"]

DEFAULT_INTERVAL = 0.25
"""The least number of seconds between two snapshots on the event stream."""

DEFAULT_HEARTBEAT = 2.0
"""The most seconds between two snapshots on the event stream, changed or not."""


def _encode(snapshot: dict[str, Any]) -> str:
    return json.dumps(snapshot, default=str, separators=(",", ":"))


def dashboard_app(
    state: DashboardState,
    *,
    token: str | None = None,
    interval: float = DEFAULT_INTERVAL,
    heartbeat: float = DEFAULT_HEARTBEAT,
    closing: trio.Event | None = None,
) -> Starlette:
    """The dashboard as an ASGI app fed by ``state`` (serve it on the runtime's trio loop).

    Args:
        state: the runtime's ``DashboardState``.
        token: required on every request when given.
        interval: the least seconds between two snapshots on a stream.
        heartbeat: the most seconds between two snapshots on a stream.
        closing: set it to end every open stream (the server is stopping).
    """
    stop = closing if closing is not None else trio.Event()

    def allowed(request: Request) -> bool:
        if token is None:
            return True
        given = request.query_params.get("token", "")
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            given = header[7:]
        return hmac.compare_digest(given.encode(), token.encode())

    def refused() -> Response:
        return PlainTextResponse("a token is needed: open the URL the server printed", 401)

    async def page(request: Request) -> Response:
        if not allowed(request):
            return refused()
        return HTMLResponse(PAGE, headers={"cache-control": "no-store"})

    async def snapshot(request: Request) -> Response:
        if not allowed(request):
            return refused()
        return JSONResponse(json.loads(_encode(await state.snapshot())))

    async def stream() -> AsyncIterator[str]:
        while not stop.is_set():
            current = await state.snapshot()
            yield f"data: {_encode(current)}\n\n"
            with trio.move_on_after(heartbeat):
                await state.wait_changed(current["version"])
            if not stop.is_set():
                await trio.sleep(interval)

    async def events(request: Request) -> Response:
        if not allowed(request):
            return refused()
        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"cache-control": "no-store", "x-accel-buffering": "no"},
        )

    return Starlette(
        routes=[
            Route("/", page),
            Route("/api/snapshot", snapshot),
            Route("/api/events", events),
        ]
    )
