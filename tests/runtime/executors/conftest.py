"""Real engines for the executor tests: one in-process Dask cluster, one local Ray per session."""

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from arborist.runtime.executors import DaskExecutor


@pytest.fixture(scope="session")
def dask_client() -> Iterator[Any]:
    """A client of an in-process ``LocalCluster`` (1 worker, 2 threads), closed at the end."""
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            processes=False,
            n_workers=1,
            threads_per_worker=2,
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},  # not 8787: may be taken
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        yield client


@pytest.fixture
async def dask(dask_client: Any) -> AsyncIterator[DaskExecutor]:
    """An open ``DaskExecutor`` on the session's client (the client outlives it)."""
    executor = DaskExecutor(client=dask_client)
    await executor.open()
    try:
        yield executor
    finally:
        await executor.aclose()


@pytest.fixture(scope="session")
def ray_session() -> Iterator[Any]:
    """A local Ray (2 CPUs, loopback, no dashboard) for the session; needs the ray extra."""
    ray = pytest.importorskip(
        "ray", reason="ray is not installed: pip install 'arborist[ray]' to run the Ray tests"
    )
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        _node_ip_address="127.0.0.1",
        object_store_memory=200 * 2**20,
    )
    try:
        yield ray
    finally:
        ray.shutdown()
