"""One POST to an OAuth endpoint and the judging of its answer (RFC 6749 §5).

Written once, performed twice (sans-I/O, as oauthlib and h11 are): this module
holds the rules, and :mod:`requests` I/O; :mod:`mysdk.auth._token_endpoint_async`
performs the same requests with httpx. The rules take and give plain values:

* :func:`prepare` builds the request: the form, the client authentication of
  RFC 6749 §2.3.1 and the only headers it carries (:class:`Outgoing`);
  :func:`forwardable` says which of the caller's own headers may go along.
* :func:`redirect_error`, :func:`judge_token` and :func:`judge_form` judge the
  answer from its status, ``Location``, ``Retry-After`` and body bytes
  (:class:`Reply`): redirect refused, 64 KiB cap, JSON parse rules, RFC 6749
  §5.2 errors, retryable and ``Retry-After``, token validation.

Everything that can come back from a token endpoint (a redirect, a dripping or
oversized body, deeply nested or non-UTF-8 JSON, an unusable token) ends as a
:class:`~mysdk.errors.MySDKError`; nothing raw escapes, and no error raised here
has a ``__context__`` or a ``__cause__`` that could carry a token or a header.
"""

from __future__ import annotations

import base64
import codecs
import json
import re
import time
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import quote_plus, urljoin

import requests
from requests.auth import AuthBase

from mysdk._frozen import Frozen
from mysdk._transport import map_request_exception, read_body
from mysdk.errors import InvalidRequestError, MySDKError, TokenRequestError, safe_url
from mysdk.retry import parse_retry_after
from mysdk.tokens.token import Token

__all__ = [
    "MAX_TOKEN_RESPONSE",
    "ClientAuthMethod",
    "Outgoing",
    "Reply",
    "forwardable",
    "is_redirect",
    "judge_form",
    "judge_token",
    "prepare",
    "redirect_error",
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

# Session/client headers that say nothing about who the caller is; every other one
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


# --- the rules: building the request ---------------------------------------------------------


class Outgoing(Frozen):
    """One POST to an OAuth endpoint as it goes on the wire, whichever library sends it.

    Attributes:
        url: The endpoint, as configured (its query, if any, is kept).
        fields: The form fields (``application/x-www-form-urlencoded``),
            with ``client_id`` (and ``client_secret``) for ``client_secret_post``
            and for a public client. Secret; not shown in ``repr``.
        headers: ``Accept: application/json`` and, for ``client_secret_basic``,
            ``Authorization: Basic ...``: the request's only headers besides
            those :func:`forwardable` lets through and the form's framing.
            Secret; not shown in ``repr``.
    """

    __slots__ = ("fields", "headers", "url")

    url: str
    fields: dict[str, str]
    headers: dict[str, str]

    def __init__(self, url: str, fields: dict[str, str], headers: dict[str, str]) -> None:
        self._set("url", url)
        self._set("fields", fields)
        self._set("headers", headers)

    def __repr__(self) -> str:
        return f"Outgoing(url={safe_url(self.url)!r}, fields=[...], headers=[...])"


def prepare(url: str, form: Mapping[str, str], *, client_id: str, client_secret: str | None,
            auth_method: ClientAuthMethod) -> Outgoing:
    """The POST of ``form`` to ``url`` with client authentication (RFC 6749 §2.3.1).

    ``client_secret_basic`` (and a secret): HTTP Basic, each part
    form-urlencoded first as RFC 6749 §2.3.1 says. ``client_secret_post``:
    ``client_id`` and ``client_secret`` in the form. A public client (no
    secret) sends its ``client_id`` in the form (RFC 6749 §3.2.1).

    Raises:
        InvalidRequestError: The client credentials cannot be form-encoded
            (e.g. a lone surrogate); the message names neither.
    """
    fields = dict(form)
    headers = {"Accept": "application/json"}
    if client_secret is None or auth_method == "client_secret_post":
        fields["client_id"] = client_id
        if client_secret is not None:
            fields["client_secret"] = client_secret
        return Outgoing(url, fields, headers)
    failure: MySDKError | None = None
    try:
        pair = f"{quote_plus(client_id)}:{quote_plus(client_secret)}".encode("ascii")
    except (ValueError, LookupError):  # UnicodeEncodeError; its text holds the string
        failure = InvalidRequestError(
            f"invalid request POST {safe_url(url)}: the client credentials cannot be "
            "form-encoded (RFC 6749 §2.3.1)")
    if failure is not None:
        raise failure  # outside the except block: no __context__ holding the original
    headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    return Outgoing(url, fields, headers)


def forwardable(name: str) -> bool:
    """True for a caller's header that may go to an OAuth endpoint.

    Only ``User-Agent``, ``Accept``, ``Accept-Encoding`` and ``Connection``
    (case-insensitive): they say nothing about who the caller is. Every other
    session- or client-level header (gateway keys, ``Authorization``, tracing
    with tenant ids) is meant for the API only.
    """
    return name.lower() in _HARMLESS_HEADERS


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


# --- the rules: judging the answer -----------------------------------------------------------


class Reply(Frozen):
    """What the judges need of one answer: plain values, no response object.

    Attributes:
        status: The HTTP status code.
        content: The body bytes read (at most :data:`MAX_TOKEN_RESPONSE` and one
            chunk more; :attr:`truncated` says whether more was left unread).
        truncated: True when the body was cut at the size limit.
        retry_after: The raw ``Retry-After`` header value, or ``None``.
    """

    __slots__ = ("content", "retry_after", "status", "truncated")

    status: int
    content: bytes
    truncated: bool
    retry_after: str | None

    def __init__(self, status: int, content: bytes = b"", truncated: bool = False,
                 retry_after: str | None = None) -> None:
        self._set("status", status)
        self._set("content", content)
        self._set("truncated", truncated)
        self._set("retry_after", retry_after)

    def __repr__(self) -> str:  # the body may hold a token
        return f"Reply(status={self.status}, content=<{len(self.content)} bytes>)"


def is_redirect(status: int) -> bool:
    """True for a 3xx, which an OAuth request never follows (RFC 6749 §3.2)."""
    return 300 <= status < 400


def redirect_error(status: int | None, location: str | None, url: str,
                   what: str) -> TokenRequestError:
    """The ``invalid_response`` error for a 3xx answer, to raise before reading its body.

    The grant and the client secret must not be replayed elsewhere (RFC 6749
    §3.2), so a redirect is refused; the message names the status and the
    ``Location`` resolved against ``url``, redacted and cut to 300 characters.

    Args:
        status: The 3xx status; None when the transport only said that a
            redirect's ``Location`` is not a URL (the error's ``status_code``
            is then 0).
        location: The raw ``Location`` header, or None.
        url: The request's URL.
        what: What the request was, for the message.
    """
    if status is None:
        return TokenRequestError(
            f"the {what} was answered with a redirect to a Location that is not a URL, "
            "which is never followed: OAuth requests go to the configured URL only "
            f"(RFC 6749 §3.2) [HTTP 3xx from {safe_url(url)}]",
            error="invalid_response", status_code=0, token_url=url)
    target = _location(location, url)
    return _error(
        f"the {what} was answered with a redirect (HTTP {status} to {target}), which is "
        "never followed: OAuth requests go to the configured URL only (RFC 6749 §3.2)",
        status, None, url, error="invalid_response", description=None)


def judge_token(reply: Reply, token_url: str, issued_at: float) -> Token:
    """The validated token of a token endpoint's answer (RFC 6749 §5.1), or the error.

    Args:
        reply: The answer (not a redirect: see :func:`redirect_error`).
        token_url: The token endpoint, for messages.
        issued_at: Epoch seconds when the request was sent.

    Raises:
        TokenRequestError: See :func:`request_token`.
    """
    body = _body(reply, token_url, "token request")
    if reply.status == 200:
        if not isinstance(body, dict):
            raise _invalid("the token endpoint did not answer with a JSON object "
                           "(RFC 6749 §5.1)", reply, token_url)
        problem = ""
        try:
            return Token.from_response(body, issued_at=issued_at)
        except TokenRequestError as exc:
            problem = exc.message
        raise _invalid(problem, reply, token_url)
    raise _refusal(reply, token_url, body, "token request")


def judge_form(reply: Reply, url: str, what: str) -> dict[str, Any]:
    """The JSON object of an OAuth endpoint's answer (not the token endpoint's), or the error.

    Raises:
        TokenRequestError: See :func:`request_form`.
    """
    body = _body(reply, url, what)
    if reply.status == 200:
        if not reply.content.strip():
            return {}
        if not isinstance(body, dict):
            raise _invalid(f"the {what} was not answered with a JSON object", reply, url)
        return body
    raise _refusal(reply, url, body, what)


def _body(reply: Reply, url: str, what: str) -> Any:
    """The decoded JSON body (None when not JSON) of an answer within the size limit."""
    if reply.truncated or len(reply.content) > MAX_TOKEN_RESPONSE:
        raise _invalid(f"the answer to the {what} is larger than "
                       f"{MAX_TOKEN_RESPONSE // 1024} KiB", reply, url)
    return _json(reply.content)


def _refusal(reply: Reply, url: str, body: Any, what: str) -> TokenRequestError:
    error = body.get("error") if isinstance(body, dict) else None
    if not (isinstance(error, str) and _ERROR_CODE.fullmatch(error)):
        return _invalid(f"the {what} was answered without an RFC 6749 §5.2 error object",
                        reply, url)
    assert isinstance(body, dict)
    description = _description(body.get("error_description"))
    text = f"{what} refused: {error}" + (f" ({description})" if description else "")
    return _error(text, reply.status, reply.retry_after, url, error=error,
                  description=description)


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


def _invalid(message: str, reply: Reply, token_url: str) -> TokenRequestError:
    return _error(message, reply.status, reply.retry_after, token_url,
                  error="invalid_response", description=None)


def _error(message: str, status: int, retry_after: str | None, token_url: str, *, error: str,
           description: str | None) -> TokenRequestError:
    err = TokenRequestError(
        f"{message} [HTTP {status} from {safe_url(token_url)}]",
        error=error, error_description=description, status_code=status, token_url=token_url,
    )
    if err.retryable:  # a 5xx, a 429 or temporarily_unavailable (RFC 9110 §10.2.3)
        err.retry_after = parse_retry_after(retry_after, now=time.time())
    return err


# --- the I/O: requests -----------------------------------------------------------------------


class _ClientAuth(AuthBase):
    """The token request's only credentials; runs last while the request is prepared.

    requests applies a session's ``auth`` and ``~/.netrc`` only when a request
    has no ``auth`` of its own, and adds session cookies before ``auth`` runs;
    so this drops every header outside :data:`_TOKEN_REQUEST_HEADERS` (the
    cookie header included), then sets ``authorization`` (the client's HTTP
    Basic credentials from :func:`prepare`) when given and nothing otherwise.
    """

    def __init__(self, authorization: str | None) -> None:
        self._authorization = authorization

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        for name in [n for n in r.headers if n.lower() not in _TOKEN_REQUEST_HEADERS]:
            del r.headers[name]
        r.headers.pop("Authorization", None)
        if self._authorization is not None:
            r.headers["Authorization"] = self._authorization
        return r

    def __repr__(self) -> str:
        return f"_ClientAuth(basic={self._authorization is not None})"


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
    outgoing = prepare(token_url, form, client_id=client_id, client_secret=client_secret,
                       auth_method=auth_method)
    reply, issued_at = _exchange(session, outgoing, timeout, "token request")
    return judge_token(reply, token_url, issued_at)


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
    outgoing = prepare(url, form, client_id=client_id, client_secret=client_secret,
                       auth_method=auth_method)
    reply, _issued_at = _exchange(session, outgoing, timeout, what)
    return judge_form(reply, url, what)


def _exchange(session: requests.Session, outgoing: Outgoing, timeout: Any,
              what: str) -> tuple[Reply, float]:
    """Send ``outgoing``; its answer read within the deadline, and when it was sent."""
    issued_at = time.time()
    deadline = time.monotonic() + request_seconds(timeout)
    url = outgoing.url
    failure: MySDKError | None = None
    resp: requests.Response | None = None
    guard = _RedirectGuard()
    try:
        resp = session.post(
            url, data=outgoing.fields,
            auth=_ClientAuth(outgoing.headers.get("Authorization")),
            headers={**_headers(session), "Accept": outgoing.headers["Accept"]},
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
    try:
        status = resp.status_code
        if is_redirect(status):  # refused before a byte of its body is read
            raise redirect_error(status, guard.location or resp.headers.get("Location"),
                                 url, what)
        try:
            truncated = read_body(resp, deadline=deadline, limit=MAX_TOKEN_RESPONSE,
                                  method="POST", url=url)
        except requests.RequestException as exc:  # only when resp.raw is not urllib3's
            failure = map_request_exception(exc, "POST", url)
        if failure is not None:
            raise failure
        return Reply(status, resp.content, truncated, resp.headers.get("Retry-After")), issued_at
    finally:
        resp.close()


def _headers(session: requests.Session) -> dict[str, str | None]:
    # requests drops a merged header whose request-level value is None.
    headers: dict[str, str | None] = {
        name: None for name in (session.headers or {}) if not forwardable(name)
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
