"""Map ``requests`` exceptions onto the mysdk tree (see :mod:`mysdk.errors`)."""

from __future__ import annotations

import requests
from urllib3.exceptions import NewConnectionError, ProtocolError

from mysdk import errors

__all__ = ["map_request_exception"]

_MISUSE = (
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidURL,
    requests.exceptions.InvalidHeader,
    requests.exceptions.URLRequired,
    requests.exceptions.InvalidJSONError,
)


def map_request_exception(exc: Exception, method: str, url: str) -> errors.MySDKError:
    """Return the mysdk error for a ``requests`` exception (the caller chains it).

    The message names the failure kind and the URL without userinfo; it never
    includes headers or bodies.
    """
    url = errors.safe_url(url)
    if isinstance(exc, _MISUSE):
        return errors.InvalidRequestError(f"invalid request {method} {url}: {type(exc).__name__}")
    kind, text = _classify(exc)
    return kind(f"{text} for {method} {url}", method=method, url=url)


def _classify(exc: Exception) -> tuple[type[errors.TransportError], str]:
    # Order matters: ConnectTimeout is both a ConnectionError and a Timeout.
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return errors.ConnectTimeoutError, "connect timeout"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return errors.ReadTimeoutError, "read timeout"
    if isinstance(exc, requests.exceptions.Timeout):
        return errors.RequestTimeoutError, "timeout"
    if isinstance(exc, requests.exceptions.ConnectionError):
        if _was_sent(exc):
            return errors.ServerDisconnectedError, "connection closed before a response"
        return errors.ConnectError, f"cannot connect ({type(exc).__name__})"
    return errors.TransportError, f"transport failure ({type(exc).__name__})"


def _was_sent(exc: requests.exceptions.ConnectionError) -> bool:
    """True when the connection broke after the request may have been sent.

    urllib3 reports a peer that closed mid-exchange as ProtocolError; a failure
    to open the connection is NewConnectionError (possibly inside MaxRetryError).
    """
    cause = exc.args[0] if exc.args else None
    reason = getattr(cause, "reason", cause)
    if isinstance(reason, NewConnectionError):
        return False
    return isinstance(reason, ProtocolError) or isinstance(cause, ProtocolError)
