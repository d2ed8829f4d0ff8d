"""Live progress of a run for the ``arborist`` command: plain text lines, or a rich table.

Both reporters take the runtime's events (``rt.subscribe(reporter.on_event, only=...)``).
`PlainProgress` writes one line per event, with its time offset from the start of the command;
`RichProgress` (needs the optional ``rich`` package) keeps a live table with a row per step.
"""

from __future__ import annotations

from typing import IO, Any, Protocol

import attrs

from ..engine._errors import WorkflowCancelledError, WorkflowFailedError
from ..engine._events import (
    PoolLimitChanged,
    RunFinished,
    RunStarted,
    StepAgain,
    StepCancelled,
    StepFailed,
    StepFinished,
    StepRetried,
    StepSkipped,
    StepStarted,
    StepUndoFailed,
    StepUndone,
)
from ..engine._timeline import format_seconds

__all__ = [
    "PROGRESS_EVENTS",
    "PlainProgress",
    "Progress",
    "RichProgress",
    "StepLine",
    "describe",
    "rich_available",
]

PROGRESS_EVENTS = (
    RunStarted,
    RunFinished,
    StepStarted,
    StepFinished,
    StepFailed,
    StepRetried,
    StepCancelled,
    StepSkipped,
    StepAgain,
    StepUndone,
    StepUndoFailed,
    PoolLimitChanged,
)
"""The events a progress reporter shows (pass as ``only=`` to ``rt.subscribe``)."""


def rich_available() -> bool:
    """Whether the optional ``rich`` package can be imported."""
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


def _error(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@attrs.frozen
class StepLine:
    """What one event says about a step (or a run, or a pool), ready to print.

    Attributes:
        subject: the step's name (prefixed ``run-id/`` for a child run), ``run <id>`` or
            ``pool <name>``.
        status: one word: ``started``, ``ok``, ``failed``, ``retry``, ``cancelled``...
        detail: the rest: a duration, an error, a delay.
    """

    subject: str
    status: str
    detail: str = ""


def describe(event: Any, main_run: str | None = None) -> StepLine | None:  # noqa: PLR0911, PLR0912
    """Say what ``event`` means for a reader of the progress, or None for other events.

    Steps of a run other than ``main_run`` (child workflows) are named ``run-id/step``.
    """
    match event:
        case PoolLimitChanged(pool=pool, old=old, new=new, reason=reason):
            return StepLine(f"pool {pool}", "limit", f"{old} -> {new} ({reason})")
        case RunStarted(run_id=run_id, workflow=workflow):
            return StepLine(f"run {run_id}", "started", f"workflow {workflow!r}")
        case RunFinished(run_id=run_id, duration=duration, ok=ok, error=error):
            took = format_seconds(duration)
            if ok:
                return StepLine(f"run {run_id}", "ok", took)
            if isinstance(error, WorkflowFailedError):
                return StepLine(f"run {run_id}", "failed", f"{took}, at step {error.step!r}")
            if isinstance(error, WorkflowCancelledError):
                return StepLine(f"run {run_id}", "cancelled", took)
            why = f"{took}, {type(error).__name__}" if error is not None else took
            return StepLine(f"run {run_id}", "failed", why)
    owner = getattr(event, "run_id", None)
    step = getattr(event, "step", None)
    if step is None:
        return None
    subject = step if owner == main_run or main_run is None else f"{owner}/{step}"
    match event:
        case StepStarted(attempt=attempt):
            return StepLine(subject, "started", f"attempt {attempt}" if attempt > 1 else "")
        case StepFinished(duration=duration):
            return StepLine(subject, "ok", format_seconds(duration))
        case StepFailed(duration=duration, error=error, final=final):
            again = "" if final else ", will retry"
            return StepLine(
                subject, "failed", f"{format_seconds(duration)}, {_error(error)}{again}"
            )
        case StepRetried(attempt=attempt, delay=delay):
            return StepLine(subject, "retry", f"attempt {attempt} in {format_seconds(delay)}")
        case StepCancelled(duration=duration):
            return StepLine(subject, "cancelled", format_seconds(duration))
        case StepSkipped(because=because):
            return StepLine(
                subject, "skipped", f"{because!r} did not succeed" if because else "guard said no"
            )
        case StepAgain(count=count, delay=delay):
            return StepLine(subject, "again", f"#{count}, runs again in {format_seconds(delay)}")
        case StepUndone(duration=duration):
            return StepLine(subject, "undone", format_seconds(duration))
        case StepUndoFailed(error=error):
            return StepLine(subject, "undo failed", _error(error))
    return None


class Progress(Protocol):
    """A live progress reporter for one ``arborist run``."""

    def open(self, origin: float, main_run: str | None) -> None:
        """Start showing progress.

        Event times are shown relative to ``origin``, or to the start of the first run when
        ``main_run`` is None (that run is then the main one).
        """

    def on_event(self, event: Any) -> None:
        """Show what ``event`` changes (called on the runtime's trio thread)."""

    def close(self) -> None:
        """Stop the live display (idempotent)."""

    def note(self, text: str) -> None:
        """Show a message to the user (e.g. an interrupt) without it being painted over."""


class PlainProgress:
    """One line per event: ``+0.153s  fetch_profile  ok  153ms`` (for logs and pipes).

    Args:
        stream: where the lines go (flushed after each one).
        name_width: the width of the subject column (the longest step name).
    """

    def __init__(self, stream: IO[str], *, name_width: int = 12) -> None:
        self._stream = stream
        self._width = max(name_width, 4)
        self._origin = 0.0
        self._main: str | None = None

    def open(self, origin: float, main_run: str | None) -> None:
        """Measure offsets from ``origin``; name steps of other runs ``run-id/step``.

        With ``main_run`` None, the first run started is the main one and its start the origin.
        """
        self._origin = origin
        self._main = main_run

    def note(self, text: str) -> None:
        """Write ``text`` as a line of its own."""
        self._stream.write(f"{text}\n")
        self._stream.flush()

    def on_event(self, event: Any) -> None:
        """Write the event's line, if it concerns a run, a step or a pool."""
        if self._main is None and isinstance(event, RunStarted):
            self._main = event.run_id  # the first run is the one the command started
            self._origin = event.time  # offsets from its start, as in its timeline
        line = describe(event, self._main)
        if line is None:
            return
        offset = getattr(event, "time", self._origin) - self._origin
        if " " in line.subject:  # a run or a pool, not a step: no columns
            text = f"+{offset:7.3f}s  {line.subject} {line.status}  {line.detail}"
        else:
            subject = f"{line.subject:<{self._width}}"
            text = f"+{offset:7.3f}s  {subject}  {line.status:<9}  {line.detail}"
        self._stream.write(text.rstrip() + "\n")
        self._stream.flush()

    def close(self) -> None:
        """Nothing to close: every line is already written."""

    def __repr__(self) -> str:
        return f"<PlainProgress main_run={self._main!r}>"


@attrs.define
class _Row:
    status: str = "waiting"
    attempt: int = 0
    start: float | None = None
    detail: str = ""


class RichProgress:
    """A live table with one row per step, redrawn as events come (needs ``rich``).

    Args:
        console: a ``rich.console.Console`` to draw on (e.g. ``Console(stderr=True)``).
        steps: the step names in declaration order (rows appear as steps start otherwise).
    """

    STYLES = {  # noqa: RUF012 - read-only table
        "ok": "green",
        "failed": "bold red",
        "retry": "yellow",
        "again": "cyan",
        "cancelled": "magenta",
        "skipped": "dim",
        "undone": "blue",
        "undo failed": "bold red",
        "started": "bold",
        "waiting": "dim",
    }

    def __init__(self, console: Any, steps: tuple[str, ...] = ()) -> None:
        self._console = console
        self._rows: dict[str, _Row] = {step: _Row() for step in steps}
        self._run = ""
        self._origin = 0.0
        self._main: str | None = None
        self._live: Any = None

    def open(self, origin: float, main_run: str | None) -> None:
        """Start the live display."""
        from rich.live import Live

        self._origin = origin
        self._main = main_run
        self._live = Live(self.render(), console=self._console, auto_refresh=False)
        self._live.start()

    def note(self, text: str) -> None:
        """Print ``text`` above the live table (a plain write would be painted over)."""
        from rich.text import Text

        if self._live is not None:
            self._live.console.print(Text(text))
        else:
            self._console.print(Text(text))

    def on_event(self, event: Any) -> None:
        """Update the step's row and redraw."""
        if self._main is None and isinstance(event, RunStarted):
            self._main = event.run_id  # the first run is the one the command started
            self._origin = event.time  # offsets from its start, as in its timeline
        line = describe(event, self._main)
        if line is None:
            return
        if isinstance(event, RunStarted | RunFinished | PoolLimitChanged):
            if isinstance(event, RunStarted | RunFinished) and event.run_id == self._main:
                self._run = f"{line.subject}: {line.status} {line.detail}".strip()
        else:
            row = self._rows.setdefault(line.subject, _Row())
            row.status = line.status
            row.detail = line.detail
            if isinstance(event, StepStarted):
                row.attempt = event.attempt
                if row.start is None:
                    row.start = event.time - self._origin
        if self._live is not None:
            self._live.update(self.render(), refresh=True)

    def render(self) -> Any:
        """The table as it stands (a ``rich.table.Table``)."""
        from rich.table import Table
        from rich.text import Text

        table = Table(
            title=Text(self._run) if self._run else None, title_justify="left", expand=False
        )
        table.add_column("step")
        table.add_column("status")
        table.add_column("try", justify="right")
        table.add_column("start", justify="right")
        table.add_column("detail", overflow="fold")
        for step, row in self._rows.items():
            style = self.STYLES.get(row.status, "")
            table.add_row(  # Text, not markup: a "[...]" in an error stays as it is
                Text(step),
                Text(row.status, style=style),
                str(row.attempt or ""),
                "" if row.start is None else format_seconds(row.start),
                Text(row.detail),
            )
        return table

    def close(self) -> None:
        """Draw the final table and stop the live display."""
        if self._live is not None:
            self._live.update(self.render(), refresh=True)
            self._live.stop()
            self._live = None

    def __repr__(self) -> str:
        return f"<RichProgress {len(self._rows)} steps main_run={self._main!r}>"
