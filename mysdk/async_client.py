"""The :class:`AsyncClient`: the same request path as :class:`mysdk.Client`, on httpx.

Every decision (permits, auth, the 401 refresh-and-replay, redirects, retries,
``Retry-After``, ``Idempotency-Key``, error mapping, middleware, events) is the
shared flow of :class:`mysdk._base.BaseClient`; this module only performs its
I/O with ``await``: an ``httpx.AsyncClient`` sends, ``asyncio.sleep`` waits,
and token requests go through :class:`~mysdk.auth.manager_async.AsyncTokenManager`.

httpx is the ``async`` extra (``pip install 'mysdk[async]'``); ``import mysdk``
does not import it, only the first use of ``mysdk.AsyncClient`` does.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from inspect import isawaitable
from typing import TYPE_CHECKING, Any, TypeVar

try:
    import httpx
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "mysdk.AsyncClient needs httpx: pip install 'mysdk[async]'") from exc

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
from mysdk._httpx import aread_body, httpx_timeout, map_httpx_exception
from mysdk._types import NOT_GIVEN, NotGiven, TimeoutArg
from mysdk._version import __version__
from mysdk.auth.base import Credentials, TokenProvider
from mysdk.brand import MYSDK
from mysdk.errors import MAX_ERROR_BODY, InvalidRequestError, MySDKError, TransportError
from mysdk.events import EventHook
from mysdk.retry import RetryPolicy

if TYPE_CHECKING:
    from mysdk.middleware import Middleware
    from mysdk.ratelimit import TokenBucket
    from mysdk.streaming import AsyncStreamResponse
    from mysdk.tokens.aio import AsyncTokenCache
    from mysdk.tokens.cache import TokenCache

__all__ = ["AsyncClient"]

A = TypeVar("A", bound="AsyncClient")

_HTTPX_ERRORS = (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, httpx.CookieConflict)
_DEFAULT_AGENT = f"python-httpx/{httpx.__version__}"


class AsyncClient(BaseClient):
    """The asyncio twin of :class:`mysdk.Client`; every call goes through :meth:`request`.

    Same class attributes (``brand``, ``error_map``, ``response_check``,
    ``middleware``), same options and the same semantics as
    :class:`mysdk.Client` (see it for each argument), with these differences:

    Args:
        http_client: A caller's ``httpx.AsyncClient`` (proxies, mTLS, limits,
            event hooks, gateway headers). The client never changes it and never
            closes it; its ``auth`` must be ``None`` when ``auth`` sets the
            ``Authorization`` header. When omitted the client creates one and
            closes it in :meth:`aclose`.
        token_cache: A :class:`~mysdk.tokens.cache.TokenCache` (memory, file,
            Redis: used through :func:`mysdk.tokens.as_async_cache`, so its
            blocking work runs off the event loop) or an
            :class:`~mysdk.tokens.aio.AsyncTokenCache` (e.g.
            :class:`~mysdk.tokens.AsyncRedisTokenCache` on ``redis.asyncio``).
        verify: For a client it creates: ``True``, ``False``, a CA bundle path,
            or an ``ssl.SSLContext``. When not given, ``REQUESTS_CA_BUNDLE`` /
            ``CURL_CA_BUNDLE`` are honoured as :class:`mysdk.Client` does, and
            httpx honours ``SSL_CERT_FILE``/``SSL_CERT_DIR`` and the proxy
            variables; all are read once, when the client is built.
        proxies: ``{"https": "http://proxy:3128"}`` for a client it creates.
        sleep: Async sleep for retries and rate-limit waits, seconds;
            injectable for tests. Waiting never blocks the event loop.

    Credentials whose ``apply``/``on_unauthorized`` return awaitables are
    awaited; a :class:`~mysdk.auth.base.TokenProvider` gets an
    :class:`~mysdk.auth.manager_async.AsyncTokenManager` (one token request per
    expiry however many tasks meet it). Declared resources bind to it
    asynchronously: ``await client.cars.get(1)``,
    ``async for car in client.cars.list()``.

    Raises:
        InvalidRequestError: An argument is malformed; the message names it.
    """

    is_async = True

    def __init__(
        self,
        *,
        base_url: str,
        http_client: httpx.AsyncClient | None = None,
        auth: TokenProvider | Credentials | None = None,
        credentials: Mapping[str, TokenProvider | Credentials] | None = None,
        token_cache: TokenCache | AsyncTokenCache | None = None,
        timeout: TimeoutArg | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None = None,
        verify: bool | str | ssl.SSLContext | NotGiven = NOT_GIVEN,
        cert: str | tuple[str, str] | NotGiven | None = NOT_GIVEN,
        proxies: Mapping[str, str] | NotGiven | None = NOT_GIVEN,
        retry: RetryPolicy | NotGiven | None = NOT_GIVEN,
        rate_limiter: TokenBucket | None = None,
        rate_limit_headers: bool = False,
        idempotency_keys: bool = False,
        token_leeway: float = 60.0,
        on_event: EventHook | None = None,
        middleware: Sequence[Middleware] | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        allow_http: bool = False,
    ) -> None:
        if http_client is not None and not all(v is NOT_GIVEN for v in (verify, cert, proxies)):
            raise InvalidRequestError(
                "verify, cert and proxies configure an httpx client the client creates; "
                "set them on the http_client you pass instead")
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise InvalidRequestError(
                f"http_client must be an httpx.AsyncClient, got {type(http_client).__name__}")
        self._configure(base_url=base_url, timeout=timeout, headers=headers, retry=retry,
                        rate_limiter=rate_limiter, rate_limit_headers=rate_limit_headers,
                        idempotency_keys=idempotency_keys, on_event=on_event,
                        middleware=middleware, monotonic=monotonic, allow_http=allow_http)
        self._owns_transport = http_client is None
        self._http = http_client if http_client is not None else _own_http(verify, cert, proxies)
        if self.brand is not MYSDK and (
                http_client is None or http_client.headers.get("User-Agent") == _DEFAULT_AGENT):
            self._headers.setdefault("User-Agent", f"{self.brand.user_agent} {_DEFAULT_AGENT}")
        self._sleep = sleep
        self._timeout_memo: tuple[Any, httpx.Timeout] | None = None
        self._configure_credentials(auth, credentials, token_cache, token_leeway)
        for name, value in (("auth", self.auth), *self._named.items()):
            if uses_authorization(value) and http_client is not None \
                    and http_client.auth is not None:
                raise InvalidRequestError(
                    f"http_client.auth is set and would replace the Authorization header of "
                    f"{name} on every call; pass an httpx.AsyncClient without auth (gateway "
                    "credentials can go in its headers under their own header name), or pass "
                    "auth=None and let the httpx client authenticate")

    def _token_manager(self, provider: TokenProvider, cache: Any, leeway: float,
                       argument: str) -> Any:
        from mysdk.auth.manager_async import AsyncTokenManager

        # The manager adapts a sync cache itself (as_async_cache).
        return AsyncTokenManager(provider, cache, http=self._http,
                                 timeout=self.timeout, leeway=leeway, on_event=self._on_event,
                                 log=self._log)

    # -- the request path --------------------------------------------------------

    async def request(
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
    ) -> httpx.Response:
        """Send one call, with auth, reauth on 401, retries and error mapping.

        Arguments, behaviour and errors as :meth:`mysdk.Client.request`. A
        file-like ``data`` is read (from its position, again after a rewind)
        and sent as bytes; an iterator of bytes is streamed once.

        Returns:
            The ``httpx.Response``: a 2xx, or a 304 to a conditional request.
            Its body has been read (within the call's deadline).

        Raises:
            APIStatusError: Any other status, as its subclass.
            TransportError: No complete response (after any retries); its
                ``outcome_unknown`` says whether the server may have acted.
            AuthError: A token could not be obtained.
            RateLimitTimeout: The client-side limiter would wait too long.
            InvalidRequestError: Bad arguments (method, path, headers, body).
        """
        try:
            call = self._new_call(method, path, params, json, data, files, headers, timeout,
                                  retry, idempotency_key, credentials, operation)
            return await self._run(call)
        except MySDKError as exc:
            self._branded(exc)
            raise

    async def stream(self, method: str, path: str, **kwargs: Any) -> AsyncStreamResponse:
        """Send one call like :meth:`request`, without reading a 2xx body.

        Iterate the result with ``async for`` (``aiter_lines``, ``aiter_ndjson``,
        ``aiter_sse``, ``aiter_bytes``) and close it (``await resp.aclose()``
        or ``async with``).

        Raises:
            MySDKError: As :meth:`request`.
        """
        try:
            call = self._stream_call(method, path, kwargs)
            resp = await self._run(call)
        except MySDKError as exc:
            self._branded(exc)
            raise
        from mysdk.streaming import AsyncStreamResponse

        return AsyncStreamResponse(resp, call.method, call.url)

    async def _run(self, call: Call) -> httpx.Response:
        """Drive the shared request flow (:meth:`BaseClient._flow`) with ``await``."""
        flow = self._flow(call)
        send, throw = flow.send, flow.throw
        try:
            command = next(flow)
            while True:
                try:
                    if command is SEND:
                        result: Any = await self._send_now(call)
                    elif command is STAMP:
                        result = call.auth.apply(call.headers)
                        if isawaitable(result):
                            result = await result
                    elif command is PERMIT:
                        assert self.rate_limiter is not None
                        result = self.rate_limiter.reserve()
                        if result > 0:
                            await self._sleep(result)
                    else:
                        kind, arg = command
                        if kind is SLEEP:
                            result = await self._sleep(arg)
                        elif kind is REAUTH:
                            result = call.auth.on_unauthorized(arg)
                            if isawaitable(result):
                                result = await result
                        else:  # CLOSE
                            result = await arg.aclose()
                except MySDKError as exc:
                    command = throw(exc)
                else:
                    command = send(result)
        except StopIteration as done:
            response: httpx.Response = done.value
            return response

    async def _send_now(self, call: Call) -> httpx.Response:
        """One HTTP exchange; a 2xx body of a stream is left unread."""
        error: MySDKError | None = None
        try:
            request = self._http.build_request(
                call.method, call.url, params=call.params, headers=call.headers,
                timeout=self._timeout_of(call.timeout), **_body_arguments(call))
            resp = await self._http.send(request, stream=True, follow_redirects=False)
            if not (call.stream and 200 <= resp.status_code < 300):
                call.truncated = await aread_body(
                    resp, deadline=call.deadline, clock=self._monotonic,
                    limit=None if resp.status_code < 300 else MAX_ERROR_BODY,
                    method=call.method, url=call.url)
        except _HTTPX_ERRORS as exc:
            error = map_httpx_exception(exc, call.method, call.url)
        except TransportError as exc:  # the body broke off or missed the deadline
            error = exc
        except (ValueError, TypeError, OverflowError, RecursionError) as exc:
            error = cannot_send(call, exc)  # httpx refused a header, method or URL
        if error is not None:  # raised outside the except blocks: no __context__
            raise error
        return resp

    def _timeout_of(self, timeout: Any) -> httpx.Timeout:
        # One entry: calls mostly use the client's timeout; a dict keyed by every
        # per-call value would grow without bound.
        memo = self._timeout_memo
        if memo is not None and memo[0] == timeout:
            return memo[1]
        found = httpx_timeout(timeout)
        self._timeout_memo = (timeout, found)
        return found

    # -- JSON helpers ------------------------------------------------------------

    async def get(self, path: str, **kwargs: Any) -> Any:
        """``GET`` and return the decoded JSON body (``None`` for an empty body).

        Takes :meth:`request`'s keyword arguments.

        Raises:
            DecodeError: The 2xx body is not valid JSON.
            APIResponseError: The client's ``response_check`` found a failure.
            MySDKError: As :meth:`request`.
        """
        return self.decode(await self.request("GET", path, **kwargs))

    async def post(self, path: str, **kwargs: Any) -> Any:
        """``POST`` and return the decoded JSON body; see :meth:`get`."""
        return self.decode(await self.request("POST", path, **kwargs))

    async def put(self, path: str, **kwargs: Any) -> Any:
        """``PUT`` and return the decoded JSON body; see :meth:`get`."""
        return self.decode(await self.request("PUT", path, **kwargs))

    async def patch(self, path: str, **kwargs: Any) -> Any:
        """``PATCH`` and return the decoded JSON body; see :meth:`get`."""
        return self.decode(await self.request("PATCH", path, **kwargs))

    async def delete(self, path: str, **kwargs: Any) -> Any:
        """``DELETE`` and return the decoded JSON body (usually ``None``); see :meth:`get`."""
        return self.decode(await self.request("DELETE", path, **kwargs))

    # -- lifetime ----------------------------------------------------------------

    @property
    def http_client(self) -> httpx.AsyncClient:
        """The ``httpx.AsyncClient`` calls go out on: the caller's, or the one the
        client created. Read it, don't change it: a caller's client is theirs."""
        return self._http

    async def aclose(self) -> None:
        """Close the httpx client if this client created it; a caller's stays open."""
        if self._owns_transport:
            await self._http.aclose()

    async def __aenter__(self: A) -> A:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _own_http(
    verify: bool | str | ssl.SSLContext | NotGiven,
    cert: str | tuple[str, str] | NotGiven | None,
    proxies: Mapping[str, str] | NotGiven | None,
) -> httpx.AsyncClient:
    options: dict[str, Any] = {}
    context = _tls_context(verify, cert)
    if context is not None:
        options["verify"] = context
    if proxies is not NOT_GIVEN and proxies:
        options["mounts"] = {
            f"{scheme}://": httpx.AsyncHTTPTransport(proxy=url, verify=context or True)
            for scheme, url in proxies.items()}
    return httpx.AsyncClient(
        headers={"User-Agent": f"mysdk/{__version__} {_DEFAULT_AGENT}"}, **options)


def _tls_context(
    verify: bool | str | ssl.SSLContext | NotGiven, cert: str | tuple[str, str] | NotGiven | None,
) -> ssl.SSLContext | bool | None:
    """The ``verify=`` for httpx (an SSLContext: httpx deprecates paths and ``cert=``)."""
    if verify is False:
        return False
    if isinstance(verify, ssl.SSLContext):
        context = verify
    else:
        bundle = verify if isinstance(verify, str) else (
            None if verify is True else
            os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE"))
        if bundle is None and (cert is NOT_GIVEN or cert is None):
            return None  # httpx's own default (certifi, or SSL_CERT_FILE/SSL_CERT_DIR)
        try:
            if bundle is None:
                import certifi  # httpx's own dependency

                context = ssl.create_default_context(cafile=certifi.where())
            elif os.path.isdir(bundle):
                context = ssl.create_default_context(capath=bundle)
            else:
                context = ssl.create_default_context(cafile=bundle)
        except (OSError, ssl.SSLError) as exc:
            raise InvalidRequestError(
                f"cannot load the CA bundle {bundle!r}: {type(exc).__name__}") from None
    if cert is not NOT_GIVEN and cert is not None:
        certfile, keyfile = cert if isinstance(cert, tuple) else (cert, None)
        try:
            context.load_cert_chain(certfile, keyfile)
        except (OSError, ssl.SSLError) as exc:
            raise InvalidRequestError(
                f"cannot load the client certificate {certfile!r}: {type(exc).__name__}"
            ) from None
    return context


def _body_arguments(call: Call) -> dict[str, Any]:
    """The body as httpx takes it (``content=``, ``data=``, ``files=``)."""
    body = call.body
    data = body.data
    if body.files is not None:
        return {"files": body.files, "data": _form(data)} if data else {"files": body.files}
    if data is None:
        return {}
    if isinstance(data, (bytes, str)):
        return {"content": data}
    if isinstance(data, bytearray):
        return {"content": bytes(data)}
    if isinstance(data, (Mapping, list, tuple)):
        return {"data": _form(data)}
    if hasattr(data, "read"):
        # Read from the current position (rewound by the flow for a retry).
        return {"content": data.read()}
    if isinstance(data, Iterable):
        return {"content": _async_chunks(data)}
    raise InvalidRequestError(f"cannot send a body of type {type(data).__name__}")


def _form(data: Any) -> dict[str, Any]:
    """Form fields as httpx takes them: a mapping, repeated names as lists."""
    if isinstance(data, Mapping):
        return dict(data)
    out: dict[str, Any] = {}
    for name, value in data:
        if name in out:
            previous = out[name]
            out[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            out[name] = value
    return out


async def _async_chunks(chunks: Iterable[Any]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk.encode() if isinstance(chunk, str) else bytes(chunk)
