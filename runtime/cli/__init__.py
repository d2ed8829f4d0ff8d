"""The ``arborist`` command line: ``run`` a workflow, ``serve`` an application, print its ``tree``.

Holds the argument parser and commands, target loading (``module:attr`` or ``path.py:attr``)
and input parsing, and live progress (plain lines, or a rich table). It sits on top of
everything: it may import ``Runtime`` and every other part of ``arborist.runtime``.
"""

from ._main import main

__all__ = ["main"]
