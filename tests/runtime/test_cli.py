"""The ``arborist`` command line, end to end in a subprocess, and its loaders in-process.

Each end-to-end test runs ``python -m arborist.runtime ...`` in a temporary folder holding small
workflow and application modules (written by the ``project`` fixture). Steps sleep a few
milliseconds inside the subprocess only.
"""

import io
import json
import os
import queue
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import pytest
from cli_in_process import cli

from arborist.runtime import (
    RunFinished,
    RunStarted,
    Runtime,
    StepFailed,
    StepFinished,
    StepRetried,
    StepStarted,
    Workflow,
    WorkflowCancelledError,
    WorkflowFailedError,
)
from arborist.runtime.cli import main
from arborist.runtime.cli._load import (
    UsageError,
    load_app,
    load_target,
    load_workflow,
    parse_input,
    parse_inputs,
)
from arborist.runtime.cli._progress import PlainProgress, RichProgress, describe

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

FLOWS = """
import trio
from arborist.runtime import Workflow

greet = Workflow("greet", inputs=["who", "times"])

@greet.step
async def hello(who, times):
    await trio.sleep(0.01)
    return {"greeting": f"hello {who}", "times": times}

greet.returns("hello")

echo = Workflow("echo", inputs=["value"])

@echo.step
def typed(value):
    return {"value": value, "type": type(value).__name__}

echo.returns("typed")

broken = Workflow("broken", inputs=[])

@broken.step
async def reserve():
    await trio.sleep(0.01)
    return "seat 12"

@broken.step
async def charge(reserve):
    await trio.sleep(0.01)
    raise ValueError("card declined")

SPANS = {}

pair = Workflow("pair", inputs=[])

async def _span(name):
    start = trio.current_time()
    await trio.sleep(0.03)
    SPANS[name] = (start, trio.current_time())

@pair.step
async def first():
    await _span("first")

@pair.step
async def second():
    await _span("second")

@pair.step
def overlap(first, second):
    (a0, a1), (b0, b1) = SPANS["first"], SPANS["second"]
    return a0 < b1 and b0 < a1

pair.returns("overlap")

slow = Workflow("slow", inputs=[])

@slow.step
async def wait_forever():
    await trio.sleep(60)

not_a_workflow = 42

class Opaque:
    pass

unserialisable = Workflow("unserialisable", inputs=[])

@unserialisable.step
def make():
    return Opaque()

unserialisable.returns("make")

rich_types = Workflow("rich_types", inputs=[])

@rich_types.step
def common():
    import dataclasses, datetime, decimal, uuid
    import attrs

    @attrs.frozen
    class Point:
        x: int
        y: int

    @dataclasses.dataclass
    class Money:
        amount: decimal.Decimal
        currency: str

    return {
        "when": datetime.datetime(2026, 12, 1, 8, 30, tzinfo=datetime.timezone.utc),
        "day": datetime.date(2026, 12, 1),
        "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "price": Money(decimal.Decimal("9.95"), "EUR"),
        "tags": {"b", "a"},
        "at": Point(1, 2),
    }

rich_types.returns("common")
"""

APPS = """
import trio
from arborist.actors import Actor
from arborist.runtime import Workflow

class Greeter(Actor):
    def on_receive(self, message):
        return f"hello {message}"

async def app(rt):
    await rt.spawn(Greeter, name="greeter")
    rt.fire_and_forget(trio.sleep, 0.01, name="warm-up")

class Service:
    async def setup(self, rt):
        await rt.spawn(Greeter, name="service-greeter")

service = Service()

async def failing(rt):
    raise RuntimeError("no database at localhost:5432")

async def with_a_long_job(rt):
    rt.fire_and_forget(trio.sleep, 60, name="nightly")

not_callable = 3

async def tick():
    print("tick", flush=True)

async def scheduled(rt):
    from arborist.runtime import every

    rt.schedule("ticker", every(seconds=0.02), tick)

async def two_schedules_and_a_long_job(rt):
    from arborist.runtime import every

    rt.schedule("hourly", every(hours=1), tick)
    rt.schedule("daily", every(hours=24), tick)
    rt.fire_and_forget(trio.sleep, 600, name="nightly")
"""

ONE_FLOW = """
from arborist.runtime import Workflow

only = Workflow("only", inputs=["x"])

@only.step
def double(x):
    return 2 * x

only.returns("double")
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder with workflow and app modules, and one whose import fails."""
    (tmp_path / "flows.py").write_text(textwrap.dedent(FLOWS))
    (tmp_path / "apps.py").write_text(textwrap.dedent(APPS))
    (tmp_path / "one_flow.py").write_text(textwrap.dedent(ONE_FLOW))
    (tmp_path / "explodes.py").write_text("raise ZeroDivisionError('config missing')\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "jobs.py").write_text(textwrap.dedent(ONE_FLOW))
    return tmp_path


@pytest.fixture
def in_project(project, monkeypatch):
    """The project folder as the current directory, its modules forgotten afterwards."""
    monkeypatch.chdir(project)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", os.getcwd())])
    before = set(sys.modules)
    yield project
    for name in set(sys.modules) - before:
        if name.split(".")[0] in {"flows", "apps", "one_flow", "explodes", "pkg"}:
            del sys.modules[name]


def arborist(cwd: Path, *args: str, timeout: float = 20.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "arborist.runtime", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )




def assert_one_line_usage_error(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("arborist: error: ")
    assert "Traceback" not in done.stderr
    for fragment in fragments:
        assert fragment in lines[0]


# -- run ----------------------------------------------------------------------------------------


def test_run_prints_the_result_as_json_on_stdout_and_progress_and_timeline_on_stderr(project):
    done = arborist(project, "run", "flows:greet", "--input", "who=ana", "--input", "times=3")

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"greeting": "hello ana", "times": 3}
    assert "hello" in done.stderr
    assert "started" in done.stderr
    assert re.search(r"^greet [0-9a-f-]{36}: ", done.stderr, re.M)  # the timeline's header
    assert "█ ok" in done.stderr  # the timeline's legend


def test_run_shows_one_progress_line_per_step_event_with_its_time_offset(project):
    done = arborist(project, "run", "flows:greet", "-i", "who=ana", "-i", "times=1")

    lines = [line for line in done.stderr.splitlines() if line.startswith("+")]
    run_id = lines[0].split()[3]
    assert [line.split()[2:4] for line in lines] == [
        ["run", run_id],
        ["hello", "started"],
        ["hello", "ok"],
        ["run", run_id],
    ]
    assert uuid.UUID(run_id).version == 7
    assert all(line[1:].split("s", 1)[0].strip().replace(".", "").isdigit() for line in lines)


def test_run_of_a_file_path_target_loads_the_workflow_from_the_file(in_project, capsys):
    done = cli(capsys, "run", str(in_project / "one_flow.py") + ":only", "-i", "x=21")

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "42"


def test_run_of_a_module_holding_one_workflow_needs_no_attribute(in_project, capsys):
    done = cli(capsys, "run", "pkg.jobs", "-i", "x=5")

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "10"


def test_run_failure_exits_1_naming_the_step_its_cause_and_what_completed(project):
    done = arborist(project, "run", "flows:broken")

    assert done.returncode == 1
    assert done.stdout == ""
    assert "failed at step 'charge': ValueError: card declined" in done.stderr
    assert "completed: reserve" in done.stderr
    assert "cancelled: none" in done.stderr
    assert "undone: none" in done.stderr
    assert re.search(r"^broken [0-9a-f-]{36}: ", done.stderr, re.M)  # the timeline too
    assert "Traceback" not in done.stderr


def test_run_failure_with_debug_shows_the_traceback_of_the_cause(in_project, capsys):
    done = cli(capsys, "run", "--debug", "flows:broken")

    assert done.returncode == 1
    assert "Traceback" in done.stderr
    assert 'raise ValueError("card declined")' in done.stderr


@pytest.mark.parametrize(
    ("text", "value", "kind"),
    [
        ("3", 3, "int"),
        ("2.5", 2.5, "float"),
        ("true", True, "bool"),
        ("null", None, "NoneType"),
        ("[1, 2]", [1, 2], "list"),
        ('{"a": 1}', {"a": 1}, "dict"),
        ('"3"', "3", "str"),
        ("ana", "ana", "str"),
        ("a=b", "a=b", "str"),
        ("", "", "str"),
    ],
)
def test_parse_input_reads_the_value_as_json_when_valid_else_as_a_string(text, value, kind):
    assert parse_input(f"value={text}") == ("value", value)
    assert type(value).__name__ == kind


@pytest.mark.parametrize("text", ['["book","pen"', '{"a": 1', '"unterminated'])
def test_a_value_that_starts_like_json_but_does_not_parse_is_an_error_naming_the_input(text):
    with pytest.raises(UsageError, match=r"--input items=.* looks like JSON but does not parse"):
        parse_input(f"items={text}")


def test_run_with_broken_json_in_an_input_exits_2_naming_the_input(in_project, capsys):
    done = cli(capsys, "run", "flows:echo", "-i", 'value=["book","pen"')

    assert done.returncode == 2
    assert "--input value=" in done.stderr
    assert "looks like JSON" in done.stderr
    assert done.stdout == ""


def test_run_inputs_are_parsed_as_json_or_kept_as_strings(in_project, capsys):
    as_json = cli(capsys, "run", "flows:echo", "--input", "value=[1, 2]")
    as_text = cli(capsys, "run", "flows:echo", "--input", "value=ana")
    from_object = cli(capsys, "run", "flows:echo", "--input-json", '{"value": {"k": 1}}')

    assert json.loads(as_json.stdout) == {"value": [1, 2], "type": "list"}
    assert json.loads(as_text.stdout) == {"value": "ana", "type": "str"}
    assert json.loads(from_object.stdout) == {"value": {"k": 1}, "type": "dict"}


def test_run_runs_independent_steps_concurrently_by_default(in_project, capsys):
    done = cli(capsys, "run", "flows:pair")

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "true"


def test_run_sequential_runs_one_step_at_a_time(project):
    done = arborist(project, "run", "flows:pair", "--sequential")

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "false"


def test_run_max_concurrency_1_runs_one_step_at_a_time(in_project, capsys):
    done = cli(capsys, "run", "flows:pair", "--max-concurrency", "1")

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "false"


def test_run_output_repr_prints_the_python_repr(in_project, capsys):
    done = cli(capsys, "run", "flows:echo", "-i", "value=ana", "--output", "repr")

    assert done.stdout.strip() == "{'value': 'ana', 'type': 'str'}"


def test_run_output_auto_falls_back_to_repr_for_a_result_json_cannot_hold(in_project, capsys):
    done = cli(capsys, "run", "flows:unserialisable")

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("<flows.Opaque object at")


def test_run_output_json_writes_dates_uuids_decimals_sets_attrs_and_dataclasses(
    in_project, capsys
):
    done = cli(capsys, "run", "flows:rich_types", "--output", "json")

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "when": "2026-12-01T08:30:00+00:00",
        "day": "2026-12-01",
        "id": "12345678-1234-5678-1234-567812345678",
        "price": {"amount": "9.95", "currency": "EUR"},
        "tags": ["a", "b"],
        "at": {"x": 1, "y": 2},
    }


def test_run_progress_off_prints_only_the_timeline_on_stderr(in_project, capsys):
    done = cli(capsys, "run", "flows:echo", "-i", "value=1", "--progress", "off")

    assert not [line for line in done.stderr.splitlines() if line.startswith("+")]
    assert re.search(r"^echo [0-9a-f-]{36}: ", done.stderr, re.M)


def test_ctrl_c_during_a_run_cancels_it_and_exits_130(project):
    process = subprocess.Popen(
        [sys.executable, "-m", "arborist.runtime", "run", "flows:slow"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = Lines(process.stderr)
    lines.wait_for("wait_forever  started")

    process.send_signal(signal.SIGINT)

    assert process.wait(timeout=10) == 130
    rest = lines.rest()
    assert re.search(r"cancelling run [0-9a-f-]{36}", rest)
    assert "was cancelled" in rest


# -- usage errors -------------------------------------------------------------------------------


def test_run_of_a_missing_file_is_a_one_line_usage_error(project):
    done = arborist(project, "run", "nowhere/flows.py:greet")

    assert_one_line_usage_error(done, "no file 'nowhere/flows.py'")


def test_run_of_a_missing_module_is_a_one_line_usage_error(in_project, capsys):
    done = cli(capsys, "run", "nosuchmodule:greet")

    assert_one_line_usage_error(done, "no module named 'nosuchmodule'")


def test_a_module_that_raises_on_import_is_a_one_line_usage_error_naming_its_error(project):
    done = arborist(project, "run", "explodes:wf")

    assert_one_line_usage_error(done, "ZeroDivisionError: config missing")


def test_debug_shows_the_traceback_of_an_import_error(in_project, capsys):
    done = cli(capsys, "--debug", "run", "explodes:wf")

    assert done.returncode == 2
    assert "Traceback" in done.stderr
    assert "explodes.py" in done.stderr


def test_run_of_a_missing_attribute_names_the_workflows_of_the_module(in_project, capsys):
    done = cli(capsys, "run", "flows:gret")

    assert_one_line_usage_error(done, "has no attribute 'gret'", "its workflows: ", "greet")


def test_run_of_something_that_is_not_a_workflow_is_a_one_line_usage_error(project):
    done = arborist(project, "run", "flows:not_a_workflow")

    assert_one_line_usage_error(done, "'flows:not_a_workflow' is an int (42), not a Workflow")


def test_run_with_an_input_without_equals_is_a_one_line_usage_error(project):
    done = arborist(project, "run", "flows:greet", "--input", "who")

    assert_one_line_usage_error(done, "--input 'who' has no '='", "--input who=value")


def test_run_with_missing_and_unknown_inputs_says_which_and_what_to_give(project):
    done = arborist(project, "run", "flows:greet", "--input", "whom=ana")

    assert_one_line_usage_error(
        done, "missing inputs 'who', 'times'", "unexpected input 'whom'", "exactly: who, times"
    )


def test_run_with_bad_input_json_is_a_one_line_usage_error(in_project, capsys):
    done = cli(capsys, "run", "flows:echo", "--input-json", "[1]")

    assert_one_line_usage_error(done, "--input-json takes a JSON object")


def test_an_input_given_twice_is_a_one_line_usage_error(in_project, capsys):
    done = cli(capsys, "run", "flows:echo", "-i", "value=1", "--input-json", '{"value": 2}')

    assert_one_line_usage_error(done, "input 'value' is given twice")


def test_a_bad_option_value_is_an_argparse_usage_error(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["run", "flows:echo", "--max-concurrency", "0"])

    assert exited.value.code == 2
    assert "expected a positive integer, got '0'" in capsys.readouterr().err


# -- serve and tree -----------------------------------------------------------------------------


class Lines:
    """Reads a pipe on a thread so a test can wait for a line with a deadline."""

    def __init__(self, pipe) -> None:
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self._thread = threading.Thread(target=self._pump, args=(pipe,), daemon=True)
        self._thread.start()

    def _pump(self, pipe) -> None:
        for line in pipe:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, fragment: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            if line is None:
                raise AssertionError(f"{fragment!r} never came; got {''.join(self.seen)}")
            self.seen.append(line)
            if fragment in line:
                return line

    def rest(self) -> str:
        self._thread.join(timeout=10)
        while not self._queue.empty():
            line = self._queue.get()
            if line is not None:
                self.seen.append(line)
        return "".join(self.seen)


def serve(project: Path, *args: str) -> tuple[subprocess.Popen[str], Lines, Lines]:
    process = subprocess.Popen(
        [sys.executable, "-m", "arborist.runtime", "serve", *args],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return process, Lines(process.stdout), Lines(process.stderr)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_runs_until_a_signal_then_shuts_down_gracefully_and_exits_0(project, signum):
    process, out, err = serve(project, "apps:app")
    banner = out.wait_for("serving")
    assert banner == f"serving apps:app (pid {process.pid}; Ctrl-C to stop)\n"

    process.send_signal(signum)

    assert process.wait(timeout=10) == 0
    printed = out.rest()
    assert f"{signal.Signals(signum).name}: shutting down" in printed
    assert "shutdown: 0 runs finished, 0 cancelled (none); 0 jobs cut;" in printed
    assert "Traceback" not in err.rest()


def test_serve_tree_prints_the_runtime_tree_after_setup(project):
    process, out, _ = serve(project, "apps:app", "--tree")
    out.wait_for("serving")
    out.wait_for("greeter")

    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=10) == 0
    assert "runs" in out.rest()


def test_serve_sets_up_an_object_with_a_setup_method(project):
    process, out, _ = serve(project, "apps:service", "--tree")
    out.wait_for("serving")
    out.wait_for("service-greeter")

    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=10) == 0


def test_serve_reports_the_jobs_it_cut_after_the_shutdown_timeout(project):
    process, out, _ = serve(project, "apps:with_a_long_job", "--shutdown-timeout", "0.2")
    out.wait_for("serving")

    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=10) == 0
    assert "1 jobs cut" in out.rest()


def test_a_second_signal_during_the_shutdown_exits_130_at_once(project):
    process, out, err = serve(project, "apps:with_a_long_job", "--shutdown-timeout", "30")
    out.wait_for("serving")
    process.send_signal(signal.SIGTERM)
    out.wait_for("shutting down")

    process.send_signal(signal.SIGINT)

    assert process.wait(timeout=5) == 130
    assert "SIGINT again: exiting without waiting" in err.rest()


@pytest.mark.skipif(
    not hasattr(Runtime, "schedule"), reason="rt.schedule is not wired into the Runtime yet"
)
def test_serve_runs_the_schedules_of_the_app_and_stops_them_on_sigterm(project):
    process, out, _ = serve(project, "apps:scheduled", "--shutdown-timeout", "2")
    out.wait_for("serving")
    out.wait_for("tick")
    out.wait_for("tick")

    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=10) == 0
    assert "shutdown: " in out.rest()


def test_serve_of_an_app_whose_setup_raises_exits_1_with_one_line(project):
    done = arborist(project, "serve", "apps:failing")

    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == (
        "arborist: error: setting 'apps:failing' up raised RuntimeError: "
        "no database at localhost:5432"
    )
    assert "Traceback" not in done.stderr


def test_serve_of_something_not_callable_is_a_one_line_usage_error(in_project, capsys):
    done = cli(capsys, "serve", "apps:not_callable")

    assert_one_line_usage_error(done, "'apps:not_callable' is an int (3)", "async def app(rt)")


def test_tree_sets_the_app_up_prints_the_runtime_tree_and_exits_0(project):
    done = arborist(project, "tree", "apps")  # the attribute defaults to `app`

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("arborist.runtime")
    for child in ("jobs", "actors", "schedules", "runs", "greeter"):
        assert any(child in line for line in lines), done.stdout


def test_tree_shows_every_schedule_the_app_made_and_does_not_wait_for_its_jobs(project):
    # The app's job would take 10 minutes; its grace time is 60 s: tree waits for neither.
    done = arborist(
        project, "tree", "apps:two_schedules_and_a_long_job", "--shutdown-timeout", "60"
    )

    assert done.returncode == 0, done.stderr
    assert "hourly" in done.stdout
    assert "daily" in done.stdout


def test_tree_prints_the_apps_schedules_as_a_table_after_the_tree(project):
    done = arborist(project, "tree", "apps:two_schedules_and_a_long_job")

    assert done.returncode == 0, done.stderr
    table = done.stdout.split("\n\n", 1)[1].splitlines()
    assert table[0].split()[:2] == ["schedule", "trigger"]
    assert sorted(row.split()[0] for row in table[1:]) == ["daily", "hourly"]


def test_tree_of_the_cli_example_shows_its_inventory_actor():
    done = arborist(EXAMPLES.parent, "tree", "examples/cli_app.py")

    assert done.returncode == 0, done.stderr
    assert "inventory  Inventory  running" in done.stdout


# -- help and version ---------------------------------------------------------------------------


def test_version_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--version"])

    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("arborist 0.")


@pytest.mark.parametrize("command", ["run", "serve", "tree"])
def test_each_command_has_help(capsys, command):
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])

    assert exited.value.code == 0
    assert f"usage: arborist {command}" in capsys.readouterr().out


def test_the_installed_console_script_runs_the_same_command(project):
    script = Path(sys.executable).with_name("arborist")
    if not script.exists():
        pytest.skip("the console script is not installed next to this interpreter")

    done = subprocess.run(
        [str(script), "run", "one_flow:only", "-i", "x=4"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "8"


# -- loaders in-process -------------------------------------------------------------------------


def test_load_workflow_imports_a_module_from_the_current_directory(in_project):
    workflow = load_workflow("flows:greet")

    assert isinstance(workflow, Workflow)
    assert workflow.name == "greet"


def test_load_workflow_reads_a_file_path_and_lets_it_import_its_neighbours(in_project):
    (in_project / "sub").mkdir()
    (in_project / "sub" / "helper.py").write_text("NAME = 'from-helper'\n")
    (in_project / "sub" / "main_flow.py").write_text(
        "from helper import NAME\nfrom arborist.runtime import Workflow\nwf = Workflow(NAME)\n"
    )

    assert load_workflow("sub/main_flow.py:wf").name == "from-helper"


def test_load_target_follows_a_dotted_attribute(in_project):
    obj, name = load_target("apps:service.setup")

    assert callable(obj)
    assert name == "apps:service.setup"


def test_load_workflow_without_attribute_refuses_a_module_with_several_workflows(in_project):
    with pytest.raises(UsageError, match=r"holds 7 workflows \(broken, echo, greet, pair, "):
        load_workflow("flows")


def test_load_target_refuses_a_trailing_colon(in_project):
    with pytest.raises(UsageError, match="ends with ':'"):
        load_target("flows:")


def test_load_app_accepts_a_function_or_an_object_with_setup(in_project):
    assert callable(load_app("apps:app"))
    assert hasattr(load_app("apps:service"), "setup")


def test_a_missing_module_inside_the_target_module_is_reported_as_its_import_error(in_project):
    (in_project / "needs_dep.py").write_text("import not_installed_dependency\n")

    with pytest.raises(UsageError, match="importing it raised ModuleNotFoundError"):
        load_target("needs_dep:x")
    sys.modules.pop("needs_dep", None)


def test_parse_input_refuses_a_key_that_is_not_an_identifier():
    with pytest.raises(UsageError, match="'user-id' is not a valid input name"):
        parse_input("user-id=3")


def test_parse_inputs_merges_items_and_json_objects():
    assert parse_inputs(["a=1", "b=x"], ['{"c": [true]}']) == {"a": 1, "b": "x", "c": [True]}


def test_parse_inputs_refuses_invalid_json():
    with pytest.raises(UsageError, match="is not valid JSON"):
        parse_inputs([], ["{oops"])


# -- progress reporters -------------------------------------------------------------------------


def events():
    error = ValueError("declined [card]")
    failed = WorkflowFailedError(
        workflow="w",
        run_id="w-1",
        step="charge",
        cause=error,
        completed=["load"],
        failed=["charge"],
        cancelled=[],
    )
    return [
        RunStarted("w-1", "w", 10.0),
        StepStarted("w-1", "w", "load", 1, 10.0),
        StepFinished("w-1", "w", "load", 1, 10.25, 0.25),
        StepStarted("w-1", "w", "charge", 1, 10.25),
        StepFailed("w-1", "w", "charge", 1, 10.5, 0.25, error, final=False),
        StepRetried("w-1", "w", "charge", 2, 10.5, 0.1),
        StepStarted("w-1", "w", "charge", 2, 10.6),
        StepFailed("w-1", "w", "charge", 2, 10.7, 0.1, error, final=True),
        RunFinished("w-1", "w", 10.7, 0.7, ok=False, error=failed),
        StepStarted("w-1.child-2", "child", "inner", 1, 10.3),
    ]


def test_plain_progress_writes_one_aligned_line_per_event_with_its_offset():
    stream = io.StringIO()
    progress = PlainProgress(stream, name_width=6)
    progress.open(9.0, None)  # offsets count from the run's start (10.0)

    for event in events():
        progress.on_event(event)

    assert stream.getvalue().splitlines() == [
        "+  0.000s  run w-1 started  workflow 'w'",
        "+  0.000s  load    started",
        "+  0.250s  load    ok         250ms",
        "+  0.250s  charge  started",
        "+  0.500s  charge  failed     250ms, ValueError: declined [card], will retry",
        "+  0.500s  charge  retry      attempt 2 in 100ms",
        "+  0.600s  charge  started    attempt 2",
        "+  0.700s  charge  failed     100ms, ValueError: declined [card]",
        "+  0.700s  run w-1 failed  700ms, at step 'charge'",
        "+  0.300s  w-1.child-2/inner  started",
    ]


def test_rich_progress_draws_a_table_with_a_row_per_step_on_a_terminal():
    rich_console = pytest.importorskip("rich.console")
    stream = io.StringIO()
    console = rich_console.Console(file=stream, force_terminal=True, width=100)
    progress = RichProgress(console, ("load", "charge", "never"))
    progress.open(10.0, None)

    for event in events():
        progress.on_event(event)
    progress.close()

    final = rich_console.Console(file=io.StringIO(), width=100, color_system=None)
    final.print(progress.render())
    table = final.file.getvalue()
    assert "run w-1: failed 700ms, at step 'charge'" in table
    rows = {line.split("│")[1].strip(): line for line in table.splitlines() if "│" in line}
    assert "ok" in rows["load"]
    assert "failed" in rows["charge"]
    assert "declined [card]" in rows["charge"]  # shown as text, not read as markup
    assert "waiting" in rows["never"]
    assert "\x1b[" in stream.getvalue()  # drawn live, with terminal codes


def test_a_note_during_rich_progress_is_printed_above_the_table_not_painted_over():
    rich_console = pytest.importorskip("rich.console")
    stream = io.StringIO()
    console = rich_console.Console(file=stream, force_terminal=True, width=100)
    progress = RichProgress(console, ("load",))
    progress.open(0.0, None)
    progress.on_event(RunStarted("w-1", "w", 0.0))

    progress.note("arborist: interrupted: cancelling run w-1 (Ctrl-C again to stop at once)")
    progress.on_event(StepStarted("w-1", "w", "load", 1, 0.1))
    progress.close()

    text = stream.getvalue()
    assert "interrupted: cancelling run w-1" in text
    assert text.rindex("interrupted: cancelling run w-1") < text.rindex("load")


def test_a_cancelled_run_reads_cancelled_not_failed():
    error = WorkflowCancelledError(workflow="w", run_id="w-1", completed=[], cancelled=["load"])
    line = describe(RunFinished("w-1", "w", 2.0, 2.0, False, error))

    assert line is not None
    assert (line.status, line.detail) == ("cancelled", "2.00s")
