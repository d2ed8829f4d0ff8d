"""An asyncio web service that runs workflows through arborist in trio guest mode.

``open_asyncio_runtime()`` runs the runtime inside the asyncio loop (one thread, both event
loops). The service is a tiny HTTP server on ``asyncio.start_server``; each request awaits a
workflow run (``await rt.run(...)``) and fires an audit job. The demo serves on 127.0.0.1 (a
free port), sends four concurrent requests, and shuts down.

Expected output::

    /profile/1 -> 200 user 1: 3 orders, status gold
    /profile/2 -> 200 user 2: 6 orders, status gold
    /profile/3 -> 200 user 3: 9 orders, status gold
    /profile/x -> 404 no such route
    audit jobs run: 3
    shutdown: 0 runs finished, 0 cancelled (none); 0 jobs cut
"""

import asyncio
from collections.abc import Awaitable, Callable

import trio

from arborist.runtime import AsyncioRuntime, Workflow, open_asyncio_runtime

REAL_CLOCK = True  # an asyncio loop and sockets: the example test runs it on the real clock

profile = Workflow("profile", inputs=["user"])


@profile.step
async def orders(user: int) -> int:
    await trio.sleep(0.01)  # a database call
    return 3 * user


@profile.step
async def status(user: int) -> str:
    await trio.sleep(0.01)  # another service, concurrently
    return "gold"


@profile.step
async def summary(user: int, orders: int, status: str) -> str:
    return f"user {user}: {orders} orders, status {status}"


profile.returns("summary")
audited: list[int] = []


async def audit(user: int) -> None:
    audited.append(user)


def make_handler(rt: AsyncioRuntime) -> Callable[..., Awaitable[None]]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = (await reader.readline()).decode().split()
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        path = request[1] if len(request) > 1 else "/"
        parts = path.strip("/").split("/")
        if len(parts) == 2 and parts[0] == "profile" and parts[1].isdigit():
            user = int(parts[1])
            status, body = 200, await rt.run(profile, user=user)
            rt.fire_and_forget(audit, user)  # a plain call, as on the trio Runtime
        else:
            status, body = 404, "no such route"
        data = body.encode()
        writer.write(
            f"HTTP/1.1 {status} X\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data
        )
        await writer.drain()
        writer.close()

    return handle


async def fetch(port: int, path: str) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: demo\r\n\r\n".encode())
    await writer.drain()
    status = (await reader.readline()).decode().split()[1]
    while (await reader.readline()) != b"\r\n":
        pass
    body = (await reader.read()).decode()
    writer.close()
    return f"{path} -> {status} {body}"


async def serve_and_query() -> None:
    async with open_asyncio_runtime() as rt:
        server = await asyncio.start_server(make_handler(rt), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        paths = ["/profile/1", "/profile/2", "/profile/3", "/profile/x"]
        for line in await asyncio.gather(*(fetch(port, p) for p in paths)):
            print(line)
        server.close()
        await server.wait_closed()
    # Leaving the block shut the runtime down gracefully: the audit jobs have finished.
    print("audit jobs run:", len(audited))
    print("shutdown:", str(rt.report).rsplit(";", 1)[0])


async def main() -> None:
    audited.clear()
    await trio.to_thread.run_sync(asyncio.run, serve_and_query())


if __name__ == "__main__":
    asyncio.run(serve_and_query())
