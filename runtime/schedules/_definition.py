"""Defining a schedule: every check made at ``rt.schedule(...)``, and its first due tick.

Nothing about a schedule fails later that could be known at the call: the trigger, the job's
kind, its arguments or a workflow's inputs, the options, and whether the trigger ever comes due
inside the ``start``/``end`` window. The schedule's timing is anchored here, at the call.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import trio

from arborist.actors._checks import check_args_fit

from ..workflow._workflow import Workflow
from ._cron import Cron
from ._handle import _describe_trigger
from ._options import ScheduleOptions
from ._state import Env, JobKind, ScheduleState
from ._triggers import At, Interval, Trigger, next_due

__all__ = ["define"]

_MICROSECOND = timedelta(microseconds=1)


def define(
    name: str,
    trigger: object,
    job: Any,
    *,
    inputs: Mapping[str, Any] | None,
    args: tuple[Any, ...],
    options: ScheduleOptions,
    env: Env,
) -> ScheduleState:
    """Check a schedule's definition and return its state, anchored now (or at ``start``).

    Raises:
        TypeError: the trigger, the job, args or inputs do not fit (args are bound to the
            job's signature here); a custom trigger's first answer is not a datetime.
        ValueError: the trigger never comes due in the window, or a custom trigger's first
            answer is naive or not after the instant it was asked about.
        WorkflowInputError: a workflow's inputs are missing or unexpected.
    """
    checked = _check_trigger(name, trigger)
    kind = _job_kind(name, job)
    if not isinstance(args, tuple):
        raise TypeError(f"schedule {name!r}: args must be a tuple; got {args!r}")
    given_inputs: dict[str, Any] = {}
    if isinstance(job, Workflow):
        if args:
            raise TypeError(
                f"schedule {name!r}: a workflow takes inputs=..., not args; got args={args!r}"
            )
        if inputs is not None and not isinstance(inputs, Mapping):
            raise TypeError(f"schedule {name!r}: inputs must be a mapping; got {inputs!r}")
        given_inputs = dict(inputs or {})
        job.plan().check_inputs(given_inputs)
        if env.start_workflow is None:
            raise TypeError(
                f"schedule {name!r}: this manager cannot run workflows (it was made "
                "without start_workflow=); schedule workflows with rt.schedule(...)"
            )
    elif inputs is not None:
        raise TypeError(
            f"schedule {name!r}: inputs= is for Workflow jobs; pass a function's "
            f"arguments with args=(...); got inputs={inputs!r}"
        )
    else:
        check_args_fit(job, args, what=f"schedule {name!r}")
    state = ScheduleState(
        name=name,
        trigger=checked,
        job=job,
        kind=kind,
        args=args,
        inputs=given_inputs,
        options=options,
        env=env,
    )
    _anchor(state)
    return state


def _job_kind(name: str, job: object) -> JobKind:
    label = f"schedule {name!r}"
    if isinstance(job, Workflow):
        return JobKind.WORKFLOW
    if inspect.iscoroutine(job):
        job.close()
        raise TypeError(
            f"{label}: job is a coroutine object, already called; pass the function itself "
            "(job=send_report, args=(...)), not send_report(...)"
        )
    if inspect.isasyncgenfunction(job) or inspect.isgeneratorfunction(job):
        raise TypeError(
            f"{label}: job {job!r} is a generator function; a job is an `async def`, a `def` "
            "or a Workflow"
        )
    if inspect.iscoroutinefunction(job) or inspect.iscoroutinefunction(
        getattr(job, "__call__", None)  # noqa: B004 - an instance with `async def __call__`
    ):
        return JobKind.ASYNC
    if inspect.isclass(job) or not callable(job):
        raise TypeError(
            f"{label}: job must be an `async def` function, a `def` function (run on a worker "
            f"thread) or a Workflow; got {job!r}"
        )
    return JobKind.SYNC


def _check_trigger(name: str, trigger: object) -> Interval | Trigger:
    if isinstance(trigger, Interval | Cron | At):
        return trigger
    if isinstance(trigger, str):
        raise TypeError(
            f"schedule {name!r}: trigger {trigger!r} is a string; wrap a cron expression with "
            f"cron({trigger!r}, tz=...) or use every(seconds=...) or at(datetime)"
        )
    if not isinstance(trigger, type) and isinstance(trigger, Trigger):
        return trigger
    raise TypeError(
        f"schedule {name!r}: trigger must be every(...), cron(...), at(...) or an object with "
        f"next_after(datetime); got {trigger!r}"
    )


def _anchor(state: ScheduleState) -> None:
    """Set the schedule's first due tick from now and its window; raise if it has none."""
    options = state.options
    now = trio.current_time()
    wall_now = state.env.wall_clock.now()
    label = f"schedule {state.name!r}"
    if options.end is not None and options.end <= wall_now:
        raise ValueError(
            f"{label}: end {options.end.isoformat()} is already past (the wall clock reads "
            f"{wall_now.isoformat()}): pick a later end or drop it"
        )
    start = options.start if options.start is not None and options.start > wall_now else None
    trigger = state.trigger
    if isinstance(trigger, Interval):
        state.anchor = now
        if start is not None:
            state.anchor = now + (start - wall_now).total_seconds()
        return
    base = wall_now
    if start is not None:
        base = start - _MICROSECOND  # start is inclusive
    first = next_due(trigger, base, label)
    if first is None:
        raise ValueError(
            f"{label}: trigger {_describe_trigger(trigger)} never comes due after "
            f"{base.isoformat()}; an at() time must be in the future"
        )
    if options.end is not None and first > options.end:
        raise ValueError(
            f"{label}: trigger {_describe_trigger(trigger)} first comes due at "
            f"{first.isoformat()}, after end {options.end.isoformat()}: widen the window"
        )
    state.next_wall = first
