"""How ``arborist run`` prints a run's result: JSON (the common Python types included) or repr."""

from __future__ import annotations

import base64
import dataclasses
import datetime
import decimal
import enum
import json
import pathlib
import uuid
from collections.abc import Callable
from typing import Any

import attrs

from ._load import UsageError

__all__ = ["format_result"]


def _ordered(values: set[Any] | frozenset[Any]) -> list[Any]:
    try:
        return sorted(values)
    except TypeError:  # mixed types have no order: keep them all
        return list(values)


_AS_JSON: tuple[tuple[type | tuple[type, ...], Callable[[Any], Any]], ...] = (
    ((datetime.datetime, datetime.date, datetime.time), lambda v: v.isoformat()),
    ((uuid.UUID, decimal.Decimal, pathlib.PurePath), str),
    (enum.Enum, lambda v: v.value),
    ((set, frozenset), _ordered),
    (bytes, lambda v: base64.b64encode(v).decode("ascii")),
)
"""The common types JSON does not know, and how each is written."""


def json_default(value: Any) -> Any:
    """Turn a value ``json`` cannot write into one it can; attrs classes and dataclasses too.

    Raises:
        TypeError: the value has no JSON form here.
    """
    for kinds, convert in _AS_JSON:
        if isinstance(value, kinds):
            return convert(value)
    if attrs.has(type(value)):
        return attrs.asdict(value, recurse=False)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def format_result(value: Any, output: str) -> str:
    """The result as ``--output`` asks: ``json``, ``repr``, or ``auto`` (JSON when it can).

    Raises:
        UsageError: ``--output json`` and the result has no JSON form.
    """
    if output == "repr":
        return repr(value)
    try:
        return json.dumps(value, indent=2, ensure_ascii=False, default=json_default)
    except (TypeError, ValueError) as exc:
        if output == "json":
            raise UsageError(
                f"the result is a {type(value).__name__}, which is not JSON serialisable "
                f"({exc}); use --output repr or --output auto"
            ) from exc
        return repr(value)
