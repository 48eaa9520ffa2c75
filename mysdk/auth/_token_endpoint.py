"""One POST to a token endpoint and the parsing of its answer (RFC 6749 §5).

Everything that can come back from a token endpoint (a redirect, a dripping or
oversized body, deeply nested or non-UTF-8 JSON, an unusable token) ends as a
:class:`~mysdk.errors.MySDKError`; nothing raw escapes, and no error raised here
has a ``__context__`` or a ``__cause__`` that could carry a token or a header.
"""

from __future__ import annotations

import codecs
import json
import re
import time
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import quote_plus, urljoin

import requests
from requests.auth import AuthBase, HTTPBasicAuth

from mysdk._transport import map_request_exception, read_body
from mysdk.errors import InvalidRequestError, MySDKError, TokenRequestError, safe_url
from mysdk.retry import parse_retry_after
from mysdk.tokens.token import Token

__all__ = [
    "MAX_TOKEN_RESPONSE",
    "ClientAuthMethod",
    "request_form",
    "request_seconds",
    "request_token",
]

ClientAuthMethod = Literal["client_secret_basic", "client_secret_post"]
"""Client authentication methods of RFC 6749 §2.3.1 (names from RFC 7591 §2)."""

MAX_TOKEN_RESPONSE = 64 * 1024
"""Most bytes of a token response that are read; a longer one is ``invalid_response``."""

UNBOUNDED_PART_SECONDS = 150.0
"""Seconds counted for a connect or read timeout of ``None`` (so ``None`` gives 300 s)."""

# Session headers that say nothing about who the caller is; every other one
# (gateway keys, Authorization, tracing with tenant ids, ...) is for the API only.
_HARMLESS_HEADERS = frozenset({"user-agent", "accept", "accept-encoding", "connection"})
# What a prepared token request may carry besides those: the form's framing and
# the client authentication set here.
_TOKEN_REQUEST_HEADERS = _HARMLESS_HEADERS | {"content-type", "content-length", "authorization"}
# RFC 6749 §5.2: error = 1*NQSCHAR (%x20-21 / %x23-5B / %x5D-7E).
_ERROR_CODE = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]{1,128}")
_MAX_DESCRIPTION = 512  # characters of error_description kept
_MAX_LOCATION = 300  # characters of a redirect's Location shown in a message
_MAX_INT_DIGITS = 1000  # a longer JSON integer is read as a float (maybe inf)


class _ClientAuth(AuthBase):
    """The token request's only credentials; runs last while the request is prepared.

    requests applies a session's ``auth`` and ``~/.netrc`` only when a request
    has no ``auth`` of its own, and adds session cookies before ``auth`` runs;
    so this drops every header outside :data:`_TOKEN_REQUEST_HEADERS` (the
    cookie header included), then sets HTTP Basic client authentication when
    ``basic`` is given and nothing otherwise.
    """

    def __init__(self, basic: tuple[str, str] | None) -> None:
        self._basic = basic

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        for name in [n for n in r.headers if n.lower() not in _TOKEN_REQUEST_HEADERS]:
            del r.headers[name]
        r.headers.pop("Authorization", None)
        if self._basic is not None:
            r = HTTPBasicAuth(*self._basic)(r)
        return r

    def __repr__(self) -> str:
        return f"_ClientAuth(basic={self._basic is not None})"


class _RedirectGuard:
    """A response hook, run after the session's own: hides a redirect from requests.

    Even with ``allow_redirects=False``, ``Session.send`` prepares
    ``Response.next`` for a redirect: it reads the whole body (with no deadline
    and no size limit) and parses the ``Location`` (a malformed one raises a
    raw ``ValueError``). Taking ``Location`` off the token response before that
    leaves requests nothing to follow; :func:`request_token` reports it.
    """

    def __init__(self) -> None:
        self.location: str | None = None

    def __call__(self, r: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        if r.is_redirect:
            self.location = r.headers.pop("Location", None)
        return r


def request_seconds(timeout: object) -> float:
    """Longest one token request may take under ``timeout``, in seconds.

    The connect timeout plus the read timeout (a number counts for both);
    ``None`` counts :data:`UNBOUNDED_PART_SECONDS` (150 s) per part, so 300 s in
    all. The same arithmetic as the token manager's wait for another thread's
    token request, so a follower never gives up on a request still in time.
    """
    parts = timeout if isinstance(timeout, tuple) else (timeout, timeout)
    total = 0.0
    for part in parts:
        total += float(part) if isinstance(part, (int, float)) else UNBOUNDED_PART_SECONDS
    return total


def request_token(
    session: requests.Session,
    token_url: str,
    form: dict[str, str],
    *,
    client_id: str,
    client_secret: str | None,
    auth_method: ClientAuthMethod,
    timeout: Any,
) -> Token:
    """POST a grant to the token endpoint and return the validated token.

    Sent on ``session`` directly (never the client's API path, so it is neither
    reauthenticated nor retried there), so the session's TLS, proxy, mTLS,
    adapters and hooks apply, but never its credentials: the request carries
    none of ``session.headers`` but ``User-Agent``, ``Accept``,
    ``Accept-Encoding`` and ``Connection``, none of ``session.params`` or
    ``session.cookies``, and neither ``session.auth`` nor ``~/.netrc`` (its
    only credentials are the client authentication of RFC 6749 §2.3.1).

    Redirects are never followed: a 3xx is refused (RFC 6749 §3.2; the grant
    and the client secret must not be replayed elsewhere). The body is read
    within ``request_seconds(timeout)`` of sending, and at most
    :data:`MAX_TOKEN_RESPONSE` bytes of it (RFC 6749 §5.1 responses are small).

    Args:
        session: Session carrying the caller's TLS, proxy and mTLS settings.
        token_url: The token endpoint (RFC 6749 §3.2).
        form: Grant parameters, e.g. ``{"grant_type": "client_credentials"}``.
        client_id: The client identifier (RFC 6749 §2.2).
        client_secret: The client secret, or ``None`` for a public client.
        auth_method: ``client_secret_basic`` (HTTP Basic, the default of
            RFC 6749 §2.3.1) or ``client_secret_post`` (form fields).
        timeout: Seconds, a ``(connect, read)`` pair, or ``None``.

    Returns:
        The token (validated by :meth:`Token.from_response`), ``issued_at`` set
        to the moment the request was sent.

    Raises:
        TokenRequestError: An RFC 6749 §5.2 error answer; or
            ``error="invalid_response"`` for anything that is not a valid token
            response: a redirect (the message names its status and redacted
            ``Location``), a body over 64 KiB, a body that is not a UTF-8 JSON
            object (a leading UTF-8 BOM is ignored, RFC 8259 §8.1; the
            ``Content-Type`` is not checked), or a token that fails validation.
            When the error is ``retryable`` (a 5xx, a 429 or
            ``temporarily_unavailable``), ``retry_after`` holds the seconds of a
            valid ``Retry-After`` (RFC 9110 §10.2.3), else None.
        ReadTimeoutError: The response did not arrive in full within the
            timeout's total (a :class:`~mysdk.errors.TransportError`).
        TransportError: The endpoint could not be reached or the connection broke.
        InvalidRequestError: The request could not be built (e.g. a bad URL).
    """
    resp, issued_at, deadline, guard = _send(
        session, token_url, form, client_id=client_id, client_secret=client_secret,
        auth_method=auth_method, timeout=timeout)
    try:
        return _answer(resp, token_url, issued_at, deadline, guard.location)
    finally:
        resp.close()


def request_form(
    session: requests.Session,
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

    For the device authorization endpoint (RFC 8628 §3.1) and the revocation
    endpoint (RFC 7009 §2.1), which authenticate the client as the token
    endpoint does (RFC 6749 §2.3.1) and answer errors as RFC 6749 §5.2 says.
    Every guarantee of :func:`request_token` holds: no session credentials,
    no redirect followed, the body read within ``request_seconds(timeout)``
    and :data:`MAX_TOKEN_RESPONSE` bytes, nothing raw escapes.

    Args:
        session: Session carrying the caller's TLS, proxy and mTLS settings.
        url: The endpoint.
        form: The request's fields.
        client_id: The client identifier (RFC 6749 §2.2).
        client_secret: The client secret, or ``None`` for a public client.
        auth_method: ``client_secret_basic`` or ``client_secret_post``.
        timeout: Seconds, a ``(connect, read)`` pair, or ``None``.
        what: What the request is, for messages (``"device authorization
            request"``).

    Returns:
        The decoded JSON object of a 200 answer; ``{}`` for a 200 with an
        empty body (RFC 7009 §2.2: the body of a revocation answer is ignored).

    Raises:
        TokenRequestError: An RFC 6749 §5.2 error answer (``retryable`` for a
            5xx, a 429 or ``temporarily_unavailable``, with ``retry_after``); or
            ``error="invalid_response"`` for a redirect, a body over 64 KiB, or
            a 200 whose non-empty body is not a JSON object.
        TransportError: The endpoint could not be reached, or the answer did not
            arrive within the timeout.
        InvalidRequestError: The request could not be built (e.g. a bad URL).
    """
    resp, _issued_at, deadline, guard = _send(
        session, url, form, client_id=client_id, client_secret=client_secret,
        auth_method=auth_method, timeout=timeout)
    try:
        return _answer_json(resp, url, deadline, guard.location, what)
    finally:
        resp.close()


def _send(
    session: requests.Session, url: str, form: dict[str, str], *, client_id: str,
    client_secret: str | None, auth_method: ClientAuthMethod, timeout: Any,
) -> tuple[requests.Response, float, float, _RedirectGuard]:
    """POST ``form`` with client authentication; the response, unread (stream=True)."""
    data = dict(form)
    basic: tuple[str, str] | None = None
    if client_secret is None or auth_method == "client_secret_post":
        data["client_id"] = client_id
        if client_secret is not None:
            data["client_secret"] = client_secret
    else:
        # RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
        basic = (quote_plus(client_id), quote_plus(client_secret))
    issued_at = time.time()
    deadline = time.monotonic() + request_seconds(timeout)
    failure: MySDKError | None = None
    resp: requests.Response | None = None
    guard = _RedirectGuard()
    try:
        resp = session.post(
            url, data=data, auth=_ClientAuth(basic), headers=_headers(session),
            params=_params(session), hooks=_hooks(session, guard), timeout=timeout,
            allow_redirects=False, stream=True,
        )
    except requests.RequestException as exc:
        failure = map_request_exception(exc, "POST", url)
    except (ValueError, LookupError) as exc:  # e.g. a URL or header requests cannot encode
        failure = InvalidRequestError(
            f"invalid request POST {safe_url(url)}: {type(exc).__name__}")
    if failure is not None:
        raise failure  # outside the except block: no __context__ holding the original
    assert resp is not None
    return resp, issued_at, deadline, guard


def _headers(session: requests.Session) -> dict[str, str | None]:
    # requests drops a merged header whose request-level value is None.
    headers: dict[str, str | None] = {
        name: None for name in (session.headers or {})
        if name.lower() not in _HARMLESS_HEADERS
    }
    headers["Accept"] = "application/json"
    return headers


def _params(session: requests.Session) -> dict[str, None]:
    # A Mapping's names are removed one by one (None values); for any other
    # session.params, requests keeps the request's own (empty) params instead.
    params = session.params
    return {name: None for name in params} if isinstance(params, Mapping) else {}


def _hooks(session: requests.Session, guard: _RedirectGuard) -> dict[str, list[Any]]:
    # A request's hooks replace the session's for the same event: keep them, first.
    existing = (session.hooks or {}).get("response") or []
    hooks = [existing] if callable(existing) else list(existing)
    return {"response": [*hooks, guard]}


def _answer(resp: requests.Response, token_url: str, issued_at: float, deadline: float,
            location: str | None) -> Token:
    body = _read(resp, token_url, deadline, location, "token request")
    if resp.status_code == 200:
        if not isinstance(body, dict):
            raise _invalid("the token endpoint did not answer with a JSON object "
                           "(RFC 6749 §5.1)", resp, token_url)
        problem = ""
        try:
            return Token.from_response(body, issued_at=issued_at)
        except TokenRequestError as exc:
            problem = exc.message
        raise _invalid(problem, resp, token_url)
    raise _refusal(resp, token_url, body, "token request")


def _answer_json(resp: requests.Response, url: str, deadline: float, location: str | None,
                 what: str) -> dict[str, Any]:
    body = _read(resp, url, deadline, location, what)
    if resp.status_code == 200:
        if not resp.content.strip():
            return {}
        if not isinstance(body, dict):
            raise _invalid(f"the {what} was not answered with a JSON object", resp, url)
        return body
    raise _refusal(resp, url, body, what)


def _read(resp: requests.Response, url: str, deadline: float, location: str | None,
          what: str) -> Any:
    """The decoded JSON body (None when not JSON) of a non-redirect answer, read in time."""
    status = resp.status_code
    if 300 <= status < 400:
        target = _location(location or resp.headers.get("Location"), url)
        raise _invalid(
            f"the {what} was answered with a redirect (HTTP {status} to {target}), which "
            "is never followed: OAuth requests go to the configured URL only "
            "(RFC 6749 §3.2)", resp, url)
    failure: MySDKError | None = None
    truncated = False
    try:
        truncated = read_body(resp, deadline=deadline, limit=MAX_TOKEN_RESPONSE,
                              method="POST", url=url)
    except requests.RequestException as exc:  # only when resp.raw is not urllib3's
        failure = map_request_exception(exc, "POST", url)
    if failure is not None:
        raise failure
    if truncated:
        raise _invalid(f"the answer to the {what} is larger than "
                       f"{MAX_TOKEN_RESPONSE // 1024} KiB", resp, url)
    return _json(resp.content)


def _refusal(resp: requests.Response, url: str, body: Any, what: str) -> TokenRequestError:
    error = body.get("error") if isinstance(body, dict) else None
    if not (isinstance(error, str) and _ERROR_CODE.fullmatch(error)):
        return _invalid(f"the {what} was answered without an RFC 6749 §5.2 error object",
                        resp, url)
    assert isinstance(body, dict)
    description = _description(body.get("error_description"))
    text = f"{what} refused: {error}" + (f" ({description})" if description else "")
    return _error(text, resp, url, error=error, description=description)


def _json(raw: bytes) -> Any:
    """The decoded JSON value of ``raw``, or None when it is not UTF-8 JSON (never raises)."""
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]  # RFC 8259 §8.1: a parser MAY ignore a BOM
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    try:
        return json.loads(text, parse_constant=_no_constant, parse_int=_integer)
    except (ValueError, RecursionError):  # incl. JSONDecodeError; nesting too deep
        return None


def _no_constant(name: str) -> Any:
    raise ValueError("NaN and Infinity are not JSON (RFC 8259 §6)")


def _integer(digits: str) -> int | float:
    # int() refuses more than 4300 digits; such a number is still a number.
    return int(digits) if len(digits) <= _MAX_INT_DIGITS else float(digits)


def _description(value: object) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    text = "".join(ch if ch.isprintable() else " " for ch in value[:_MAX_DESCRIPTION])
    return text + ("..." if len(value) > _MAX_DESCRIPTION else "")


def _location(location: str | None, token_url: str) -> str:
    if not location:
        return "no Location"
    try:
        target = urljoin(token_url, location)
    except ValueError:
        target = location
    shown = safe_url(target)
    shown = "".join(ch if ch.isprintable() and ch != " " else "?" for ch in shown)
    return shown if len(shown) <= _MAX_LOCATION else shown[:_MAX_LOCATION] + "..."


def _invalid(message: str, resp: requests.Response, token_url: str) -> TokenRequestError:
    return _error(message, resp, token_url, error="invalid_response", description=None)


def _error(message: str, resp: requests.Response, token_url: str, *, error: str,
           description: str | None) -> TokenRequestError:
    status = resp.status_code
    err = TokenRequestError(
        f"{message} [HTTP {status} from {safe_url(token_url)}]",
        error=error, error_description=description, status_code=status, token_url=token_url,
    )
    if err.retryable:  # a 5xx, a 429 or temporarily_unavailable (RFC 9110 §10.2.3)
        err.retry_after = parse_retry_after(resp.headers.get("Retry-After"), now=time.time())
    return err
