"""Where a request failed, and reading a response body within a deadline.

``requests`` reports most transport failures as ``ConnectionError`` whatever
the phase; what matters to a caller is whether the server may have received
the request. :func:`map_request_exception` looks through the urllib3 cause
chain and reports :class:`~mysdk.errors.ConnectError` (``outcome_unknown`` False)
only when no byte of the request can have reached the server.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable
from typing import Any

import requests
from urllib3.exceptions import ConnectTimeoutError as _Urllib3ConnectTimeout
from urllib3.exceptions import HTTPError as _Urllib3Error
from urllib3.exceptions import NewConnectionError
from urllib3.exceptions import ReadTimeoutError as _Urllib3ReadTimeout

from mysdk import errors

__all__ = ["map_request_exception", "mapped_error", "read_body", "sanitised"]

_MISUSE = (
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidURL,
    requests.exceptions.InvalidHeader,
    requests.exceptions.URLRequired,
    requests.exceptions.InvalidJSONError,
)

# TLS failures that can only happen during the handshake, before the request is
# written (OpenSSL reason codes).
_HANDSHAKE_REASONS = ("CERTIFICATE", "HANDSHAKE", "WRONG_VERSION_NUMBER",
                      "UNSUPPORTED_PROTOCOL", "NO_PROTOCOLS", "TLSV1_ALERT")

_READ_CHUNK = 64 * 1024  # bytes asked of one read1(); it returns after one recv()


def map_request_exception(exc: BaseException, method: str, url: str) -> errors.MySDKError:
    """Return the mysdk error for a ``requests`` exception, ready to raise.

    The error's ``__cause__`` is a copy of ``exc`` of the same class whose text
    names only the failure (no URL, header value or query string), so the
    chain carries no secret; raise the result outside the ``except`` block so
    that ``__context__`` does not carry the original either.
    """
    return mapped_error(exc, method, url, misuse=isinstance(exc, _MISUSE), classify=_classify)


def mapped_error(
    exc: BaseException, method: str, url: str, *, misuse: bool,
    classify: Callable[[BaseException], tuple[type[errors.TransportError], str]],
) -> errors.MySDKError:
    """The mysdk error for a transport's exception (requests' or httpx's).

    Args:
        exc: The transport's exception.
        method: HTTP method, for the message.
        url: Request URL (redacted in the message).
        misuse: ``exc`` says the request itself was malformed (an
            :class:`~mysdk.errors.InvalidRequestError`, not a transport failure).
        classify: The transport's rule: the error class (which carries
            ``outcome_unknown``) and a short text for ``exc``.

    Returns:
        The error, its ``__cause__`` a sanitised copy of ``exc`` (see :func:`sanitised`).
    """
    safe = errors.safe_url(url)
    if misuse:
        error: errors.MySDKError = errors.InvalidRequestError(
            f"invalid request {method} {safe}: {type(exc).__name__}")
    else:
        kind, text = classify(exc)
        error = kind(f"{text} for {method} {safe}", method=method, url=url)
    error.__cause__ = sanitised(exc)
    return error


def _classify(exc: BaseException) -> tuple[type[errors.TransportError], str]:
    # Order matters: ConnectTimeout is both a ConnectionError and a Timeout.
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return errors.ConnectTimeoutError, "connect timeout"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return errors.ReadTimeoutError, "read timeout"
    chain = _chain(exc)
    if any(isinstance(link, _Urllib3ReadTimeout) for link in chain):
        return errors.ReadTimeoutError, "read timeout"  # e.g. ConnectionError(ReadTimeoutError)
    if isinstance(exc, requests.exceptions.Timeout):
        return errors.RequestTimeoutError, "timeout"
    if _never_sent(chain):
        # urllib3's NewConnectionError subclasses its ConnectTimeoutError: exclude it.
        if any(isinstance(link, _Urllib3ConnectTimeout)
               and not isinstance(link, NewConnectionError) for link in chain):
            return errors.ConnectTimeoutError, "connect timeout"
        return errors.ConnectError, f"cannot connect ({_describe(chain)})"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return (errors.ServerDisconnectedError,
                f"connection broke after the request may have been sent ({_describe(chain)})")
    return errors.TransportError, f"transport failure ({_describe(chain)})"


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps (args[0], urllib3's ``reason``, causes), bounded."""
    seen: list[BaseException] = []
    todo: list[Any] = [exc]
    while todo and len(seen) < 12:
        item = todo.pop(0)
        if not isinstance(item, BaseException) or any(item is s for s in seen):
            continue
        seen.append(item)
        todo.extend([getattr(item, "reason", None), getattr(item, "original_error", None),
                     item.args[0] if item.args else None, item.__cause__, item.__context__])
    return seen


def _never_sent(chain: list[BaseException]) -> bool:
    for link in chain:
        if isinstance(link, (NewConnectionError, _Urllib3ConnectTimeout,
                             ConnectionRefusedError, socket.gaierror)):
            return True  # DNS failure, refused, connect timeout (NameResolutionError too)
        if isinstance(link, ssl.CertificateError):  # incl. SSLCertVerificationError
            return True
        if isinstance(link, ssl.SSLError) and any(
                r in str(getattr(link, "reason", "") or "") for r in _HANDSHAKE_REASONS):
            return True
    return False


def _describe(chain: list[BaseException]) -> str:
    """Class names of the chain and an errno text, never a URL or header value."""
    names = [type(link).__name__ for link in chain]
    for link in chain:
        if isinstance(link, OSError) and link.strerror and not isinstance(link, _Urllib3Error):
            names.append(link.strerror)
            break
    return ": ".join(dict.fromkeys(names))


def sanitised(exc: BaseException) -> BaseException:
    """A copy of ``exc`` of the same class whose text names only its class."""
    try:
        copy = type(exc)(f"{type(exc).__name__} (text withheld: it may hold a URL or header)")
    except Exception:  # an exception class with an unusual constructor
        copy = Exception(type(exc).__name__)
    return copy


def read_body(
    resp: requests.Response, *, deadline: float | None, limit: int | None, method: str, url: str,
    clock: Callable[[], float] = time.monotonic,
) -> bool:
    """Read a streamed response's body into it, within a deadline and a size limit.

    A read timeout bounds one socket read only; a server dripping a byte every
    second would hold a plain ``resp.content`` for ever. Each ``read1()``
    returns after one ``recv()``, so the deadline is checked at least once
    per read timeout.

    Args:
        resp: A response from ``session.request(..., stream=True)``.
        deadline: ``clock()`` seconds by which the body must be in, or None.
        limit: Most bytes kept; the rest is left unread and the connection
            closed. None: no limit.
        method: HTTP method, for error messages.
        url: Request URL, for error messages (redacted there).
        clock: Monotonic seconds (the client's, so a test's fake clock applies).

    Returns:
        True when the body was cut at ``limit``.

    Raises:
        ReadTimeoutError: The deadline passed first (the connection is closed).
        TransportError: The connection broke or the content encoding is bad;
            ``outcome_unknown`` is True (the server received the request).
    """
    raw = resp.raw
    read1 = getattr(raw, "read1", None)
    if read1 is None:  # not urllib3 (a test double): requests reads it
        _ = resp.content
        return False
    chunks: list[bytes] = []
    size = 0
    failure: BaseException | None = None
    truncated = False
    try:
        while True:
            if deadline is not None and clock() > deadline:
                resp.close()
                raise errors.ReadTimeoutError(
                    f"response body not received before the call's deadline for {method} "
                    f"{errors.safe_url(url)}", method=method, url=url)
            data = read1(_READ_CHUNK, decode_content=True)
            if not data:
                break
            chunks.append(data)
            size += len(data)
            if limit is not None and size > limit:
                truncated = True
                resp.close()  # don't drain an unbounded body to reuse the connection
                break
    except (_Urllib3Error, OSError, ValueError) as exc:
        failure = exc
    if failure is not None:
        resp.close()
        kind = (errors.ReadTimeoutError if isinstance(failure, _Urllib3ReadTimeout)
                else errors.ServerDisconnectedError)
        error = kind(f"response body broken off ({type(failure).__name__}) for {method} "
                     f"{errors.safe_url(url)}", method=method, url=url)
        error.__cause__ = sanitised(failure)
        raise error
    content = b"".join(chunks)
    # What Response.content sets after reading; later .content/.json() use it.
    resp._content = content[:limit] if truncated and limit is not None else content
    resp._content_consumed = True  # type: ignore[attr-defined]  # untyped in types-requests
    return truncated
