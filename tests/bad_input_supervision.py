"""Bad-input cases for `arborist.supervision`: specs, backoff, supervisors, task supervisors."""

from __future__ import annotations

import math

from bad_input_env import Case, Counter, bad, blocking_job, enter, job, no_args

from arborist.supervision import (
    Backoff,
    ChildNotFoundError,
    ChildSpec,
    ChildStartError,
    DynamicSupervisorRef,
    DynamicSupervisorSpec,
    SupervisorRef,
    SupervisorSpec,
    TaskSupervisor,
    open_task_supervisor,
    start_dynamic_supervisor,
    start_supervisor,
)

NAN = math.nan
INF = math.inf


async def _agen() -> object:
    yield 1


def _child(**fields: object):
    return lambda e: ChildSpec("c", Counter, **fields)


def _sup(**fields: object):
    return lambda e: SupervisorSpec([], **fields)


def _dyn(**fields: object):
    return lambda e: DynamicSupervisorSpec(**fields)


def _backoff(**fields: object):
    return lambda e: Backoff(**fields)


CASES: list[Case] = [
    # -- ChildSpec --------------------------------------------------------------------------------
    bad("ChildSpec(id=None)", lambda e: ChildSpec(None, Counter), "id", None),
    bad("ChildSpec(id=[])", lambda e: ChildSpec([], Counter), "id", []),
    bad("ChildSpec(start=42)", lambda e: ChildSpec("c", 42), "start", 42),
    bad("ChildSpec(start=None)", lambda e: ChildSpec("c", None), "start", None),
    bad("ChildSpec(start=int)", lambda e: ChildSpec("c", int), "start", shows=["start", "int"]),
    bad(
        "ChildSpec(start=Counter())",
        lambda e: ChildSpec("c", Counter()),
        "start",
        shows=["start", "Counter"],
    ),
    bad(
        "ChildSpec(start=def)",
        lambda e: ChildSpec("c", blocking_job),
        "start",
        shows=["start", "blocking_job"],
    ),
    bad(
        "ChildSpec(start=async gen)",
        lambda e: ChildSpec("c", _agen),
        "start",
        shows=["start", "_agen"],
    ),
    bad("ChildSpec(args=5)", _child(args=5), "args", 5),
    bad("ChildSpec(args='ab')", _child(args="ab"), "args", "ab"),
    bad("ChildSpec(kwargs=5)", _child(kwargs=5), "kwargs", 5),
    bad("ChildSpec(kwargs={1: 2})", _child(kwargs={1: 2}), "kwargs", {1: 2}),
    bad(
        "ChildSpec(Counter, args=(1, 2, 3))",
        _child(args=(1, 2, 3)),
        "args",
        (1, 2, 3),
    ),
    bad(
        "ChildSpec(async fn, args=(1, 2))",
        lambda e: ChildSpec("c", no_args, args=(1, 2)),
        "args",
        (1, 2),
    ),
    bad("ChildSpec(restart='sometimes')", _child(restart="sometimes"), "restart", "sometimes"),
    bad("ChildSpec(restart=None)", _child(restart=None), "restart", None),
    bad("ChildSpec(restart=1)", _child(restart=1), "restart", 1),
    bad("ChildSpec(kind='boss')", _child(kind="boss"), "kind", "boss"),
    bad("ChildSpec(shutdown='5')", _child(shutdown="5"), "shutdown", "5"),
    bad("ChildSpec(shutdown=-1)", _child(shutdown=-1), "shutdown", -1),
    bad("ChildSpec(shutdown=nan)", _child(shutdown=NAN), "shutdown", NAN),
    bad("ChildSpec(shutdown=None)", _child(shutdown=None), "shutdown", None),
    bad("ChildSpec(shutdown=True)", _child(shutdown=True), "shutdown", True),
    bad("ChildSpec(significant='yes')", _child(significant="yes"), "significant", "yes"),
    bad("ChildSpec(significant=permanent)", _child(significant=True), "significant"),
    bad("ChildSpec(name=42)", _child(name=42), "name", 42),
    bad("ChildSpec(name='')", _child(name=""), "name", ""),
    bad("ChildSpec(restrat=...)", _child(restrat="transient"), "restrat"),
    # -- SupervisorSpec ---------------------------------------------------------------------------
    bad("SupervisorSpec(children=5)", lambda e: SupervisorSpec(5), "children", 5),
    bad("SupervisorSpec(children='ab')", lambda e: SupervisorSpec("ab"), "children", "ab"),
    bad("SupervisorSpec(children=[42])", lambda e: SupervisorSpec([42]), "children", 42),
    bad(
        "SupervisorSpec(duplicate ids)",
        lambda e: SupervisorSpec([ChildSpec("a", Counter), ChildSpec("a", Counter)]),
        "ids",
        "a",
    ),
    bad("SupervisorSpec(strategy='fastest')", _sup(strategy="fastest"), "strategy", "fastest"),
    bad("SupervisorSpec(strategy=None)", _sup(strategy=None), "strategy", None),
    bad("SupervisorSpec(max_restarts=-1)", _sup(max_restarts=-1), "max_restarts", -1),
    bad("SupervisorSpec(max_restarts='3')", _sup(max_restarts="3"), "max_restarts", "3"),
    bad("SupervisorSpec(max_restarts=True)", _sup(max_restarts=True), "max_restarts", True),
    bad("SupervisorSpec(max_restarts=1.5)", _sup(max_restarts=1.5), "max_restarts", 1.5),
    bad("SupervisorSpec(max_seconds=0)", _sup(max_seconds=0), "max_seconds", 0),
    bad("SupervisorSpec(max_seconds='5')", _sup(max_seconds="5"), "max_seconds", "5"),
    bad("SupervisorSpec(max_seconds=nan)", _sup(max_seconds=NAN), "max_seconds", NAN),
    bad("SupervisorSpec(max_seconds=True)", _sup(max_seconds=True), "max_seconds", True),
    bad("SupervisorSpec(backoff=5)", _sup(backoff=5), "backoff", 5),
    bad(
        "SupervisorSpec(auto_shutdown='soon')", _sup(auto_shutdown="soon"), "auto_shutdown", "soon"
    ),
    bad(
        "SupervisorSpec(significant child, auto_shutdown never)",
        lambda e: SupervisorSpec([ChildSpec("a", Counter, restart="transient", significant=True)]),
        "significant",
        shows=["significant", "'a'", "auto_shutdown"],
    ),
    # -- DynamicSupervisorSpec --------------------------------------------------------------------
    bad("DynamicSupervisorSpec(template=5)", _dyn(template=5), "template", 5),
    bad("DynamicSupervisorSpec(max_children=-1)", _dyn(max_children=-1), "max_children", -1),
    bad("DynamicSupervisorSpec(max_children='5')", _dyn(max_children="5"), "max_children", "5"),
    bad("DynamicSupervisorSpec(max_children=True)", _dyn(max_children=True), "max_children", True),
    bad("DynamicSupervisorSpec(max_restarts='3')", _dyn(max_restarts="3"), "max_restarts", "3"),
    bad("DynamicSupervisorSpec(max_seconds=-1)", _dyn(max_seconds=-1), "max_seconds", -1),
    bad("DynamicSupervisorSpec(backoff='fast')", _dyn(backoff="fast"), "backoff", "fast"),
    bad(
        "DynamicSupervisorSpec(auto_shutdown='soon')",
        _dyn(auto_shutdown="soon"),
        "auto_shutdown",
        "soon",
    ),
    # -- Backoff ----------------------------------------------------------------------------------
    bad("Backoff(initial=-1)", _backoff(initial=-1), "initial", -1),
    bad("Backoff(initial='1')", _backoff(initial="1"), "initial", "1"),
    bad("Backoff(initial=nan)", _backoff(initial=NAN), "initial", NAN),
    bad("Backoff(initial=inf)", _backoff(initial=INF), "initial", INF),
    bad("Backoff(initial=True)", _backoff(initial=True), "initial", True),
    bad("Backoff(factor=0.5)", _backoff(factor=0.5), "factor", 0.5),
    bad("Backoff(factor='2')", _backoff(factor="2"), "factor", "2"),
    bad("Backoff(max=-1)", _backoff(max=-1), "max", -1),
    bad(
        "Backoff(max < initial)",
        _backoff(initial=2.0, max=1.0),
        "max",
        shows=["max", "initial", "1.0"],
    ),
    bad("Backoff(jitter=2)", _backoff(jitter=2), "jitter", 2),
    bad("Backoff(jitter=-0.1)", _backoff(jitter=-0.1), "jitter", -0.1),
    bad("Backoff(jitter='0.1')", _backoff(jitter="0.1"), "jitter", "0.1"),
    bad("Backoff(reset_after=0)", _backoff(reset_after=0), "reset_after", 0),
    bad("Backoff(reset_after='1')", _backoff(reset_after="1"), "reset_after", "1"),
    bad("Backoff(reset_after=nan)", _backoff(reset_after=NAN), "reset_after", NAN),
    # -- start_supervisor, start_dynamic_supervisor -----------------------------------------------
    bad("start_supervisor(spec=5)", lambda e: start_supervisor(e.system, 5), "spec", 5),
    bad(
        "start_supervisor(system='system')",
        lambda e: start_supervisor("system", SupervisorSpec([])),
        "system",
        "system",
    ),
    bad(
        "start_supervisor(name=42)",
        lambda e: start_supervisor(e.system, SupervisorSpec([]), name=42),
        "name",
        42,
    ),
    bad(
        "start_dynamic_supervisor(spec=5)",
        lambda e: start_dynamic_supervisor(e.system, 5),
        "spec",
        5,
    ),
    bad(
        "start_dynamic_supervisor(name='')",
        lambda e: start_dynamic_supervisor(e.system, name=""),
        "name",
        "",
    ),
    bad("SupervisorRef('ref')", lambda e: SupervisorRef("ref"), "ref", "ref"),
    bad(
        "DynamicSupervisorRef(static ref)",
        lambda e: DynamicSupervisorRef(e.sup.ref),
        "ref",
        shows=["ref", "Supervisor"],
    ),
    # -- SupervisorRef calls ----------------------------------------------------------------------
    bad("sup.start_child(5)", lambda e: e.sup.start_child(5), "spec", 5),
    bad(
        "sup.start_child(timeout='5')",
        lambda e: e.sup.start_child(ChildSpec("d", Counter), timeout="5"),
        "timeout",
        "5",
    ),
    bad(
        "sup.start_child(timeout=-1)",
        lambda e: e.sup.start_child(ChildSpec("d", Counter), timeout=-1),
        "timeout",
        -1,
    ),
    bad(
        "sup.terminate_child('missing')",
        lambda e: e.sup.terminate_child("missing"),
        "missing",
        errors=(ChildNotFoundError,),
        shows=["'missing'"],
    ),
    bad(
        "sup.restart_child(timeout=nan)",
        lambda e: e.sup.restart_child("c", timeout=NAN),
        "timeout",
        NAN,
    ),
    bad(
        "sup.which_children(timeout='5')",
        lambda e: e.sup.which_children(timeout="5"),
        "timeout",
        "5",
    ),
    bad(
        "sup.count_children(timeout=-1)", lambda e: e.sup.count_children(timeout=-1), "timeout", -1
    ),
    bad("sup.tree(timeout='5')", lambda e: e.sup.tree(timeout="5"), "timeout", "5"),
    bad("sup.tree(timeout=-1)", lambda e: e.sup.tree(timeout=-1), "timeout", -1),
    bad(
        "sup.shutdown(timeout='5')",
        lambda e: e.sup.shutdown(timeout="5"),
        "timeout",
        "5",
    ),
    bad("sup.shutdown(timeout=-1)", lambda e: e.sup.shutdown(timeout=-1), "timeout", -1),
    bad("sup.subscribe(5)", lambda e: e.sup.subscribe(5), "handler", 5),
    # -- DynamicSupervisorRef calls ---------------------------------------------------------------
    bad(
        "dyn.start_child(5) without a template",
        lambda e: _untemplated_start_child(e, 5),
        ("spec", "ChildSpec"),
        5,
    ),
    bad(
        "dyn.get_or_start(timeout=-1)",
        lambda e: e.dyn.get_or_start(1, timeout=-1),
        "timeout",
        -1,
    ),
    bad(
        "dyn.get_or_start(timeout='5')",
        lambda e: e.dyn.get_or_start(1, timeout="5"),
        "timeout",
        "5",
    ),
    bad("dyn.get_or_start(key=[1])", lambda e: e.dyn.get_or_start([1]), "key", [1]),
    bad("dyn.get_or_start(spec=5)", lambda e: e.dyn.get_or_start(1, 5), "spec", 5),
    bad(
        "dyn.terminate_child('ref')",
        lambda e: e.dyn.terminate_child("ref"),
        "ref",
        "ref",
        errors=(TypeError, ValueError, ChildNotFoundError),
    ),
    bad(
        "dyn.start_child(template args that do not fit)",
        lambda e: e.dyn.start_child(1, 2, 3),
        "args",
        errors=(TypeError, ValueError, ChildStartError),
        shows=["Counter", "positional argument"],
    ),
    # -- TaskSupervisor ---------------------------------------------------------------------------
    bad("TaskSupervisor(shutdown='5')", lambda e: TaskSupervisor(shutdown="5"), "shutdown", "5"),
    bad("TaskSupervisor(shutdown=-1)", lambda e: TaskSupervisor(shutdown=-1), "shutdown", -1),
    bad("TaskSupervisor(shutdown=nan)", lambda e: TaskSupervisor(shutdown=NAN), "shutdown", NAN),
    bad("TaskSupervisor(shutdown=True)", lambda e: TaskSupervisor(shutdown=True), "shutdown", True),
    bad(
        "TaskSupervisor(max_children=0)",
        lambda e: TaskSupervisor(max_children=0),
        "max_children",
        0,
    ),
    bad(
        "TaskSupervisor(max_children='5')",
        lambda e: TaskSupervisor(max_children="5"),
        "max_children",
        "5",
    ),
    bad(
        "open_task_supervisor(shutdown=-1)",
        lambda e: enter(open_task_supervisor(shutdown=-1)),
        "shutdown",
        -1,
    ),
    bad(
        "open_task_supervisor(max_children=True)",
        lambda e: enter(open_task_supervisor(max_children=True)),
        "max_children",
        True,
    ),
    bad("TaskSupervisor.from_ref('ref')", lambda e: TaskSupervisor.from_ref("ref"), "ref", "ref"),
    bad("tasks.start_child(5)", lambda e: e.tasks.start_child(5), ("fn", "callable"), 5),
    bad(
        "tasks.start_child(coroutine)",
        lambda e: e.tasks.start_child(_closed(job())),
        ("fn", "function"),
        shows=[("fn", "function"), "coroutine"],
    ),
    bad(
        "tasks.start_child(generator fn)",
        lambda e: e.tasks.start_child(_agen),
        ("fn", "function"),
        shows=["generator"],
    ),
    bad(
        "tasks.start_child(job, 1, 2) args do not fit",
        lambda e: e.tasks.start_child(job, 1, 2),
        "args",
        shows=["job", "argument"],
    ),
    bad(
        "tasks.start_child(name=42)",
        lambda e: e.tasks.start_child(job, name=42),
        "name",
        42,
    ),
    bad("tasks.start_task(5)", lambda e: e.tasks.start_task(5), ("fn", "callable"), 5),
    bad(
        "tasks.start_task(timeout='5')",
        lambda e: e.tasks.start_task(job, timeout="5"),
        "timeout",
        "5",
    ),
    bad(
        "tasks.start_task(timeout=-1)", lambda e: e.tasks.start_task(job, timeout=-1), "timeout", -1
    ),
    bad(
        "tasks.start_task(timeout=nan)",
        lambda e: e.tasks.start_task(job, timeout=NAN),
        "timeout",
        NAN,
    ),
    bad(
        "tasks.start_task(timeout=True)",
        lambda e: e.tasks.start_task(job, timeout=True),
        "timeout",
        True,
    ),
    bad(
        "tasks.start_task(no_args, 1) args do not fit",
        lambda e: e.tasks.start_task(no_args, 1),
        "args",
        shows=["no_args", "argument"],
    ),
    bad("tasks.aclose(shutdown='5')", lambda e: e.tasks.aclose(shutdown="5"), "shutdown", "5"),
    bad("tasks.aclose(shutdown=-1)", lambda e: e.tasks.aclose(shutdown=-1), "shutdown", -1),
    bad("tasks.subscribe(5)", lambda e: e.tasks.subscribe(5), "handler", 5),
]


async def _untemplated_start_child(env: object, arg: object) -> object:
    dyn = await start_dynamic_supervisor(env.system)  # type: ignore[attr-defined]
    return await dyn.start_child(arg)


def _closed(coro: object) -> object:
    """A coroutine object, closed so it never warns (the call must refuse it anyway)."""
    coro.close()  # type: ignore[attr-defined]
    return coro
