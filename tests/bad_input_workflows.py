"""Bad-input cases for workflows: the DSL, Retry, pools, Adaptive, run options, wiring, ctx."""

from __future__ import annotations

import math
from typing import Any

from bad_input_env import Case, Counter, bad, job, new_workflow, no_args

from arborist.runtime import (
    Adaptive,
    Retry,
    Runtime,
    Workflow,
    WorkflowInputError,
    case,
    input,
    outcome,
    render_timeline,
    result,
)
from arborist.supervision import ChildStartError

NAN = math.nan
INF = math.inf


async def _step(x: int) -> int:
    return x


async def _two(result: Any, arguments: Any) -> None:
    pass


def _on(**options: Any):
    return lambda e: new_workflow().step(_step, name="s", **options)


def _map(**options: Any):
    def call(e: Any) -> Any:
        wf = Workflow("m", inputs=["xs"])
        return wf.map(_step, **{"over": "xs", **options})

    return call


def _retry(**fields: Any):
    return lambda e: Retry(**fields)


def _adaptive(**fields: Any):
    return lambda e: Adaptive(**{"max": 8, **fields})


def _run(**options: Any):
    return lambda e: e.rt.run(e.wf, **{"x": 1, **options})


def _twice(kind: str):
    def call(e: Any) -> Any:
        wf = new_workflow()
        register = getattr(wf.steps["double"], kind)
        register(_two if kind == "undo" else job)
        return register(_two if kind == "undo" else job)

    return call


CASES: list[Case] = [
    # -- Workflow(...) ----------------------------------------------------------------------------
    bad("Workflow(name='')", lambda e: Workflow(""), "name", ""),
    bad("Workflow(name=5)", lambda e: Workflow(5), "name", 5),
    bad("Workflow(name=None)", lambda e: Workflow(None), "name", None),
    bad(
        "Workflow(inputs='user_id')", lambda e: Workflow("w", inputs="user_id"), "inputs", "user_id"
    ),
    bad("Workflow(inputs=5)", lambda e: Workflow("w", inputs=5), "inputs", 5),
    bad("Workflow(inputs=None)", lambda e: Workflow("w", inputs=None), "inputs", None),
    bad("Workflow(inputs=[5])", lambda e: Workflow("w", inputs=[5]), "input", 5),
    bad("Workflow(inputs=['1x'])", lambda e: Workflow("w", inputs=["1x"]), "input", "1x"),
    bad("Workflow(inputs=['class'])", lambda e: Workflow("w", inputs=["class"]), "input", "class"),
    bad("Workflow(inputs=['a', 'a'])", lambda e: Workflow("w", inputs=["a", "a"]), "input", "a"),
    # -- wf.step(...) -----------------------------------------------------------------------------
    bad("wf.step(5)", lambda e: new_workflow().step(5), ("fn", "function"), 5),
    bad("wf.step(name='1x')", lambda e: new_workflow().step(_step, name="1x"), "name", "1x"),
    bad("wf.step(name=5)", lambda e: new_workflow().step(_step, name=5), "name", 5),
    bad("wf.step(name of an input)", lambda e: new_workflow().step(_step, name="x"), "name", "x"),
    bad("wf.step(duplicate name)", lambda e: new_workflow().step(_step, name="double"), "double"),
    bad("wf.step(args=5)", _on(args=5), "args", 5),
    bad("wf.step(args={'x': 5})", _on(args={"x": 5}), "args", 5),
    bad("wf.step(args={'nope': input('x')})", _on(args={"nope": input("x")}), "args", "nope"),
    bad(
        "wf.step(args={'x': input('missing')})",
        _on(args={"x": input("missing")}),
        "input",
        "missing",
    ),
    bad("wf.step(wait_for=5)", _on(wait_for=5), "wait_for", 5),
    bad("wf.step(wait_for=[5])", _on(wait_for=[5]), "wait_for", 5),
    bad("wf.step(wait_for=[''])", _on(wait_for=[""]), "wait_for", ""),
    bad("wf.step(retry=3)", _on(retry=3), "retry", 3),
    bad("wf.step(retry=True)", _on(retry=True), "retry", True),
    bad("wf.step(timeout=0)", _on(timeout=0), "timeout", 0),
    bad("wf.step(timeout=-1)", _on(timeout=-1), "timeout", -1),
    bad("wf.step(timeout='5')", _on(timeout="5"), "timeout", "5"),
    bad("wf.step(timeout=nan)", _on(timeout=NAN), "timeout", NAN),
    bad("wf.step(timeout=inf)", _on(timeout=INF), "timeout", INF),
    bad("wf.step(timeout=True)", _on(timeout=True), "timeout", True),
    bad("wf.step(pool=5)", _on(pool=5), "pool", 5),
    bad("wf.step(pool='')", _on(pool=""), "pool", ""),
    bad("wf.step(inline='yes')", _on(inline="yes"), "inline", "yes"),
    bad("wf.step(inline=1)", _on(inline=1), "inline", 1),
    bad("wf.step(inline=None)", _on(inline=None), "inline", None),
    bad("wf.step(when=5)", _on(when=5), "when", 5),
    bad("wf.step(when=async fn)", _on(when=no_args), "when", shows=["when", "async"]),
    bad("wf.step(max_again=-1)", _on(max_again=-1), "max_again", -1),
    bad("wf.step(max_again='5')", _on(max_again="5"), "max_again", "5"),
    bad("wf.step(max_again=True)", _on(max_again=True), "max_again", True),
    bad("wf.step(max_again=1.5)", _on(max_again=1.5), "max_again", 1.5),
    bad("wf.step(max_again=None)", _on(max_again=None), "max_again", None),
    bad("wf.step(retries=3)", _on(retries=3), "retries"),
    bad("wf.step(executor=5)", _on(executor=5), "executor", 5),
    bad("wf.step(executor='')", _on(executor=""), "executor", ""),
    bad(
        "wf.step(executor_options=[1])",
        _on(executor="d", executor_options=[1]),
        "executor_options",
        [1],
    ),
    bad(
        "wf.step(executor_options= without executor)",
        _on(executor_options={"priority": 1}),
        "executor_options",
        shows=["executor_options", "executor="],
    ),
    bad("wf.step(*args fn)", lambda e: new_workflow().step(lambda *a: a, name="s"), "*a"),
    bad("wf.step(**kwargs fn)", lambda e: new_workflow().step(lambda **k: k, name="s"), "**k"),
    bad("step.undo(5)", lambda e: new_workflow().steps["double"].undo(5), "undo", 5),
    bad(
        "step.undo(fn of one arg)",
        lambda e: new_workflow().steps["double"].undo(job),
        "undo",
        shows=["undo", "(result, arguments)"],
    ),
    bad("step.undo twice", _twice("undo"), "undo", shows=["already has a undo"]),
    bad(
        "step.compensate(5)",
        lambda e: new_workflow().steps["double"].compensate(5),
        "compensate",
        5,
    ),
    bad(
        "step.compensate(fn of no arg)",
        lambda e: new_workflow().steps["double"].compensate(no_args),
        "compensate",
        shows=["compensate", "(error)"],
    ),
    bad(
        "step.compensate twice",
        _twice("compensate"),
        "compensate",
        shows=["already has a compensate"],
    ),
    # -- wf.map(...) ------------------------------------------------------------------------------
    bad("wf.map(over=5)", _map(over=5), "over", 5),
    bad("wf.map(over='1x')", _map(over="1x"), "over", "1x"),
    bad("wf.map(item='missing')", _map(item="missing"), ("item", "for the element"), "missing"),
    bad("wf.map(item=5)", _map(item=5), ("item", "for the element"), 5),
    bad(
        "wf.map(workflow=5)",
        lambda e: Workflow("m", inputs=["xs"]).map(over="xs", workflow=5),
        "workflow",
        5,
    ),
    bad("wf.map(batch_size=0)", _map(batch_size=0), "batch_size", 0),
    bad("wf.map(batch_size='5')", _map(batch_size="5"), "batch_size", "5"),
    bad("wf.map(batch_size=True)", _map(batch_size=True), "batch_size", True),
    bad("wf.map(batch_size=1.5)", _map(batch_size=1.5), "batch_size", 1.5),
    bad("wf.map(ordered='yes')", _map(ordered="yes"), "ordered", "yes"),
    bad("wf.map(ordered=None)", _map(ordered=None), "ordered", None),
    bad("wf.map(outcomes='yes')", _map(outcomes="yes"), "outcomes", "yes"),
    bad("wf.map(reduce=5)", _map(reduce=5), "reduce", 5),
    bad("wf.map(initial= without reduce)", _map(initial=0), "initial", shows=["initial", "reduce"]),
    bad("wf.map(retry=3)", _map(retry=3), "retry", 3),
    bad("wf.map(timeout=-1)", _map(timeout=-1), "timeout", -1),
    bad("wf.map(timeout='5')", _map(timeout="5"), "timeout", "5"),
    bad("wf.map(pool=5)", _map(pool=5), "pool", 5),
    bad("wf.map(when=5)", _map(when=5), "when", 5),
    bad("wf.map(name='1x')", _map(name="1x"), "name", "1x"),
    bad("wf.map(batch=10)", _map(batch=10), "batch"),
    bad("wf.map(executor=5)", _map(executor=5), "executor", 5),
    bad("wf.map(chunk_size=0)", _map(executor="d", chunk_size=0), "chunk_size", 0),
    bad("wf.map(chunk_size='2')", _map(executor="d", chunk_size="2"), "chunk_size", "2"),
    bad("wf.map(chunk_size=True)", _map(executor="d", chunk_size=True), "chunk_size", True),
    bad("wf.map(chunk_size= without executor)", _map(chunk_size=2), "chunk_size"),
    # -- wf.include, wf.returns -------------------------------------------------------------------
    bad("wf.include(5)", lambda e: new_workflow().include(5), ("child", "Workflow"), 5),
    bad(
        "wf.include(timeout=-1)",
        lambda e: new_workflow().include(Workflow("c"), timeout=-1),
        "timeout",
        -1,
    ),
    bad(
        "wf.include(retry='3')",
        lambda e: new_workflow().include(Workflow("c"), retry="3"),
        "retry",
        "3",
    ),
    bad(
        "wf.include(name='1x')",
        lambda e: new_workflow().include(Workflow("c"), name="1x"),
        "name",
        "1x",
    ),
    bad("wf.returns(5)", lambda e: Workflow("w").returns(5), "returns", 5),
    bad("wf.returns('')", lambda e: Workflow("w").returns(""), "returns", ""),
    bad(
        "wf.returns twice",
        lambda e: new_workflow().returns("double"),
        "returns",
        shows=["already returns"],
    ),
    # -- wiring -----------------------------------------------------------------------------------
    bad("input(5)", lambda e: input(5), "input", 5),
    bad("input('')", lambda e: input(""), "input", ""),
    bad("result(5)", lambda e: result(5), "result", 5),
    bad("outcome(None)", lambda e: outcome(None), "outcome", None),
    bad("case()", lambda e: case(), "case"),
    # -- Retry ------------------------------------------------------------------------------------
    bad("Retry(attempts=0)", _retry(attempts=0), "attempts", 0),
    bad("Retry(attempts='3')", _retry(attempts="3"), "attempts", "3"),
    bad("Retry(attempts=True)", _retry(attempts=True), "attempts", True),
    bad("Retry(attempts=1.5)", _retry(attempts=1.5), "attempts", 1.5),
    bad("Retry(attempts=None)", _retry(attempts=None), "attempts", None),
    bad("Retry(backoff='linear')", _retry(backoff="linear"), "backoff", "linear"),
    bad("Retry(backoff=5)", _retry(backoff=5), "backoff", 5),
    bad("Retry(delay=-1)", _retry(delay=-1), "delay", -1),
    bad("Retry(delay='1')", _retry(delay="1"), "delay", "1"),
    bad("Retry(delay=nan)", _retry(delay=NAN), "delay", NAN),
    bad("Retry(delay=inf)", _retry(delay=INF), "delay", INF),
    bad("Retry(delay=True)", _retry(delay=True), "delay", True),
    bad("Retry(factor=0.5)", _retry(factor=0.5), "factor", 0.5),
    bad("Retry(factor='2')", _retry(factor="2"), "factor", "2"),
    bad("Retry(max_delay=-1)", _retry(max_delay=-1), "max_delay", -1),
    bad("Retry(max_delay < delay)", _retry(delay=2.0, max_delay=1.0), "max_delay", 1.0),
    bad("Retry(jitter=2)", _retry(jitter=2), "jitter", 2),
    bad("Retry(jitter='0.5')", _retry(jitter="0.5"), "jitter", "0.5"),
    bad("Retry(jitter=nan)", _retry(jitter=NAN), "jitter", NAN),
    bad("Retry(retry_on=())", _retry(retry_on=()), "retry_on", ()),
    bad("Retry(retry_on=5)", _retry(retry_on=5), "retry_on", 5),
    bad("Retry(retry_on='ValueError')", _retry(retry_on="ValueError"), "retry_on", "ValueError"),
    bad(
        "Retry(retry_on=KeyboardInterrupt)",
        _retry(retry_on=KeyboardInterrupt),
        "retry_on",
        shows=["retry_on", "KeyboardInterrupt"],
    ),
    bad("Retry(tries=3)", _retry(tries=3), "tries"),
    bad("Retry().delay_for(0)", lambda e: Retry().delay_for(0), "attempt", 0),
    # -- pools and Adaptive -----------------------------------------------------------------------
    bad("rt.pool(name=5)", lambda e: e.rt.pool(5, 1), "name", 5),
    bad("rt.pool(name='')", lambda e: e.rt.pool("", 1), "name", ""),
    bad("rt.pool(limit=0)", lambda e: e.rt.pool("p", 0), "limit", 0),
    bad("rt.pool(limit='5')", lambda e: e.rt.pool("p", "5"), "limit", "5"),
    bad("rt.pool(limit=True)", lambda e: e.rt.pool("p", True), "limit", True),
    bad("rt.pool(limit=1.5)", lambda e: e.rt.pool("p", 1.5), "limit", 1.5),
    bad("rt.pool(limit=None)", lambda e: e.rt.pool("p", None), "limit", None),
    bad("rt.pool(limit=inf)", lambda e: e.rt.pool("p", INF), "limit", INF),
    bad(
        "pool reconfigured with limit=-1",
        lambda e: e.rt.pool("p", 1) and e.rt.pool("p", -1),
        "limit",
        -1,
    ),
    bad("pool.limit = 0", lambda e: setattr(e.rt.pool("p", 1), "limit", 0), "limit", 0),
    bad("Adaptive(min=0)", _adaptive(min=0), "min", 0),
    bad("Adaptive(min='1')", _adaptive(min="1"), "min", "1"),
    bad("Adaptive(min=True)", _adaptive(min=True), "min", True),
    bad("Adaptive(max=0)", _adaptive(max=0), "max", 0),
    bad("Adaptive(max < min)", _adaptive(min=4, max=2), "max", 2),
    bad("Adaptive() without max", lambda e: Adaptive(), "max"),
    bad("Adaptive(initial=99)", _adaptive(initial=99), "initial", 99),
    bad("Adaptive(tolerance=1)", _adaptive(tolerance=1), "tolerance", 1),
    bad("Adaptive(tolerance=nan)", _adaptive(tolerance=NAN), "tolerance", NAN),
    bad("Adaptive(tolerance='1.5')", _adaptive(tolerance="1.5"), "tolerance", "1.5"),
    bad("Adaptive(backoff=1)", _adaptive(backoff=1), "backoff", 1),
    bad("Adaptive(backoff=0)", _adaptive(backoff=0), "backoff", 0),
    bad("Adaptive(backoff=nan)", _adaptive(backoff=NAN), "backoff", NAN),
    # -- rt.run / rt.start options ----------------------------------------------------------------
    bad("rt.run('wf')", lambda e: e.rt.run("wf"), "workflow", "wf"),
    bad("rt.start(None)", lambda e: e.rt.start(None), "workflow", None),
    bad("rt.run(inputs=5)", lambda e: e.rt.run(e.wf, inputs=5), "inputs", 5),
    bad("rt.run(inputs='ab')", lambda e: e.rt.run(e.wf, inputs="ab"), "inputs", "ab"),
    bad("rt.run(bogus=1) unknown input", _run(bogus=1), "bogus"),
    bad("rt.run() missing input", lambda e: e.rt.run(e.wf), "x", errors=(WorkflowInputError,)),
    bad(
        "rt.run(x given twice)",
        lambda e: e.rt.run(e.wf, inputs={"x": 1}, x=2),
        "x",
        shows=["'x'", "twice"],
    ),
    bad("rt.run(max_concurrency=0)", _run(max_concurrency=0), "max_concurrency", 0),
    bad("rt.run(max_concurrency='5')", _run(max_concurrency="5"), "max_concurrency", "5"),
    bad("rt.run(max_concurrency=True)", _run(max_concurrency=True), "max_concurrency", True),
    bad("rt.run(max_concurrency=1.5)", _run(max_concurrency=1.5), "max_concurrency", 1.5),
    bad("rt.run(concurrent='no')", _run(concurrent="no"), "concurrent", "no"),
    bad("rt.run(concurrent=None)", _run(concurrent=None), "concurrent", None),
    bad("rt.run(concurrent=0)", _run(concurrent=0), "concurrent", 0),
    bad(
        "rt.start(pool='missing')",
        lambda e: e.rt.start(e.wf, x=1, pool="missing"),
        "pool",
        "missing",
    ),
    bad("rt.start(pool=5)", lambda e: e.rt.start(e.wf, x=1, pool=5), "pool", 5),
    bad("rt.start(pool='')", lambda e: e.rt.start(e.wf, x=1, pool=""), "pool", ""),
    bad("rt.resume(5)", lambda e: e.rt.resume(5), ("state", "HaltedRun"), 5),
    # -- jobs, tasks, actors and events on the runtime --------------------------------------------
    bad("rt.fire_and_forget(5)", lambda e: e.rt.fire_and_forget(5), ("fn", "callable"), 5),
    bad(
        "rt.fire_and_forget(job, 1, 2) args do not fit",
        lambda e: e.rt.fire_and_forget(job, 1, 2),
        "args",
        shows=["job", "argument"],
    ),
    bad(
        "rt.fire_and_forget(name=5)",
        lambda e: e.rt.fire_and_forget(job, name=5),
        "name",
        5,
    ),
    bad("rt.start_task(timeout='5')", lambda e: e.rt.start_task(job, timeout="5"), "timeout", "5"),
    bad("rt.start_task(timeout=-1)", lambda e: e.rt.start_task(job, timeout=-1), "timeout", -1),
    bad(
        "rt.start_task(no_args, 1) args do not fit",
        lambda e: e.rt.start_task(no_args, 1),
        "args",
        shows=["no_args", "argument"],
    ),
    bad("rt.spawn(5)", lambda e: e.rt.spawn(5), ("actor_class", "Actor"), 5),
    bad(
        "rt.spawn(restart='sometimes')",
        lambda e: e.rt.spawn(Counter, restart="sometimes"),
        "restart",
        "sometimes",
    ),
    bad("rt.spawn(shutdown=-1)", lambda e: e.rt.spawn(Counter, shutdown=-1), "shutdown", -1),
    bad("rt.spawn(shutdown='5')", lambda e: e.rt.spawn(Counter, shutdown="5"), "shutdown", "5"),
    bad("rt.spawn(name=42)", lambda e: e.rt.spawn(Counter, name=42), "name", 42),
    bad(
        "rt.spawn(Counter, 1, 2, 3) args do not fit",
        lambda e: e.rt.spawn(Counter, 1, 2, 3),
        "Counter",
        errors=(TypeError, ValueError, ChildStartError),
        shows=["Counter", "argument"],
    ),
    bad("rt.subscribe(5)", lambda e: e.rt.subscribe(5), "handler", 5),
    bad("rt.subscribe(only=5)", lambda e: e.rt.subscribe(print, only=5), "only", 5),
    bad(
        "rt.subscribe(only='RunFinished')",
        lambda e: e.rt.subscribe(print, only="RunFinished"),
        "only",
        "RunFinished",
    ),
    bad("rt.aclose(timeout='5')", lambda e: e.rt.aclose(timeout="5"), "timeout", "5"),
    bad("rt.aclose(timeout=-1)", lambda e: e.rt.aclose(timeout=-1), "timeout", -1),
    bad("rt.aclose(timeout=nan)", lambda e: e.rt.aclose(timeout=NAN), "timeout", NAN),
    bad("Runtime.background(bogus=1)", lambda e: Runtime.background(bogus=1), "bogus"),
    # -- handles, timelines and the step context --------------------------------------------------
    bad("handle.timeline(width=5)", lambda e: _timeline(e, 5), "width", 5),
    bad("handle.timeline(width='60')", lambda e: _timeline(e, "60"), "width", "60"),
    bad("render_timeline(end < start)", lambda e: render_timeline([], 2.0, 1.0), "end", 1.0),
    bad(
        "render_timeline(start='0')",
        lambda e: render_timeline([], "0", 1.0),
        "start",
        "0",
    ),
    bad("ctx.run(5)", lambda e: e.in_step(lambda ctx: ctx.run(5)), "workflow", 5),
    bad(
        "ctx.run(wf, bogus=1)",
        lambda e: e.in_step(lambda ctx: ctx.run(new_workflow(), x=1, bogus=1)),
        "bogus",
    ),
    bad(
        "ctx.fire_and_forget(5)",
        lambda e: e.in_step(lambda ctx: ctx.fire_and_forget(5)),
        ("fn", "callable"),
        5,
    ),
]


async def _timeline(env: Any, width: Any) -> str:
    handle = await env.rt.start(env.wf, x=1)
    await handle.result()
    return handle.timeline(width=width)
