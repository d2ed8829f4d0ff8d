"""The opcode counter of ``benchmarks/opcodes.py``: deterministic, per operation, per function."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import opcodes
from benchmarks.w2_ask import deque_floor


def sized(size):
    return lambda: deque_floor(size)


def test_the_same_work_counts_nearly_the_same_opcodes_every_time():
    first, _ = opcodes.marginal(sized, 50)
    second, _ = opcodes.marginal(sized, 50)
    assert first > 0
    # trio's scheduler shuffles a little (about 1% apart at 50 asks, 0.3% at 200): not 0.
    assert abs(first - second) / first < 0.05


def test_the_per_function_counts_add_up_to_the_total():
    per_op, count = opcodes.marginal(sized, 20)
    assert sum(count.opcodes.values()) == round(per_op * 20)
    assert count.opcodes["w2_ask.py", "server"] > 0  # the floor's own server task is counted


def test_the_command_prints_each_row_with_its_ratio_to_the_first(capsys):
    assert opcodes.main(["w2", "-n", "20", "--top", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line for line in lines if "opcodes," in line]
    assert [row.split(":")[0] for row in rows] == ["trio deque floor", "arborist Actor"]
    assert "(1.00x the first row)" in rows[0]
    assert len(lines) == 2 + 2 * 2  # each row, then its two costliest functions
