"""The live dashboard: a web page showing a runtime as it runs (the ``dashboard`` extra).

Modelled on OTP's observer, Oban Web and Prefect's UI: the supervision tree (states,
restarts, mailbox sizes), runs in flight and recent with an SVG Gantt chart of their step
attempts, schedules with their next fire and recent ticks, skips and misses, pools with their
utilisation, and, with a durable store, the run history from the journal. The page updates
live over server-sent events.

``async with open_dashboard(rt) as dash:`` serves it on 127.0.0.1 (``dash.url``) from the
runtime's own trio loop (Starlette on anyio, Hypercorn's trio worker); a non-loopback address
needs ``allow_remote=True`` and a ``token``. ``arborist serve TARGET --dashboard`` does the
same from the command line.

It sits on top, like the CLI: it may import ``Runtime`` (the top-level modules), the engine,
schedules, telemetry, workflow and store; nothing below imports it.
"""

from ._app import DEFAULT_HEARTBEAT, DEFAULT_INTERVAL, dashboard_app
from ._server import DEFAULT_DASHBOARD_PORT, Dashboard, is_loopback, open_dashboard
from ._state import DashboardState

__all__ = [
    "DEFAULT_DASHBOARD_PORT",
    "DEFAULT_HEARTBEAT",
    "DEFAULT_INTERVAL",
    "Dashboard",
    "DashboardState",
    "dashboard_app",
    "is_loopback",
    "open_dashboard",
]
