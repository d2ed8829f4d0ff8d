"""``RemoteStepInfo``: what a step running on an executor knows of its run, instead of ``ctx``."""

from __future__ import annotations

import attrs

__all__ = ["RemoteStepInfo"]


def _positive(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"RemoteStepInfo: {attribute.name} must be an int >= 1; got {value!r}")


def _index(instance: object, attribute: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ValueError(f"RemoteStepInfo: element must be None or an int >= 0; got {value!r}")


@attrs.frozen
class RemoteStepInfo:
    """One attempt of a step (or map element) as the remote function sees it; picklable.

    A step's ``ctx`` holds the local runtime (pools, child runs, the trio nursery), which
    cannot leave the process; a step that runs on an executor receives this instead.

    Attributes:
        run_id: the run's id.
        workflow: the workflow's name.
        step: the step's name.
        attempt: the attempt number, from 1.
        idempotency_key: the same for every attempt of this step (and element) in this run:
            key an external effect on it so a retried or re-submitted attempt is harmless
            (an attempt cancelled on Dask may still be running when the next one starts).
        element: the element's index in the map's source, or None for a plain step.

    Example:
        >>> info = RemoteStepInfo.for_attempt("r1", "etl", "parse", 2, element=7)
        >>> info.idempotency_key
        'etl/r1/parse[7]'
    """

    run_id: str
    workflow: str
    step: str
    attempt: int = attrs.field(validator=_positive)
    idempotency_key: str
    element: int | None = attrs.field(default=None, validator=_index)

    @classmethod
    def for_attempt(
        cls, run_id: str, workflow: str, step: str, attempt: int, *, element: int | None = None
    ) -> RemoteStepInfo:
        """The info of one attempt, with the idempotency key derived from the run and step."""
        key = f"{workflow}/{run_id}/{step}" + ("" if element is None else f"[{element}]")
        return cls(run_id, workflow, step, attempt, key, element)
