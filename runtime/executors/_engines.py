"""Lazy imports of the optional engines, with an install hint when one is missing."""

from __future__ import annotations

import importlib
from types import ModuleType

from ._errors import EngineMissingError

__all__ = ["require_engine"]


def require_engine(executor: str, module: str, extra: str) -> ModuleType:
    """Import ``module`` for ``executor``, or raise ``EngineMissingError`` naming the extra.

    Raises:
        EngineMissingError: the module (or one it needs) is not installed.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise EngineMissingError(executor, module, extra) from exc
