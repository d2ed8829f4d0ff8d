"""The installed arborist's version, for ``arborist.actors.__version__`` and its siblings."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__: str = version("arborist")
    """The version of the installed ``arborist`` distribution (PEP 440)."""
except PackageNotFoundError:  # pragma: no cover - imported from a checkout, not installed
    __version__ = "0+unknown"
