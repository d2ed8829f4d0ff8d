"""Embedding: the runtime inside threaded programs and asyncio programs.

- ``BackgroundRuntime`` (made by ``Runtime.background()``): trio and the runtime on a thread of
  their own, with a thread-safe blocking API for Flask, Django and plain threads.
- ``AsyncioRuntime`` (made by ``open_asyncio_runtime()``): trio in guest mode on the running
  asyncio loop, for FastAPI and aiohttp: coroutines where the trio Runtime's verb is async,
  plain calls where it is plain.

Both expose the trio ``Runtime``'s verbs with the same meaning (``start`` gives a
``ThreadRunHandle`` / ``AsyncioRunHandle``), plus ``call(fn, *args)`` to run anything on the
trio side.

Both are given a factory of the runtime they host, so this package does not depend on
``Runtime``: it may import ``arborist.actors``, ``arborist.supervision`` and trio, and the rest
of ``arborist.runtime`` only for type checking.
"""

from ._asyncio import AsyncioRuntime, open_guest_runtime
from ._background import BackgroundRuntime
from ._handles import AsyncioRunHandle, ThreadRunHandle
from ._host import Host, RuntimeFactory

__all__ = [
    "AsyncioRunHandle",
    "AsyncioRuntime",
    "BackgroundRuntime",
    "Host",
    "RuntimeFactory",
    "ThreadRunHandle",
    "open_guest_runtime",
]
