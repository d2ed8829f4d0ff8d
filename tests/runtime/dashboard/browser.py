"""A headless Chromium driven over the Chrome DevTools protocol, from trio (for page tests).

``find_or_install_chromium()`` returns Debian's ``/usr/bin/chromium``, installing the package
with apt-get when it is missing and we are root; it raises ``BrowserUnavailable`` (the tests
skip, saying why) when it cannot. ``open_browser`` starts it with the flags this closed
network needs, a fresh profile and ``--remote-debugging-port=0``, reads the port it chose
from its stderr and connects to its first page with trio-websocket.
"""

import base64
import itertools
import json
import os
import re
import shutil
import subprocess
import urllib.request
from contextlib import asynccontextmanager
from pathlib import Path

import trio
from trio_websocket import open_websocket_url

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
    "--remote-debugging-port=0",
    "--remote-debugging-address=127.0.0.1",
]


class BrowserUnavailable(Exception):
    """No Chromium here, and it could not be installed (the message says why)."""


def find_or_install_chromium() -> str:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise BrowserUnavailable("chromium is not installed and we cannot apt-get it (not root)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "chromium"]
    for command in (install, ["apt-get", "update", "-qq"], install):
        done = subprocess.run(
            command, check=False, env=env, capture_output=True, text=True, timeout=900
        )
        if command is install and done.returncode == 0:
            break
    else:
        raise BrowserUnavailable(f"apt-get install chromium failed: {done.stderr.strip()[-300:]}")
    if not os.access("/usr/bin/chromium", os.X_OK):
        raise BrowserUnavailable("apt-get installed chromium, but /usr/bin/chromium is missing")
    return "/usr/bin/chromium"


class Page:
    """One page target: ``send`` a CDP command, ``evaluate`` JavaScript, ``screenshot``."""

    def __init__(self, ws):
        self._ws = ws
        self._ids = itertools.count(1)

    async def send(self, method, **params):
        ident = next(self._ids)
        await self._ws.send_message(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            reply = json.loads(await self._ws.get_message())
            if reply.get("id") == ident:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    async def evaluate(self, expression):
        """The value of a JavaScript expression; a promise is awaited (in the browser)."""
        result = await self.send(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression!r} raised: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, selector, timeout_ms=10_000):
        """Wait, in the browser, until ``selector`` matches (a MutationObserver, no polling)."""
        quoted = json.dumps(selector)
        script = f"""new Promise((resolve, reject) => {{
          const found = () => document.querySelector({quoted});
          if (found()) return resolve(true);
          const watch = new MutationObserver(() => {{
            if (found()) {{ watch.disconnect(); resolve(true); }} }});
          watch.observe(document, {{subtree: true, childList: true, attributes: true}});
          setTimeout(() => {{
            watch.disconnect(); reject(new Error("timed out: " + {quoted})); }}, {timeout_ms});
        }})"""
        return await self.evaluate(script)

    async def screenshot(self, path: Path):
        shot = await self.send("Page.captureScreenshot", format="png")
        data = base64.b64decode(shot["data"])
        await trio.Path(path).write_bytes(data)
        return path


def _get_json(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


async def _devtools_port(stderr, found):
    """Read Chromium's stderr: report the DevTools port it prints, then keep draining it."""
    buffered = b""
    async for chunk in stderr:
        if found.is_set():
            continue  # drained so the browser never blocks on a full pipe
        buffered += chunk
        match = re.search(rb"DevTools listening on ws://[^:]+:(\d+)/", buffered)
        if match:
            found.port = int(match.group(1))
            found.set()


class _PortEvent:
    """Set once Chromium has said which port its DevTools listen on (``port``)."""

    def __init__(self):
        self._event = trio.Event()
        self.port = None

    def is_set(self):
        return self._event.is_set()

    def set(self):
        self._event.set()

    async def wait(self):
        await self._event.wait()


@asynccontextmanager
async def open_browser(executable, profile: Path):
    """Start Chromium and yield its first page; kill it when the block ends."""
    process = await trio.lowlevel.open_process(
        [executable, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        async with trio.open_nursery() as nursery:
            found = _PortEvent()
            nursery.start_soon(_devtools_port, process.stderr, found)
            with trio.fail_after(30):
                await found.wait()
            listing = f"http://127.0.0.1:{found.port}/json/list"
            targets = await trio.to_thread.run_sync(_get_json, listing)
            page = next(t for t in targets if t["type"] == "page")
            url = page["webSocketDebuggerUrl"]
            async with open_websocket_url(url, max_message_size=64 << 20) as ws:
                yield Page(ws)
            nursery.cancel_scope.cancel()
    finally:
        process.kill()
        await process.wait()
