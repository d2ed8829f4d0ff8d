"""The bad-input tables' machinery: a case type, its checker, and the objects cases call into.

A ``Case`` is one call with one bad argument. The call must raise one of ``errors`` itself (not
later, in a task, a log line or a Future), and the message must show each entry of ``shows``
(case-insensitive; an entry that is a tuple accepts any of its words, e.g. the parameter's
name or the noun the message uses for it). By default ``shows`` is the parameter's name and
the bad value as ``repr`` (ISO format for datetimes), so a message like
``"Retry(attempts=0): attempts counts every try..."`` passes and ``"'>=' not supported
between instances of 'str' and 'int'"`` does not. A case that fails today is marked ``late``;
the test module turns those into strict xfails (issue 9).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any

import attrs
import pytest

from arborist.actors import Actor, ActorRef, AgentRef, spawn_agent
from arborist.runtime import Runtime, Workflow
from arborist.supervision import (
    ChildSpec,
    DynamicSupervisorRef,
    DynamicSupervisorSpec,
    SupervisorRef,
    SupervisorSpec,
    TaskSupervisor,
    start_dynamic_supervisor,
    start_supervisor,
)

BAD = (TypeError, ValueError)
"""What bad input raises unless a case documents another error."""
LATE = "issue 9: fails late"
_UNSET: Any = object()


@attrs.frozen
class Case:
    """One call with one bad argument, and what its error must show."""

    id: str
    call: Callable[[Env], Any]
    shows: tuple[str | tuple[str, ...], ...]
    errors: tuple[type[BaseException], ...] = BAD
    late: bool = False


def shown(value: Any) -> str:
    """How a message shows a bad value: ``repr``, or ISO format for a datetime."""
    if isinstance(value, datetime):
        return value.isoformat()
    return repr(value)


def bad(
    id: str,
    call: Callable[[Env], Any],
    param: str | tuple[str, ...],
    value: Any = _UNSET,
    *,
    errors: tuple[type[BaseException], ...] = BAD,
    shows: Iterable[str | tuple[str, ...]] | None = None,
    late: bool = False,
) -> Case:
    """A case whose message must name ``param`` (or one of its words) and show ``value``."""
    if shows is None:
        shows = [param] if value is _UNSET else [param, shown(value)]
    return Case(id, call, tuple(shows), errors, late)


def params(cases: Iterable[Case]) -> list[Any]:
    """The cases as pytest params, the late ones as strict xfails."""
    cases = list(cases)
    ids = [c.id for c in cases]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicated, f"case ids must be unique; duplicated: {duplicated}"
    late = pytest.mark.xfail(strict=True, reason=LATE)
    return [pytest.param(c, id=c.id, marks=[late] if c.late else []) for c in cases]


_NUMBER = re.compile(r"-?\d[\d.]*(e[-+]?\d+)?")


def _shows(message: str, word: str) -> bool:
    """Whether ``message`` shows ``word`` (case-insensitive).

    A number must stand on its own: ``5`` is not shown by an actor's ``#15``, nor ``-1`` by
    ``-10``, so a message cannot pass by the chance of its ids. Other words are looked for as
    they are (``name`` is shown by "names").
    """
    text, word = message.lower(), word.lower()
    if not _NUMBER.fullmatch(word):
        return word in text
    return re.search(r"(?<![\w.])" + re.escape(word) + r"(?!\w)(?!\.\d)", text) is not None


def check_message(case: Case, error: BaseException) -> None:
    """Assert the error's message shows every entry of ``case.shows``."""
    message = str(error)
    for want in case.shows:
        words = (want,) if isinstance(want, str) else want
        assert any(_shows(message, word) for word in words), (
            f"{type(error).__name__}: {message!r} does not show {' or '.join(map(repr, words))}"
        )


async def settle(result: Any) -> Any:
    """Await ``result`` if the call returned an awaitable (an async call)."""
    if inspect.isawaitable(result):
        return await result
    return result


async def enter(manager: Any) -> None:
    """Enter and leave an async context manager (``open_*``): its checks run on entry."""
    async with manager:
        pass


# -- what cases call into -------------------------------------------------------------------------


class Counter(Actor):
    """A worker actor: counts what it is told, from ``start``."""

    def __init__(self, start: int = 0) -> None:
        self.count = start

    def on_receive(self, message: Any) -> int:
        self.count += 1
        return self.count


class Probe(Actor):
    """Runs ``fn(self)`` inside its handler and replies with the value or the exception."""

    def on_receive(self, fn: Callable[[Actor], Any]) -> Any:
        try:
            return fn(self)
        except Exception as error:
            return error


async def job(x: int = 0) -> None:
    """A job taking at most one argument."""


async def no_args() -> None:
    """A job taking no argument."""


def blocking_job() -> None:
    """A blocking job."""


async def _call_in_step(fn: Callable[[Any], Any], ctx: Any) -> Any:
    try:
        return await settle(fn(ctx))
    except Exception as error:
        return error


_IN_STEP = Workflow("probe_step", inputs=["fn"])
_IN_STEP.step(_call_in_step, name="call")
_IN_STEP.returns("call")


def new_workflow() -> Workflow:
    """A fresh valid workflow with input ``x`` and one step ``double`` that it returns."""
    wf = Workflow("wf", inputs=["x"])

    @wf.step
    async def double(x: int) -> int:
        return 2 * x

    wf.returns("double")
    return wf


class Env:
    """A runtime open under the autojump clock and live objects of every kind to call into."""

    rt: Runtime
    wf: Workflow
    ref: ActorRef
    agent: AgentRef[int]
    sup: SupervisorRef
    dyn: DynamicSupervisorRef
    tasks: TaskSupervisor
    probe: ActorRef

    @property
    def system(self) -> Any:
        """The runtime's actor system."""
        return self.rt.system

    async def open(self, rt: Runtime) -> None:
        self.rt = rt
        system = rt.system
        self.wf = new_workflow()
        self.ref = await system.spawn(Counter)
        self.agent = await spawn_agent(system, 0)
        self.sup = await start_supervisor(system, SupervisorSpec([ChildSpec("c", Counter)]))
        self.dyn = await start_dynamic_supervisor(
            system, DynamicSupervisorSpec(ChildSpec("user", Counter))
        )
        self.tasks = TaskSupervisor.from_ref(await system.spawn(TaskSupervisor))
        self.probe = await system.spawn(Probe)

    async def in_actor(self, fn: Callable[[Actor], Any]) -> Any:
        """Call ``fn(actor)`` inside a running actor's handler; raise what it raised."""
        result = await self.probe.ask(fn)
        if isinstance(result, BaseException):
            raise result
        return result

    async def in_step(self, fn: Callable[[Any], Awaitable[Any] | Any]) -> Any:
        """Call ``fn(ctx)`` inside a running step (awaited if async); raise what it raised."""
        result = await self.rt.run(_IN_STEP, fn=fn)
        if isinstance(result, BaseException):
            raise result
        return result


class _NeedsRuntime(BaseException):
    """Raised by ``_NoEnv`` when a case touches the environment: it needs an open runtime."""


class _NoEnv:
    """What a case gets first: most cases (specs, the DSL, triggers) need no runtime at all."""

    def __getattr__(self, name: str) -> Any:
        raise _NeedsRuntime(name)


async def _attempt(case: Case, env: Any) -> BaseException | None:
    """Make the call; return the error it raised (None if it returned)."""
    try:
        await settle(case.call(env))
    except Exception as error:
        return error
    return None


def check_raised(case: Case, error: BaseException | None) -> None:
    """Assert the call raised one of the case's errors, with a message that shows its entries.

    The assertions run outside any runtime, so that the many strict xfails of today cost
    pytest no deep traceback.
    """
    expected = " or ".join(e.__name__ for e in case.errors)
    assert error is not None, f"{case.id}: accepted (no error at the call)"
    assert isinstance(error, case.errors), f"{case.id}: raised {error!r}, expected {expected}"
    check_message(case, error)


async def run_case(case: Case) -> None:
    """Make the call (in an open runtime if it needs one); check it raised with a clear message.

    The call runs once without an environment; if it touches one, it runs again, this time in
    a runtime opened with live objects of every kind (a case touches ``env`` before acting).
    """
    try:
        error = await _attempt(case, _NoEnv())
    except _NeedsRuntime:
        env = Env()
        async with Runtime() as rt:
            await env.open(rt)
            error = await _attempt(case, env)
    check_raised(case, error)
