"""What the ``arborist`` command loads: targets (``module:attr``, ``file.py:attr``) and inputs.

Pure helpers, testable in-process: each raises `UsageError` with a one-line message that names
the value, the rule and the fix; the command line prints it as ``arborist: error: ...`` and
exits with status 2.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from ..workflow._workflow import Workflow

__all__ = [
    "DEFAULT_APP",
    "UsageError",
    "load_app",
    "load_target",
    "load_workflow",
    "parse_input",
    "parse_inputs",
    "recorded_target",
]

DEFAULT_APP = "app"
"""The attribute ``serve`` and ``tree`` use when the target names only a module."""


class UsageError(Exception):
    """The command line was used wrongly: a bad target, a bad input, a bad option.

    Attributes:
        exit_code: the process exit status for it (2, as argparse uses for usage errors).
    """

    exit_code = 2


# -- targets ------------------------------------------------------------------------------------


def _split_target(target: str) -> tuple[str, str | None]:
    """Split ``module:attr`` or ``path/file.py:attr`` (or a Windows path) in two."""
    source, sep, attr = target.rpartition(":")
    if not sep or not source or (len(source) == 1 and attr.startswith(("\\", "/"))):
        return target, None  # no attribute (or only a Windows drive letter)
    if not attr:
        raise UsageError(f"target {target!r} ends with ':'; name an attribute after it")
    return source, attr


def _is_path(source: str) -> bool:
    return source.endswith(".py") or "/" in source or os.sep in source


def _import_file(source: str, target: str) -> ModuleType:
    path = Path(source)
    if not path.is_file():
        hint = "" if source.endswith(".py") else " (a module name has no '/' nor '.py')"
        raise UsageError(f"cannot load {target!r}: no file {source!r}{hint}")
    path = path.resolve()
    name = path.parent.name if path.stem == "__init__" else path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"cannot load {target!r}: {source!r} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)  # so the file can import its neighbours
    previous = sys.modules.get(name)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        if previous is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = previous
        raise
    return module


def _import_module(source: str, target: str) -> ModuleType:
    here = os.getcwd()
    if here not in sys.path and "" not in sys.path:
        sys.path.insert(0, here)  # `module:attr` is importable from the current directory
    try:
        return importlib.import_module(source)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if source == missing or source.startswith(missing + "."):
            raise UsageError(
                f"cannot load {target!r}: no module named {missing!r} in the current "
                f"directory or on sys.path; give a module name or a path/to/file.py"
            ) from exc
        raise


def load_target(target: str, *, default_attr: str | None = None) -> tuple[Any, str]:
    """Import what ``target`` names and return ``(object, its display name)``.

    ``target`` is ``module:attr`` (the module importable from the current directory or
    ``sys.path``) or ``path/to/file.py:attr`` (the file's folder joins ``sys.path`` so it can
    import its neighbours); ``attr`` may be dotted (``module:app.setup``). Without ``:attr``,
    ``default_attr`` is used, or the module itself is returned when it is None.

    Raises:
        UsageError: the file or module does not exist, or has no such attribute.
        Exception: whatever the module raised while being imported (a bug in it), with the
            target in the message of the `UsageError` chained to it.
    """
    if not isinstance(target, str) or not target.strip():
        raise UsageError(f"a target is 'module:attr' or 'path/to/file.py:attr'; got {target!r}")
    source, attr = _split_target(target.strip())
    attr = attr or default_attr
    try:
        if _is_path(source):
            module = _import_file(source, target)
        else:
            module = _import_module(source, target)
    except UsageError:
        raise
    except SyntaxError as exc:
        raise UsageError(
            f"cannot load {target!r}: syntax error in {exc.filename}, line {exc.lineno}: {exc.msg}"
        ) from exc
    except Exception as exc:
        raise UsageError(
            f"cannot load {target!r}: importing it raised {type(exc).__name__}: {exc}"
        ) from exc
    if attr is None:
        return module, module.__name__
    return _attribute(module, attr, target), f"{module.__name__}:{attr}"


def _attribute(module: ModuleType, attr: str, target: str) -> Any:
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            where = module.__name__ if obj is module else f"{module.__name__}:{attr}"
            raise UsageError(
                f"cannot load {target!r}: {where!r} has no attribute {part!r}{_listing(module)}"
            )
        obj = getattr(obj, part)
    return obj


def _workflows_in(module: ModuleType) -> list[str]:
    return sorted(name for name, value in vars(module).items() if isinstance(value, Workflow))


def _listing(module: ModuleType | None) -> str:
    if module is None:
        return ""
    found = _workflows_in(module)
    return f" (its workflows: {', '.join(found)})" if found else ""


def load_workflow(target: str) -> Workflow:
    """Load the `Workflow` that ``target`` names (``module:attr`` or ``file.py:attr``).

    Without ``:attr``, the module must hold exactly one workflow.

    Raises:
        UsageError: see `load_target`; or the object is not a Workflow; or the module holds no
            workflow or several.
    """
    obj, name = load_target(target)
    if isinstance(obj, ModuleType):
        found = _workflows_in(obj)
        if len(found) != 1:
            what = "no workflow" if not found else f"{len(found)} workflows ({', '.join(found)})"
            raise UsageError(f"module {name!r} holds {what}; name one as {target}:<workflow>")
        return vars(obj)[found[0]]  # type: ignore[no-any-return]
    if not isinstance(obj, Workflow):
        raise UsageError(
            f"{name!r} is {_kind(obj)}, not a Workflow; `arborist run` takes a "
            f"Workflow object, such as `wf = Workflow(...)` at module level"
            f"{_listing(sys.modules.get(name.partition(':')[0]))}"
        )
    return obj


def recorded_target(target: str, workflow: Workflow) -> str:
    """``target`` as a durable run records it, to import it again from anywhere later.

    A file becomes its absolute path; a target without ``:attr`` gets the attribute holding
    ``workflow``: ``path/to/flows.py`` -> ``/abs/path/to/flows.py:checkout``.
    """
    source, attr = _split_target(target.strip())
    if _is_path(source):
        source = str(Path(source).resolve())
    if attr is None:
        module = sys.modules.get(Path(source).stem if _is_path(source) else source)
        found = (
            [name for name, value in vars(module or {}).items() if value is workflow]
            if module is not None
            else []
        )
        attr = found[0] if found else workflow.name
    return f"{source}:{attr}"


def load_app(target: str) -> Any:
    """Load the application ``serve`` and ``tree`` set up (``module:app`` by default).

    The application is a callable taking the open `Runtime` (sync or async), or an object
    with a ``setup(rt)`` method.

    Raises:
        UsageError: see `load_target`; or the object is neither callable nor has ``setup``.
    """
    obj, name = load_target(target, default_attr=DEFAULT_APP)
    if callable(getattr(obj, "setup", None)) or callable(obj):
        return obj
    raise UsageError(
        f"{name!r} is {_kind(obj)}, which cannot set an application up; point at a function "
        f"`async def app(rt): ...` or an object with a `setup(rt)` method"
    )


def _kind(obj: object) -> str:
    if isinstance(obj, ModuleType):
        return "a module"
    article = "an" if type(obj).__name__[:1].lower() in "aeiou" else "a"
    return f"{article} {type(obj).__name__} ({obj!r:.60})"


# -- inputs -------------------------------------------------------------------------------------


_LOOKS_LIKE_JSON = ("[", "{", '"')
"""A value starting with one of these is meant as JSON: if it does not parse, it is an error."""


def _value(key: str, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        if text.lstrip().startswith(_LOOKS_LIKE_JSON):
            raise UsageError(
                f"--input {key}={text!r} looks like JSON but does not parse ({exc}); fix it, "
                f"or quote the whole value to pass it as a string: {key}='\"...\"'"
            ) from exc
        return text


def parse_input(item: str) -> tuple[str, Any]:
    """Parse one ``--input key=value``: the value as JSON when it is valid JSON, else a string.

    ``n=3`` gives ``3``, ``ok=true`` gives ``True``, ``ids=[1,2]`` a list, ``who=ana`` the
    string ``'ana'``; quote to force a string: ``n='"3"'``. ``key=`` gives ``''``. A value
    that starts like JSON (``[``, ``{`` or ``"``) must be valid JSON.

    Raises:
        UsageError: no ``=``, the key is not a Python identifier, or the value starts like
            JSON but does not parse (a missing ``]`` must not become a string silently).
    """
    key, sep, text = item.partition("=")
    key = key.strip()
    if not sep:
        raise UsageError(f"--input {item!r} has no '='; write --input {item or 'key'}=value")
    if not key.isidentifier():
        raise UsageError(
            f"--input {item!r}: the key {key!r} is not a valid input name (a Python identifier)"
        )
    return key, _value(key, text)


def parse_inputs(items: Iterable[str] = (), json_objects: Iterable[str] = ()) -> dict[str, Any]:
    """Merge ``--input key=value`` items and ``--input-json '{...}'`` objects into one dict.

    Raises:
        UsageError: a bad item (see `parse_input`), a JSON text that is not a JSON object, or
            an input given twice.
    """
    inputs: dict[str, Any] = {}

    def add(key: str, value: Any, origin: str) -> None:
        if key in inputs:
            raise UsageError(f"input {key!r} is given twice ({origin}); give it once")
        inputs[key] = value

    for text in json_objects:
        try:
            mapping = json.loads(text)
        except ValueError as exc:
            raise UsageError(f"--input-json {text!r} is not valid JSON: {exc}") from exc
        if not isinstance(mapping, Mapping):
            raise UsageError(
                f"--input-json takes a JSON object such as '{{\"user_id\": 1}}'; got {text!r}"
            )
        for key, value in mapping.items():
            add(key, value, "in --input-json")
    for item in items:
        key, value = parse_input(item)
        add(key, value, f"again in --input {item!r}")
    return inputs
