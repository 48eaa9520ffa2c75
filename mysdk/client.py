"""The :class:`Client`: one request path for every call, on requests.

An SDK built on mysdk subclasses :class:`Client` only to *declare*: its
:class:`~mysdk.brand.Brand`, its :class:`~mysdk.errormap.ErrorMap`, a response
check, middleware, and its resources (:func:`mysdk.resource`). Nobody overrides
:meth:`Client.request`; every call of every resource goes through it.

Every decision of the request path is the shared flow of
:class:`mysdk._base.BaseClient` (also driven by :class:`mysdk.AsyncClient`);
this module performs its I/O with a ``requests.Session`` and blocking calls.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.request import getproxies  # already imported by requests

import requests

from mysdk import redirects
from mysdk._base import (
    PERMIT,
    REAUTH,
    SEND,
    SLEEP,
    STAMP,
    BaseClient,
    cannot_send,
    uses_authorization,
)
from mysdk._call import Call
from mysdk._transport import map_request_exception, read_body
from mysdk._types import NOT_GIVEN, NotGiven, TimeoutArg
from mysdk._version import __version__
from mysdk.auth.base import Credentials, TokenProvider
from mysdk.brand import MYSDK
from mysdk.errors import (
    MAX_ERROR_BODY,
    InvalidRequestError,
    MySDKError,
    TransportError,
)
from mysdk.events import EventHook
from mysdk.retry import RetryPolicy

if TYPE_CHECKING:
    from mysdk.middleware import Middleware
    from mysdk.ratelimit import TokenBucket
    from mysdk.streaming import StreamResponse
    from mysdk.tokens.cache import TokenCache

__all__ = ["Client"]

C = TypeVar("C", bound="Client")


class _Untouched(requests.auth.AuthBase):
    """Passed as ``auth=`` so neither ``session.auth`` nor ~/.netrc replaces the
    ``Authorization`` header the client's credentials set."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        return r


_UNTOUCHED = _Untouched()


class Client(BaseClient):
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
        if session is not None and not all(v is NOT_GIVEN for v in (verify, cert, proxies)):
            raise InvalidRequestError(
                "verify, cert and proxies configure a session the client creates; "
                "set them on the session you pass instead")
        self._configure(base_url=base_url, timeout=timeout, headers=headers, retry=retry,
                        rate_limiter=rate_limiter, rate_limit_headers=rate_limit_headers,
                        idempotency_keys=idempotency_keys, on_event=on_event,
                        middleware=middleware, monotonic=monotonic, allow_http=allow_http)
        self._owns_transport = session is None
        self._session = session if session is not None else _own_session(verify, cert, proxies)
        self._brand_headers(session)
        self._sleep = sleep
        self._configure_credentials(auth, credentials, token_cache, token_leeway)
        for name, value in (("auth", self.auth), *self._named.items()):
            if uses_authorization(value) and session is not None and session.auth is not None:
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

    def _token_manager(self, provider: TokenProvider, cache: TokenCache, leeway: float,
                       argument: str) -> Credentials:
        from mysdk.auth.manager import TokenManager

        return TokenManager(provider, cache, session=self._session, timeout=self.timeout,
                            leeway=leeway, on_event=self._on_event, log=self._log)

    def _transport_auth(self, auth: Any) -> Any:
        # Keeps session.auth and ~/.netrc from replacing the credentials' header.
        return _UNTOUCHED if uses_authorization(auth) else None

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
            self._branded(exc)
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
            call = self._stream_call(method, path, kwargs)
            resp = self._run(call)
        except MySDKError as exc:
            self._branded(exc)
            raise
        from mysdk.streaming import StreamResponse

        return StreamResponse(resp, call.method, call.url)

    def _run(self, call: Call) -> requests.Response:
        """Drive the shared request flow (:meth:`BaseClient._flow`) with blocking I/O."""
        flow = self._flow(call)
        send, throw = flow.send, flow.throw
        try:
            command = next(flow)
            while True:
                try:
                    if command is SEND:
                        result: Any = self._send_now(call)
                    elif command is STAMP:
                        result = call.auth.apply(call.headers)
                    elif command is PERMIT:
                        assert self.rate_limiter is not None
                        result = self.rate_limiter.acquire()
                    else:
                        kind, arg = command
                        if kind is SLEEP:
                            result = self._sleep(arg)
                        elif kind is REAUTH:
                            result = call.auth.on_unauthorized(arg)
                        else:  # CLOSE
                            result = arg.close()
                except MySDKError as exc:
                    command = throw(exc)
                else:
                    command = send(result)
        except StopIteration as done:
            response: requests.Response = done.value
            return response

    def _send_now(self, call: Call) -> requests.Response:
        """One HTTP exchange on the session; a 2xx body of a stream is left unread."""
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
            error = cannot_send(call, exc)  # http.client/urllib3 refused a header, method or URL
        if error is not None:  # raised outside the except blocks: no __context__
            raise error
        return resp

    def _response_hooks(self) -> dict[str, list[Any]]:
        # A request's hooks replace the session's for the same event: keep theirs first.
        theirs = self._session.hooks.get("response")
        if not theirs:
            return _OUR_HOOKS
        return {"response": [*([theirs] if callable(theirs) else theirs), _hide_location]}

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

    # -- options, lifetime -------------------------------------------------------

    @property
    def session(self) -> requests.Session:
        """The ``requests.Session`` calls go out on: the caller's, or the one the
        client created. Read it, don't change it: a caller's session is theirs."""
        return self._session

    def close(self) -> None:
        """Close the session if this client created it; a caller's session stays open."""
        if self._owns_transport:
            self._session.close()

    def __enter__(self: C) -> C:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


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
