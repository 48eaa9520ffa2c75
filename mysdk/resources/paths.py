"""Path templates such as ``"/owners/{owner_id}/items/{item_id}"``: pure helpers."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from mysdk._types import NOT_GIVEN
from mysdk.errors import InvalidRequestError

__all__ = ["expand", "template_names"]

_FIELD = re.compile(r"\{([^{}]*)\}")


def template_names(template: str) -> tuple[str, ...]:
    """The parameter names of ``template``, in order.

    Raises:
        ValueError: A brace is unbalanced or a name is not an identifier.
    """
    names = tuple(_FIELD.findall(template))
    rest = _FIELD.sub("", template)
    if "{" in rest or "}" in rest:
        raise ValueError(f"path template {template!r} has an unbalanced brace")
    for name in names:
        if not name.isidentifier():
            raise ValueError(f"path template {template!r}: {{{name}}} is not a parameter name")
    return names


def expand(template: str, values: Mapping[str, Any], where: str) -> str:
    """Fill ``template`` with ``values``, each percent-encoded (RFC 3986 §2.1).

    A ``/`` in a value is encoded (no path smuggling); falsy values such as
    ``0`` and ``False`` are kept; an enum gives its ``value``.

    Args:
        template: E.g. ``"/owners/{owner_id}/items"``.
        values: Parameter name → value.
        where: Names the operation in error messages, e.g. ``"Items.get"``.

    Raises:
        InvalidRequestError: A parameter is missing (or ``None``/``NOT_GIVEN``),
            or its text is ``""``, ``"."`` or ``".."``, which URL normalisation
            would turn into another path (RFC 3986 §5.2.4).
    """
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        value = values.get(name, NOT_GIVEN)
        if value is NOT_GIVEN or value is None:
            raise InvalidRequestError(f"{where}: missing path parameter {name!r}")
        if isinstance(value, enum.Enum):
            value = value.value
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        if text in ("", ".", ".."):
            raise InvalidRequestError(f"{where}: path parameter {name}={text!r} is not allowed")
        return quote(text, safe="")

    return _FIELD.sub(fill, template)
