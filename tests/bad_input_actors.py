"""Bad-input cases for ``arborist.actors``: spawn, refs, timeouts, timers, agents, names."""

from __future__ import annotations

import math

from bad_input_env import Case, Counter, bad, enter

from arborist.actors import (
    ActorStartError,
    Agent,
    AgentRef,
    Registry,
    ThreadActor,
    open_actor_system,
    spawn_agent,
)

NAN = math.nan
INF = math.inf


async def _double(state: int) -> int:
    return 2 * state


def _spawn(**options: object):
    return lambda e: e.system.spawn(Counter, **options)


def _timeouts(label: str, make, *, param: str = "timeout") -> list[Case]:
    """String, None-where-forbidden is not here (None means wait), negative, NaN, bool."""
    return [
        bad(f"{label}({param}='5')", make("5"), param, "5"),
        bad(f"{label}({param}=-1)", make(-1), param, -1),
        bad(f"{label}({param}=nan)", make(NAN), param, NAN),
        bad(f"{label}({param}=True)", make(True), param, True),
    ]


CASES: list[Case] = [
    # -- open_actor_system ------------------------------------------------------------------------
    bad(
        "open_actor_system(shutdown_timeout='5')",
        lambda e: enter(open_actor_system(shutdown_timeout="5")),
        "shutdown_timeout",
        "5",
    ),
    bad(
        "open_actor_system(shutdown_timeout=None)",
        lambda e: enter(open_actor_system(shutdown_timeout=None)),
        "shutdown_timeout",
        None,
    ),
    bad(
        "open_actor_system(shutdown_timeout=-1)",
        lambda e: enter(open_actor_system(shutdown_timeout=-1)),
        "shutdown_timeout",
        -1,
    ),
    bad(
        "open_actor_system(shutdown_timeout=nan)",
        lambda e: enter(open_actor_system(shutdown_timeout=NAN)),
        "shutdown_timeout",
        NAN,
    ),
    bad(
        "open_actor_system(shutdown_timeout=True)",
        lambda e: enter(open_actor_system(shutdown_timeout=True)),
        "shutdown_timeout",
        True,
    ),
    bad(
        "open_actor_system(timeout=5)",
        lambda e: enter(open_actor_system(timeout=5)),
        "timeout",
    ),
    # -- system.spawn -----------------------------------------------------------------------------
    bad("spawn(42)", lambda e: e.system.spawn(42), ("actor_class", "Actor"), 42),
    bad("spawn(int)", lambda e: e.system.spawn(int), ("actor_class", "Actor"), "int"),
    bad("spawn(None)", lambda e: e.system.spawn(None), ("actor_class", "Actor"), None),
    bad(
        "spawn(Counter())",
        lambda e: e.system.spawn(Counter()),
        ("actor_class", "Actor"),
        shows=[("actor_class", "Actor"), "Counter"],
    ),
    bad(
        "spawn(Counter, 1, 2, 3)",
        lambda e: e.system.spawn(Counter, 1, 2, 3),
        "Counter",
        errors=(ActorStartError,),
        shows=["Counter", "positional argument"],
    ),
    bad(
        "spawn(Counter, bogus=1)",
        lambda e: e.system.spawn(Counter, bogus=1),
        "bogus",
        errors=(ActorStartError,),
    ),
    bad("spawn(name=42)", _spawn(name=42), "name", 42),
    bad("spawn(name='')", _spawn(name=""), "name", ""),
    bad("spawn(mailbox_size=0)", _spawn(mailbox_size=0), "mailbox_size", 0),
    bad("spawn(mailbox_size=-1)", _spawn(mailbox_size=-1), "mailbox_size", -1),
    bad("spawn(mailbox_size='5')", _spawn(mailbox_size="5"), "mailbox_size", "5"),
    bad("spawn(mailbox_size=1.5)", _spawn(mailbox_size=1.5), "mailbox_size", 1.5),
    bad("spawn(mailbox_size=True)", _spawn(mailbox_size=True), "mailbox_size", True),
    bad("spawn(mailbox_size=nan)", _spawn(mailbox_size=NAN), "mailbox_size", NAN),
    bad("spawn(trap_exits='yes')", _spawn(trap_exits="yes"), "trap_exits", "yes"),
    bad("spawn(trap_exits=1)", _spawn(trap_exits=1), "trap_exits", 1),
    bad("spawn(nursery='main')", _spawn(nursery="main"), "nursery", "main"),
    # -- ask, proxy, shutdown timeouts ------------------------------------------------------------
    *_timeouts("ref.ask", lambda t: lambda e: e.ref.ask(1, timeout=t)),
    *_timeouts("ref.proxy", lambda t: lambda e: e.ref.proxy(timeout=t)),
    *_timeouts("system.ask", lambda t: lambda e: e.system.ask(e.ref, 1, timeout=t)),
    bad(
        "ref.shutdown(timeout='5')",
        lambda e: e.ref.shutdown(timeout="5"),
        "timeout",
        "5",
    ),
    bad("ref.shutdown(timeout=-1)", lambda e: e.ref.shutdown(timeout=-1), "timeout", -1),
    bad("ref.shutdown(timeout=nan)", lambda e: e.ref.shutdown(timeout=NAN), "timeout", NAN),
    bad(
        "ref.shutdown(timeout=True)",
        lambda e: e.ref.shutdown(timeout=True),
        "timeout",
        True,
    ),
    # -- by name ----------------------------------------------------------------------------------
    bad("system.tell(42, msg)", lambda e: e.system.tell(42, "hi"), ("target", "name"), 42),
    bad(
        "system.tell(None, msg)",
        lambda e: e.system.tell(None, "hi"),
        ("target", "name"),
        None,
    ),
    bad("system.ask(42, msg)", lambda e: e.system.ask(42, "hi"), ("target", "name"), 42),
    bad("system.resolve(3.5)", lambda e: e.system.resolve(3.5), ("target", "name"), 3.5),
    bad(
        "Registry().register(42, ref)",
        lambda e: Registry().register(42, e.ref),
        "name",
        42,
    ),
    bad(
        "Registry().register('a', 'ref')",
        lambda e: Registry().register("a", "ref"),
        "ref",
        "ref",
    ),
    # -- inside an actor: timers, monitors, links, stop -------------------------------------------
    bad(
        "send_after('5', msg)",
        lambda e: e.in_actor(lambda a: a.send_after("5", "m")),
        "delay",
        "5",
    ),
    bad("send_after(-1, msg)", lambda e: e.in_actor(lambda a: a.send_after(-1, "m")), "delay", -1),
    bad(
        "send_after(nan, msg)", lambda e: e.in_actor(lambda a: a.send_after(NAN, "m")), "delay", NAN
    ),
    bad(
        "send_after(None, msg)",
        lambda e: e.in_actor(lambda a: a.send_after(None, "m")),
        "delay",
        None,
    ),
    bad(
        "send_after(True, msg)",
        lambda e: e.in_actor(lambda a: a.send_after(True, "m")),
        "delay",
        True,
    ),
    bad(
        "send_interval(0, msg)",
        lambda e: e.in_actor(lambda a: a.send_interval(0, "m")),
        "period",
        0,
    ),
    bad(
        "send_interval(-1, msg)",
        lambda e: e.in_actor(lambda a: a.send_interval(-1, "m")),
        "period",
        -1,
    ),
    bad(
        "send_interval(nan, msg)",
        lambda e: e.in_actor(lambda a: a.send_interval(NAN, "m")),
        "period",
        NAN,
    ),
    bad(
        "send_interval(inf, msg)",
        lambda e: e.in_actor(lambda a: a.send_interval(INF, "m")),
        "period",
        INF,
    ),
    bad(
        "send_interval('5', msg)",
        lambda e: e.in_actor(lambda a: a.send_interval("5", "m")),
        "period",
        "5",
    ),
    bad(
        "send_interval(1e-9, msg)",
        lambda e: e.in_actor(lambda a: a.send_interval(1e-9, "m")),
        "period",
        1e-9,
    ),
    bad(
        "send_interval(1, msg, first=-1)",
        lambda e: e.in_actor(lambda a: a.send_interval(1, "m", first=-1)),
        "first",
        -1,
    ),
    bad(
        "send_interval(1, msg, first='0')",
        lambda e: e.in_actor(lambda a: a.send_interval(1, "m", first="0")),
        "first",
        "0",
    ),
    bad(
        "monitor('worker')",
        lambda e: e.in_actor(lambda a: a.monitor("worker")),
        "target",
        "worker",
    ),
    bad("link(None)", lambda e: e.in_actor(lambda a: a.link(None)), "other", None),
    bad("unlink(42)", lambda e: e.in_actor(lambda a: a.unlink(42)), "other", 42),
    bad(
        "demonitor('m')",
        lambda e: e.in_actor(lambda a: a.demonitor("m")),
        "monitor",
        "m",
    ),
    bad(
        "stop(reason='done')",
        lambda e: e.in_actor(lambda a: a.stop("done")),
        "reason",
        "done",
    ),
    # -- agents -----------------------------------------------------------------------------------
    bad(
        "spawn_agent('system', 0)",
        lambda e: spawn_agent("system", 0),
        "system",
        "system",
    ),
    bad("spawn_agent(name=42)", lambda e: spawn_agent(e.system, 0, name=42), "name", 42),
    bad(
        "spawn_agent(mailbox_size=0)",
        lambda e: spawn_agent(e.system, 0, mailbox_size=0),
        "mailbox_size",
        0,
    ),
    bad("AgentRef('ref')", lambda e: AgentRef("ref"), "ref", "ref"),
    bad("AgentRef(counter ref)", lambda e: AgentRef(e.ref), "ref", shows=["ref", "Counter"]),
    bad("agent.get(42)", lambda e: e.agent.get(42), ("fn", "function"), 42),
    bad(
        "agent.get(async fn)",
        lambda e: e.agent.get(_double),
        ("fn", "function"),
        shows=[("fn", "function"), "async"],
    ),
    bad("agent.update(None)", lambda e: e.agent.update(None), ("fn", "function"), None),
    bad(
        "agent.get_and_update('x')", lambda e: e.agent.get_and_update("x"), ("fn", "function"), "x"
    ),
    bad("agent.cast(1)", lambda e: e.agent.cast(1), ("fn", "function"), 1),
    bad(
        "agent.get(timeout='5')",
        lambda e: e.agent.get(lambda s: s, timeout="5"),
        "timeout",
        "5",
    ),
    bad(
        "agent.update(timeout=-1)", lambda e: e.agent.update(lambda s: s, timeout=-1), "timeout", -1
    ),
    bad(
        "Agent spawned with extra args",
        lambda e: e.system.spawn(Agent, 1, 2),
        "Agent",
        errors=(ActorStartError,),
    ),
    # -- classes ----------------------------------------------------------------------------------
    bad("ThreadActor.adopt(42)", lambda e: ThreadActor.adopt(42), ("pykka_class", "pykka"), 42),
    bad(
        "ThreadActor.adopt(Counter)",
        lambda e: ThreadActor.adopt(Counter),
        ("pykka_class", "pykka"),
        shows=[("pykka_class", "pykka"), "Counter"],
    ),
]
