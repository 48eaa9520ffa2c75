"""How an SDK maps its API's errors onto the mysdk tree, declared, never overridden.

Three declarations, all pure (no I/O):

* an **envelope** reads the API's error object out of a response body, e.g.
  ``{"error": {"code": "item_not_found", "message": "...", "request_id": "..."}}``,
  into an :class:`ErrorInfo`;
* an :class:`ErrorMap` picks the error class: one registered for the error
  code, else one registered for the status, else mysdk's class for the status;
* a **response check** finds a failure reported inside a 2xx body, e.g. Slack's
  ``{"ok": false, "error": "channel_not_found"}`` (:class:`BodyFlag`), raised as
  :class:`~mysdk.errors.APIResponseError` or the class registered for its code.

Example::

    class ItemNotFound(mysdk.NotFoundError): ...

    class AcmeClient(mysdk.Client):
        error_map = mysdk.ErrorMap(
            envelope=mysdk.ErrorEnvelope(code="error.code", message="error.message",
                                         request_id="error.request_id"),
            by_code={"item_not_found": ItemNotFound},
        )
        response_check = mysdk.BodyFlag("ok", error="error")
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, TypeAlias

from mysdk.errors import APIStatusError, status_error_class

__all__ = ["BodyFlag", "ErrorEnvelope", "ErrorInfo", "ErrorMap", "ResponseCheck"]


class ErrorInfo(NamedTuple):
    """What an API says about one failure.

    Attributes:
        code: The API's error code, e.g. ``"item_not_found"``, or None.
        message: Its human-readable message, or None.
        request_id: The request id it reports, or None.
        details: Any further JSON value it carries, or None.
    """

    code: str | None = None
    message: str | None = None
    request_id: str | None = None
    details: Any = None


Envelope: TypeAlias = Callable[[Any], "ErrorInfo | None"]
"""Reads an :class:`ErrorInfo` from a decoded body; returns None when the body
has no error object. Must not raise."""

ResponseCheck: TypeAlias = Callable[[Any], "ErrorInfo | None"]
"""Looks at a decoded 2xx body; returns an :class:`ErrorInfo` when the body says
the call failed, else None. Must not raise."""


def _dig(body: Any, path: str | None) -> Any:
    if path is None:
        return None
    value = body
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value[:500]
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


class ErrorEnvelope:
    """An error object found by dotted paths into the body.

    Args:
        code: Path of the error code, e.g. ``"error.code"``; None: none.
        message: Path of the message, e.g. ``"error.message"``.
        request_id: Path of the request id, e.g. ``"error.request_id"``.
        details: Path of further detail, e.g. ``"error.details"``.

    A body where none of the paths leads to a value has no error object.
    Numbers are accepted as codes (``"404"``); other non-string values are
    ignored except for ``details``, which is kept as it is.
    """

    __slots__ = ("_paths",)

    def __init__(
        self, *, code: str | None = "error.code", message: str | None = "error.message",
        request_id: str | None = "error.request_id", details: str | None = "error.details",
    ) -> None:
        self._paths = (code, message, request_id, details)

    def __call__(self, body: Any) -> ErrorInfo | None:
        code, message, request_id, details = self._paths
        info = ErrorInfo(_text(_dig(body, code)), _text(_dig(body, message)),
                         _text(_dig(body, request_id)), _dig(body, details))
        return None if info == ErrorInfo() else info

    def __repr__(self) -> str:
        return "ErrorEnvelope(code={!r}, message={!r}, request_id={!r}, details={!r})".format(
            *self._paths)


class BodyFlag:
    """A response check for APIs that answer 200 with a success flag.

    Args:
        flag: Field that is ``false`` on failure, e.g. ``"ok"`` (dotted path).
        error: Field holding the error code (a string) or an error object that
            ``envelope`` reads, e.g. ``"error"``.
        envelope: Reads an error object at ``error``; default: its ``code`` and
            ``message`` fields.

    Only a flag that is exactly ``false`` signals failure; a missing flag does not.
    """

    __slots__ = ("_envelope", "_error", "_flag")

    def __init__(self, flag: str = "ok", *, error: str | None = "error",
                 envelope: Envelope | None = None) -> None:
        self._flag = flag
        self._error = error
        self._envelope = envelope or ErrorEnvelope(code="code", message="message",
                                                   request_id="request_id", details="details")

    def __call__(self, body: Any) -> ErrorInfo | None:
        if _dig(body, self._flag) is not False:
            return None
        raw = _dig(body, self._error)
        if isinstance(raw, Mapping):
            return self._envelope(raw) or ErrorInfo(message=f"{self._flag} is false")
        code = _text(raw)
        return ErrorInfo(code=code, message=code or f"{self._flag} is false")

    def __repr__(self) -> str:
        return f"BodyFlag({self._flag!r}, error={self._error!r})"


class ErrorMap:
    """Which error class a failed response becomes, and what it carries.

    Args:
        envelope: Reads the API's error object from the body (see
            :class:`ErrorEnvelope`); None: bodies are kept but not read.
        by_code: Error code → class (a subclass of
            :class:`~mysdk.errors.APIStatusError`, usually of the status's
            mysdk class, e.g. ``class ItemNotFound(mysdk.NotFoundError)``).
        by_status: HTTP status → class, used when the code has no class.

    Raises:
        TypeError: A registered class is not an ``APIStatusError`` subclass.
    """

    __slots__ = ("by_code", "by_status", "envelope")

    def __init__(
        self, *, envelope: Envelope | None = None,
        by_code: Mapping[str, type[APIStatusError]] | None = None,
        by_status: Mapping[int, type[APIStatusError]] | None = None,
    ) -> None:
        for key, cls in [*(by_code or {}).items(), *(by_status or {}).items()]:
            if not (isinstance(cls, type) and issubclass(cls, APIStatusError)):
                raise TypeError(f"ErrorMap: {key!r} maps to {cls!r}, which is not an "
                                "APIStatusError subclass")
        self.envelope = envelope
        self.by_code = dict(by_code or {})
        self.by_status = dict(by_status or {})

    def read(self, body: Any) -> ErrorInfo | None:
        """The error object in ``body``, or None; never raises."""
        if self.envelope is None:
            return None
        try:
            return self.envelope(body)
        except Exception:  # an SDK's envelope must not turn an API error into a crash
            return None

    def error_class(self, status: int, info: ErrorInfo | None,
                    default: type[APIStatusError] | None = None) -> type[APIStatusError]:
        """The class for ``status`` and ``info``: by code, by status, else mysdk's."""
        if info is not None and info.code is not None and info.code in self.by_code:
            return self.by_code[info.code]
        if status in self.by_status:
            return self.by_status[status]
        return default or status_error_class(status)

    def __repr__(self) -> str:
        return (f"ErrorMap(envelope={self.envelope!r}, by_code={sorted(self.by_code)}, "
                f"by_status={sorted(self.by_status)})")


DEFAULT_ERROR_MAP = ErrorMap()
"""No envelope, no registered classes: mysdk's classes by status."""
