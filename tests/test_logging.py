"""Logging: silent by default, one logger per subsystem, context on every record, OTP's levels."""

import logging
import subprocess
import sys
import textwrap

import pytest
import trio

from arborist.actors import Actor
from arborist.actors._logging import CONTEXT_KEYS
from arborist.runtime import Runtime, Workflow, every
from arborist.supervision import Restart


def _quick():
    wf = Workflow("quick")

    @wf.step
    async def one():
        return 1

    return wf


class Fragile(Actor):
    async def on_receive(self, message):
        raise RuntimeError("card reader on fire")


def test_the_arborist_logger_has_a_null_handler():
    import arborist.actors  # noqa: F401 - importing any layer installs it

    handlers = logging.getLogger("arborist").handlers
    assert any(isinstance(h, logging.NullHandler) for h in handlers)


def test_a_program_that_configures_no_logging_gets_nothing_from_arborist_on_stderr(tmp_path):
    program = tmp_path / "quiet.py"
    program.write_text(textwrap.dedent('''
        import trio
        from arborist.actors import Actor, open_actor_system

        class Stopper(Actor):
            def on_receive(self, message):
                self.stop()

        async def main():
            async with open_actor_system() as system:
                ref = await system.spawn(Stopper)
                ref.tell("stop")
                ref.tell("left behind")
                await ref.wait_exit()

        trio.run(main)
    '''))
    done = subprocess.run(
        [sys.executable, str(program)], capture_output=True, text=True, timeout=60, check=False
    )

    assert done.returncode == 0
    assert done.stderr == ""


async def test_a_run_starts_and_ends_at_info_with_its_run_id(autojump_clock, caplog):
    with caplog.at_level(logging.INFO, logger="arborist.runtime.engine"):
        async with Runtime() as rt:
            handle = await rt.start(_quick())
            await handle.result()
    engine = [r for r in caplog.records if r.name == "arborist.runtime.engine"]

    assert [r.levelno for r in engine] == [logging.INFO, logging.INFO]
    assert [r.run_id for r in engine] == [handle.run_id, handle.run_id]
    assert "started" in engine[0].getMessage()
    assert "succeeded" in engine[1].getMessage()


async def test_the_runtime_logs_its_start_and_shutdown_at_info(autojump_clock, caplog):
    with caplog.at_level(logging.INFO, logger="arborist.runtime"):
        async with Runtime():
            pass
    messages = [r.getMessage() for r in caplog.records if r.name == "arborist.runtime"]

    assert messages[0].startswith("runtime started")
    assert messages[-1].startswith("runtime shut down:")


async def test_adding_a_schedule_is_logged_at_info(autojump_clock, caplog):
    async def job():
        pass

    with caplog.at_level(logging.INFO, logger="arborist.runtime.schedules"):
        async with Runtime() as rt:
            rt.schedule("report", every(seconds=5), job)

    assert any("schedule 'report' added" in r.getMessage() for r in caplog.records)


async def test_a_supervised_crash_is_an_error_naming_the_reason_and_the_supervisor(
    autojump_clock, caplog
):
    # The logger itself, not only its parent: an example run earlier may have quietened it.
    with caplog.at_level(logging.ERROR, logger="arborist.supervision"):
        async with Runtime() as rt:
            ref = await rt.spawn(Fragile, name="reader")
            ref.tell("read")
            await trio.testing.wait_all_tasks_blocked()
    (record,) = [r for r in caplog.records if "restarting" in r.getMessage()]

    assert record.levelno == logging.ERROR
    assert record.name == "arborist.supervision"
    assert "card reader on fire" in record.getMessage()
    assert record.supervisor is not None
    assert record.exc_info[1].args == ("card reader on fire",)


async def test_a_temporary_childs_crash_is_an_error_and_its_normal_exit_debug(
    autojump_clock, caplog
):
    class Done(Actor):
        def on_receive(self, message):
            self.stop()

    with caplog.at_level(logging.DEBUG, logger="arborist.supervision"):
        async with Runtime() as rt:
            crash = await rt.spawn(Fragile, restart=Restart.TEMPORARY)
            done = await rt.spawn(Done, restart=Restart.TEMPORARY)
            crash.tell("x")
            done.tell("x")
            await trio.testing.wait_all_tasks_blocked()
    retired = {
        r.levelno for r in caplog.records if "not restarted (restart=temporary)" in r.getMessage()
    }

    assert retired == {logging.ERROR, logging.DEBUG}


@pytest.mark.parametrize("logger_name", ["arborist.actors", "arborist.supervision"])
async def test_every_record_of_an_arborist_logger_has_the_context_keys(logger_name, caplog):
    from arborist.actors._logging import get_logger

    with caplog.at_level(logging.INFO, logger=logger_name):
        get_logger(logger_name).info("plain")
    (record,) = caplog.records

    assert all(hasattr(record, key) for key in CONTEXT_KEYS)
    assert record.run_id is None
