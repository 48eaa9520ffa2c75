"""Find an authorization server's endpoints from its issuer URL.

OpenID Connect Discovery 1.0 §4 (``<issuer>/.well-known/openid-configuration``)
first; when that answers 404, RFC 8414 §3.1
(``<scheme>://<host>/.well-known/oauth-authorization-server<path>``). The
answer is checked before anything is used: its ``issuer`` must equal the
configured issuer exactly (RFC 8414 §3.3; OpenID Connect Discovery 1.0 §4.3),
which stops a mix-up where one server's document names another's endpoints, and
every endpoint must be https (or http on a loopback host, or with ``allow_http``).

The metadata is fetched once per process and issuer and kept for ``ttl``
seconds (24 h by default, as msal does); threads asking at once share one
request. A failure is raised as :class:`~mysdk.auth.login_errors.DiscoveryError`
and never cached: the next call asks again.

The request goes out on the caller's session (its TLS, proxy and mTLS settings
apply) with the caller's timeout, but without the session's credentials
(headers other than ``User-Agent``/``Accept``/``Accept-Encoding``/``Connection``,
``session.auth``, ``~/.netrc``, cookies, default query); a redirect is refused,
not followed, and the body is read within the timeout and 256 KiB.

:func:`adiscover` is the same over httpx: the metadata parsing and checks and
the per-process cache are shared; only the GETs are awaited.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Generator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import requests

from mysdk import _forksafe
from mysdk._checks import check_base_url
from mysdk._frozen import Frozen
from mysdk._transport import map_request_exception, read_body
from mysdk.auth._token_endpoint import (
    _ClientAuth,
    _headers,
    _hooks,
    _json,
    _params,
    _RedirectGuard,
    request_seconds,
)
from mysdk.auth.login_errors import DiscoveryError
from mysdk.errors import (
    InvalidRequestError,
    MySDKError,
    TokenRequestError,
    TransportError,
    safe_url,
)

if TYPE_CHECKING:
    import asyncio

    import httpx

__all__ = ["DISCOVERY_TTL", "MAX_METADATA", "ServerMetadata", "adiscover",
           "clear_discovery_cache", "discover"]

DISCOVERY_TTL = 24 * 3600.0
"""Seconds a discovered metadata document is reused (24 hours)."""

MAX_METADATA = 256 * 1024
"""Most bytes of a metadata document read; a longer one is refused."""

_OIDC_SUFFIX = "/.well-known/openid-configuration"
_RFC8414_PREFIX = "/.well-known/oauth-authorization-server"
_ENDPOINTS = ("token_endpoint", "authorization_endpoint", "device_authorization_endpoint",
              "revocation_endpoint")


class ServerMetadata(Frozen):
    """What mysdk uses of an authorization server's metadata (RFC 8414 §2).

    Attributes:
        issuer: The issuer URL, equal to the configured one.
        token_endpoint: RFC 6749 §3.2.
        authorization_endpoint: RFC 6749 §3.1, or ``None``.
        device_authorization_endpoint: RFC 8628 §4, or ``None``.
        revocation_endpoint: RFC 7009 (RFC 8414 §2), or ``None``.
        code_challenge_methods: PKCE methods the server supports (RFC 8414 §2);
            empty when it does not say.
        iss_parameter_supported: The server puts ``iss`` in authorization
            responses (RFC 9207 §3), so a response without it is refused.
    """

    __slots__ = ("authorization_endpoint", "code_challenge_methods",
                 "device_authorization_endpoint", "iss_parameter_supported", "issuer",
                 "revocation_endpoint", "token_endpoint")

    issuer: str
    token_endpoint: str
    authorization_endpoint: str | None
    device_authorization_endpoint: str | None
    revocation_endpoint: str | None
    code_challenge_methods: tuple[str, ...]
    iss_parameter_supported: bool

    def __init__(self, issuer: str, token_endpoint: str, authorization_endpoint: str | None = None,
                 device_authorization_endpoint: str | None = None,
                 revocation_endpoint: str | None = None,
                 code_challenge_methods: tuple[str, ...] = (),
                 iss_parameter_supported: bool = False) -> None:
        self._set("issuer", issuer)
        self._set("token_endpoint", token_endpoint)
        self._set("authorization_endpoint", authorization_endpoint)
        self._set("device_authorization_endpoint", device_authorization_endpoint)
        self._set("revocation_endpoint", revocation_endpoint)
        self._set("code_challenge_methods", tuple(code_challenge_methods))
        self._set("iss_parameter_supported", iss_parameter_supported)

    def __repr__(self) -> str:
        return (f"ServerMetadata(issuer={self.issuer!r}, "
                f"token_endpoint={safe_url(self.token_endpoint)!r})")

    @classmethod
    def from_document(cls, data: Mapping[str, Any], *, issuer: str, allow_http: bool,
                      url: str = "") -> ServerMetadata:
        """Check a metadata document against ``issuer`` and take what mysdk uses.

        Args:
            data: The decoded JSON object.
            issuer: The configured issuer; ``data["issuer"]`` must equal it.
            allow_http: Accept ``http://`` endpoints on hosts that are not loopback.
            url: Where the document came from, for messages.

        Raises:
            DiscoveryError: ``issuer`` differs or is missing (RFC 8414 §3.3),
                ``token_endpoint`` is missing, or an endpoint is not an https
                URL (http only on loopback or with ``allow_http``).
        """
        found = data.get("issuer")
        if found != issuer:
            shown = repr(safe_url(found)) if isinstance(found, str) else "no issuer"
            raise DiscoveryError(
                f"the metadata at {safe_url(url)} names {shown}, not the configured issuer "
                f"{safe_url(issuer)!r}; it is not used (RFC 8414 §3.3: they must be identical)",
                issuer=issuer, url=url, status_code=200)
        endpoints: dict[str, str | None] = {}
        for name in _ENDPOINTS:
            value = data.get(name)
            if value is None:
                endpoints[name] = None
                continue
            if not isinstance(value, str):
                raise DiscoveryError(f"the metadata of {safe_url(issuer)} has a {name} that is "
                                     "not a string", issuer=issuer, url=url, status_code=200)
            try:
                endpoints[name] = check_base_url(value, allow_http=allow_http, argument=name)
            except InvalidRequestError as exc:
                raise DiscoveryError(f"the metadata of {safe_url(issuer)} is unusable: "
                                     f"{exc.message}", issuer=issuer, url=url,
                                     status_code=200) from None
        token_endpoint = endpoints["token_endpoint"]
        if token_endpoint is None:
            raise DiscoveryError(f"the metadata of {safe_url(issuer)} has no token_endpoint "
                                 "(RFC 8414 §2)", issuer=issuer, url=url, status_code=200)
        methods = data.get("code_challenge_methods_supported")
        return cls(
            issuer=issuer,
            token_endpoint=token_endpoint,
            authorization_endpoint=endpoints["authorization_endpoint"],
            device_authorization_endpoint=endpoints["device_authorization_endpoint"],
            revocation_endpoint=endpoints["revocation_endpoint"],
            code_challenge_methods=tuple(m for m in methods if isinstance(m, str))
            if isinstance(methods, list) else (),
            iss_parameter_supported=data.get(
                "authorization_response_iss_parameter_supported") is True,
        )


class _Entry:
    __slots__ = ("alocks", "expires", "lock", "metadata")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        # asyncio locks are bound to one event loop: one per loop that asks.
        self.alocks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary())
        self.metadata: ServerMetadata | None = None
        self.expires = 0.0

    def fresh(self, clock: Callable[[], float]) -> ServerMetadata | None:
        """The metadata kept, while ``clock()`` is before its expiry; else None."""
        metadata = self.metadata
        if metadata is not None and clock() < self.expires:
            return metadata
        return None

    def keep(self, metadata: ServerMetadata, clock: Callable[[], float],
             ttl: float) -> ServerMetadata:
        """Keep ``metadata`` for ``ttl`` seconds from ``clock()``; returns it."""
        self.metadata, self.expires = metadata, clock() + ttl
        return metadata


class _Cache:
    """Per-process metadata, one entry (and one lock: single flight) per issuer."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._entries: dict[tuple[str, bool], _Entry] = {}
        _forksafe.register(self)

    def _after_fork_in_child(self) -> None:
        # A parent thread may have held a lock; the child keeps what was fetched.
        self._guard = threading.Lock()
        for entry in self._entries.values():
            entry.lock = threading.Lock()
            entry.alocks = weakref.WeakKeyDictionary()

    def lookup(self, issuer: str, allow_http: bool) -> _Entry:
        """The entry of ``issuer`` once it is found acceptable (see :func:`_check_issuer`)."""
        _check_issuer(issuer, allow_http)
        key = (issuer, allow_http)
        with self._guard:
            found = self._entries.get(key)
            if found is None:
                found = self._entries[key] = _Entry()
            return found

    def alock(self, entry: _Entry, loop: asyncio.AbstractEventLoop) -> asyncio.Lock:
        """The entry's lock for tasks of ``loop`` (created on first use)."""
        import asyncio

        with self._guard:
            found = entry.alocks.get(loop)
            if found is None:
                found = entry.alocks[loop] = asyncio.Lock()
            return found

    def clear(self) -> None:
        with self._guard:
            self._entries.clear()


_cache = _Cache()


def clear_discovery_cache() -> None:
    """Forget every discovered metadata document (the next :func:`discover` fetches)."""
    _cache.clear()


def discover(
    issuer: str,
    *,
    session: requests.Session,
    timeout: Any,
    allow_http: bool = False,
    ttl: float = DISCOVERY_TTL,
    clock: Callable[[], float] = time.monotonic,
) -> ServerMetadata:
    """The metadata of ``issuer``, fetched once per process and issuer and kept ``ttl`` s.

    Args:
        issuer: The issuer URL (https, no query or fragment: RFC 8414 §2), e.g.
            ``"https://id.example.com/realms/cars"``; ``http`` only on a loopback
            host or with ``allow_http``.
        session: The session to send the request on (the client's).
        timeout: Seconds, a ``(connect, read)`` pair, or ``None`` (300 s in all);
            the whole answer must arrive within the sum of the parts.
        allow_http: Accept ``http://`` on hosts that are not loopback.
        ttl: Seconds a fetched document is reused (default 24 h); ``0`` fetches
            every time.
        clock: Monotonic seconds, for the ``ttl``.

    Returns:
        The checked metadata.

    Raises:
        InvalidRequestError: ``issuer`` is not an acceptable URL.
        DiscoveryError: No usable metadata: the request failed (``retryable``,
            chained to the :class:`~mysdk.errors.TransportError`), the server
            answered an error status, a redirect, a body that is not a JSON
            object or is over 256 KiB, or a document whose ``issuer`` differs or
            that lacks a token endpoint.
    """
    entry = _cache.lookup(issuer, allow_http)
    if (kept := entry.fresh(clock)) is not None:
        return kept
    with entry.lock:  # threads asking at once make one request
        if (kept := entry.fresh(clock)) is not None:
            return kept
        return entry.keep(
            _fetch(issuer, session=session, timeout=timeout, allow_http=allow_http), clock, ttl)


async def adiscover(
    issuer: str,
    *,
    http: httpx.AsyncClient,
    timeout: Any,
    allow_http: bool = False,
    ttl: float = DISCOVERY_TTL,
    clock: Callable[[], float] = time.monotonic,
) -> ServerMetadata:
    """:func:`discover` over httpx: the same checks, the same per-process cache.

    A document either fetched is reused by the other for ``ttl`` seconds. Tasks
    of one event loop asking at once make one request (an ``asyncio.Lock`` per
    loop and issuer, so a process may use several loops over its life).

    Args:
        issuer: The issuer URL (see :func:`discover`).
        http: The client to send the request on; none of its credentials
            (headers other than ``User-Agent``/``Accept-Encoding``/``Connection``,
            ``auth``, cookies, params) are sent, and a redirect is not followed.
        timeout: Seconds, a ``(connect, read)`` pair, or ``None`` (300 s in all).
        allow_http: Accept ``http://`` on hosts that are not loopback.
        ttl: Seconds a fetched document is reused.
        clock: Monotonic seconds, for the ``ttl``.

    Raises:
        InvalidRequestError, DiscoveryError: As :func:`discover`.
    """
    import asyncio

    entry = _cache.lookup(issuer, allow_http)
    if (kept := entry.fresh(clock)) is not None:
        return kept
    async with _cache.alock(entry, asyncio.get_running_loop()):
        if (kept := entry.fresh(clock)) is not None:
            return kept
        return entry.keep(
            await _afetch(issuer, http=http, timeout=timeout, allow_http=allow_http), clock, ttl)


def metadata_urls(issuer: str) -> tuple[str, str]:
    """The OpenID Connect (§4.1) and the RFC 8414 (§3.1) metadata URLs of ``issuer``."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    oidc = urlunsplit((parts.scheme, parts.netloc, path + _OIDC_SUFFIX, "", ""))
    rfc8414 = urlunsplit((parts.scheme, parts.netloc, _RFC8414_PREFIX + path, "", ""))
    return oidc, rfc8414


def _check_issuer(issuer: str, allow_http: bool) -> None:
    check_base_url(issuer, allow_http=allow_http, argument="issuer")
    parts = urlsplit(issuer)
    if parts.query or parts.fragment or issuer.endswith(("?", "#")):
        raise InvalidRequestError("issuer must not have a query or fragment (RFC 8414 §2)")


_MetadataFlow = Generator[str, tuple[int, Any], ServerMetadata]


def _fetch_flow(issuer: str, allow_http: bool) -> _MetadataFlow:
    """The discovery rules without I/O: yields each URL to GET, is sent ``(status, json)``.

    OpenID Connect Discovery 1.0 §4 first; on its 404, RFC 8414 §3.1.

    Raises:
        DiscoveryError: An error status, a body that is not a JSON object, or a
            document :meth:`ServerMetadata.from_document` refuses.
    """
    oidc, rfc8414 = metadata_urls(issuer)
    url = oidc
    status, data = yield oidc
    if status == 404:
        url = rfc8414
        status, data = yield rfc8414
    if status != 200:
        raise DiscoveryError(
            f"cannot discover issuer {safe_url(issuer)}: HTTP {status} from {safe_url(url)}",
            issuer=issuer, url=url, status_code=status, retryable=status >= 500 or status == 429)
    if not isinstance(data, dict):
        raise DiscoveryError(f"the metadata at {safe_url(url)} is not a JSON object",
                             issuer=issuer, url=url, status_code=status)
    return ServerMetadata.from_document(data, issuer=issuer, allow_http=allow_http, url=url)


def _fetch(issuer: str, *, session: requests.Session, timeout: Any,
           allow_http: bool) -> ServerMetadata:
    flow = _fetch_flow(issuer, allow_http)
    try:
        url = next(flow)
        while True:
            url = flow.send(_get(url, issuer, session, timeout))
    except StopIteration as done:
        metadata: ServerMetadata = done.value
        return metadata
    finally:
        flow.close()


async def _afetch(issuer: str, *, http: httpx.AsyncClient, timeout: Any,
                  allow_http: bool) -> ServerMetadata:
    flow = _fetch_flow(issuer, allow_http)
    try:
        url = next(flow)
        while True:
            url = flow.send(await _aget(url, issuer, http, timeout))
    except StopIteration as done:
        metadata: ServerMetadata = done.value
        return metadata
    finally:
        flow.close()


def _redirect_refused(status: int, issuer: str, url: str) -> DiscoveryError:
    return DiscoveryError(
        f"the metadata URL {safe_url(url)} answered with a redirect (HTTP "
        f"{status}), which is not followed: the metadata must be at the "
        "issuer's well-known URL (RFC 8414 §3.1)",
        issuer=issuer, url=url, status_code=status)


def _too_large(status: int, issuer: str, url: str) -> DiscoveryError:
    return DiscoveryError(f"the metadata at {safe_url(url)} is larger than "
                          f"{MAX_METADATA // 1024} KiB", issuer=issuer, url=url,
                          status_code=status)


# What requests calls a redirect (Response.is_redirect): these with a Location.
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def _get(url: str, issuer: str, session: requests.Session, timeout: Any) -> tuple[int, Any]:
    """GET one metadata URL: its status and decoded JSON body (None when not JSON)."""
    deadline = time.monotonic() + request_seconds(timeout)
    guard = _RedirectGuard()
    failure: MySDKError | None = None
    resp: requests.Response | None = None
    try:
        resp = session.get(url, auth=_ClientAuth(None), headers=_headers(session),
                           params=_params(session), hooks=_hooks(session, guard),
                           timeout=timeout, allow_redirects=False, stream=True)
    except requests.RequestException as exc:
        failure = map_request_exception(exc, "GET", url)
    except (ValueError, LookupError) as exc:
        failure = InvalidRequestError(f"invalid request GET {safe_url(url)}: "
                                      f"{type(exc).__name__}")
    if failure is not None:
        raise _wrap(failure, issuer, url)
    assert resp is not None
    try:
        if resp.is_redirect or guard.location is not None:
            raise _redirect_refused(resp.status_code, issuer, url)
        try:
            truncated = read_body(resp, deadline=deadline, limit=MAX_METADATA, method="GET",
                                  url=url)
        except requests.RequestException as exc:
            failure = map_request_exception(exc, "GET", url)
        except TransportError as exc:
            failure = exc
        if failure is not None:
            raise _wrap(failure, issuer, url)
        if truncated:
            raise _too_large(resp.status_code, issuer, url)
        return resp.status_code, _json(resp.content)
    finally:
        resp.close()


async def _aget(url: str, issuer: str, http: httpx.AsyncClient,
                timeout: Any) -> tuple[int, Any]:
    """:func:`_get` over httpx."""
    from mysdk.auth._token_endpoint_async import aexchange

    failure: MySDKError | None = None
    try:
        answer = await aexchange(http, "GET", url, fields=None,
                                 headers={"Accept": "application/json"}, timeout=timeout,
                                 limit=MAX_METADATA, what="metadata request")
    except TokenRequestError:  # a 3xx whose Location httpx could not parse
        failure = _redirect_refused(0, issuer, url)
    except MySDKError as exc:
        failure = _wrap(exc, issuer, url)
    if failure is not None:
        raise failure
    if answer.status in _REDIRECTS and answer.location is not None:
        raise _redirect_refused(answer.status, issuer, url)
    if answer.reply.truncated:
        raise _too_large(answer.status, issuer, url)
    return answer.status, _json(answer.reply.content)


def _wrap(failure: MySDKError, issuer: str, url: str) -> MySDKError:
    if isinstance(failure, InvalidRequestError):
        return failure
    error = DiscoveryError(
        f"cannot discover issuer {safe_url(issuer)}: {failure.message}", issuer=issuer,
        url=url, retryable=True)
    error.__cause__ = failure
    return error
