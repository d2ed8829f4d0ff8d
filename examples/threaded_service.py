"""A threaded web service (stdlib http.server) that runs workflows and fires jobs per request.

The runtime runs on a thread of its own (``Runtime.background()``); each request thread calls
its blocking API: ``rt.run`` for a workflow whose result is the response, and
``rt.fire_and_forget`` for an audit job the response does not wait for. The demo serves on
127.0.0.1 (a free port), sends six requests from six client threads, and shuts down.

Expected output::

    GET /quote?user=1 -> 200 quote for user 1: 121.0
    GET /quote?user=2 -> 200 quote for user 2: 132.0
    GET /quote?user=3 -> 200 quote for user 3: 143.0
    GET /quote?user=4 -> 200 quote for user 4: 154.0
    GET /quote?user=5 -> 200 quote for user 5: 165.0
    GET /quote?user=x -> 400 user must be an integer
    audit jobs run: 5
    shutdown: 0 runs finished, 0 cancelled (none); 0 jobs cut
"""

import threading
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import trio

from arborist.runtime import Runtime, Workflow

REAL_CLOCK = True  # threads and sockets: the example test runs it on the real clock

quote = Workflow("quote", inputs=["user"])


@quote.step
async def base_price(user: int) -> float:
    await trio.sleep(0.01)  # a call to a pricing service
    return 100.0 + 10 * user


@quote.step
def with_tax(base_price: float) -> float:  # blocking work: runs on a worker thread
    return round(base_price * 1.1, 2)


quote.returns("with_tax")

audited: list[int] = []
audit_lock = threading.Lock()


async def audit(user: int) -> None:
    with audit_lock:
        audited.append(user)


def make_handler(rt: object) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
            try:
                user = int(query["user"][0])
            except (KeyError, ValueError):
                self.reply(400, "user must be an integer")
                return
            price = rt.run(quote, user=user)  # type: ignore[attr-defined]
            rt.fire_and_forget(audit, user)  # type: ignore[attr-defined]
            self.reply(200, f"quote for user {user}: {price}")

        def reply(self, status: int, text: str) -> None:
            body = text.encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:  # keep the demo's output clean
            pass

    return Handler


def fetch(port: int, path: str) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return f"GET {path} -> {response.status} {response.read().decode()}"
    except urllib.error.HTTPError as error:
        return f"GET {path} -> {error.code} {error.read().decode()}"


def serve_and_query() -> None:
    with Runtime.background() as rt:
        server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(rt))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = server.server_address[1]
        paths = [f"/quote?user={u}" for u in (1, 2, 3, 4, 5)] + ["/quote?user=x"]
        with ThreadPoolExecutor(len(paths)) as clients:
            for line in clients.map(lambda p: fetch(port, p), paths):
                print(line)
        server.shutdown()
        server.server_close()
    print("audit jobs run:", len(audited))
    report = str(rt.report)
    print("shutdown:", report.rsplit(";", 1)[0])


async def main() -> None:
    audited.clear()
    await trio.to_thread.run_sync(serve_and_query)


if __name__ == "__main__":
    serve_and_query()
