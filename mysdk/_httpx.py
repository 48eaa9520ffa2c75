"""httpx's failures as mysdk errors, and reading an httpx body within a deadline.

The async twin of :mod:`mysdk._transport`: the same failure-phase rules, for
httpx's exception classes. httpx already tells the phase apart:
``ConnectError``/``ConnectTimeout``/``PoolTimeout``/``ProxyError`` happen before
a byte of the request is written (DNS, refused, TLS handshake, no free
connection), so they are :class:`~mysdk.errors.ConnectError` (``outcome_unknown``
False); everything after the connection is up (``WriteTimeout``, ``ReadTimeout``,
``ReadError``, ``WriteError``, ``RemoteProtocolError``) may have reached the
server (``outcome_unknown`` True).

Imported only by :class:`mysdk.AsyncClient` and the async token path: httpx is
the ``async`` extra.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from mysdk import errors
from mysdk._transport import mapped_error, sanitised

__all__ = ["aread_body", "httpx_timeout", "map_httpx_exception"]

_MISUSE = (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.InvalidURL,
           httpx.CookieConflict, httpx.StreamError)
_UNBOUNDED_PART = None  # httpx's "no timeout" for one phase


def map_httpx_exception(exc: BaseException, method: str, url: str) -> errors.MySDKError:
    """Return the mysdk error for an httpx exception, ready to raise.

    As :func:`mysdk._transport.map_request_exception`: the ``__cause__`` is a
    copy of ``exc`` whose text names only its class (no URL, header value or
    query string); raise the result outside the ``except`` block.
    """
    return mapped_error(exc, method, url, misuse=isinstance(exc, _MISUSE), classify=_classify)


def _classify(exc: BaseException) -> tuple[type[errors.TransportError], str]:
    if isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)):
        return errors.ConnectTimeoutError, "connect timeout"
    if isinstance(exc, httpx.ReadTimeout):
        return errors.ReadTimeoutError, "read timeout"
    if isinstance(exc, httpx.TimeoutException):  # WriteTimeout: part of the request went out
        return errors.RequestTimeoutError, "timeout"
    if isinstance(exc, (httpx.ConnectError, httpx.ProxyError)):
        return errors.ConnectError, f"cannot connect ({type(exc).__name__})"
    if isinstance(exc, (httpx.NetworkError, httpx.RemoteProtocolError, httpx.DecodingError)):
        return (errors.ServerDisconnectedError,
                f"connection broke after the request may have been sent ({type(exc).__name__})")
    return errors.TransportError, f"transport failure ({type(exc).__name__})"


def httpx_timeout(timeout: Any) -> httpx.Timeout:
    """A mysdk timeout (seconds, ``(connect, read)`` or None) as an ``httpx.Timeout``.

    The connect part also bounds waiting for a pooled connection; the read part
    also bounds each write, as requests' read timeout does for a socket send.
    """
    connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
    return httpx.Timeout(connect=connect, read=read, write=read, pool=connect)


async def aread_body(
    resp: httpx.Response, *, deadline: float | None, limit: int | None, method: str, url: str,
    clock: Callable[[], float] = time.monotonic,
) -> bool:
    """Read a streamed response's body into it, within a deadline and a size limit.

    httpx's read timeout bounds one read only, so a server dripping a byte a
    second would hold ``await resp.aread()`` for ever; here the deadline is
    checked as each chunk arrives, so the body is in by ``deadline`` plus one
    read timeout (the same bound as :func:`mysdk._transport.read_body`).

    Args:
        resp: A response from ``client.send(..., stream=True)``.
        deadline: ``clock()`` seconds by which the body must be in, or None.
        limit: Most bytes kept; the rest is left unread and the response closed.
        method: HTTP method, for messages.
        url: Request URL, for messages (redacted there).
        clock: Monotonic seconds (the client's).

    Returns:
        True when the body was cut at ``limit``. Afterwards ``resp.content``
        holds what was read and the response is closed.

    Raises:
        ReadTimeoutError: The deadline passed first.
        TransportError: The connection broke or the encoding is bad
            (``outcome_unknown`` True).
    """
    chunks: list[bytes] = []
    size = 0
    truncated = False
    failure: errors.MySDKError | None = None
    try:
        # The deadline is checked as each chunk arrives, and httpx's read timeout
        # bounds the wait for one chunk: so the body is in by the deadline plus one
        # read timeout, as in the sync client, without a timer per call.
        async for chunk in resp.aiter_bytes():
            if deadline is not None and clock() > deadline:
                raise TimeoutError
            chunks.append(chunk)
            size += len(chunk)
            if limit is not None and size > limit:
                truncated = True
                break
    except TimeoutError:
        failure = errors.ReadTimeoutError(
            f"response body not received before the call's deadline for {method} "
            f"{errors.safe_url(url)}", method=method, url=url)
    except httpx.HTTPError as exc:
        failure = map_httpx_exception(exc, method, url)
        if not isinstance(failure, errors.ReadTimeoutError):
            failure = errors.ServerDisconnectedError(
                f"response body broken off ({type(exc).__name__}) for {method} "
                f"{errors.safe_url(url)}", method=method, url=url)
            failure.__cause__ = sanitised(exc)
    finally:
        await resp.aclose()
    if failure is not None:
        raise failure
    content = b"".join(chunks)
    # What aread() sets; later .content/.json()/.text use it.
    resp._content = content[:limit] if truncated and limit is not None else content
    return truncated
