"""The workflow DSL and its planner: what a workflow *is*, checked before anything runs.

Holds ``Workflow`` and ``Step`` (declared with ``@wf.step``, ``wf.map``, ``wf.include``), the
wiring helpers (``input``, ``result``, ``value``, ``outcome``), ``Retry``, the control values a
step may return (``Again``, ``Halt``, ``RetryStep``, ``ContinueWith``), guards (``case``), the
definition errors, and the planner that turns a workflow into a frozen ``Plan``.

Pure and synchronous: nothing here starts a task or reads a clock, so every module is testable
without trio. From the rest of arborist it imports only the ``Backoff`` value of
``arborist.supervision`` (a step's Retry waits as supervisors do); the engine, schedules
and the runtime import it.
"""

from ._compose import IncludeSpec, MapSpec, MapStatistics
from ._control import Again, ContinueWith, Halt, RetryStep
from ._errors import WorkflowDefinitionError, WorkflowInputError
from ._guards import case
from ._planner import Plan, plan
from ._retry import Retry
from ._step import CONTEXT_PARAM, DEFAULT_MAX_AGAIN, ON_RESUME, Step, is_async_callable
from ._wiring import InputRef, OutcomeRef, ResultRef, ValueRef, input, outcome, result, value
from ._workflow import Workflow

__all__ = [
    "CONTEXT_PARAM",
    "DEFAULT_MAX_AGAIN",
    "ON_RESUME",
    "Again",
    "ContinueWith",
    "Halt",
    "IncludeSpec",
    "InputRef",
    "MapSpec",
    "MapStatistics",
    "OutcomeRef",
    "Plan",
    "ResultRef",
    "Retry",
    "RetryStep",
    "Step",
    "ValueRef",
    "Workflow",
    "WorkflowDefinitionError",
    "WorkflowInputError",
    "case",
    "input",
    "is_async_callable",
    "outcome",
    "plan",
    "result",
    "value",
]
