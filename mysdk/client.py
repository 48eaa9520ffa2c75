"""The :class:`Client`: one request path for every call."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

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
from mysdk.auth.manager import TokenManager
from mysdk.errors import (
    MAX_ERROR_BODY,
    APIStatusError,
    DecodeError,
    InvalidRequestError,
    MySDKError,
    ReadTimeoutError,
    TokenRequestError,
    TransportError,
    safe_url,
)
from mysdk.events import Event, EventHook, emit, logger
from mysdk.ratelimit import TokenBucket
from mysdk.retry import RetryPolicy
from mysdk.status import error_from_response
from mysdk.tokens.cache import TokenCache
from mysdk.tokens.memory import MemoryTokenCache

if TYPE_CHECKING:
    from mysdk.resources.cars import CarsResource

__all__ = ["Client"]

_IDEMPOTENCY_HEADER = "Idempotency-Key"
_UNSAFE_METHODS = frozenset({"POST", "PATCH"})


class _Untouched(requests.auth.AuthBase):
    """Passed as ``auth=`` so neither ``session.auth`` nor ~/.netrc replaces the
    ``Authorization`` header the client's credentials set."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        return r


_UNTOUCHED = _Untouched()


class Client:
    """A client for one REST API; every call goes through :meth:`request`.

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
        token_cache: Where tokens of a ``TokenProvider`` live; default a new
            :class:`~mysdk.tokens.MemoryTokenCache`.
        timeout: Seconds per attempt: a number, a ``(connect, read)`` pair, or
            ``None`` for no timeout (only when passed explicitly). Default
            ``(5.0, 30.0)``. Token requests use it too.
        headers: Headers sent with every call (a call's own headers win).
        verify: TLS verification for a session the client creates (``True``,
            ``False`` or a CA bundle path). Not allowed with ``session``.
        cert: Client certificate (path or ``(cert, key)``) for a created session.
        proxies: Proxy map for a created session, e.g. ``{"https": "http://proxy:3128"}``.
        retry: Default :class:`~mysdk.retry.RetryPolicy`; ``None`` disables retries.
        rate_limiter: A :class:`~mysdk.ratelimit.TokenBucket` consulted before
            every attempt; may be shared by several clients. ``None``: no limit.
        idempotency_keys: When True, every POST/PATCH gets a fresh
            ``Idempotency-Key`` (a UUID4), minted once per call and sent
            unchanged on each attempt, which makes the call retryable.
        token_leeway: Seconds before expiry at which tokens are refreshed
            proactively (capped at half a token's lifetime).
        on_event: Receives an :class:`~mysdk.events.Event` per attempt, retry,
            reauth and token fetch.
        sleep: Sleeps for retries, seconds; injectable for tests.
        monotonic: Monotonic clock for the retry budget, seconds; injectable.
        allow_http: Allow an ``http://`` base_url on a host that is not
            loopback (credentials then cross the network in clear; RFC 6750 §5.3
            requires TLS).

    Raises:
        InvalidRequestError: An argument is malformed; the message names it.
    """

    def __init__(
        self,
        *,
        base_url: str,
        session: requests.Session | None = None,
        auth: TokenProvider | Credentials | None = None,
        token_cache: TokenCache | None = None,
        timeout: TimeoutArg | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None = None,
        verify: bool | str | NotGiven = NOT_GIVEN,
        cert: str | tuple[str, str] | NotGiven | None = NOT_GIVEN,
        proxies: Mapping[str, str] | NotGiven | None = NOT_GIVEN,
        retry: RetryPolicy | NotGiven | None = NOT_GIVEN,
        rate_limiter: TokenBucket | None = None,
        idempotency_keys: bool = False,
        token_leeway: float = 60.0,
        on_event: EventHook | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        allow_http: bool = False,
    ) -> None:
        check_base_url(base_url, allow_http=allow_http)
        try:
            self.timeout = resolve_timeout(timeout, DEFAULT_TIMEOUT)
        except ValueError as exc:
            raise InvalidRequestError(str(exc)) from None
        self.base_url = base_url.rstrip("/")
        self._owns_session = session is None
        self._session = session if session is not None else _own_session(verify, cert, proxies)
        if session is not None and not all(
            v is NOT_GIVEN for v in (verify, cert, proxies)
        ):
            raise InvalidRequestError(
                "verify, cert and proxies configure a session the client creates; "
                "set them on the session you pass instead"
            )
        self._headers = {"Accept": "application/json", **check_headers(headers, "headers")}
        self._default_key = header_of(self._headers, _IDEMPOTENCY_HEADER)
        self.retry = retry_mod.NO_RETRY if retry is None else (retry or RetryPolicy())
        self.rate_limiter = rate_limiter
        self.idempotency_keys = idempotency_keys
        self._on_event = on_event
        self._sleep = sleep
        self._monotonic = monotonic
        self.auth = self._credentials(auth, token_cache, token_leeway)
        # Keep session.auth and ~/.netrc from overwriting our Authorization header.
        uses_authorization = self.auth is not None and (
            str(getattr(self.auth, "header", "Authorization")).lower() == "authorization")
        self._send_auth = _UNTOUCHED if uses_authorization else None
        if uses_authorization and session is not None and session.auth is not None:
            raise InvalidRequestError(
                "session.auth is set and would replace the client's Authorization header on "
                "every call; set session.auth = None on the session you pass (gateway "
                "credentials can go in session.headers under their own header name), or "
                "pass auth=None and let the session authenticate")

    def _credentials(
        self, auth: TokenProvider | Credentials | None, cache: TokenCache | None, leeway: float
    ) -> Credentials | None:
        if isinstance(auth, TokenProvider):
            if not (isinstance(leeway, (int, float)) and 0 <= leeway < float("inf")):
                raise InvalidRequestError(
                    f"token_leeway must be a finite number of seconds >= 0, got {leeway!r}")
            return TokenManager(
                auth, cache if cache is not None else MemoryTokenCache(),
                session=self._session, timeout=self.timeout, leeway=leeway,
                on_event=self._on_event,
            )
        if cache is not None:
            raise InvalidRequestError("token_cache needs auth to be a TokenProvider")
        if auth is not None and not isinstance(auth, Credentials):
            raise InvalidRequestError(
                f"auth must be a TokenProvider or Credentials, got {type(auth).__name__}"
            )
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
        headers: Mapping[str, str] | None = None,
        timeout: TimeoutArg | NotGiven = NOT_GIVEN,
        retry: RetryPolicy | NotGiven | None = NOT_GIVEN,
        idempotency_key: str | bool | NotGiven = NOT_GIVEN,
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
            data: A raw body: bytes, str, form mapping, file or iterator.
            headers: Extra headers for this call.
            timeout: Overrides the client's timeout for this call (seconds).
            retry: Overrides the client's retry policy; ``None`` disables retries.
            idempotency_key: A key to send as ``Idempotency-Key``; ``True`` mints
                one; ``False`` sends none. Default: the client's setting.

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
        call = self._new_call(method, path, params, json, data, headers, timeout, retry,
                              idempotency_key)
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
            if resp.status_code < 300 or resp.status_code == 304:
                return resp
            error = error_from_response(resp, call.method, resp.url or call.url, call.attempt,
                                        call.note, body_truncated=call.truncated)
            retryable = self._status_retryable(call, error)
            self._pause_or_raise(call, error, retryable, error.retry_after)

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
                                       reason=urlsplit(hop.url).path))
            call.follow(hop.method, hop.url, keep_body=hop.keep_body)
            if self.rate_limiter is not None:
                self._take_permit(call)  # a hop is a request like any other
            resp = self._exchange(call)
        return resp

    def _exchange(self, call: Call) -> requests.Response:
        """Stamp auth, send, and on a 401 refresh the token and replay once."""
        used = self._stamp(call)
        resp = self._send(call)
        if resp.status_code != 401 or self.auth is None or call.reauthed:
            return resp
        call.reauthed = True  # at most one refresh per call, whatever the retries
        if not self.auth.on_unauthorized(used):
            return resp
        if not call.body.rewind():
            call.note = f"not replayed after the token refresh: {call.body.reason}"
            return resp
        emit(self._on_event, Event(kind="reauth", method=call.method, path=call.path,
                                   attempt=call.attempt, status=401, reason="401"))
        if self.rate_limiter is not None:
            self._take_permit(call)  # the replay is a request like any other
        self._stamp(call)
        return self._send(call)

    def _stamp(self, call: Call) -> object:
        """Set the credentials on the call's headers; returns the handle used."""
        if self.auth is None:
            return None
        try:
            return self.auth.apply(call.headers)
        except TransportError as exc:
            # The token endpoint failed: the API request was not sent, and a token
            # request is safe to repeat, so the call may be retried whatever its method.
            exc.outcome_unknown = False
            raise

    def _send(self, call: Call) -> requests.Response:
        started = time.perf_counter()
        error: MySDKError | None = None
        try:
            resp = self._session.request(
                call.method, call.url, params=call.params, data=call.body.data,
                headers=call.headers, timeout=call.timeout, allow_redirects=False,
                stream=True, auth=self._send_auth,
            )
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
            if self._on_event is not None or logger.isEnabledFor(logging.INFO):
                emit(self._on_event, Event(kind="error", method=call.method, path=call.path,
                                           attempt=call.attempt, reason=type(error).__name__,
                                           elapsed=time.perf_counter() - started))
            raise error
        if self._on_event is not None or logger.isEnabledFor(logging.DEBUG):
            emit(self._on_event, Event(kind="response", method=call.method, path=call.path,
                                       attempt=call.attempt, status=resp.status_code,
                                       elapsed=time.perf_counter() - started))
        return resp

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
        ))
        self._sleep(delay)

    def _take_permit(self, call: Call) -> None:
        assert self.rate_limiter is not None
        waited = self.rate_limiter.acquire()
        if waited > 0:
            emit(self._on_event, Event(kind="rate_limited", method=call.method, path=call.path,
                                       attempt=call.attempt, delay=waited))

    def _new_call(
        self, method: str, path: str, params: Mapping[str, Any] | None, json: Any, data: Any,
        headers: Mapping[str, str] | None, timeout: TimeoutArg | NotGiven,
        retry: RetryPolicy | NotGiven | None, idempotency_key: str | bool | NotGiven,
    ) -> Call:
        method = check_method(method)
        url = build_url(self.base_url, path)
        body = Body(json=json, data=data)
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
        return Call(
            method=method, url=url, params=normalise_params(params),
            body=body, headers=merged, timeout=call_timeout, policy=policy,
            replay_safe=retry_mod.is_replay_safe(method, has_idempotency_key=bool(key),
                                                 policy=policy),
            started=self._monotonic(), has_key=bool(key),
        )

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
            MySDKError: As :meth:`request`.
        """
        return self._decode(self.request("GET", path, **kwargs))

    def post(self, path: str, **kwargs: Any) -> Any:
        """``POST`` and return the decoded JSON body; see :meth:`get`."""
        return self._decode(self.request("POST", path, **kwargs))

    def put(self, path: str, **kwargs: Any) -> Any:
        """``PUT`` and return the decoded JSON body; see :meth:`get`."""
        return self._decode(self.request("PUT", path, **kwargs))

    def patch(self, path: str, **kwargs: Any) -> Any:
        """``PATCH`` and return the decoded JSON body; see :meth:`get`."""
        return self._decode(self.request("PATCH", path, **kwargs))

    def delete(self, path: str, **kwargs: Any) -> Any:
        """``DELETE`` and return the decoded JSON body (usually ``None``); see :meth:`get`."""
        return self._decode(self.request("DELETE", path, **kwargs))

    @staticmethod
    def _decode(resp: requests.Response) -> Any:
        method = str(resp.request.method or "") if resp.request is not None else ""
        if not 200 <= resp.status_code < 300:  # a 304: no JSON to return
            raise error_from_response(resp, method, resp.url)
        if resp.status_code in (204, 205) or not resp.content:
            return None
        try:
            return resp.json()
        except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
            raise DecodeError(
                f"expected JSON from {method} {safe_url(resp.url)} (HTTP {resp.status_code}, "
                f"Content-Type {resp.headers.get('Content-Type', '-')!r}): "
                f"{type(exc).__name__}: {str(exc)[:200]}",
                status_code=resp.status_code, content_type=resp.headers.get("Content-Type", ""),
                method=method, url=resp.url,
            ) from exc

    # -- resources and lifetime ------------------------------------------------

    @cached_property
    def cars(self) -> CarsResource:
        """The Cars API (``/api/v1/cars``)."""
        from mysdk.resources.cars import CarsResource

        return CarsResource(self)

    def close(self) -> None:
        """Close the session if this client created it; a caller's session stays open."""
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client(base_url={safe_url(self.base_url)!r}, auth={self.auth!r})"


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
    return session


def _reason(error: Exception) -> str:
    status = getattr(error, "status_code", None)
    return f"status {status}" if status else type(error).__name__
