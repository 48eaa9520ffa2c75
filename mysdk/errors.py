"""The one exception tree of mysdk.

Every failure a call can meet is raised as a subclass of :class:`MySDKError`,
chained (``raise ... from``) to the ``requests`` exception that caused it::

    MySDKError
    ├── TransportError               no (complete) HTTP response; see outcome_unknown
    │   ├── ConnectError             never sent: DNS, refused, TLS certificate refused
    │   │   └── ConnectTimeoutError  requests.ConnectTimeout (also a RequestTimeoutError)
    │   ├── ServerDisconnectedError  the connection broke; the server may have acted
    │   └── RequestTimeoutError      requests.Timeout
    │       ├── ConnectTimeoutError
    │       └── ReadTimeoutError     no answer in time, or the body missed the deadline
    ├── APIStatusError               an HTTP response with a status >= 300
    │   ├── APIResponseError         a 2xx whose body reports a failure (response_check)
    │   ├── RedirectError            a 3xx not followed (other origin, https to http, > 5)
    │   ├── ClientError              any other 4xx
    │   │   ├── BadRequestError          400
    │   │   ├── UnauthorizedError        401 (also an AuthError)
    │   │   ├── ForbiddenError           403
    │   │   ├── NotFoundError            404
    │   │   ├── ConflictError            409
    │   │   ├── UnprocessableEntityError 422
    │   │   └── RateLimitError           429
    │   └── ServerError              any 5xx
    ├── DecodeError                  a 2xx body that is not the JSON that was expected
    ├── AuthError                    getting or using credentials failed
    │   ├── UnauthorizedError        (see above)
    │   └── TokenRequestError        the token endpoint refused (RFC 6749 §5.2)
    ├── RateLimitTimeout             the client-side rate limiter would wait too long
    └── InvalidRequestError          bad input to a call (also a ValueError)

Every :class:`TransportError` says whether the server may have acted on the
request: ``outcome_unknown`` is False only when no byte of the request can have
reached it (DNS failure, connection refused, connect timeout, a TLS certificate
refused during the handshake). For a POST or PATCH that fails with
``outcome_unknown`` True the caller must reconcile (look the resource up, or
resend with the same ``Idempotency-Key``): mysdk resends such a request only
when it is replay-safe (an idempotent method or an ``Idempotency-Key``).

``requests`` exceptions not named above (ChunkedEncodingError, ContentDecodingError,
TooManyRedirects, a bare RequestException) map to :class:`TransportError`; URL and
header errors (MissingSchema, InvalidURL, InvalidHeader, ...), a malformed method
or header value, and any other bad argument map to :class:`InvalidRequestError`.
No mysdk error is chained to an exception whose text may hold a header value or
a query string: the cause's type is named in the message instead.

Every error pickles and unpickles to an equal-looking error (constructors take
only positional-or-keyword arguments with defaults, and ``__reduce__`` keeps the
attributes), so errors cross process boundaries. No message, ``str()`` or
``repr()`` ever contains a token, a client secret or an Authorization value: the
request URL is stored without userinfo and with secret-named query parameters
redacted (:func:`safe_url`), bodies of token responses are never kept, and an
error body is kept up to :data:`MAX_ERROR_BODY` bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = [
    "APIResponseError",
    "APIStatusError",
    "AuthError",
    "BadRequestError",
    "ClientError",
    "ConflictError",
    "ConnectError",
    "ConnectTimeoutError",
    "DecodeError",
    "ForbiddenError",
    "InvalidRequestError",
    "MySDKError",
    "NotFoundError",
    "RateLimitError",
    "RateLimitTimeout",
    "ReadTimeoutError",
    "RedirectError",
    "RequestTimeoutError",
    "ServerDisconnectedError",
    "ServerError",
    "TokenRequestError",
    "TransportError",
    "UnauthorizedError",
    "UnprocessableEntityError",
]

MAX_ERROR_BODY = 64 * 1024
"""Bytes of an error response's body that are read and kept on the error; the
rest is discarded unread and ``body_truncated`` is set."""

SECRET_QUERY_PARAMS: frozenset[str] = frozenset({
    "access_token", "refresh_token", "id_token", "token", "code", "sig", "signature",
    "key", "api_key", "apikey", "password", "client_secret", "secret",
})
"""Query parameter names (lower case) whose values :func:`safe_url` replaces by ``***``."""


class MySDKError(Exception):
    """Root of every error mysdk raises.

    Attributes:
        message: Human-readable text, free of secrets.
        attempts: How many attempts the call made before failing (1 when the
            call was not retried; 0 when it never reached the network).
    """

    retryable: bool = False

    def __init__(self, message: str = "", *, attempts: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.attempts = attempts

    def __reduce__(self) -> tuple[Any, ...]:
        # Exception pickles only ``args``; keep the keyword attributes too. A live
        # response (connection, request with headers) does not cross processes.
        state = {k: v for k, v in self.__dict__.items() if k != "response"}
        if "response" in self.__dict__:
            state["response"] = None
        brand = type(self).__dict__.get("_mysdk_brand")
        if brand is not None:  # a class made by mysdk.brand: rebuilt there, by its parts
            return (_rebuild_branded, (*brand, state))
        return (_rebuild, (type(self), state))

    def __str__(self) -> str:
        if self.attempts > 1:
            return f"{self.message} (after {self.attempts} attempts)"
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


def _rebuild(cls: type[MySDKError], state: dict[str, Any]) -> MySDKError:
    err = cls.__new__(cls)
    Exception.__init__(err, state.get("message", ""))
    err.__dict__.update(state)
    return err


def _rebuild_branded(
    base: type[MySDKError], root: type[MySDKError], state: dict[str, Any]
) -> MySDKError:
    from mysdk.brand import branded_class

    return _rebuild(branded_class(base, root), state)


class TransportError(MySDKError):
    """No (complete) HTTP response was received (DNS, connect, TLS, timeout, broken stream).

    Attributes:
        method: HTTP method of the request, e.g. ``"GET"``.
        url: Request URL without userinfo or secret query values, or ``""``.
        outcome_unknown: True when the request may have reached the server, so
            it may have acted on it; for a POST or PATCH the caller should
            reconcile before sending it again. False only when no byte can have
            reached the server (:class:`ConnectError`), or when the failure was
            at the token endpoint before the API request was sent.
    """

    retryable = True
    outcome_unknown: bool = True

    def __init__(
        self, message: str = "", *, method: str = "", url: str = "", attempts: int = 1,
        outcome_unknown: bool | None = None,
    ) -> None:
        super().__init__(message, attempts=attempts)
        self.method = method
        self.url = safe_url(url)
        if outcome_unknown is not None:
            self.outcome_unknown = outcome_unknown


class ConnectError(TransportError):
    """The connection could not be opened: DNS failure, connection refused,
    connect timeout, or a TLS certificate refused during the handshake.

    No byte of the request reached the server (``outcome_unknown`` is False),
    so sending it again is always safe.
    """

    outcome_unknown = False


class ServerDisconnectedError(TransportError):
    """The connection closed after the request was sent, before a full response.

    The server may have acted on the request, so it is repeated only when safe
    (idempotent method or an ``Idempotency-Key``), like a read timeout.
    """


class RequestTimeoutError(TransportError):
    """A connect or read timeout elapsed (the client's ``timeout``, in seconds)."""


class ConnectTimeoutError(ConnectError, RequestTimeoutError):
    """Opening the connection took longer than the connect timeout.

    The request was never sent, so repeating it is always safe.
    """


class ReadTimeoutError(RequestTimeoutError):
    """The server accepted the request but did not answer within the read timeout.

    The server may have acted on the request; it is repeated only when safe
    (idempotent method or an ``Idempotency-Key``).
    """


class APIStatusError(MySDKError):
    """The server answered with a status that is not a success.

    Attributes:
        status_code: HTTP status code, e.g. ``404``.
        headers: Response headers (a plain ``dict[str, str]``, case as received).
        body: Parsed JSON body when the response was JSON, else its text
            (``""`` for an empty body).
        method: HTTP method of the request.
        url: Request URL without userinfo.
        request_id: Value of the ``X-Request-Id`` (or ``Request-Id``) response
            header, else the request id of the body's error envelope (see
            :class:`mysdk.ErrorEnvelope`), or ``None``.
        code: The API's own error code from the body's error envelope (e.g.
            ``"item_not_found"``), or ``None``.
        details: Further detail from the error envelope (any JSON value), or ``None``.
        server_timing: Server-reported durations in milliseconds by metric name,
            from ``Server-Timing`` (W3C Server Timing) and ``X-API-Time``; empty
            when the server sent neither.
        retry_after: Seconds the server asked to wait (``Retry-After``,
            RFC 9110 §10.2.3), or ``None``.
        response: The ``requests.Response`` of the last attempt (``None`` after
            unpickling: it is not sent across processes). Its content is at most
            :data:`MAX_ERROR_BODY` bytes.
        body_truncated: True when the body was longer than
            :data:`MAX_ERROR_BODY` bytes and only that much was kept.
    """

    body_truncated: bool = False
    code: str | None = None
    details: Any = None
    server_timing: Mapping[str, float] = {}  # shared empty default, never mutated

    def __init__(
        self,
        message: str = "",
        *,
        status_code: int = 0,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        method: str = "",
        url: str = "",
        request_id: str | None = None,
        retry_after: float | None = None,
        attempts: int = 1,
        response: Any = None,
    ) -> None:
        super().__init__(message, attempts=attempts)
        self.response = response
        self.status_code = status_code
        self.headers = dict(headers or {})
        self.body = body
        self.method = method
        self.url = safe_url(url)
        self.request_id = request_id
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code}, method={self.method!r}, "
            f"url={self.url!r}, request_id={self.request_id!r})"
        )


class APIResponseError(APIStatusError):
    """A 2xx response whose body says the call failed (e.g. ``{"ok": false}``).

    Raised when the client's ``response_check`` finds an error in a success
    body; ``code``, ``message`` and ``request_id`` come from what it found.
    """


class RedirectError(APIStatusError):
    """A 3xx response the client did not follow (RFC 9110 §15.4).

    Same-origin redirects are followed (at most 5 hops); this is raised for a
    redirect to another origin or from https to http (credentials must not
    follow it), for a sixth hop, for a 3xx without a usable ``Location``, and
    for a 3xx that is not a redirect (300, 305, 306).

    Attributes:
        location: The ``Location`` header, resolved against the request URL,
            without userinfo and with secret query values redacted; ``""`` when
            absent.
    """

    location: str = ""


class ClientError(APIStatusError):
    """A 4xx response without a more specific class."""


class BadRequestError(ClientError):
    """400 Bad Request (RFC 9110 §15.5.1)."""


class AuthError(MySDKError):
    """Obtaining or using credentials failed."""


class UnauthorizedError(ClientError, AuthError):
    """401 Unauthorized (RFC 9110 §15.5.2; RFC 6750 §3 for bearer tokens).

    Raised after the client already refreshed its token and replayed the request
    once, or when the request could not be replayed (see ``message``).
    """


class ForbiddenError(ClientError):
    """403 Forbidden (RFC 9110 §15.5.4), e.g. RFC 6750 ``insufficient_scope``."""


class NotFoundError(ClientError):
    """404 Not Found (RFC 9110 §15.5.5)."""


class ConflictError(ClientError):
    """409 Conflict (RFC 9110 §15.5.10)."""


class UnprocessableEntityError(ClientError):
    """422 Unprocessable Content (RFC 9110 §15.5.21): the body failed validation."""


class RateLimitError(ClientError):
    """429 Too Many Requests (RFC 6585 §4); ``retry_after`` holds the asked wait."""

    retryable = True


class ServerError(APIStatusError):
    """Any 5xx response (RFC 9110 §15.6)."""

    retryable = True


class DecodeError(MySDKError):
    """A 2xx response whose body is not the JSON that was expected.

    Attributes:
        status_code: HTTP status code of the response.
        content_type: The response's ``Content-Type`` header, or ``""``.
        method: HTTP method of the request.
        url: Request URL without userinfo.
    """

    def __init__(
        self,
        message: str = "",
        *,
        status_code: int = 0,
        content_type: str = "",
        method: str = "",
        url: str = "",
        attempts: int = 1,
    ) -> None:
        super().__init__(message, attempts=attempts)
        self.status_code = status_code
        self.content_type = content_type
        self.method = method
        self.url = safe_url(url)


class TokenRequestError(AuthError):
    """The token endpoint answered with an error (RFC 6749 §5.2).

    Attributes:
        error: The RFC 6749 §5.2 ``error`` code, e.g. ``"invalid_client"``,
            ``"invalid_grant"``; ``"invalid_response"`` when the answer was not
            a valid token response (RFC 6749 §5.1).
        error_description: The server's ``error_description``, or ``None``.
        status_code: HTTP status of the token response (``0`` if none).
        token_url: The token endpoint URL without userinfo.
        retry_after: Seconds the token endpoint asked to wait (``Retry-After``
            on a 429 or 503, RFC 9110 §10.2.3), or ``None``.
    """

    retry_after: float | None = None

    def __init__(
        self,
        message: str = "",
        *,
        error: str = "",
        error_description: str | None = None,
        status_code: int = 0,
        token_url: str = "",
        attempts: int = 1,
    ) -> None:
        super().__init__(message, attempts=attempts)
        self.error = error
        self.error_description = error_description
        self.status_code = status_code
        self.token_url = safe_url(token_url)

    @property
    def retryable(self) -> bool:  # type: ignore[override]
        """True for a 5xx, a 429 or ``temporarily_unavailable`` (RFC 6749 §5.2)."""
        return (self.status_code >= 500 or self.status_code == 429
                or self.error == "temporarily_unavailable")


class RateLimitTimeout(MySDKError):
    """The client-side rate limiter would have to wait longer than allowed.

    Attributes:
        wait: Seconds the call would have had to wait for a permit.
    """

    def __init__(self, message: str = "", *, wait: float = 0.0, attempts: int = 0) -> None:
        super().__init__(message, attempts=attempts)
        self.wait = wait


class InvalidRequestError(MySDKError, ValueError):
    """The call's own input is wrong (bad URL, header, body or option)."""

    def __init__(self, message: str = "", *, attempts: int = 0) -> None:
        super().__init__(message, attempts=attempts)


STATUS_ERRORS: Mapping[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}
"""Status code → error class; other 4xx map to ClientError, 5xx to ServerError."""


def status_error_class(status_code: int) -> type[APIStatusError]:
    """Return the error class for an HTTP status code (>= 300).

    3xx other than 304 Not Modified map to :class:`RedirectError`.
    """
    cls = STATUS_ERRORS.get(status_code)
    if cls is not None:
        return cls
    if 400 <= status_code < 500:
        return ClientError
    if status_code >= 500:
        return ServerError
    if 300 <= status_code < 400 and status_code != 304:
        return RedirectError
    return APIStatusError


def safe_url(url: str) -> str:
    """Return ``url`` fit for a message or a log.

    Userinfo (``user:password@``) is removed, and the value of every query
    parameter named in :data:`SECRET_QUERY_PARAMS` (any case) becomes ``***``.
    A fragment is dropped. Never raises: a value that is not a URL string comes
    back as ``"<unprintable URL>"``.
    """
    if not isinstance(url, str):
        return "<unprintable URL>"
    if "@" not in url and "?" not in url and "#" not in url:
        return url  # the common case costs one scan
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unprintable URL>"
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, redact_query(parts.query), ""))


def redact_query(query: str) -> str:
    """``query`` with the values of secret-named parameters replaced by ``***``."""
    if not query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(name.lower() in SECRET_QUERY_PARAMS for name, _ in pairs):
        return query
    return urlencode([(name, "***" if name.lower() in SECRET_QUERY_PARAMS else value)
                      for name, value in pairs], safe="*")
