"""The dashboard's server: loopback only unless told otherwise, a token when it is told."""

import json
import urllib.error
import urllib.request

import pytest
import trio

pytest.importorskip("hypercorn", reason="the dashboard extra is in the test extra")

from arborist.runtime import Runtime, Workflow
from arborist.runtime.dashboard import is_loopback, open_dashboard

TOKEN = "s3cret-token-of-some-length"


def _get(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_hosts_are_recognised(host):
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "example.org", "::"])
def test_other_hosts_are_not_loopback(host):
    assert not is_loopback(host)


async def test_a_non_loopback_host_is_refused_without_allow_remote():
    async with Runtime() as rt:
        with pytest.raises(ValueError, match="allow_remote=True and a token"):
            async with open_dashboard(rt, "0.0.0.0", 0):
                pass


async def test_a_non_loopback_host_needs_a_token_even_with_allow_remote():
    async with Runtime() as rt:
        with pytest.raises(ValueError, match="needs a token"):
            async with open_dashboard(rt, "0.0.0.0", 0, allow_remote=True):
                pass


async def test_a_short_token_is_refused():
    async with Runtime() as rt:
        with pytest.raises(ValueError, match="at least 16 characters"):
            async with open_dashboard(rt, port=0, token="abc"):
                pass


async def test_with_a_token_requests_without_it_are_refused_and_with_it_served():
    async with Runtime() as rt, open_dashboard(rt, port=0, token=TOKEN) as dash:
        base = dash.url.split("?")[0]
        refused = await trio.to_thread.run_sync(_get, base + "api/snapshot")
        by_query = await trio.to_thread.run_sync(_get, dash.url.replace("/?", "/api/snapshot?"))
        by_header = await trio.to_thread.run_sync(
            _get, base + "api/snapshot", {"Authorization": f"Bearer {TOKEN}"}
        )

    assert refused[0] == 401
    assert by_query[0] == by_header[0] == 200
    assert json.loads(by_query[1])["tree"]["id"] == "arborist.runtime"


async def test_the_page_is_served_at_the_root_and_the_url_has_no_token_without_one():
    async with Runtime() as rt, open_dashboard(rt, port=0) as dash:
        status, body = await trio.to_thread.run_sync(_get, dash.url)

    assert dash.url.startswith("http://127.0.0.1:")
    assert "?" not in dash.url
    assert status == 200
    assert "<title>arborist dashboard</title>" in body


async def test_a_dashboard_shows_its_address_without_the_token_in_its_repr():
    async with Runtime() as rt, open_dashboard(rt, port=0, token=TOKEN) as dash:
        text = repr(dash)

    assert text.startswith("<Dashboard http://127.0.0.1:")
    assert TOKEN not in text


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"port": 70000}, "port must be an int from 0"),
        ({"port": "80"}, "port must be an int from 0"),
        ({"interval": 0}, "interval must be a number of seconds > 0"),
        ({"heartbeat": -1}, "heartbeat must be a number of seconds > 0"),
    ],
)
async def test_bad_options_are_refused_before_anything_is_served(options, message):
    async with Runtime() as rt:
        with pytest.raises(ValueError, match=message):
            async with open_dashboard(rt, **options):
                pass


async def _next_event(stream, buffer):
    """The next server-sent event's JSON (reading more of the response as needed)."""
    while b"\n\n" not in buffer[0]:
        chunk = await stream.receive_some(65536)
        assert chunk, "the event stream ended"
        buffer[0] += chunk
    event, buffer[0] = buffer[0].split(b"\n\n", 1)
    data = event.split(b"data: ", 1)[1]
    return json.loads(data)


async def test_the_event_stream_sends_a_snapshot_at_once_and_another_when_a_run_starts():
    wf_gate = trio.Event()
    wf = Workflow("held")

    @wf.step
    async def hold():
        await wf_gate.wait()

    with trio.fail_after(20):
        async with Runtime() as rt, open_dashboard(rt, port=0, heartbeat=30) as dash:
            host, port = dash.url.split("//")[1].rstrip("/").split(":")
            stream = await trio.open_tcp_stream(host, int(port))
            await stream.send_all(
                f"GET /api/events HTTP/1.0\r\nHost: {host}\r\n\r\n".encode()  # no chunking
            )
            buffer = [b""]
            head = b""
            while b"\r\n\r\n" not in head:
                head += await stream.receive_some(65536)
            head, buffer[0] = head.split(b"\r\n\r\n", 1)
            first = await _next_event(stream, buffer)
            handle = await rt.start(wf)
            second = await _next_event(stream, buffer)
            wf_gate.set()
            await handle.result()
            await stream.aclose()

    assert b"text/event-stream" in head
    assert first["active"] == []
    assert [run["run_id"] for run in second["active"]] == [handle.run_id]
    assert second["version"] > first["version"]
