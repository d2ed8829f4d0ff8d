"""A user's typed program passes ``mypy --strict`` against the installed arborist.

The program (``tests/typing/user_program.py``) uses the three packages as the README shows
them. mypy runs in a fresh process from a folder of its own, so it finds arborist the way a
user's checker does: installed in the environment (``make`` adds a path of links beside the
editable install, which type checkers cannot follow).
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROGRAM = Path(__file__).resolve().parent / "typing" / "user_program.py"


def test_a_typed_user_program_passes_mypy_strict(tmp_path):
    pytest.importorskip("mypy", reason="mypy is in the test extra: `make test` installs it")
    program = tmp_path / "user_program.py"
    shutil.copy(PROGRAM, program)

    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(program)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr


async def test_the_typed_user_program_also_runs(capsys):
    # The real clock: the program's `price` is a `def` step (a worker thread) with a 2 s
    # timeout, and under autojump_clock the virtual clock jumps past it while the thread is
    # still starting on a busy machine (it failed 2 runs in 5 on main so). It sleeps nowhere.
    sys.path.insert(0, str(PROGRAM.parent))
    try:
        import user_program
    finally:
        sys.path.pop(0)

    await user_program.main()

    out = capsys.readouterr().out
    assert out.startswith("audited 42\n")
    assert "84 84" in out
