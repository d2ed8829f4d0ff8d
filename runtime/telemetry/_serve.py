"""open_metrics_server: a Prometheus scrape endpoint for one runtime while a block runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import trio
from prometheus_client import start_http_server

from ._prometheus import DEFAULT_REFRESH_INTERVAL

if TYPE_CHECKING:
    from ._prometheus import Metrics

__all__ = ["DEFAULT_METRICS_PORT", "open_metrics_server"]

DEFAULT_METRICS_PORT = 9464
"""The port ``arborist serve --metrics`` listens on when none is given (OpenTelemetry's)."""


@asynccontextmanager
async def open_metrics_server(
    metrics: Metrics,
    host: str = "127.0.0.1",
    port: int = DEFAULT_METRICS_PORT,
    *,
    interval: float = DEFAULT_REFRESH_INTERVAL,
) -> AsyncIterator[tuple[str, int]]:
    """Serve ``metrics.registry`` at ``http://host:port/metrics`` while the block runs.

    The HTTP server is ``prometheus_client``'s (a daemon thread that only reads the registry);
    a trio task refreshes the sampled gauges every ``interval`` seconds (the first sample is
    taken before the block starts). Leaving the block stops both.

    Args:
        metrics: the runtime's ``Metrics``.
        host: the address to listen on (``0.0.0.0`` for every interface).
        port: the TCP port (0: any free port).
        interval: seconds between two samples.

    Yields:
        The address actually listened on, ``(host, port)``.

    Raises:
        OSError: the address cannot be bound (in use, say).
    """
    httpd, _ = start_http_server(port, host, registry=metrics.registry)
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(metrics.run, interval)
            bound = httpd.server_address
            yield str(bound[0]), int(bound[1])
            nursery.cancel_scope.cancel()
    finally:
        with trio.CancelScope(shield=True):
            await trio.to_thread.run_sync(httpd.shutdown)
        httpd.server_close()
