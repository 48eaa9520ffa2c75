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
    * ``files`` (multipart/form-data, as requests takes it: a mapping or list
      of ``name -> file | (filename, file[, content_type[, headers]])``, with
      ``data`` as extra form fields): each seekable file is rewound to where it
      was; bytes and str contents are replayable; a non-seekable stream makes
      the body non-replayable.
    """

    __slots__ = ("_offsets", "content_type", "data", "files", "reason")

    def __init__(self, *, json: Any = None, data: Any = None, files: Any = None) -> None:
        self.content_type: str | None = None
        self._offsets: list[tuple[Any, int]] = []
        self.reason = ""
        self.files = files
        if json is not None and (data is not None or files is not None):
            raise InvalidRequestError("pass json= alone, or data= and/or files=")
        if json is not None:
            self.data: Any = _dump(json)
            self.content_type = _JSON_TYPE
            return
        self.data = data
        if files is not None:
            if data is not None and not isinstance(data, (Mapping, list, tuple)):
                raise InvalidRequestError("with files=, data= must be form fields (a mapping)")
            for part in _file_objects(files):
                self._capture(part, "a file of files=")
        else:
            self._capture(data, "the body")

    @property
    def bytes(self) -> bytes | None:
        """The body when it is bytes as sent (JSON or raw bytes), else None."""
        return self.data if isinstance(self.data, bytes) and self.files is None else None

    def _capture(self, data: Any, what: str) -> None:
        if data is None or isinstance(data, (bytes, bytearray, str, Mapping, list, tuple)):
            return
        if isinstance(data, io.IOBase) or hasattr(data, "read"):
            try:
                if data.seekable():
                    self._offsets.append((data, data.tell()))
                    return
            except (AttributeError, OSError, ValueError):
                pass
            self.reason = f"{what} is a stream that cannot be rewound"
        elif isinstance(data, Iterable):
            self.reason = f"{what} is an iterator that was consumed by the first send"

    def rewind(self) -> bool:
        """Prepare to send again. False (with ``reason`` set) when impossible."""
        if self.reason:
            return False
        try:
            for stream, offset in self._offsets:
                stream.seek(offset)
        except (OSError, ValueError) as exc:  # closed by the caller meanwhile
            self.reason = f"the body could not be rewound ({type(exc).__name__})"
            return False
        return True


def _file_objects(files: Any) -> list[Any]:
    """The contents of each part of a requests-style ``files=`` argument."""
    items = files.items() if isinstance(files, Mapping) else files
    try:
        parts = list(items)
    except TypeError:
        raise InvalidRequestError(
            f"files= must be a mapping or a list of (name, file) pairs, got "
            f"{type(files).__name__}") from None
    out = []
    for part in parts:
        if not (isinstance(part, tuple) and len(part) == 2):
            raise InvalidRequestError("files= items must be (name, file) pairs")
        value = part[1]
        out.append(value[1] if isinstance(value, tuple) and len(value) >= 2 else value)
    return out


def _dump(value: Any) -> bytes:
    try:
        return jsonlib.dumps(value, separators=(",", ":"), allow_nan=False,
                             ensure_ascii=False).encode()
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidRequestError(f"json body cannot be encoded as JSON: "
                                  f"{type(exc).__name__}: {str(exc)[:200]}") from None
