"""The :class:`Client`: one request path for every call.

An SDK built on mysdk subclasses :class:`Client` only to *declare*: its
:class:`~mysdk.brand.Brand`, its :class:`~mysdk.errormap.ErrorMap`, a response
check, middleware, and its resources (:func:`mysdk.resource`). Nobody overrides
:meth:`Client.request`; every call of every resource goes through it.
"""

from __future__ import annotations

import copy
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from urllib.parse import urlsplit
from urllib.request import getproxies  # already imported by requests

import requests

from mysdk import redirects
from mysdk import retry as retry_mod
from mysdk._body import Body
from mysdk._call import Call, build_url, normalise_params
from mysdk._checks import check_base_url, check_headers, check_method, header_of
from mysdk._transport import map_request_exception, read_body
from mysdk._types import DEFAULT_TIMEOUT, NOT_GIVEN, NotGiven, TimeoutArg, resolve_timeout
from mysdk._version import __version__
from mysdk.auth.base import Credentials, TokenProvider
from mysdk.brand import MYSDK, Brand, brand_error
from mysdk.errormap import DEFAULT_ERROR_MAP, ErrorMap, ResponseCheck
from mysdk.errors import (
    MAX_ERROR_BODY,
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
    from mysdk.streaming import StreamResponse
    from mysdk.tokens.cache import TokenCache

__all__ = ["Client"]

_IDEMPOTENCY_HEADER = "Idempotency-Key"
_UNSAFE_METHODS = frozenset({"POST", "PATCH"})
_REQUEST_ID_HEADERS = ("X-Request-Id", "Request-Id", "X-Correlation-Id")
RESOURCE_CACHE_PREFIX = "_mysdk_resource_"  # client.__dict__ keys of bound resources

C = TypeVar("C", bound="Client")


class _Untouched(requests.auth.AuthBase):
    """Passed as ``auth=`` so neither ``session.auth`` nor ~/.netrc replaces the
    ``Authorization`` header the client's credentials set."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        return r


_UNTOUCHED = _Untouched()


class Client:
    """A client for one REST API; every call goes through :meth:`request`.

    Class attributes an SDK sets (declarations, no code):
        brand: Product name and version for the ``User-Agent``, the logger name,
            and the SDK's root exception (:class:`~mysdk.brand.Brand`).
        error_map: Reads the API's error envelope and picks registered error
            classes (:class:`~mysdk.errormap.ErrorMap`).
        response_check: Finds a failure reported in a 2xx body, e.g.
            :class:`~mysdk.errormap.BodyFlag` for ``{"ok": false}``; None: none.
        middleware: :class:`~mysdk.middleware.Middleware` run around every attempt.

    Args:
        base_url: API root, e.g. ``"https://api.example.com"``; paths are appended.
            ``http://`` is refused unless the host is loopback or ``allow_http``.
        session: A caller's ``requests.Session`` (proxies, mTLS, gateway
            headers, adapters). The client never changes it and never closes it.
            When omitted the client creates and owns one. Its ``session.auth``
            must be ``None`` when ``auth`` sets the ``Authorization`` header
            (it would replace the client's credentials on every call).
        auth: A :class:`~mysdk.auth.base.TokenProvider` (OAuth2; tokens are
            cached and refreshed), a :class:`~mysdk.auth.base.Credentials`
            (e.g. :class:`~mysdk.auth.StaticToken`), or ``None``.
        credentials: More named credentials, chosen per call
            (``credentials="admin"``), per operation or per resource; they share
            the session, token cache and rate limiter.
        token_cache: Where tokens of a ``TokenProvider`` live; default a new
            :class:`~mysdk.tokens.MemoryTokenCache`.
        timeout: Seconds per attempt: a number, a ``(connect, read)`` pair, or
            ``None`` for no timeout (only when passed explicitly). Default
            ``(5.0, 30.0)``. Token requests use it too.
        headers: Headers sent with every call (a call's own headers win).
        verify: TLS verification for a session the client creates (``True``,
            ``False`` or a CA bundle path). Not allowed with ``session``. A
            session the client creates honours the environment as requests does
            (proxy variables, ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``, a netrc
            file), but resolves the CA bundle variables once, when the client is
            built, and skips the per-call lookup when no proxy or netrc is set:
            a variable set later needs a new client; an explicit ``verify`` wins
            over the CA bundle variables.
        cert: Client certificate (path or ``(cert, key)``) for a created session.
        proxies: Proxy map for a created session, e.g. ``{"https": "http://proxy:3128"}``.
        retry: Default :class:`~mysdk.retry.RetryPolicy`; ``None`` disables retries.
        rate_limiter: A :class:`~mysdk.ratelimit.TokenBucket` consulted before
            every attempt; may be shared by several clients. ``None``: no limit.
        rate_limit_headers: Pause ``rate_limiter`` when a response says the
            quota is used up (``RateLimit-Remaining: 0`` with ``RateLimit-Reset``,
            IETF draft-ietf-httpapi-ratelimit-headers, or ``X-RateLimit-*``), so
            the client slows down before it meets a 429.
        idempotency_keys: When True, every POST/PATCH gets a fresh
            ``Idempotency-Key`` (a UUID4), minted once per call and sent
            unchanged on each attempt, which makes the call retryable.
        token_leeway: Seconds before expiry at which tokens are refreshed
            proactively (capped at half a token's lifetime).
        on_event: Receives an :class:`~mysdk.events.Event` per attempt, retry,
            reauth, redirect and token fetch.
        middleware: Overrides the class's ``middleware`` for this client.
        sleep: Sleeps for retries, seconds; injectable for tests.
        monotonic: Monotonic clock for the retry budget, seconds; injectable.
        allow_http: Allow an ``http://`` base_url on a host that is not
            loopback (credentials then cross the network in clear; RFC 6750 §5.3
            requires TLS).

    Raises:
        InvalidRequestError: An argument is malformed; the message names it.
    """

    brand: ClassVar[Brand] = MYSDK
    error_map: ClassVar[ErrorMap] = DEFAULT_ERROR_MAP
    response_check: ClassVar[ResponseCheck | None] = None
    middleware: ClassVar[Sequence[Middleware]] = ()

    def __init__(
        self,
        *,
        base_url: str,
        session: requests.Session | None = None,
        auth: TokenProvider | Credentials | None = None,
        credentials: Mapping[str, TokenProvider | Credentials] | None = None,
        token_cache: TokenCache | None = None,
        timeout: TimeoutArg | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None = None,
        verify: bool | str | NotGiven = NOT_GIVEN,
        cert: str | tuple[str, str] | NotGiven | None = NOT_GIVEN,
        proxies: Mapping[str, str] | NotGiven | None = NOT_GIVEN,
        retry: RetryPolicy | NotGiven | None = NOT_GIVEN,
        rate_limiter: TokenBucket | None = None,
        rate_limit_headers: bool = False,
        idempotency_keys: bool = False,
        token_leeway: float = 60.0,
        on_event: EventHook | None = None,
        middleware: Sequence[Middleware] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        allow_http: bool = False,
    ) -> None:
        check_base_url(base_url, allow_http=allow_http)
        try:
            self.timeout = resolve_timeout(timeout, DEFAULT_TIMEOUT)
        except ValueError as exc:
            raise InvalidRequestError(str(exc)) from None
        if session is not None and not all(v is NOT_GIVEN for v in (verify, cert, proxies)):
            raise InvalidRequestError(
                "verify, cert and proxies configure a session the client creates; "
                "set them on the session you pass instead")
        if rate_limit_headers and rate_limiter is None:
            raise InvalidRequestError("rate_limit_headers needs a rate_limiter to pause")
        self.base_url = base_url.rstrip("/")
        self._owns_session = session is None
        self._session = session if session is not None else _own_session(verify, cert, proxies)
        self._headers = {"Accept": "application/json", **check_headers(headers, "headers")}
        self._brand_headers(session)
        self._default_key = header_of(self._headers, _IDEMPOTENCY_HEADER)
        self._params: Mapping[str, Any] | None = None  # default query (with_options)
        self.retry = retry_mod.NO_RETRY if retry is None else (retry or RetryPolicy())
        self.rate_limiter = rate_limiter
        self._rate_limit_headers = rate_limit_headers
        self.idempotency_keys = idempotency_keys
        self._on_event = on_event
        self._log = logging.getLogger(self.brand.logger)
        self._root = None if self.brand.error is MySDKError else self.brand.error
        self._middleware = tuple(self.middleware if middleware is None else middleware)
        self._sleep = sleep
        self._monotonic = monotonic
        cache = token_cache
        if cache is None and _has_provider(auth, credentials):
            from mysdk.tokens.memory import MemoryTokenCache  # lazily: cachetools

            cache = MemoryTokenCache()
        elif cache is not None and not _has_provider(auth, credentials):
            raise InvalidRequestError("token_cache needs auth to be a TokenProvider")
        self.auth = self._credential(auth, cache, token_leeway, "auth")
        self._named = {name: self._credential(value, cache, token_leeway, f"credentials[{name!r}]")
                       for name, value in (credentials or {}).items()}
        self._send_auth = _UNTOUCHED if _uses_authorization(self.auth) else None
        for name, value in (("auth", self.auth), *self._named.items()):
            if _uses_authorization(value) and session is not None and session.auth is not None:
                raise InvalidRequestError(
                    f"session.auth is set and would replace the Authorization header of "
                    f"{name} on every call; set session.auth = None on the session you pass "
                    "(gateway credentials can go in session.headers under their own header "
                    "name), or pass auth=None and let the session authenticate")

    def _brand_headers(self, session: requests.Session | None) -> None:
        if self.brand is MYSDK:
            return
        agent = f"{self.brand.user_agent} {requests.utils.default_user_agent()}"
        caller_agent = session.headers.get("User-Agent") if session is not None else None
        if caller_agent in (None, requests.utils.default_user_agent()):
            self._headers.setdefault("User-Agent", agent)  # a caller's own UA is kept

    def _credential(
        self, auth: TokenProvider | Credentials | None, cache: TokenCache | None, leeway: float,
        argument: str,
    ) -> Credentials | None:
        if isinstance(auth, TokenProvider):
            if not (isinstance(leeway, (int, float)) and 0 <= leeway < float("inf")):
                raise InvalidRequestError(
                    f"token_leeway must be a finite number of seconds >= 0, got {leeway!r}")
            assert cache is not None
            from mysdk.auth.manager import TokenManager

            return TokenManager(auth, cache, session=self._session, timeout=self.timeout,
                                leeway=leeway, on_event=self._on_event, log=self._log)
        if auth is not None and not isinstance(auth, Credentials):
            raise InvalidRequestError(
                f"{argument} must be a TokenProvider or Credentials, got {type(auth).__name__}")
        return auth

    # -- the request path --------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        files: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: TimeoutArg | NotGiven = NOT_GIVEN,
        retry: RetryPolicy | NotGiven | None = NOT_GIVEN,
        idempotency_key: str | bool | NotGiven = NOT_GIVEN,
        credentials: str | NotGiven | None = NOT_GIVEN,
        operation: str | None = None,
    ) -> requests.Response:
        """Send one call, with auth, reauth on 401, retries and error mapping.

        Same-origin redirects are followed (at most 5 hops, RFC 9110 §15.4:
        307/308 resend the method and body, 303 and a POST's 301/302 become a
        GET), each hop with fresh credentials, a rate-limit permit and an
        event. A redirect to another origin or from https to http is raised as
        :class:`~mysdk.errors.RedirectError`, so credentials stay with the API.

        Args:
            method: HTTP method, e.g. ``"GET"`` (case-insensitive).
            path: Path under ``base_url`` (``"/api/v1/cars"``) or an absolute
                URL on the same origin (e.g. a pagination link).
            params: Query parameters; ``None`` values are dropped, ``0`` and
                ``False`` are kept (booleans are sent as ``true``/``false``).
            json: A JSON-serialisable body (sent as UTF-8 bytes).
            data: A raw body (bytes, str, file or iterator), or form fields.
            files: Multipart parts as requests takes them
                (``{"name": file | (filename, file, content_type)}``); ``data``
                then holds extra form fields. Seekable files are rewound for a
                retry or replay; a stream that cannot be is sent once.
            headers: Extra headers for this call.
            timeout: Overrides the client's timeout for this call (seconds).
            retry: Overrides the client's retry policy; ``None`` disables retries.
            idempotency_key: A key to send as ``Idempotency-Key``; ``True`` mints
                one; ``False`` sends none. Default: the client's setting.
            credentials: The name of credentials given to the constructor's
                ``credentials``; ``None``: send none. Default: ``auth``.
            operation: Name of the operation for events and middleware;
                default ``"METHOD path"``.

        Returns:
            The ``requests.Response``: a 2xx, or a 304 to a conditional request.
            Its body has been read (within the call's deadline).

        Raises:
            APIStatusError: Any other status, as its subclass (see :mod:`mysdk.errors`).
            TransportError: No complete response (after any retries); its
                ``outcome_unknown`` says whether the server may have acted.
            AuthError: A token could not be obtained.
            RateLimitTimeout: The client-side limiter would wait too long.
            InvalidRequestError: Bad arguments (method, path, headers, body).
        """
        try:
            call = self._new_call(method, path, params, json, data, files, headers, timeout,
                                  retry, idempotency_key, credentials, operation)
            return self._run(call)
        except MySDKError as exc:
            if self._root is not None:
                brand_error(exc, self._root)
            raise

    def stream(self, method: str, path: str, **kwargs: Any) -> StreamResponse:
        """Send one call like :meth:`request`, without reading a 2xx body.

        Auth, reauth, retries (up to the response headers), rate limiting,
        redirects, middleware and events apply as for :meth:`request`. Iterate
        the result (:meth:`~mysdk.streaming.StreamResponse.iter_lines`,
        ``iter_ndjson``, ``iter_sse``, ``iter_bytes``) and close it, or use it
        as a context manager; the connection is released when the iteration
        ends or the response is closed.

        Raises:
            MySDKError: As :meth:`request`.
        """
        try:
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
            resp = self._run(call)
        except MySDKError as exc:
            if self._root is not None:
                brand_error(exc, self._root)
            raise
        from mysdk.streaming import StreamResponse

        return StreamResponse(resp, call.method, call.url)

    def _run(self, call: Call) -> requests.Response:
        """The retry loop: attempts until a success, or raise the last error."""
        while True:
            call.attempt += 1
            if self.rate_limiter is not None:
                self._take_permit(call)
            try:
                resp = self._attempt(call)
            except TransportError as exc:
                exc.attempts = call.attempt
                self._pause_or_raise(call, exc, self._transport_retryable(call, exc), None)
                continue
            except TokenRequestError as exc:  # a 5xx/429 at the token endpoint
                exc.attempts = call.attempt
                self._pause_or_raise(call, exc, exc.retryable, exc.retry_after)
                continue
            status = resp.status_code
            if (status < 300 or status == 304) and not call.marked:
                return resp
            error = self._status_error(call, resp)
            # A middleware's mark makes a response retryable; replay safety still rules.
            retryable = (call.marked and call.replay_safe) or self._status_retryable(call, error)
            call.marked = False
            self._pause_or_raise(call, error, retryable, error.retry_after)

    def _status_error(self, call: Call, resp: requests.Response) -> APIStatusError:
        if resp.status_code < 300 or resp.status_code == 304:  # marked by a middleware
            resp.close()
            return APIResponseError(
                f"HTTP {resp.status_code} for {call.method} {safe_url(resp.url or call.url)}: "
                "marked retryable by a middleware", status_code=resp.status_code,
                headers=resp.headers, method=call.method, url=resp.url or call.url,
                attempts=call.attempt, response=resp)
        return error_from_response(resp, call.method, resp.url or call.url, call.attempt,
                                   call.note, body_truncated=call.truncated,
                                   error_map=self.error_map)

    def _attempt(self, call: Call) -> requests.Response:
        """One attempt: send (with reauth), then follow same-origin redirects."""
        resp = self._exchange(call)
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
            resp.close()
            emit(self._on_event, Event(kind="redirect", method=call.method, path=call.path,
                                       attempt=call.attempt, status=resp.status_code,
                                       reason=urlsplit(hop.url).path,
                                       operation=call.operation), self._log)
            call.follow(hop.method, hop.url, keep_body=hop.keep_body)
            if self.rate_limiter is not None:
                self._take_permit(call)  # a hop is a request like any other
            resp = self._exchange(call)
        return resp

    def _exchange(self, call: Call) -> requests.Response:
        """Stamp auth, send, and on a 401 refresh the token and replay once."""
        used = self._stamp(call)
        resp = self._send(call)
        auth = call.auth
        if resp.status_code != 401 or auth is None or call.reauthed:
            return resp
        call.reauthed = True  # at most one refresh per call, whatever the retries
        if not auth.on_unauthorized(used):
            return resp
        if not call.body.rewind():
            call.note = f"not replayed after the token refresh: {call.body.reason}"
            return resp
        resp.close()
        emit(self._on_event, Event(kind="reauth", method=call.method, path=call.path,
                                   attempt=call.attempt, status=401, reason="401",
                                   operation=call.operation), self._log)
        if self.rate_limiter is not None:
            self._take_permit(call)  # the replay is a request like any other
        self._stamp(call)
        return self._send(call)

    def _stamp(self, call: Call) -> object:
        """Set the credentials on the call's headers; returns the handle used."""
        if call.auth is None:
            return None
        try:
            return call.auth.apply(call.headers)
        except TransportError as exc:
            # The token endpoint failed: the API request was not sent, and a token
            # request is safe to repeat, so the call may be retried whatever its method.
            exc.outcome_unknown = False
            raise

    def _send(self, call: Call) -> requests.Response:
        started = time.perf_counter()
        outgoing = self._before_send(call) if self._middleware else None
        error: MySDKError | None = None
        try:
            resp = self._session.request(
                call.method, call.url, params=call.params, data=call.body.data,
                files=call.body.files, headers=call.headers, timeout=call.timeout,
                allow_redirects=False, stream=True, auth=call.send_auth,
                hooks=self._response_hooks(),
            )
            location = resp.__dict__.pop("_mysdk_location", None)
            if location is not None:
                resp.headers["Location"] = location
            if not (call.stream and 200 <= resp.status_code < 300):
                call.truncated = read_body(
                    resp, deadline=call.deadline, clock=self._monotonic,
                    limit=None if resp.status_code < 300 else MAX_ERROR_BODY,
                    method=call.method, url=call.url)
        except requests.RequestException as exc:
            error = map_request_exception(exc, call.method, call.url)
        except TransportError as exc:  # the body broke off or missed the deadline
            error = exc
        except (ValueError, TypeError, OverflowError, RecursionError) as exc:
            # http.client/urllib3 refusing a header value, method or URL; the text
            # may quote a header value (a token), so only the type is kept.
            error = InvalidRequestError(
                f"cannot send {call.method} {safe_url(call.url)}: {type(exc).__name__}",
                attempts=call.attempt)
        if error is not None:  # raised outside the except blocks: no __context__
            self._on_failure(call, outgoing, error, started)
            raise error
        if self._rate_limit_headers:
            self._pace(resp)
        if outgoing is not None:
            call.marked = any(mw.after_response(outgoing, resp) for mw in self._middleware)
        if self._on_event is not None or self._log.isEnabledFor(logging.DEBUG):
            emit(self._on_event, _response_event(call, resp, time.perf_counter() - started),
                 self._log)
        return resp

    def _response_hooks(self) -> dict[str, list[Any]]:
        # A request's hooks replace the session's for the same event: keep theirs first.
        theirs = self._session.hooks.get("response")
        if not theirs:
            return _OUR_HOOKS
        return {"response": [*([theirs] if callable(theirs) else theirs), _hide_location]}

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

    def _pace(self, resp: requests.Response) -> None:
        """Pause the limiter when the server says the quota is used up."""
        assert self.rate_limiter is not None
        from mysdk.ratelimit import pause_from_headers

        wait = pause_from_headers(resp.headers, now=time.time())
        if wait:
            self.rate_limiter.pause(wait)

    # -- retries ---------------------------------------------------------------

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
    ) -> None:
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
        self._sleep(delay)

    def _take_permit(self, call: Call) -> None:
        assert self.rate_limiter is not None
        waited = self.rate_limiter.acquire()
        if waited > 0:
            emit(self._on_event, Event(kind="rate_limited", method=call.method, path=call.path,
                                       attempt=call.attempt, delay=waited,
                                       operation=call.operation), self._log)

    def _new_call(
        self, method: str, path: str, params: Mapping[str, Any] | None, json: Any, data: Any,
        files: Any, headers: Mapping[str, str] | None, timeout: TimeoutArg | NotGiven,
        retry: RetryPolicy | NotGiven | None, idempotency_key: str | bool | NotGiven,
        credentials: str | NotGiven | None, operation: str | None,
    ) -> Call:
        method = check_method(method)
        url = build_url(self.base_url, path)
        body = Body(json=json, data=data, files=files)
        merged = {**self._headers, **check_headers(headers, "headers")} if headers \
            else dict(self._headers)
        if body.content_type is not None and header_of(merged, "Content-Type") is None:
            merged["Content-Type"] = body.content_type
        # A key the caller set (per call or per client) is sent as it is.
        key = (header_of(headers, _IDEMPOTENCY_HEADER) if headers else None) or self._default_key
        if key is None:
            key = self._mint_key(method, idempotency_key)
            if key is not None:
                merged[_IDEMPOTENCY_HEADER] = key
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
            send_auth=self._send_auth if auth is self.auth else (
                _UNTOUCHED if _uses_authorization(auth) else None),
            operation=operation,
        )

    def _auth_for(self, credentials: str | NotGiven | None) -> Credentials | None:
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

    # -- JSON helpers ------------------------------------------------------------

    def get(self, path: str, **kwargs: Any) -> Any:
        """``GET`` and return the decoded JSON body (``None`` for an empty body).

        Takes :meth:`request`'s keyword arguments.

        Raises:
            DecodeError: The 2xx body is not valid JSON.
            APIResponseError: The client's ``response_check`` found a failure
                in the 2xx body.
            MySDKError: As :meth:`request`.
        """
        return self.decode(self.request("GET", path, **kwargs))

    def post(self, path: str, **kwargs: Any) -> Any:
        """``POST`` and return the decoded JSON body; see :meth:`get`."""
        return self.decode(self.request("POST", path, **kwargs))

    def put(self, path: str, **kwargs: Any) -> Any:
        """``PUT`` and return the decoded JSON body; see :meth:`get`."""
        return self.decode(self.request("PUT", path, **kwargs))

    def patch(self, path: str, **kwargs: Any) -> Any:
        """``PATCH`` and return the decoded JSON body; see :meth:`get`."""
        return self.decode(self.request("PATCH", path, **kwargs))

    def delete(self, path: str, **kwargs: Any) -> Any:
        """``DELETE`` and return the decoded JSON body (usually ``None``); see :meth:`get`."""
        return self.decode(self.request("DELETE", path, **kwargs))

    def decode(self, resp: requests.Response) -> Any:
        """The decoded JSON of a 2xx response, checked by ``response_check``.

        The body is parsed once; ``None`` for 204, 205 or an empty body.

        Raises:
            APIStatusError: ``resp`` is not a 2xx (e.g. a 304).
            DecodeError: The body is not valid JSON.
            APIResponseError: ``response_check`` found a failure (or the
                class ``error_map`` registers for its code).
        """
        try:
            return self._decode(resp)
        except MySDKError as exc:
            if self._root is not None:
                brand_error(exc, self._root)
            raise

    def _decode(self, resp: requests.Response) -> Any:
        method = str(resp.request.method or "") if resp.request is not None else ""
        if not 200 <= resp.status_code < 300:  # a 304: no JSON to return
            raise error_from_response(resp, method, resp.url, error_map=self.error_map)
        if resp.status_code in (204, 205) or not resp.content:
            return None
        try:
            body = resp.json()
        except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
            raise DecodeError(
                f"expected JSON from {method} {safe_url(resp.url)} (HTTP {resp.status_code}, "
                f"Content-Type {resp.headers.get('Content-Type', '-')!r}): "
                f"{type(exc).__name__}: {str(exc)[:200]}",
                status_code=resp.status_code, content_type=resp.headers.get("Content-Type", ""),
                method=method, url=resp.url,
            ) from exc
        check = type(self).response_check
        if check is not None:
            try:
                info = check(body)
            except Exception:  # a broken check must not hide the body
                info = None
            if info is not None:
                raise error_from_body(resp, method, resp.url, body, info,
                                      error_map=self.error_map)
        return body

    # -- options, lifetime -------------------------------------------------------

    def with_options(
        self: C,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        timeout: TimeoutArg | NotGiven = NOT_GIVEN,
        retry: RetryPolicy | NotGiven | None = NOT_GIVEN,
        idempotency_keys: bool | None = None,
    ) -> C:
        """A client with changed defaults, sharing this one's session, token
        managers and caches, rate limiter, middleware and event hook.

        Args:
            headers: Added to (and overriding) the default headers.
            params: Default query parameters for every call.
            timeout: Seconds, ``(connect, read)`` or ``None``.
            retry: A :class:`~mysdk.retry.RetryPolicy`, or ``None`` for none.
            idempotency_keys: Mint an ``Idempotency-Key`` for every POST/PATCH.

        Returns:
            A new client of the same class; closing it never closes the session.

        Raises:
            InvalidRequestError: An argument is malformed.
        """
        clone = copy.copy(self)
        for key in [k for k in clone.__dict__ if k.startswith(RESOURCE_CACHE_PREFIX)]:
            del clone.__dict__[key]  # resources bound to the original client
        clone._owns_session = False
        if headers:
            clone._headers = {**self._headers, **check_headers(headers, "headers")}
            clone._default_key = header_of(clone._headers, _IDEMPOTENCY_HEADER)
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

    @property
    def session(self) -> requests.Session:
        """The ``requests.Session`` calls go out on: the caller's, or the one the
        client created. Read it, don't change it: a caller's session is theirs."""
        return self._session

    @property
    def credentials(self) -> Mapping[str, Credentials | None]:
        """The named credentials (``credentials=``), read-only; ``auth`` is the default."""
        return MappingProxyType(self._named)

    def close(self) -> None:
        """Close the session if this client created it; a caller's session stays open."""
        if self._owns_session:
            self._session.close()

    def __enter__(self: C) -> C:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={safe_url(self.base_url)!r}, auth={self.auth!r})"


def _own_session(
    verify: bool | str | NotGiven,
    cert: str | tuple[str, str] | NotGiven | None,
    proxies: Mapping[str, str] | NotGiven | None,
) -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = f"mysdk/{__version__} {requests.utils.default_user_agent()}"
    if verify is not NOT_GIVEN:
        session.verify = verify
    if cert is not NOT_GIVEN:
        session.cert = cert
    if proxies is not NOT_GIVEN and proxies:
        session.proxies.update(proxies)
    # requests consults the environment (proxy variables, CA bundle variables, a netrc
    # file) on every request. Resolved once here instead, the session skips that work:
    # the same requests, less CPU per call. Proxies and netrc depend on each URL's
    # host, so with either present the session keeps reading the environment.
    if not getproxies() and not _netrc_file():
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if bundle and verify is NOT_GIVEN:
            session.verify = bundle
        session.trust_env = False
    return session


def _netrc_file() -> bool:
    """True when a netrc file exists where requests would look for one."""
    netrc = os.environ.get("NETRC")
    candidates = [netrc] if netrc else [os.path.expanduser(f"~/{name}")
                                        for name in (".netrc", "_netrc")]
    return any(os.path.exists(path) for path in candidates)


def _hide_location(r: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
    """Keep a 3xx's Location from requests, which, even with allow_redirects=False,
    reads the whole body (no deadline, no size limit) and parses the Location
    (a malformed one raises a raw ValueError); the client puts it back."""
    if r.status_code in redirects.REDIRECT_STATUSES and "Location" in r.headers:
        r.__dict__["_mysdk_location"] = r.headers.pop("Location")
    return r


_OUR_HOOKS: dict[str, list[Any]] = {"response": [_hide_location]}


def _has_provider(auth: object, credentials: Mapping[str, object] | None) -> bool:
    return any(isinstance(a, TokenProvider) for a in (auth, *(credentials or {}).values()))


def _uses_authorization(auth: object) -> bool:
    return auth is not None and str(getattr(auth, "header", "Authorization")).lower() \
        == "authorization"


def _response_event(call: Call, resp: requests.Response, elapsed: float) -> Event:
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
