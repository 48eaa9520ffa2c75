"""A request body captured once, so a replay or retry resends the same bytes."""

from __future__ import annotations

import io
import json as jsonlib
from collections.abc import Iterable, Mapping
from typing import Any

from mysdk.errors import InvalidRequestError

__all__ = ["Body"]

_JSON_TYPE = "application/json"


class Body:
    """What one call sends, and whether it can be sent again.

    * ``json``: serialised once to UTF-8 bytes (``allow_nan=False``, as JSON
      has no NaN); always replayable.
    * ``data`` as ``bytes``, ``str``, a mapping or a list of pairs: replayable.
    * ``data`` as a seekable file: replayable; the offset at capture is
      recorded and restored before each resend (not rewound to 0).
    * ``data`` as an iterator, generator or non-seekable stream: sent once; a
      replay is refused with a reason.
    """

    __slots__ = ("_offset", "content_type", "data", "reason")

    def __init__(self, *, json: Any = None, data: Any = None) -> None:
        self.content_type: str | None = None
        self._offset: int | None = None
        self.reason = ""
        if json is not None and data is not None:
            raise InvalidRequestError("pass either json= or data=, not both")
        if json is not None:
            self.data: Any = _dump(json)
            self.content_type = _JSON_TYPE
        else:
            self.data = data
            self._capture_stream(data)

    def _capture_stream(self, data: Any) -> None:
        if data is None or isinstance(data, (bytes, bytearray, str, Mapping, list, tuple)):
            return
        if isinstance(data, io.IOBase) or hasattr(data, "read"):
            try:
                if data.seekable():
                    self._offset = data.tell()
                    return
            except (AttributeError, OSError, ValueError):
                pass
            self.reason = "the body is a stream that cannot be rewound"
        elif isinstance(data, Iterable):
            self.reason = "the body is an iterator that was consumed by the first send"

    def rewind(self) -> bool:
        """Prepare to send again. False (with ``reason`` set) when impossible."""
        if self.reason:
            return False
        if self._offset is not None:
            self.data.seek(self._offset)
        return True


def _dump(value: Any) -> bytes:
    try:
        return jsonlib.dumps(value, separators=(",", ":"), allow_nan=False,
                             ensure_ascii=False).encode()
    except (TypeError, ValueError) as exc:
        raise InvalidRequestError(f"json body cannot be encoded as JSON: {exc}") from exc
