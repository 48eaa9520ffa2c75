"""The OAuth endpoint requests of :mod:`mysdk.auth._token_endpoint`, over httpx.

Only the I/O lives here: the request is built by
:func:`~mysdk.auth._token_endpoint.prepare` and the answer judged by
:func:`~mysdk.auth._token_endpoint.judge_token` /
:func:`~mysdk.auth._token_endpoint.judge_form`, the same functions the
requests transport uses, so both give the same token or the same error for the
same answer.

The caller's ``httpx.AsyncClient`` carries the request (its transport, mounts,
proxies, TLS and pool apply) but none of its credentials: the request is built
here (``httpx.Request``, not ``client.build_request``), so the client's
``params`` and ``cookies`` are not merged in, only its ``User-Agent``,
``Accept-Encoding`` and ``Connection`` headers are copied, ``Accept`` is
``application/json``, and it is sent with a no-op ``auth`` (neither the
client's ``auth`` nor userinfo in the URL applies) and ``follow_redirects=False``.
The client itself is not changed. As with a requests session (whose response
hooks and cookie jar see the token request), the client's event hooks run and a
``Set-Cookie`` of the endpoint is stored in the client's jar by httpx.

Imported only on the async path: httpx is the ``async`` extra.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from mysdk import errors
from mysdk._httpx import aread_body, httpx_timeout, map_httpx_exception
from mysdk.auth._token_endpoint import (
    MAX_TOKEN_RESPONSE,
    ClientAuthMethod,
    Outgoing,
    Reply,
    forwardable,
    is_redirect,
    judge_form,
    judge_token,
    prepare,
    redirect_error,
    request_seconds,
)
from mysdk.tokens.token import Token

__all__ = ["Answer", "aexchange", "arequest_form", "arequest_token"]

_NO_AUTH = httpx.Auth()  # yields the request unchanged: no client auth, no URL userinfo
# Everything httpx raises for a request it cannot build or send; InvalidURL,
# CookieConflict and StreamError are not HTTPError subclasses.
_HTTPX_ERRORS = (httpx.HTTPError, httpx.InvalidURL, httpx.CookieConflict, httpx.StreamError)
# httpx parses the Location of every 3xx (to offer response.next_request), even
# with follow_redirects=False, and raises RemoteProtocolError with this text
# when it is not a URL: the answer was a redirect all the same.
_BAD_LOCATION = "Invalid URL in location header"


class Answer:
    """One answer as read off the wire: plain values.

    Attributes:
        status: HTTP status code.
        location: The ``Location`` header of a 3xx (whose body is never read),
            else None.
        reply: Status, body (read within the deadline and limit) and
            ``Retry-After``, for the judges; an empty body for a 3xx.
    """

    __slots__ = ("location", "reply", "status")

    def __init__(self, status: int, location: str | None, reply: Reply) -> None:
        self.status = status
        self.location = location
        self.reply = reply


async def arequest_token(
    http: httpx.AsyncClient,
    token_url: str,
    form: dict[str, str],
    *,
    client_id: str,
    client_secret: str | None,
    auth_method: ClientAuthMethod,
    timeout: Any,
) -> Token:
    """POST a grant to the token endpoint on ``http`` and return the validated token.

    The async twin of :func:`mysdk.auth._token_endpoint.request_token`, with
    every guarantee of it: the client is not changed and none of its
    credentials are sent (see the module docstring), a 3xx is refused without
    reading its body and never followed (RFC 6749 §3.2), the whole answer
    (head and body) must be in within ``request_seconds(timeout)`` seconds of
    sending and the body within :data:`MAX_TOKEN_RESPONSE` bytes, nothing raw
    escapes and no error carries a secret in its message, ``__cause__`` or
    ``__context__``.

    Args:
        http: The client to send on (its transport, proxies, TLS and pool).
        token_url: The token endpoint (RFC 6749 §3.2).
        form: Grant parameters, e.g. ``{"grant_type": "client_credentials"}``.
        client_id: The client identifier (RFC 6749 §2.2).
        client_secret: The client secret, or ``None`` for a public client.
        auth_method: ``client_secret_basic`` (HTTP Basic) or ``client_secret_post``.
        timeout: Seconds, a ``(connect, read)`` pair, or ``None`` (300 s in all).

    Returns:
        The token, ``issued_at`` set to the moment the request was sent.

    Raises:
        TokenRequestError: As :func:`~mysdk.auth._token_endpoint.request_token`
            (an RFC 6749 §5.2 error, or ``invalid_response``; ``retryable`` with
            ``retry_after`` for a 5xx, a 429 or ``temporarily_unavailable``).
        ReadTimeoutError: The answer did not arrive in full within the
            timeout's total.
        TransportError: The endpoint could not be reached or the connection broke.
        InvalidRequestError: The request could not be built (a bad URL, a
            closed client).
    """
    outgoing = prepare(token_url, form, client_id=client_id, client_secret=client_secret,
                       auth_method=auth_method)
    issued_at = time.time()
    reply = await _post(http, outgoing, timeout, "token request")
    return judge_token(reply, token_url, issued_at)


async def arequest_form(
    http: httpx.AsyncClient,
    url: str,
    form: dict[str, str],
    *,
    client_id: str,
    client_secret: str | None,
    auth_method: ClientAuthMethod,
    timeout: Any,
    what: str,
) -> dict[str, Any]:
    """POST a form to an OAuth endpoint that is not the token endpoint; return its JSON.

    The async twin of :func:`mysdk.auth._token_endpoint.request_form` (device
    authorization, RFC 8628 §3.1; revocation, RFC 7009 §2.1), with every
    guarantee of :func:`arequest_token`.

    Returns:
        The decoded JSON object of a 200 answer; ``{}`` for a 200 with an
        empty body.

    Raises:
        TokenRequestError: An RFC 6749 §5.2 error answer, or ``invalid_response``
            for a redirect, a body over 64 KiB or a 200 that is not a JSON object.
        TransportError: The endpoint could not be reached, or the answer did not
            arrive within the timeout.
        InvalidRequestError: The request could not be built.
    """
    outgoing = prepare(url, form, client_id=client_id, client_secret=client_secret,
                       auth_method=auth_method)
    reply = await _post(http, outgoing, timeout, what)
    return judge_form(reply, url, what)


async def _post(http: httpx.AsyncClient, outgoing: Outgoing, timeout: Any, what: str) -> Reply:
    answer = await aexchange(http, "POST", outgoing.url, fields=outgoing.fields,
                             headers=outgoing.headers, timeout=timeout,
                             limit=MAX_TOKEN_RESPONSE, what=what)
    if is_redirect(answer.status):
        raise redirect_error(answer.status, answer.location, outgoing.url, what)
    return answer.reply


async def aexchange(
    http: httpx.AsyncClient, method: str, url: str, *, fields: dict[str, str] | None,
    headers: dict[str, str], timeout: Any, limit: int, what: str,
) -> Answer:
    """Send one request on ``http`` without the client's credentials; read its answer.

    Args:
        http: The client to send on.
        method: ``"POST"`` (a form) or ``"GET"``.
        url: The endpoint.
        fields: The form fields of a POST, or None.
        headers: The request's own headers (``Accept``, ``Authorization``);
            of the client's headers only those
            :func:`~mysdk.auth._token_endpoint.forwardable` are added.
        timeout: Seconds, a ``(connect, read)`` pair, or ``None``; the whole
            answer must be in within ``request_seconds(timeout)``.
        limit: Most body bytes read.
        what: What the request is, for messages.

    Returns:
        The answer; for a 3xx its ``Location``, the body unread.

    Raises:
        TokenRequestError: A 3xx whose ``Location`` httpx could not parse
            (``invalid_response``, ``status_code`` 0: httpx does not tell it).
        ReadTimeoutError: The answer was not in within the deadline.
        TransportError: The endpoint could not be reached or the connection broke.
        InvalidRequestError: The request could not be built.
    """
    deadline = time.monotonic() + request_seconds(timeout)
    failure: errors.MySDKError | None = None
    resp: httpx.Response | None = None
    try:
        port = httpx.URL(url).port
        if port is not None and not 0 < port < 65536:  # httpx leaves it to the socket
            raise ValueError("port out of range")
        request = httpx.Request(
            method, url, data=fields,
            headers=[*_client_headers(http), *headers.items()],
            extensions={"timeout": httpx_timeout(timeout).as_dict()},
        )
        # httpx's own timeouts bound each phase; this bounds the answer's head
        # in all (a server dripping its status line and headers).
        resp = await asyncio.wait_for(
            http.send(request, auth=_NO_AUTH, follow_redirects=False, stream=True),
            max(deadline - time.monotonic(), 0.0))
    except asyncio.TimeoutError:
        failure = errors.ReadTimeoutError(
            f"no answer within {request_seconds(timeout):g} s for {method} "
            f"{errors.safe_url(url)}", method=method, url=url)
    except httpx.RemoteProtocolError as exc:
        failure = (redirect_error(None, None, url, what) if str(exc).startswith(_BAD_LOCATION)
                   else map_httpx_exception(exc, method, url))
    except _HTTPX_ERRORS as exc:
        failure = map_httpx_exception(exc, method, url)
    except (ValueError, LookupError, TypeError, RuntimeError) as exc:
        # A URL or header httpx cannot encode; RuntimeError: the client is closed.
        failure = errors.InvalidRequestError(
            f"invalid request {method} {errors.safe_url(url)}: {type(exc).__name__}")
    except Exception as exc:  # what a transport raises unmapped (an anyio ExceptionGroup)
        failure = map_httpx_exception(exc, method, url)
    if failure is not None:
        raise failure  # outside the except block: no __context__ holding the original
    assert resp is not None
    try:
        status = resp.status_code
        if is_redirect(status):  # refused before a byte of its body is read
            return Answer(status, resp.headers.get("Location"), Reply(status))
        truncated = await aread_body(resp, deadline=deadline, limit=limit, method=method,
                                     url=url)
        return Answer(status, None, Reply(status, resp.content, truncated,
                                          resp.headers.get("Retry-After")))
    finally:
        await resp.aclose()


def _client_headers(http: httpx.AsyncClient) -> list[tuple[str, str]]:
    # Accept is the request's own (application/json).
    return [(name, value) for name, value in http.headers.items()
            if forwardable(name) and name.lower() != "accept"]
