"""The application's schedules as ``arborist tree`` and ``serve --tree`` print them.

A rich table when ``rich`` is installed and the output is a terminal, else the plain table
``rt.schedules()`` prints (one row per schedule, columns aligned). Nothing when the application
made no schedule.
"""

from __future__ import annotations

from typing import Any, TextIO

from ..schedules._handle import ScheduleTable
from ._progress import rich_available

__all__ = ["rich_schedule_table", "write_schedules"]

_RIGHT = {"runs"}  # numeric columns


def rich_schedule_table(table: ScheduleTable) -> Any:
    """``table`` as a ``rich.table.Table`` (needs ``rich``): the same header and cells."""
    from rich.table import Table
    from rich.text import Text

    header, *rows = table.rows()
    shown = Table(title=Text("schedules"), title_justify="left", expand=False)
    for column in header:
        if column in _RIGHT:
            shown.add_column(column, justify="right", no_wrap=True)
        else:
            shown.add_column(column, no_wrap=column != "trigger")
    for row in rows:
        shown.add_row(*(Text(cell) for cell in row))  # Text, not markup: names stay as they are
    return shown


def write_schedules(table: ScheduleTable, out: TextIO, *, rich: bool | None = None) -> None:
    """Write ``table`` to ``out`` after a blank line, unless it is empty.

    Args:
        table: what ``rt.schedules()`` returned.
        out: where to write (stdout for the CLI).
        rich: True draws a rich table, False the plain one; None (the default) draws a rich
            table when ``rich`` is installed and ``out`` is a terminal.
    """
    if not table:
        return
    if rich is None:
        rich = out.isatty() and rich_available()
    out.write("\n")
    if rich:
        from rich.console import Console

        Console(file=out).print(rich_schedule_table(table))
    else:
        out.write(f"{table}\n")
