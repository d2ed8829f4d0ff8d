"""Durable-run tests run on SQLite and PostgreSQL through one parametrized fixture.

``store_url`` is the URL of a fresh, empty store for one test: an SQLite file in ``tmp_path``,
or a new schema in the session's throwaway PostgreSQL cluster (``postgres_cluster`` in
``tests/conftest.py``), migrated on first open (``durable_stores.py`` holds the helpers).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import trio.testing

sys.path.insert(0, str(Path(__file__).parent))  # so tests import durable_flows as the child does

from durable_stores import BACKENDS, fresh_store_url


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty store (SQLite, then PostgreSQL)."""
    return fresh_store_url(request, request.param, tmp_path)


@pytest.fixture
def autojump_clock() -> trio.testing.MockClock:
    """pytest-trio's autojump clock, jumping only after 1 ms of real idleness.

    With no threshold the clock jumps whenever trio waits, including while a store call runs
    on a worker thread: a test polling in virtual time (``until``) and the runtime's own timers
    then spin, hundreds of thousands of jumps a test, and the spinning trio thread holds the
    GIL the worker thread needs (a PostgreSQL test took 35 s). A millisecond lets the worker
    finish first; a test waiting only on virtual time pays 1 ms a jump.
    """
    return trio.testing.MockClock(autojump_threshold=0.001)


@pytest.fixture
def thread_patient_clock() -> trio.testing.MockClock:
    """A MockClock that jumps only after 20 ms of real idleness, for tests bounded by a
    virtual-time ``fail_after``: the bound is not run down by the jumps made while store
    calls wait on worker threads."""
    return trio.testing.MockClock(autojump_threshold=0.02)
