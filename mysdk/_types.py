"""Small shared types: the NOT_GIVEN sentinel and timeout normalisation."""

from __future__ import annotations

import enum
import math
from typing import Final, Literal, TypeAlias, TypeVar

__all__ = ["DEFAULT_TIMEOUT", "NOT_GIVEN", "NotGiven", "TimeoutArg", "resolve_timeout"]


class NotGiven(enum.Enum):
    """Marks an argument the caller did not pass, as distinct from ``None``."""

    NOT_GIVEN = enum.auto()

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __bool__(self) -> Literal[False]:
        return False


NOT_GIVEN: Final = NotGiven.NOT_GIVEN

TimeoutArg: TypeAlias = "float | tuple[float | None, float | None] | None"
"""Seconds: one number for connect and read, a ``(connect, read)`` pair, or ``None``
for no timeout at all (only when passed explicitly)."""

DEFAULT_TIMEOUT: Final[tuple[float, float]] = (5.0, 30.0)
"""Default (connect, read) timeout in seconds, used when no timeout is given."""

T = TypeVar("T")


def resolve_timeout(value: TimeoutArg | NotGiven, default: TimeoutArg) -> TimeoutArg:
    """Validate a timeout argument, falling back to ``default`` when not given.

    Raises:
        ValueError: A number is negative, NaN, or not a number.
    """
    if value is NOT_GIVEN:
        return default
    parts = value if isinstance(value, tuple) else (value,)
    if isinstance(value, tuple) and len(value) != 2:
        raise ValueError(f"timeout must be seconds or a (connect, read) pair, got {value!r}")
    for part in parts:
        if part is None:
            continue
        if isinstance(part, bool) or not isinstance(part, (int, float)):
            raise ValueError(f"timeout must be seconds (a number) or None, got {part!r}")
        if not math.isfinite(part) or part <= 0:
            raise ValueError(f"timeout must be a finite number of seconds > 0, got {part!r}")
    return value
