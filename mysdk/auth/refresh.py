"""A token provider that lives on a refresh token (RFC 6749 §6).

It starts from a refresh token — a saved login (device or browser login, see
:class:`~mysdk.auth.login.Login`) found in the token cache, or one handed over
by an administrator — and exchanges it for access tokens. The client's token
manager makes every exchange single-flight per cache key (threads, processes,
machines) and stores the new access token with its rotated refresh token in
one cache write; this provider adds what only it can know:

* it never sends a refresh token it has seen rotated away (RFC 6749 §10.4;
  RFC 9700 §4.14.2), using the newest one it holds instead;
* ``on_refresh_token`` runs when the server rotates the refresh token (the
  WIPAC seed's ``update_func``);
* a refused refresh token raises :class:`~mysdk.auth.login_errors.LoginRequiredError`
  saying to log in again, instead of a bare ``invalid_grant``.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

import requests

from mysdk._checks import check_base_url
from mysdk.auth._token_endpoint import ClientAuthMethod
from mysdk.auth.discovery import DISCOVERY_TTL, ServerMetadata, discover
from mysdk.auth.flow import (
    MetadataRequest,
    TokenFlow,
    TokenPost,
    ask_metadata,
    post_token,
    run_token_flow,
)
from mysdk.auth.login_errors import LoginRequiredError
from mysdk.auth.oauth2 import _check_extra_params
from mysdk.errors import InvalidRequestError, TokenRequestError, safe_url
from mysdk.tokens.cache import cache_key
from mysdk.tokens.token import Token

__all__ = ["LOGIN_GRANT", "RefreshTokenProvider"]

logger = logging.getLogger("mysdk.auth")

LOGIN_GRANT = "refresh_token"
"""The grant type in the cache key of a saved login (see :attr:`RefreshTokenProvider.cache_key`)."""

_MEMORY = 64  # rotated-away and refused refresh tokens remembered (as SHA-256 digests)
# Refusals that mean "this refresh token is no good": log in again (RFC 6749 §5.2).
_LOGIN_AGAIN = frozenset({"invalid_grant"})


class RefreshTokenProvider:
    """Access tokens from a refresh token (RFC 6749 §6), for a public or confidential client.

    The token endpoint is given (``token_url``) or discovered from ``issuer``
    (OpenID Connect Discovery 1.0 §4, RFC 8414 §3) on the first token request,
    with the client's session and timeout.

    Its :attr:`cache_key` depends on the issuer (or token URL), client id,
    scope and extra parameters only, so a login saved by one process is found
    by the next from those alone. The refresh token used is, in order: the one
    in the cache (the newest any sharer stored), else ``refresh_token``.

    Args:
        client_id: The client identifier (RFC 6749 §2.2).
        issuer: The issuer URL to discover endpoints from; or give ``token_url``.
        token_url: The token endpoint (RFC 6749 §3.2); overrides the discovered one.
        client_secret: The secret of a confidential client; ``None`` (default)
            for a public client, which sends its ``client_id`` only (§2.1, §3.2.1).
        refresh_token: A refresh token to start from when the cache holds none
            (an administrator-issued one, a login saved elsewhere). Never shown.
        scope: Space-separated scopes (RFC 6749 §3.3): requested at login, sent
            on refresh (it may not exceed what was granted, §6), and part of the
            cache key.
        auth_method: ``"client_secret_basic"`` (default) or ``"client_secret_post"``.
        extra_params: More form fields for every token request (``audience``,
            RFC 8707 ``resource``), part of the cache key.
        on_refresh_token: Called with the new refresh token each time the
            server rotates it, before the cache write. An exception it raises is
            logged (its type only) and not raised: the rotated token is stored
            in the cache all the same, so nothing is lost.
        login_hint: How to log in, appended to :class:`LoginRequiredError`
            messages (e.g. ``"run `mysdk auth login`"``).
        allow_http: Accept ``http://`` URLs on hosts that are not loopback.
        discovery_ttl: Seconds discovered metadata is reused (default 24 h).

    Raises:
        InvalidRequestError: ``client_id`` is empty; neither ``issuer`` nor
            ``token_url`` is given; a URL is not https (http only on a loopback
            host or with ``allow_http``); ``auth_method`` or ``extra_params`` is
            invalid.
    """

    grant_type = LOGIN_GRANT

    def __init__(
        self,
        *,
        client_id: str,
        issuer: str | None = None,
        token_url: str | None = None,
        client_secret: str | None = None,
        refresh_token: str | None = None,
        scope: str | None = None,
        auth_method: ClientAuthMethod = "client_secret_basic",
        extra_params: Mapping[str, str] | None = None,
        on_refresh_token: Callable[[str], object] | None = None,
        login_hint: str = "log in again",
        allow_http: bool = False,
        discovery_ttl: float = DISCOVERY_TTL,
    ) -> None:
        name = type(self).__name__
        if not isinstance(client_id, str) or not client_id:
            raise InvalidRequestError(f"{name}.client_id must be a non-empty string")
        if issuer is None and token_url is None:
            raise InvalidRequestError(f"{name} needs issuer= (discovery) or token_url=")
        for arg, value in (("issuer", issuer), ("token_url", token_url)):
            if value is not None:
                check_base_url(value, allow_http=allow_http, argument=f"{name}.{arg}")
        if client_secret is not None and (not isinstance(client_secret, str) or not client_secret):
            raise InvalidRequestError(f"{name}.client_secret must be a non-empty string or None")
        if refresh_token is not None and (not isinstance(refresh_token, str) or not refresh_token):
            raise InvalidRequestError(f"{name}.refresh_token must be a non-empty string or None")
        if scope is not None and not isinstance(scope, str):
            raise InvalidRequestError(f"{name}.scope must be a string or None")
        if auth_method not in ("client_secret_basic", "client_secret_post"):
            raise InvalidRequestError(f"{name}.auth_method must be 'client_secret_basic' or "
                                      f"'client_secret_post', got {auth_method!r}")
        self.client_id = client_id
        self.issuer = issuer
        self.token_url = token_url
        self.scope = scope
        self.auth_method: ClientAuthMethod = auth_method
        self.extra_params = _check_extra_params(extra_params)
        self.allow_http = allow_http
        self.login_hint = login_hint
        self.discovery_ttl = discovery_ttl
        self._client_secret = client_secret
        self._on_refresh_token = on_refresh_token
        self._guard = threading.Lock()
        self._latest = refresh_token  # the newest refresh token this provider holds
        self._rotated: dict[str, None] = {}  # digests of rotated-away refresh tokens
        self._refused: dict[str, None] = {}  # digests of refused refresh tokens
        self._cache_key = cache_key(self.identity, client_id, scope, grant_type=LOGIN_GRANT,
                                    params=self.extra_params)

    @property
    def identity(self) -> str:
        """The authorization server this login is with: the issuer, else the token URL."""
        return self.issuer or self.token_url or ""

    @property
    def public_client(self) -> bool:
        """True when the client has no secret (RFC 6749 §2.1)."""
        return self._client_secret is None

    @property
    def cache_key(self) -> str:
        """Key of this login in a token cache: ``"mysdk-token-v2-<sha256 hex>"``.

        :func:`mysdk.tokens.cache_key` of the issuer (or token URL when no
        issuer is given), client id, scope and extra parameters, with grant type
        ``"refresh_token"``: the same for a device login, a browser login and
        the refreshes that follow, and different from any client credentials key.
        """
        return self._cache_key

    def metadata(self, session: requests.Session, *, timeout: Any) -> ServerMetadata:
        """The server's endpoints: discovered from ``issuer``, overridden by given URLs.

        Raises:
            DiscoveryError: Discovery failed (see :func:`~mysdk.auth.discovery.discover`).
        """
        if self.issuer is None:
            assert self.token_url is not None
            return ServerMetadata(issuer="", token_endpoint=self.token_url)
        found = discover(self.issuer, session=session, timeout=timeout,
                         allow_http=self.allow_http, ttl=self.discovery_ttl)
        if self.token_url is not None:
            found = found.replace(token_endpoint=self.token_url)
        return found

    def token_flow(self, previous: Token | None) -> TokenFlow:
        """The provider's logic, without I/O (see :mod:`mysdk.auth.flow`).

        Picks the refresh token (``previous``'s unless rotated away, else the
        newest held), asks for the issuer's metadata when there is an issuer
        (a :class:`~mysdk.auth.flow.MetadataRequest`; ``token_url`` overrides
        the discovered endpoint), yields one refresh grant
        (:class:`~mysdk.auth.flow.TokenPost`, RFC 6749 §6) and does the
        rotation bookkeeping on the answer. Driven by :meth:`fetch_token`
        (requests) and by the async client (httpx).

        Raises:
            LoginRequiredError, TokenRequestError, DiscoveryError,
            TransportError: As :meth:`fetch_token`.
        """
        refresh_token = self._pick(previous)
        if refresh_token is None:
            raise LoginRequiredError(
                f"not logged in to {safe_url(self.identity)} as client {self.client_id!r}: "
                f"no saved login or refresh token; {self.login_hint}",
                error="login_required")
        if self._was_refused(refresh_token):  # refused before: don't ask again
            raise LoginRequiredError(
                f"the saved login with {safe_url(self.identity)} (client {self.client_id!r}) "
                f"has ended: its refresh token was refused; {self.login_hint}",
                error="invalid_grant")
        if self.issuer is None:
            assert self.token_url is not None
            token_url = self.token_url
        else:
            found = yield from ask_metadata(MetadataRequest(
                self.issuer, allow_http=self.allow_http, ttl=self.discovery_ttl))
            token_url = self.token_url or found.token_endpoint
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token,
                **self.extra_params}
        if self.scope:
            form["scope"] = self.scope
        try:
            token = yield from post_token(TokenPost(
                token_url, form, self.client_id, self._client_secret, self.auth_method))
        except TokenRequestError as exc:
            if exc.error not in _LOGIN_AGAIN or exc.retryable:
                raise
            refused = exc
        else:
            return self._rotated_to(token, refresh_token)
        self._remember(self._refused, refresh_token)
        raise LoginRequiredError(
            f"the saved login with {safe_url(self.identity)} (client {self.client_id!r}) has "
            f"ended: the refresh token was refused ({refused.error}"
            f"{': ' + refused.error_description if refused.error_description else ''}); "
            f"{self.login_hint}",
            error=refused.error, error_description=refused.error_description,
            status_code=refused.status_code, token_url=token_url,
        ) from refused

    def fetch_token(
        self, session: requests.Session, *, timeout: object, previous: Token | None
    ) -> Token:
        """Exchange the refresh token for a new token (RFC 6749 §6).

        Runs :meth:`token_flow` with requests on ``session``.

        Args:
            session: The session to send the token request on (the client's).
            timeout: Seconds, a ``(connect, read)`` pair, or ``None``.
            previous: The token being replaced (the cache's, with the newest
                refresh token), or ``None``.

        Returns:
            The new token; it carries the rotated refresh token, or the one sent
            when the server did not rotate it (RFC 6749 §6 "MAY issue a new
            refresh token").

        Raises:
            LoginRequiredError: No refresh token is at hand
                (``error="login_required"``), or the server refused it
                (``invalid_grant``): the message says to log in again.
            TokenRequestError: Any other refusal (``invalid_client``, ...) or an
                invalid answer; ``retryable`` for a 5xx, 429 or
                ``temporarily_unavailable``.
            DiscoveryError: The issuer's metadata could not be had.
            TransportError: The token endpoint could not be reached.
        """
        return run_token_flow(self.token_flow(previous), session, timeout=timeout)

    def _pick(self, previous: Token | None) -> str | None:
        """The refresh token to send: ``previous``'s unless it was rotated away."""
        candidate = previous.refresh_token if previous is not None else None
        with self._guard:
            if candidate is None or _digest(candidate) in self._rotated:
                return self._latest
            return candidate

    def _rotated_to(self, token: Token, sent: str) -> Token:
        new = token.refresh_token
        if new is None:
            # RFC 6749 §6: the server MAY keep the refresh token; keep using it.
            return token.replace(refresh_token=sent)
        if new != sent:
            self._remember(self._rotated, sent)
            with self._guard:
                self._latest = new
            self._notify(new)
        return token

    def _remember(self, digests: dict[str, None], secret: str) -> None:
        with self._guard:
            digests[_digest(secret)] = None
            while len(digests) > _MEMORY:
                del digests[next(iter(digests))]

    def _was_refused(self, refresh_token: str) -> bool:
        with self._guard:
            return _digest(refresh_token) in self._refused

    def _notify(self, refresh_token: str) -> None:
        if self._on_refresh_token is None:
            return
        try:
            self._on_refresh_token(refresh_token)
        except Exception as exc:  # the cache write still keeps the rotated token
            logger.error("on_refresh_token callback failed (%s); the rotated refresh token "
                         "is still stored in the token cache", type(exc).__name__)

    def __repr__(self) -> str:
        where = (f"issuer={safe_url(self.issuer)!r}" if self.issuer
                 else f"token_url={safe_url(self.token_url or '')!r}")
        return (f"{type(self).__name__}({where}, client_id={self.client_id!r}, "
                f"scope={self.scope!r}, public_client={self.public_client})")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()
