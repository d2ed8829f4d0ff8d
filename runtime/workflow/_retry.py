"""A step's retry policy: how many attempts, which errors retry, and how long to wait between.

``Retry`` is a frozen value checked at construction; its two methods are pure, so the executor
asks it what to do and does the waiting itself on trio's clock. The waits are a ``Backoff``,
the same value supervisors use between restarts (``arborist.supervision.Backoff``): give one as
``backoff=``, or describe it with the shorthand ``backoff="constant" | "exponential"``,
``delay``, ``factor``, ``max_delay`` and ``jitter`` (``delay`` is the Backoff's ``initial``,
``max_delay`` its ``max``); ``retry.policy`` is the Backoff either way.
"""

from __future__ import annotations

import math
import random
from typing import Any, Literal

import attrs

from arborist.supervision import Backoff

__all__ = ["BackoffKind", "Retry"]

BackoffKind = Literal["constant", "exponential"]
"""The shorthand names of a Retry's backoff; a ``Backoff`` value says more."""

#: Base delay used when ``backoff="exponential"`` is chosen without a ``delay``: an exponential
#: backoff that starts from zero would never wait at all.
EXPONENTIAL_DEFAULT_DELAY = 0.1


def _check_attempts(_: Retry, __: attrs.Attribute[int], attempts: int) -> None:
    if isinstance(attempts, bool) or not isinstance(attempts, int):
        raise TypeError(f"Retry(attempts={attempts!r}): attempts must be an int, e.g. attempts=3")
    if attempts < 1:
        raise ValueError(
            f"Retry(attempts={attempts}): attempts counts every try including the first, so it "
            f"must be at least 1; use attempts=1 for no retries"
        )


def _check_backoff(_: Retry, __: attrs.Attribute[Any], backoff: object) -> None:
    if isinstance(backoff, Backoff):
        return
    if backoff not in ("constant", "exponential"):
        raise ValueError(
            f"Retry(backoff={backoff!r}): backoff must be 'constant', 'exponential' or a "
            "Backoff(initial=..., factor=..., max=..., jitter=...)"
        )


def _seconds(name: str, number: float) -> float:
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise TypeError(f"Retry({name}={number!r}): {name} must be a number of seconds")
    if not math.isfinite(number) or number < 0:
        raise ValueError(
            f"Retry({name}={number!r}): {name} must be a finite number of seconds >= 0"
        )
    return float(number)


def _check_delay(_: Retry, __: attrs.Attribute[float], delay: float) -> None:
    _seconds("delay", delay)


def _check_factor(_: Retry, __: attrs.Attribute[float], factor: float) -> None:
    if isinstance(factor, bool) or not isinstance(factor, int | float):
        raise TypeError(f"Retry(factor={factor!r}): factor must be a number, e.g. factor=2.0")
    if not math.isfinite(factor) or factor < 1:
        raise ValueError(
            f"Retry(factor={factor!r}): factor must be a finite number >= 1 so that exponential "
            f"delays never shrink"
        )


def _check_max_delay(retry: Retry, __: attrs.Attribute[float | None], cap: float | None) -> None:
    if cap is None:
        return
    _seconds("max_delay", cap)
    if cap < retry.delay:
        raise ValueError(
            f"Retry(max_delay={cap!r}): max_delay caps every delay, but it is below "
            f"delay={retry.delay!r}; raise max_delay or lower delay"
        )


def _check_jitter(_: Retry, __: attrs.Attribute[Any], jitter: bool | float) -> None:
    if isinstance(jitter, bool):
        return
    if not isinstance(jitter, int | float):
        raise TypeError(
            f"Retry(jitter={jitter!r}): jitter must be True (full jitter), False, or a fraction "
            f"in (0, 1]"
        )
    if not 0 < jitter <= 1:
        raise ValueError(
            f"Retry(jitter={jitter!r}): a jitter fraction must be in (0, 1]; use jitter=False "
            f"for none or jitter=True for full jitter"
        )


def _to_classes(retry_on: object) -> tuple[object, ...]:
    if isinstance(retry_on, type):
        return (retry_on,)
    if isinstance(retry_on, tuple | list | set | frozenset):
        return tuple(retry_on)
    raise TypeError(
        f"Retry(retry_on={retry_on!r}): retry_on takes an exception class or a tuple of them, "
        f"e.g. retry_on=(ConnectionError, TimeoutError)"
    )


def _check_retry_on(
    _: Retry,
    __: attrs.Attribute[tuple[type[BaseException], ...]],
    retry_on: tuple[object, ...],
) -> None:
    if not retry_on:
        raise ValueError(
            "Retry(retry_on=()): an empty retry_on never retries; name the exception classes "
            "to retry, or use attempts=1"
        )
    for cls in retry_on:
        if not (isinstance(cls, type) and issubclass(cls, Exception)):
            shown = cls.__name__ if isinstance(cls, type) else repr(cls)
            raise TypeError(
                f"Retry(retry_on=...): retry_on takes Exception subclasses, got {shown}; "
                f"BaseExceptions such as Cancelled or KeyboardInterrupt stop a step and are "
                f"never retried"
            )


@attrs.frozen
class Retry:
    """How often a step is tried, which errors are retried and how long to wait in between.

    A failed attempt is retried when it raised one of ``retry_on`` and fewer than ``attempts``
    attempts were made; ``BaseException`` (cancellation, ``KeyboardInterrupt``) never retries.
    Before attempt ``n + 1`` the executor waits ``delay_for(n)`` seconds on trio's clock:

    * ``constant``: ``delay`` every time;
    * ``exponential``: ``delay * factor ** (n - 1)``;

    then capped at ``max_delay`` and, with jitter, drawn at random below that:
    ``jitter=True`` draws uniformly from ``[0, d]`` ("full jitter"); a fraction ``j`` keeps
    ``d * (1 - j)`` and adds ``uniform(0, d * j)``. ``delay`` defaults to ``0.0`` for
    ``constant`` and to 0.1 s for ``exponential``.

    Args:
        attempts: Total number of attempts, the first included (>= 1).
        backoff: ``"constant"`` or ``"exponential"``.
        delay: Base delay in seconds (>= 0).
        factor: Growth per attempt for exponential backoff (>= 1).
        max_delay: Upper bound for any delay, or ``None`` for none.
        jitter: ``False``, ``True`` (full jitter) or a fraction in ``(0, 1]``.
        retry_on: Exception classes that retry; a single class is accepted.

    Raises:
        ValueError: A value is out of range (the message says which and what to use).
        TypeError: A value has the wrong type.

    Example:
        >>> policy = Retry(attempts=4, backoff="exponential", delay=0.5, max_delay=1.5)
        >>> [policy.delay_for(n) for n in (1, 2, 3)]
        [0.5, 1.0, 1.5]
        >>> policy.should_retry(ConnectionError(), attempt=3), policy.should_retry(
        ...     ConnectionError(), attempt=4)
        (True, False)
    """

    attempts: int = attrs.field(default=1, validator=_check_attempts)
    backoff: BackoffKind | Backoff = attrs.field(default="constant", validator=_check_backoff)
    delay: float = attrs.field(validator=_check_delay)
    factor: float = attrs.field(default=2.0, validator=_check_factor)
    max_delay: float | None = attrs.field(default=None, validator=_check_max_delay)
    jitter: bool | float = attrs.field(default=False, validator=_check_jitter)
    retry_on: tuple[type[BaseException], ...] = attrs.field(
        default=(Exception,), converter=_to_classes, validator=_check_retry_on
    )

    policy: Backoff = attrs.field(init=False, eq=False, repr=False)
    """The waits between attempts as a ``Backoff`` (given, or built from the shorthand)."""

    @delay.default
    def _default_delay(self) -> float:
        if isinstance(self.backoff, Backoff):
            return self.backoff.initial
        return EXPONENTIAL_DEFAULT_DELAY if self.backoff == "exponential" else 0.0

    def __attrs_post_init__(self) -> None:
        backoff = self.backoff
        if isinstance(backoff, Backoff):
            given = {
                "delay": self.delay != backoff.initial,
                "factor": self.factor != 2.0,
                "max_delay": self.max_delay is not None,
                "jitter": self.jitter is not False,
            }
            clashing = [name for name, differs in given.items() if differs]
            if clashing:
                raise ValueError(
                    f"Retry(backoff=Backoff(...), {clashing[0]}=...): with a Backoff value, "
                    f"give the waits in it (initial, factor, max, jitter), not as {clashing[0]}="
                )
            policy = backoff
        else:
            exponential = backoff == "exponential"
            cap = self.max_delay
            if cap is None:
                cap = math.inf if exponential and self.delay > 0 else self.delay
            policy = Backoff(
                initial=self.delay,
                factor=self.factor if exponential else 1.0,
                max=cap,
                jitter=self.jitter,
            )
        object.__setattr__(self, "policy", policy)

    def should_retry(self, exc: BaseException, attempt: int) -> bool:
        """Tell whether to try again after attempt number ``attempt`` raised ``exc``.

        Args:
            exc: The error the attempt raised.
            attempt: The 1-based number of the attempt that just failed.

        Returns:
            ``True`` when ``exc`` is an instance of ``retry_on`` and ``attempt < attempts``.
        """
        return attempt < self.attempts and isinstance(exc, self.retry_on)

    def delay_for(self, attempt: int, rng: random.Random | None = None) -> float:
        """Compute the seconds to wait after attempt number ``attempt`` failed.

        Pure apart from the random draw for jitter, which comes from ``rng`` (the ``random``
        module's shared generator when ``None``); pass a seeded ``random.Random`` for
        reproducible delays.

        Args:
            attempt: The 1-based number of the attempt that just failed.
            rng: Source of randomness for jitter.

        Returns:
            The delay in seconds, in ``[0, max_delay]`` when a cap is set.

        Raises:
            ValueError: ``attempt`` is below 1.
        """
        if attempt < 1:
            raise ValueError(f"attempt numbers start at 1, got attempt={attempt}")
        return self.policy.delay(attempt, rng)
