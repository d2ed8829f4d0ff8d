"""The live dashboard in a real headless Chromium: the tree, then a run appearing and finishing.

The browser runs on the real clock, so this test does too; every wait is the browser's own
(a MutationObserver resolving a promise) under a trio deadline, never a sleep-and-check.
"""

import pytest
import trio

pytest.importorskip("hypercorn", reason="the dashboard extra is in the test extra")
pytest.importorskip("trio_websocket", reason="trio-websocket is in the test extra")

from browser import open_browser

from arborist.runtime import Runtime, Workflow, every
from arborist.runtime.dashboard import open_dashboard


def _checkout(gate):
    wf = Workflow("checkout")

    @wf.step
    async def reserve():
        return 1

    @wf.step
    async def pay(reserve):
        await gate.wait()
        return reserve

    return wf


async def test_the_page_shows_the_tree_and_a_run_that_appears_and_finishes_live(
    chromium, tmp_path
):
    gate = trio.Event()

    async def report():
        pass

    with trio.fail_after(30):
        async with Runtime() as rt:
            rt.pool("db", limit=4)
            rt.schedule("nightly", every(hours=24), report)
            async with (
                open_dashboard(rt, port=0, interval=0.05) as dash,
                open_browser(chromium, tmp_path / "profile") as page,
            ):
                await page.send("Page.navigate", url=dash.url)
                await page.wait_for('#tree li[data-node="runs"]')
                await page.wait_for('#schedules tr[data-schedule="nightly"]')
                await page.wait_for('#pools tr[data-pool="db"]')

                handle = await rt.start(_checkout(gate))
                run = f'.run[data-run-id="{handle.run_id}"]'
                await page.wait_for(f'#active {run} rect[data-step="pay"][data-status="running"]')
                gate.set()
                await handle.result()
                await page.wait_for(f'#recent {run}[data-status="ok"]')

                bars = await page.evaluate(
                    f"[...document.querySelectorAll('#recent {run} rect.bar')]"
                    ".map(r => r.dataset.step + ':' + r.dataset.status)"
                )
                active = await page.evaluate("document.querySelectorAll('#active .run').length")
                shot = await page.screenshot(tmp_path / "dashboard.png")

    assert bars == ["reserve:ok", "pay:ok"]
    assert active == 0
    assert shot.stat().st_size > 10_000
