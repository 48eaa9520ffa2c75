"""Validation of car payloads and list query parameters; pure functions, no I/O."""

from __future__ import annotations

import base64
import binascii
from typing import TypedDict

__all__ = [
    "CarFields",
    "decode_cursor",
    "encode_cursor",
    "parse_limit",
    "validate_car",
]

YEAR_MIN, YEAR_MAX = 1886, 2100  # 1886: the Benz Patent-Motorwagen
NAME_MAX, COLOR_MAX = 64, 32
LIMIT_MIN, LIMIT_MAX, LIMIT_DEFAULT = 1, 100, 20

REQUIRED = ("make", "model", "year")
WRITABLE = frozenset({"make", "model", "year", "color"})
READ_ONLY = frozenset({"id", "created_at", "updated_at"})

MSG_NAME = f"must be a non-empty string of at most {NAME_MAX} characters"
MSG_YEAR = f"must be an integer between {YEAR_MIN} and {YEAR_MAX}"
MSG_COLOR = f"must be null or a string of at most {COLOR_MAX} characters"
MSG_LIMIT = f"must be an integer between {LIMIT_MIN} and {LIMIT_MAX}"
MSG_CURSOR = "is not a valid cursor"


class CarFields(TypedDict, total=False):
    make: str
    model: str
    year: int
    color: str | None


def _field_error(name: str, value: object) -> str | None:
    if name in ("make", "model"):
        ok = isinstance(value, str) and len(value.strip()) > 0 and len(value) <= NAME_MAX
        return None if ok else MSG_NAME
    if name == "year":
        # bool is an int subclass; JSON true must not pass as year 1.
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok and YEAR_MIN <= value <= YEAR_MAX else MSG_YEAR  # type: ignore[operator]
    if name == "color":
        ok = value is None or (isinstance(value, str) and len(value) <= COLOR_MAX)
        return None if ok else MSG_COLOR
    return "is read-only" if name in READ_ONLY else "unknown field"


def validate_car(payload: object, *, partial: bool) -> tuple[CarFields, dict[str, str]]:
    """Check a POST/PUT (``partial=False``) or PATCH (``partial=True``) body.

    Returns the accepted fields and a field -> message map; the map is empty iff valid.
    For a full replace an absent ``color`` means null.
    """
    if not isinstance(payload, dict):
        return CarFields(), {"body": "must be a JSON object"}
    errors: dict[str, str] = {}
    fields = CarFields()
    for name, value in payload.items():
        message = _field_error(str(name), value)
        if message is not None:
            errors[str(name)] = message
        elif name in WRITABLE:
            fields[name] = value  # type: ignore[literal-required]
    if not partial:
        for name in REQUIRED:
            if name not in payload:
                errors[name] = "is required"
        fields.setdefault("color", None)
    return fields, errors


def parse_limit(raw: str | None) -> int | None:
    """The page size, or None if ``raw`` is not an integer in range."""
    if raw is None:
        return LIMIT_DEFAULT
    text = raw.strip()
    if not text.isdigit():  # rejects signs, blanks, floats
        return None
    value = int(text)
    return value if LIMIT_MIN <= value <= LIMIT_MAX else None


_CURSOR_PREFIX = "after:"


def encode_cursor(last_id: int) -> str:
    """Opaque to clients; holds the last id of the page (keyset paging, stable under inserts)."""
    raw = f"{_CURSOR_PREFIX}{last_id}".encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> int | None:
    """The id a cursor points after, or None if it was not made by ``encode_cursor``."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
    except (binascii.Error, UnicodeError, ValueError):
        return None
    if not text.startswith(_CURSOR_PREFIX):
        return None
    digits = text[len(_CURSOR_PREFIX) :]
    if not digits.isdigit() or len(digits) > 18:
        return None
    return int(digits)
