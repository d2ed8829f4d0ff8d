"""Plan shapes: what a durable run's journal depends on in its workflow, hashed and compared.

A run's journal names steps and relies on the edges between them: which step's result feeds
which, which steps wait for which, what a map step maps over. That is the plan's *shape*
(``plan_shape``), JSON data; its hash (``plan_hash``) is recorded with each durable run, and a
run whose workflow no longer has the same hash when it is recovered is not resumed blindly:
``describe_change`` says which steps were added, removed or rewired. Retries, timeouts, pools
and the code of a step's function are not part of the shape: changing them is safe for runs
in flight.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._compose import IncludeSpec, MapSpec

if TYPE_CHECKING:
    from ._planner import Plan

__all__ = ["describe_change", "plan_hash", "plan_shape"]

_CACHE: weakref.WeakKeyDictionary[Plan, tuple[dict[str, Any], str]] = weakref.WeakKeyDictionary()


def _kind(plan: Plan, name: str) -> str:
    composite = plan.step(name).composite
    if isinstance(composite, MapSpec):
        child = composite.workflow.name if composite.workflow is not None else ""
        return f"map {composite.over} {composite.item} {child}".rstrip()
    if isinstance(composite, IncludeSpec):
        return f"include {composite.workflow.name}"
    return "step"


def _entry(plan: Plan, name: str) -> Any:
    values = sorted(plan.value_dependencies[name])
    outcomes = sorted(plan.outcome_dependencies[name])
    orders = sorted(plan.order_dependencies[name])
    kind = _kind(plan, name)
    if kind == "step" and not outcomes and not orders:
        return values  # the common case, kept short: the steps whose results it takes
    edges = {key: names for key, names in (("v", values), ("o", outcomes), ("w", orders)) if names}
    return {"k": kind, **edges}


def _computed(plan: Plan) -> tuple[dict[str, Any], str]:
    cached = _CACHE.get(plan)
    if cached is None:
        shape = {
            "inputs": list(plan.inputs),
            "returns": plan.returns,
            "steps": {step.name: _entry(plan, step.name) for step in plan.steps},
        }
        text = json.dumps(shape, sort_keys=True, separators=(",", ":"))
        cached = (shape, hashlib.sha256(text.encode()).hexdigest()[:32])
        _CACHE[plan] = cached
    return cached


def plan_shape(plan: Plan) -> dict[str, Any]:
    """The plan's shape as JSON data: inputs, the returned step, and per step its edges.

    Each step maps to the sorted list of the steps whose results it takes, or, when it has
    more to say, to ``{"k": kind, "v": values, "o": outcomes, "w": wait_for}`` where ``kind``
    is ``"step"``, ``"map OVER ITEM [WORKFLOW]"`` or ``"include WORKFLOW"``. Computed once per
    plan (the returned dict is shared: do not change it).
    """
    return _computed(plan)[0]


def plan_hash(plan: Plan) -> str:
    """A stable hash (32 hex digits) of ``plan_shape(plan)``: equal shapes, equal hashes."""
    return _computed(plan)[1]


def _edges(entry: Any) -> dict[str, Any]:
    if isinstance(entry, list):
        return {"k": "step", "v": entry}
    if isinstance(entry, Mapping):
        return {"k": "step", **entry}
    return {"k": repr(entry)}


def _edge_text(edges: Mapping[str, Any]) -> str:
    parts = [edges["k"]] if edges.get("k", "step") != "step" else []
    for key, label in (("v", "takes"), ("o", "outcome of"), ("w", "waits for")):
        names = edges.get(key)
        if names:
            parts.append(f"{label} {', '.join(names)}")
    return "; ".join(parts) or "no edges"


def describe_change(old: Mapping[str, Any] | None, plan: Plan) -> str:
    """Say how ``plan`` differs from the shape ``old`` a run was started with.

    Returns:
        One sentence listing the steps added, removed and rewired (with the old and new
        edges), and changed inputs or returned step; a fallback sentence when ``old`` is
        not a shape (a run recorded by a version that did not store it).
    """
    new = plan_shape(plan)
    if not isinstance(old, Mapping) or not isinstance(old.get("steps"), Mapping):
        return "its plan changed (the run did not record its old shape to compare)"
    old_steps: Mapping[str, Any] = old["steps"]
    new_steps: Mapping[str, Any] = new["steps"]
    parts: list[str] = []
    added = [name for name in new_steps if name not in old_steps]
    removed = [name for name in old_steps if name not in new_steps]
    if added:
        parts.append(f"steps added: {', '.join(added)}")
    if removed:
        parts.append(f"steps removed: {', '.join(removed)}")
    rewired = [
        f"{name} (was: {_edge_text(_edges(old_steps[name]))}; "
        f"now: {_edge_text(_edges(new_steps[name]))})"
        for name in new_steps
        if name in old_steps and _edges(old_steps[name]) != _edges(new_steps[name])
    ]
    if rewired:
        parts.append(f"steps rewired: {'; '.join(rewired)}")
    if list(old.get("inputs", [])) != new["inputs"]:
        parts.append(f"inputs were {old.get('inputs')}, now {new['inputs']}")
    if old.get("returns") != new["returns"]:
        parts.append(f"returned step was {old.get('returns')!r}, now {new['returns']!r}")
    return "; ".join(parts) or "its plan hash changed"
