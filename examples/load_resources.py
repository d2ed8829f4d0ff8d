"""Loading resources that depend on each other, concurrently (seed 003).

A page needs an organisation, a user, a project, the project's permissions, its artifact
list and the artifacts' sizes. Each loader names what it needs as parameters, so the graph is::

    org --> user
        --> project --> permissions
                    --> artifacts --> sizes

Every resource loads as soon as the ones it needs are there: the user, the project and then
the permissions and artifacts overlap, and the page is ready after the longest chain
(org 0.1 + project 0.1 + permissions 0.3 = 0.5 s), not the sum (0.9 s). A shared ``db`` pool
caps how many loads all requests run at once, so one big page cannot starve the others.

When a loader fails, the run stops at once: the loads in flight are cancelled and one
``WorkflowFailedError`` says which resource failed, why, and what had loaded.

The loads are simulated with ``trio.sleep``; run directly, the example uses trio's MockClock
(as the tests do), so it prints exactly this, starting with the run's timeline.

Expected output::

    page: 500ms, 7 steps, 7 attempts
    step           start     took  tries  status     |0ms                                500ms|
    org              0ms    100ms      1  ok         |████████                                |
    project        100ms    100ms      1  ok         |        ████████                        |
    user           100ms    200ms      1  ok         |        ████████████████                |
    artifacts      200ms    100ms      1  ok         |                ████████                |
    permissions    200ms    300ms      1  ok         |                ████████████████████████|
    sizes          300ms    100ms      1  ok         |                        ████████        |
    page           500ms      0ms      1  ok         |                                       █|
    █ ok
    page for ada in acme/rocket: 2 permissions, 3 artifacts (42 MB)
    two pages sharing a pool of 3 db slots: 0.70 s
    failed resource: permissions
    reason: LookupError: project 'ghost' has no permissions
    loaded: org, project
    cancelled: artifacts, user
"""

from typing import Any

import trio

from arborist.runtime import Runtime, Workflow, WorkflowFailedError

PERMISSIONS = {"rocket": ["read", "write"]}

page_loader = Workflow("page", inputs=["org_id", "user_id", "project_id"])


@page_loader.step
async def org(org_id: str) -> dict[str, Any]:
    await trio.sleep(0.1)
    return {"id": org_id}


@page_loader.step
async def user(org: dict[str, Any], user_id: str) -> dict[str, Any]:
    await trio.sleep(0.2)
    return {"name": user_id, "org": org["id"]}


@page_loader.step
async def project(org: dict[str, Any], project_id: str) -> dict[str, Any]:
    await trio.sleep(0.1)
    return {"id": project_id, "org": org["id"]}


@page_loader.step
async def permissions(project: dict[str, Any]) -> list[str]:
    await trio.sleep(0.05)
    if project["id"] not in PERMISSIONS:
        raise LookupError(f"project {project['id']!r} has no permissions")
    await trio.sleep(0.25)
    return PERMISSIONS[project["id"]]


@page_loader.step
async def artifacts(project: dict[str, Any]) -> list[str]:
    await trio.sleep(0.1)
    return ["build.log", "app.tar", "report.html"]


@page_loader.step
async def sizes(artifacts: list[str]) -> dict[str, int]:
    await trio.sleep(0.1)
    return dict(zip(artifacts, (2, 38, 2), strict=True))


@page_loader.step
def page(
    org: dict[str, Any],
    user: dict[str, Any],
    project: dict[str, Any],
    permissions: list[str],
    artifacts: list[str],
    sizes: dict[str, int],
) -> str:
    return (
        f"page for {user['name']} in {org['id']}/{project['id']}: {len(permissions)} "
        f"permissions, {len(artifacts)} artifacts ({sum(sizes.values())} MB)"
    )


page_loader.returns("page")


def seconds(elapsed: float) -> str:
    """Round to the nearest 0.05 s, so the real clock prints the same text as the mock one."""
    return f"{round(elapsed * 20) / 20:.2f}"


async def load_page_in_pool(rt: Runtime, user_id: str) -> str:
    """One request: load a page with every load inside the shared ``db`` pool."""
    return await rt.run(page_loader, pool="db", org_id="acme", user_id=user_id, project_id="rocket")


async def main() -> None:
    async with Runtime() as rt:
        handle = await rt.start(page_loader, org_id="acme", user_id="ada", project_id="rocket")
        rendered = await handle.result()
        # the timeline's title names the run by its id (a UUIDv7): shown here without it
        print(handle.timeline(width=40).replace(f" {handle.run_id}", "", 1), end="")
        print(rendered)

        # Two requests share the db pool: 14 loads through 3 slots instead of 2 x 0.5 s at once.
        rt.pool("db", limit=3)
        begin = trio.current_time()
        async with trio.open_nursery() as nursery:
            for user_id in ("ada", "bo"):
                nursery.start_soon(load_page_in_pool, rt, user_id)
        print(f"two pages sharing a pool of 3 db slots: {seconds(trio.current_time() - begin)} s")

        try:
            await rt.run(page_loader, org_id="acme", user_id="ada", project_id="ghost")
        except WorkflowFailedError as error:
            print("failed resource:", error.step)
            print(f"reason: {type(error.cause).__name__}: {error.cause}")
            print("loaded:", ", ".join(error.completed))
            print("cancelled:", ", ".join(sorted(error.cancelled)))


if __name__ == "__main__":
    import trio.testing

    # Simulated loads: trio's MockClock jumps over the sleeps, so the output is exact.
    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
