"""The dashboard page: one self-contained HTML document (``page.html``: no external files).

Its script opens ``api/events`` (server-sent events, with the page's own ``?token=``) and
redraws on every snapshot: the supervision tree, runs in flight and recent with an SVG Gantt
chart each, schedules with their next fire and recent ticks, pools with their utilisation, and
the store's run history when there is one. Elements carry ``id``/``data-*`` attributes the
tests read.
"""

from __future__ import annotations

from importlib import resources

__all__ = ["PAGE"]

PAGE = resources.files(__package__).joinpath("page.html").read_text(encoding="utf-8")
"""The page's HTML, CSS and script."""
