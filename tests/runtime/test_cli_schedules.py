"""The schedules table of ``arborist tree`` / ``serve --tree``: rich on a terminal, else plain."""

import io

import pytest

from arborist.runtime import Runtime, every
from arborist.runtime.cli._schedules import rich_schedule_table, write_schedules


async def tick() -> None:
    pass


async def _two_schedules():
    async with Runtime() as rt:
        rt.schedule("hourly", every(hours=1), tick)
        rt.schedule("[daily]", every(hours=24), tick)
        await rt.tree()  # the schedulers have started
        return rt.schedules()


async def test_the_rich_table_has_the_plain_tables_header_and_a_row_per_schedule(
    autojump_clock,
):
    rich_console = pytest.importorskip("rich.console")  # the optional `rich` extra
    table = await _two_schedules()
    console = rich_console.Console(file=io.StringIO(), width=160, color_system=None)

    console.print(rich_schedule_table(table))

    drawn = console.file.getvalue()
    for cell in table.rows()[0]:
        assert cell in drawn
    assert "hourly" in drawn
    assert "[daily]" in drawn  # a name is text, never rich markup


async def test_plain_output_writes_the_table_rt_schedules_prints(autojump_clock):
    table = await _two_schedules()
    out = io.StringIO()

    write_schedules(table, out, rich=False)

    assert out.getvalue() == f"\n{table}\n"


async def test_output_that_is_not_a_terminal_gets_the_plain_table(autojump_clock):
    table = await _two_schedules()
    out = io.StringIO()

    write_schedules(table, out)

    assert out.getvalue() == f"\n{table}\n"


async def test_an_app_without_schedules_prints_no_table(autojump_clock):
    async with Runtime() as rt:
        table = rt.schedules()
    out = io.StringIO()

    write_schedules(table, out)

    assert out.getvalue() == ""
