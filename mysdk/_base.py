"""What :class:`mysdk.Client` and :class:`mysdk.AsyncClient` share: everything but I/O.

The request path is written once, as a generator (the sans-I/O style of h11
and oauthlib): :meth:`BaseClient._flow` decides (rate-limit permits, auth
stamping, the 401 refresh-and-replay, same-origin redirects, retries with
backoff and ``Retry-After``, error mapping, middleware and events) and
*yields* each piece of I/O it needs as a command; a driver performs it and
sends the result back, or throws the mysdk error the I/O raised into it:

================  ==========================================  =================
command           the driver does                             sends back
================  ==========================================  =================
``PERMIT``        take a rate-limit permit (may wait)         seconds waited
``STAMP``         ``call.auth.apply(call.headers)``           the handle used
``SEND``          send the call as it stands; read the body   the response
                  (not a streamed 2xx's) within the deadline
``(REAUTH, h)``   ``call.auth.on_unauthorized(h)``            bool
``(SLEEP, s)``    sleep ``s`` seconds                         None
``(CLOSE, r)``    release response ``r``                      None
================  ==========================================  =================

:class:`~mysdk.Client` drives it with ``requests`` and blocking calls,
:class:`~mysdk.AsyncClient` with ``httpx`` and ``await``; neither holds any of
the decisions. A response is whatever the transport returns (a
``requests.Response`` or an ``httpx.Response``): the flow reads only
``status_code`` and ``headers``, and the error builders ``content``, ``json()``
and ``text``, which both have.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from urllib.parse import urlsplit

from mysdk import redirects
from mysdk import retry as retry_mod
from mysdk._body import Body
from mysdk._call import Call, build_url, normalise_params
from mysdk._checks import check_base_url, check_headers, check_method, header_of
from mysdk._types import DEFAULT_TIMEOUT, NOT_GIVEN, NotGiven, TimeoutArg, resolve_timeout
from mysdk.auth.base import Credentials, TokenProvider
from mysdk.brand import MYSDK, Brand, brand_error
from mysdk.errormap import DEFAULT_ERROR_MAP, ErrorMap, ResponseCheck
from mysdk.errors import (
    APIResponseError,
    APIStatusError,
    DecodeError,
    InvalidRequestError,
    MySDKError,
    ReadTimeoutError,
    TokenRequestError,
    TransportError,
    safe_url,
)
from mysdk.events import Event, EventHook, emit
from mysdk.retry import RetryPolicy
from mysdk.status import error_from_body, error_from_response
from mysdk.timing import server_timing

if TYPE_CHECKING:
    from mysdk.middleware import Middleware, OutgoingRequest
    from mysdk.ratelimit import TokenBucket
    from mysdk.tokens.cache import TokenCache

__all__ = ["BaseClient"]

IDEMPOTENCY_HEADER = "Idempotency-Key"
_UNSAFE_METHODS = frozenset({"POST", "PATCH"})
_REQUEST_ID_HEADERS = ("X-Request-Id", "Request-Id", "X-Correlation-Id")
RESOURCE_CACHE_PREFIX = "_mysdk_resource_"  # client.__dict__ keys of bound resources

# The flow's commands (see the module docstring).
PERMIT = "permit"
STAMP = "stamp"
SEND = "send"
REAUTH = "reauth"
SLEEP = "sleep"
CLOSE = "close"

_NO_BODY = Body()  # shared by every call without a body: nothing in it ever changes

Flow = Generator[Any, Any, Any]
"""A request flow: yields commands, receives their results, returns the response."""

C = TypeVar("C", bound="BaseClient")


class BaseClient:
    """Configuration, call building, decoding and the request flow of both clients.

    Not used directly: subclass :class:`mysdk.Client` or :class:`mysdk.AsyncClient`.
    The class attributes below are the declarations an SDK sets; a mixin class
    holding them can be shared by an SDK's sync and async clients.
    """

    brand: ClassVar[Brand] = MYSDK
    error_map: ClassVar[ErrorMap] = DEFAULT_ERROR_MAP
    response_check: ClassVar[ResponseCheck | None] = None
    middleware: ClassVar[Sequence[Middleware]] = ()

    is_async: ClassVar[bool] = False
    """True for :class:`mysdk.AsyncClient`: its declared operations return awaitables."""

    base_url: str
    timeout: TimeoutArg
    retry: RetryPolicy
    rate_limiter: TokenBucket | None
    idempotency_keys: bool
    auth: Any

    def _configure(
        self,
        *,
        base_url: str,
        timeout: TimeoutArg | NotGiven,
        headers: Mapping[str, str] | None,
        retry: RetryPolicy | NotGiven | None,
        rate_limiter: TokenBucket | None,
        rate_limit_headers: bool,
        idempotency_keys: bool,
        on_event: EventHook | None,
        middleware: Sequence[Middleware] | None,
        monotonic: Callable[[], float],
        allow_http: bool,
    ) -> None:
        """Check and keep the options both clients share (see :class:`mysdk.Client`)."""
        check_base_url(base_url, allow_http=allow_http)
        try:
            self.timeout = resolve_timeout(timeout, DEFAULT_TIMEOUT)
        except ValueError as exc:
            raise InvalidRequestError(str(exc)) from None
        if rate_limit_headers and rate_limiter is None:
            raise InvalidRequestError("rate_limit_headers needs a rate_limiter to pause")
        self.base_url = base_url.rstrip("/")
        self._headers = {"Accept": "application/json", **check_headers(headers, "headers")}
        self._default_key = header_of(self._headers, IDEMPOTENCY_HEADER)
        self._params: Mapping[str, Any] | None = None  # default query (with_options)
        self.retry = retry_mod.NO_RETRY if retry is None else (retry or RetryPolicy())
        self.rate_limiter = rate_limiter
        self._rate_limit_headers = rate_limit_headers
        self.idempotency_keys = idempotency_keys
        self._on_event = on_event
        self._log = logging.getLogger(self.brand.logger)
        self._root = None if self.brand.error is MySDKError else self.brand.error
        self._middleware = tuple(self.middleware if middleware is None else middleware)
        self._monotonic = monotonic

    def _configure_credentials(
        self,
        auth: TokenProvider | Credentials | None,
        credentials: Mapping[str, TokenProvider | Credentials] | None,
        token_cache: Any,
        token_leeway: float,
    ) -> None:
        cache = token_cache
        if cache is None and _has_provider(auth, credentials):
            from mysdk.tokens.memory import MemoryTokenCache  # lazily: cachetools

            cache = MemoryTokenCache()
        elif cache is not None and not _has_provider(auth, credentials):
            raise InvalidRequestError("token_cache needs auth to be a TokenProvider")
        self.auth = self._credential(auth, cache, token_leeway, "auth")
        self._named = {name: self._credential(value, cache, token_leeway, f"credentials[{name!r}]")
                       for name, value in (credentials or {}).items()}

    def _credential(
        self, auth: TokenProvider | Credentials | None, cache: TokenCache | None, leeway: float,
        argument: str,
    ) -> Any:
        if isinstance(auth, TokenProvider):
            if not (isinstance(leeway, (int, float)) and 0 <= leeway < float("inf")):
                raise InvalidRequestError(
                    f"token_leeway must be a finite number of seconds >= 0, got {leeway!r}")
            assert cache is not None
            return self._token_manager(auth, cache, leeway, argument)
        if auth is not None and not isinstance(auth, Credentials):
            raise InvalidRequestError(
                f"{argument} must be a TokenProvider or Credentials, got {type(auth).__name__}")
        return self._wrap_credentials(auth)

    def _token_manager(self, provider: TokenProvider, cache: Any, leeway: float,
                       argument: str) -> Any:
        raise NotImplementedError  # each client makes its own kind of manager

    def _wrap_credentials(self, auth: Credentials | None) -> Any:
        return auth

    def _transport_auth(self, auth: Any) -> Any:
        """What the transport gets as ``auth=`` for calls stamped by ``auth``."""
        return None

    # -- building a call -------------------------------------------------------

    def _new_call(
        self, method: str, path: str, params: Mapping[str, Any] | None, json: Any, data: Any,
        files: Any, headers: Mapping[str, str] | None, timeout: TimeoutArg | NotGiven,
        retry: RetryPolicy | NotGiven | None, idempotency_key: str | bool | NotGiven,
        credentials: str | NotGiven | None, operation: str | None,
    ) -> Call:
        method = check_method(method)
        url = build_url(self.base_url, path)
        body = _NO_BODY if json is None and data is None and files is None \
            else Body(json=json, data=data, files=files)
        merged = {**self._headers, **check_headers(headers, "headers")} if headers \
            else dict(self._headers)
        if body.content_type is not None and header_of(merged, "Content-Type") is None:
            merged["Content-Type"] = body.content_type
        # A key the caller set (per call or per client) is sent as it is.
        key = (header_of(headers, IDEMPOTENCY_HEADER) if headers else None) or self._default_key
        if key is None:
            key = self._mint_key(method, idempotency_key)
            if key is not None:
                merged[IDEMPOTENCY_HEADER] = key
        policy = self.retry if retry is NOT_GIVEN else (retry or retry_mod.NO_RETRY)
        try:
            call_timeout = resolve_timeout(timeout, self.timeout)
        except ValueError as exc:
            raise InvalidRequestError(str(exc)) from None
        if self._params:
            params = {**self._params, **(params or {})}
        auth = self._auth_for(credentials)
        return Call(
            method=method, url=url, params=normalise_params(params),
            body=body, headers=merged, timeout=call_timeout, policy=policy,
            replay_safe=retry_mod.is_replay_safe(method, has_idempotency_key=bool(key),
                                                 policy=policy),
            started=self._monotonic(), has_key=bool(key), auth=auth,
            send_auth=self._transport_auth(auth), operation=operation,
        )

    def _stream_call(self, method: str, path: str, kwargs: dict[str, Any]) -> Call:
        call = self._new_call(method, path, kwargs.pop("params", None),
                              kwargs.pop("json", None), kwargs.pop("data", None),
                              kwargs.pop("files", None), kwargs.pop("headers", None),
                              kwargs.pop("timeout", NOT_GIVEN), kwargs.pop("retry", NOT_GIVEN),
                              kwargs.pop("idempotency_key", NOT_GIVEN),
                              kwargs.pop("credentials", NOT_GIVEN),
                              kwargs.pop("operation", None))
        if kwargs:
            raise InvalidRequestError(f"stream() got unexpected arguments {sorted(kwargs)}")
        call.stream = True
        return call

    def _auth_for(self, credentials: str | NotGiven | None) -> Any:
        if credentials is NOT_GIVEN:
            return self.auth
        if credentials is None:
            return None
        found = self._named.get(credentials)
        if found is None:
            raise InvalidRequestError(
                f"no credentials named {credentials!r}; the client has "
                f"{sorted(self._named) or 'none'} (the constructor's credentials=)")
        return found

    def _mint_key(self, method: str, given: str | bool | NotGiven) -> str | None:
        """The ``Idempotency-Key`` to add: the call's own, a new UUID4, or none."""
        if isinstance(given, str):
            return given
        mint = self.idempotency_keys if given is NOT_GIVEN else given
        if not mint or method not in _UNSAFE_METHODS:
            return None
        import uuid  # lazily: uuid pulls in platform, and most calls need no key

        return str(uuid.uuid4())

    def _branded(self, exc: MySDKError) -> MySDKError:
        """``exc`` given the SDK's root class (when the SDK has a brand of its own)."""
        if self._root is not None:
            brand_error(exc, self._root)
        return exc

    # -- the request flow (no I/O: see the module docstring) ------------------

    def _flow(self, call: Call) -> Flow:
        """The retry loop: attempts until a success, or raise the last error."""
        while True:
            call.attempt += 1
            if self.rate_limiter is not None:
                yield from self._permit(call)
            try:
                resp = yield from self._attempt(call)
            except TransportError as exc:
                exc.attempts = call.attempt
                yield from self._pause_or_raise(call, exc, self._transport_retryable(call, exc),
                                                None)
                continue
            except TokenRequestError as exc:  # a 5xx/429 at the token endpoint
                exc.attempts = call.attempt
                yield from self._pause_or_raise(call, exc, exc.retryable, exc.retry_after)
                continue
            status = resp.status_code
            if (status < 300 or status == 304) and not call.marked:
                return resp
            error = self._status_error(call, resp)
            if status < 300 or status == 304:
                yield CLOSE, resp  # marked retryable by a middleware (a stream's body is unread)
            # A middleware's mark makes a response retryable; replay safety still rules.
            retryable = (call.marked and call.replay_safe) or self._status_retryable(call, error)
            call.marked = False
            yield from self._pause_or_raise(call, error, retryable, error.retry_after)

    def _status_error(self, call: Call, resp: Any) -> APIStatusError:
        url = str(resp.url or call.url)
        if resp.status_code < 300 or resp.status_code == 304:  # marked by a middleware
            return APIResponseError(
                f"HTTP {resp.status_code} for {call.method} {safe_url(url)}: "
                "marked retryable by a middleware", status_code=resp.status_code,
                headers=resp.headers, method=call.method, url=url,
                attempts=call.attempt, response=resp)
        return error_from_response(resp, call.method, url, call.attempt,
                                   call.note, body_truncated=call.truncated,
                                   error_map=self.error_map)

    def _attempt(self, call: Call) -> Flow:
        """One attempt: send (with reauth), then follow same-origin redirects."""
        resp = yield from self._exchange(call)
        while resp.status_code in redirects.REDIRECT_STATUSES:
            if call.hops >= redirects.MAX_REDIRECTS:
                call.note = f"more than {redirects.MAX_REDIRECTS} redirects"
                return resp
            hop = redirects.next_hop(call.method, call.url, resp.status_code,
                                     resp.headers.get("Location"))
            if isinstance(hop, str):
                call.note = hop
                return resp
            if hop.keep_body and not call.body.rewind():
                call.note = f"redirect not followed: {call.body.reason}"
                return resp
            yield CLOSE, resp
            emit(self._on_event, Event(kind="redirect", method=call.method, path=call.path,
                                       attempt=call.attempt, status=resp.status_code,
                                       reason=urlsplit(hop.url).path,
                                       operation=call.operation), self._log)
            call.follow(hop.method, hop.url, keep_body=hop.keep_body)
            if self.rate_limiter is not None:
                yield from self._permit(call)  # a hop is a request like any other
            resp = yield from self._exchange(call)
        return resp

    def _exchange(self, call: Call) -> Flow:
        """Stamp auth, send, and on a 401 refresh the token and replay once."""
        used = (yield from self._stamp(call)) if call.auth is not None else None
        resp = yield from self._send(call)
        if resp.status_code != 401 or call.auth is None or call.reauthed:
            return resp
        call.reauthed = True  # at most one refresh per call, whatever the retries
        if not (yield REAUTH, used):
            return resp
        if not call.body.rewind():
            call.note = f"not replayed after the token refresh: {call.body.reason}"
            return resp
        yield CLOSE, resp
        emit(self._on_event, Event(kind="reauth", method=call.method, path=call.path,
                                   attempt=call.attempt, status=401, reason="401",
                                   operation=call.operation), self._log)
        if self.rate_limiter is not None:
            yield from self._permit(call)  # the replay is a request like any other
        yield from self._stamp(call)
        return (yield from self._send(call))

    def _stamp(self, call: Call) -> Flow:
        """Set the credentials (``call.auth``, not None) on the call's headers;
        returns the handle used."""
        try:
            return (yield STAMP)
        except TransportError as exc:
            # The token endpoint failed: the API request was not sent, and a token
            # request is safe to repeat, so the call may be retried whatever its method.
            exc.outcome_unknown = False
            raise

    def _send(self, call: Call) -> Flow:
        # Timed only when an event hook or the logger will report it.
        started = time.perf_counter() if self._on_event is not None \
            or self._log.isEnabledFor(logging.INFO) else 0.0
        outgoing = self._before_send(call) if self._middleware else None
        try:
            resp = yield SEND
        except MySDKError as error:
            self._on_failure(call, outgoing, error, started)
            raise
        if self._rate_limit_headers:
            self._pace(resp)
        if outgoing is not None:
            call.marked = any(mw.after_response(outgoing, resp) for mw in self._middleware)
        if self._on_event is not None or self._log.isEnabledFor(logging.DEBUG):
            emit(self._on_event, _response_event(call, resp, time.perf_counter() - started),
                 self._log)
        return resp

    def _permit(self, call: Call) -> Flow:
        waited = yield PERMIT
        if waited > 0:
            emit(self._on_event, Event(kind="rate_limited", method=call.method, path=call.path,
                                       attempt=call.attempt, delay=waited,
                                       operation=call.operation), self._log)

    def _before_send(self, call: Call) -> OutgoingRequest:
        from mysdk.middleware import OutgoingRequest

        outgoing = OutgoingRequest(operation=call.operation, method=call.method, url=call.url,
                                   params=call.params, headers=call.headers,
                                   body=call.body.bytes, attempt=call.attempt)
        for mw in self._middleware:
            mw.before_send(outgoing)
        return outgoing

    def _on_failure(self, call: Call, outgoing: OutgoingRequest | None, error: MySDKError,
                    started: float) -> None:
        if outgoing is not None:
            for mw in self._middleware:
                mw.on_error(outgoing, error)
        if self._on_event is not None or self._log.isEnabledFor(logging.INFO):
            emit(self._on_event, Event(kind="error", method=call.method, path=call.path,
                                       attempt=call.attempt, reason=type(error).__name__,
                                       elapsed=time.perf_counter() - started,
                                       operation=call.operation), self._log)

    def _pace(self, resp: Any) -> None:
        """Pause the limiter when the server says the quota is used up."""
        assert self.rate_limiter is not None
        from mysdk.ratelimit import pause_from_headers

        wait = pause_from_headers(resp.headers, now=time.time())
        if wait:
            self.rate_limiter.pause(wait)

    def _transport_retryable(self, call: Call, exc: TransportError) -> bool:
        if not exc.outcome_unknown:
            return True  # no byte reached the server (or only the token endpoint failed)
        if isinstance(exc, ReadTimeoutError) and not call.policy.retry_read_timeouts:
            return False
        return call.replay_safe

    def _status_retryable(self, call: Call, error: APIStatusError) -> bool:
        if error.status_code == 429 and self.rate_limiter is not None and error.retry_after:
            self.rate_limiter.pause(error.retry_after)
        if not retry_mod.should_retry_status(call.policy, error.status_code):
            return False
        # A 429 was refused before any processing, so any method may repeat it.
        return error.status_code == 429 or call.replay_safe

    def _pause_or_raise(
        self, call: Call, error: Exception, retryable: bool, retry_after: float | None
    ) -> Flow:
        """Sleep before the next attempt, or raise ``error`` (the last attempt's)."""
        if not retryable or call.attempt >= call.policy.max_attempts:
            raise error
        delay = retry_mod.retry_after_delay(call.policy, retry_after, call.attempt)
        if delay is None:
            raise error  # Retry-After above the cap: the caller decides (error.retry_after)
        if not retry_mod.within_budget(call.policy, started=call.started,
                                       now=self._monotonic(), delay=delay):
            raise error
        if not call.body.rewind():
            raise InvalidRequestError(
                f"{call.method} {call.path} not retried after {type(error).__name__}: "
                f"{call.body.reason}", attempts=call.attempt) from error
        emit(self._on_event, Event(
            kind="retry", method=call.method, path=call.path, attempt=call.attempt,
            status=getattr(error, "status_code", None), delay=delay, reason=_reason(error),
            operation=call.operation,
        ), self._log)
        yield SLEEP, delay

    # -- decoding ----------------------------------------------------------------

    def decode(self, resp: Any) -> Any:
        """The decoded JSON of a 2xx response, checked by ``response_check``.

        Args:
            resp: A response this client returned (``requests.Response`` for
                :class:`~mysdk.Client`, ``httpx.Response`` for
                :class:`~mysdk.AsyncClient`), its body read.

        Returns:
            The parsed JSON value; ``None`` for 204, 205 or an empty body.

        Raises:
            APIStatusError: ``resp`` is not a 2xx (e.g. a 304).
            DecodeError: The body is not valid JSON.
            APIResponseError: ``response_check`` found a failure (or the
                class ``error_map`` registers for its code).
        """
        try:
            return self._decode(resp)
        except MySDKError as exc:
            self._branded(exc)
            raise

    def _decode(self, resp: Any) -> Any:
        if not 200 <= resp.status_code < 300:  # a 304: no JSON to return
            raise error_from_response(resp, _method_of(resp), str(resp.url),
                                      error_map=self.error_map)
        if resp.status_code in (204, 205) or not resp.content:
            return None
        try:
            body = resp.json()
        except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
            method, url = _method_of(resp), str(resp.url)
            raise DecodeError(
                f"expected JSON from {method} {safe_url(url)} (HTTP {resp.status_code}, "
                f"Content-Type {resp.headers.get('Content-Type', '-')!r}): "
                f"{type(exc).__name__}: {str(exc)[:200]}",
                status_code=resp.status_code, content_type=resp.headers.get("Content-Type", ""),
                method=method, url=url,
            ) from exc
        check = type(self).response_check
        if check is not None:
            try:
                info = check(body)
            except Exception:  # a broken check must not hide the body
                info = None
            if info is not None:
                raise error_from_body(resp, _method_of(resp), str(resp.url), body, info,
                                      error_map=self.error_map)
        return body

    # -- options -----------------------------------------------------------------

    def with_options(
        self: C,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        timeout: TimeoutArg | NotGiven = NOT_GIVEN,
        retry: RetryPolicy | NotGiven | None = NOT_GIVEN,
        idempotency_keys: bool | None = None,
    ) -> C:
        """A client with changed defaults, sharing this one's session (or httpx
        client), token managers and caches, rate limiter, middleware and event hook.

        Args:
            headers: Added to (and overriding) the default headers.
            params: Default query parameters for every call.
            timeout: Seconds, ``(connect, read)`` or ``None``.
            retry: A :class:`~mysdk.retry.RetryPolicy`, or ``None`` for none.
            idempotency_keys: Mint an ``Idempotency-Key`` for every POST/PATCH.

        Returns:
            A new client of the same class; closing it never closes the transport.

        Raises:
            InvalidRequestError: An argument is malformed.
        """
        clone = copy.copy(self)
        for key in [k for k in clone.__dict__ if k.startswith(RESOURCE_CACHE_PREFIX)]:
            del clone.__dict__[key]  # resources bound to the original client
        clone._owns_transport = False
        if headers:
            clone._headers = {**self._headers, **check_headers(headers, "headers")}
            clone._default_key = header_of(clone._headers, IDEMPOTENCY_HEADER)
        if params is not None:
            clone._params = {**(self._params or {}), **params}
        if timeout is not NOT_GIVEN:
            try:
                clone.timeout = resolve_timeout(timeout, self.timeout)
            except ValueError as exc:
                raise InvalidRequestError(str(exc)) from None
        if retry is not NOT_GIVEN:
            clone.retry = retry_mod.NO_RETRY if retry is None else retry
        if idempotency_keys is not None:
            clone.idempotency_keys = idempotency_keys
        return clone

    _owns_transport: bool

    @property
    def credentials(self) -> Mapping[str, Any]:
        """The named credentials (``credentials=``), read-only; ``auth`` is the default."""
        return MappingProxyType(self._named)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={safe_url(self.base_url)!r}, auth={self.auth!r})"


def cannot_send(call: Call, exc: BaseException) -> InvalidRequestError:
    """The error for a request the transport refused to build (a header value,
    method or URL it cannot encode). The text may quote a header value (a
    token), so only the exception's type is kept."""
    return InvalidRequestError(
        f"cannot send {call.method} {safe_url(call.url)}: {type(exc).__name__}",
        attempts=call.attempt)


def _method_of(resp: Any) -> str:
    return str(resp.request.method or "") if resp.request is not None else ""


def _has_provider(auth: object, credentials: Mapping[str, object] | None) -> bool:
    return any(isinstance(a, TokenProvider) for a in (auth, *(credentials or {}).values()))


def uses_authorization(auth: object) -> bool:
    """True when ``auth`` sets the ``Authorization`` header (so a transport's own
    auth must not replace it)."""
    return auth is not None and str(getattr(auth, "header", "Authorization")).lower() \
        == "authorization"


def _response_event(call: Call, resp: Any, elapsed: float) -> Event:
    headers = resp.headers
    timing = server_timing(headers) if ("Server-Timing" in headers
                                        or "X-API-Time" in headers) else {}
    server_time = timing.get("x-api-time", timing.get("total",
                                                      next(iter(timing.values()), None)))
    return Event(kind="response", method=call.method, path=call.path, attempt=call.attempt,
                 status=resp.status_code, elapsed=elapsed, operation=call.operation,
                 request_id=next((headers[h] for h in _REQUEST_ID_HEADERS if h in headers),
                                 None),
                 server_time=server_time)


def _reason(error: Exception) -> str:
    status = getattr(error, "status_code", None)
    return f"status {status}" if status else type(error).__name__
