"""The CLI's observability options: run --trace, serve --metrics and serve --dashboard."""

import argparse
import json
import signal
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

import pytest

from arborist.runtime.cli._observe import parse_address

FLOWS = """
import trio
from arborist.runtime import Retry, Workflow

orders = Workflow("orders")
tries = []

@orders.step(retry=Retry(attempts=2, backoff="constant", delay=0.01))
async def charge():
    tries.append(1)
    await trio.sleep(0.01)
    if len(tries) == 1:
        raise ConnectionError("down")

@orders.step
async def ship(charge):
    await trio.sleep(0.01)
    return "shipped"

broken = Workflow("broken")

@broken.step
async def boom():
    raise RuntimeError("no")

async def app(rt):
    rt.pool("db", limit=2)
    await rt.run(orders)
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "flows.py").write_text(textwrap.dedent(FLOWS))
    return tmp_path


def arborist(cwd, *args, timeout=30.0):
    return subprocess.run(
        [sys.executable, "-m", "arborist.runtime", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _get(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def _serve_until(project, *args, wait_for):
    """Start ``arborist serve``, return the stdout line holding ``wait_for``, then SIGTERM it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "arborist.runtime", "serve", "flows:app", *args],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for line in process.stdout:
        if wait_for in line:
            return process, line
    process.kill()
    raise AssertionError(f"{wait_for!r} never printed; stderr: {process.stderr.read()}")


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("127.0.0.1:9000", ("127.0.0.1", 9000)),
        (":9000", ("127.0.0.1", 9000)),
        ("9000", ("127.0.0.1", 9000)),
        ("0.0.0.0", ("0.0.0.0", 1234)),
        ("[::1]:9000", ("::1", 9000)),
    ],
)
def test_an_address_is_host_and_port_with_defaults(text, address):
    assert parse_address(text, 1234) == address


@pytest.mark.parametrize("text", ["host:port", "127.0.0.1:99999", "[::1]:x"])
def test_a_bad_address_is_refused_naming_it(text):
    with pytest.raises(argparse.ArgumentTypeError, match="HOST:PORT"):
        parse_address(text, 1234)


def test_run_trace_writes_a_chrome_trace_with_one_event_per_attempt(project):
    done = arborist(project, "run", "flows:orders", "--trace", "run.json", "--progress", "off")

    assert done.returncode == 0, done.stderr
    trace = json.loads((project / "run.json").read_text())
    attempts = [(e["name"], e["cat"]) for e in trace["traceEvents"] if e["ph"] == "X"]
    assert attempts == [("charge", "failed"), ("charge", "ok"), ("ship", "ok")]
    complete = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    assert all({"ts", "dur", "pid", "tid"} <= e.keys() for e in complete)


def test_run_trace_is_written_for_a_failed_run_too(project):
    done = arborist(project, "run", "flows:broken", "--trace", "failed.json", "--progress", "off")

    assert done.returncode == 1
    trace = json.loads((project / "failed.json").read_text())
    assert [(e["name"], e["cat"]) for e in trace["traceEvents"] if e["ph"] == "X"] == [
        ("boom", "failed")
    ]


def test_run_trace_into_a_missing_folder_is_a_usage_error_before_the_run(project):
    done = arborist(project, "run", "flows:orders", "--trace", "no/such/dir/t.json")

    assert done.returncode == 2
    assert "the folder 'no/such/dir' does not exist" in done.stderr
    assert done.stdout == ""  # the workflow did not run


def test_serve_metrics_serves_prometheus_text_while_the_app_runs(project):
    process, line = _serve_until(project, "--metrics", "127.0.0.1:0", wait_for="metrics at")
    try:
        next(out for out in process.stdout if out.startswith("serving"))  # setup ran
        body = _get(line.split(" at ", 1)[1].strip())
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0

    assert 'arborist_runs_total{outcome="ok",workflow="orders"} 1.0' in body
    assert "arborist_actors " in body  # sampled when the server started


def test_serve_dashboard_serves_the_page_on_loopback(project):
    process, line = _serve_until(project, "--dashboard", "127.0.0.1:0", wait_for="dashboard at")
    try:
        url = line.split(" at ", 1)[1].strip()
        body = _get(url)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0

    assert url.startswith("http://127.0.0.1:")
    assert "<title>arborist dashboard</title>" in body


def test_serve_dashboard_on_a_non_loopback_address_without_allow_remote_is_a_usage_error(project):
    done = arborist(project, "serve", "flows:app", "--dashboard", "0.0.0.0:0")

    assert done.returncode == 2, done.stderr
    assert "allow_remote=True and a token" in done.stderr
