"""OAuth2 token providers: client credentials (RFC 6749 §4.4) and refresh (§6)."""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import threading
from collections.abc import Mapping
from urllib.parse import urlsplit

import requests

from mysdk.auth._token_endpoint import ClientAuthMethod
from mysdk.auth.flow import TokenFlow, TokenPost, post_token, run_token_flow
from mysdk.errors import InvalidRequestError, TokenRequestError, safe_url
from mysdk.tokens.cache import cache_key
from mysdk.tokens.token import Token

__all__ = ["ClientCredentials"]

logger = logging.getLogger("mysdk.auth")

_RESERVED = frozenset({"grant_type", "client_id", "client_secret", "scope", "refresh_token"})
_REFUSED_MEMORY = 16  # refused refresh tokens remembered (as SHA-256 digests) per provider


class ClientCredentials:
    """The client credentials grant (RFC 6749 §4.4).

    The full grant request (scope and every extra parameter) is kept as
    configuration and sent again on every re-fetch. Its :attr:`cache_key`
    covers every one of those parameters (see :func:`mysdk.tokens.cache_key`),
    so two providers that differ only in ``audience`` or ``resource`` never
    share a cached token.

    When a token carries a ``refresh_token``, the refresh grant (RFC 6749 §6) is
    tried first. If the server refuses it (any RFC 6749 §5.2 error, or an
    answer that is not a valid token response) the provider makes exactly one
    client credentials request instead and never sends that refresh token
    again; the new token carries no refresh token unless the server issued
    one. A transient failure (a 5xx, a 429, ``temporarily_unavailable``, a
    transport error) is raised as it is, for the caller's retry policy.

    Token requests carry only this client's authentication, never the
    credentials of the session they are sent on (see
    :func:`mysdk.auth._token_endpoint.request_token`).

    Args:
        token_url: The token endpoint URL (RFC 6749 §3.2). Must be ``https://``:
            RFC 6749 §3.2 requires TLS at the token endpoint, where the client
            secret and tokens travel. ``http://`` is accepted for a loopback
            host (``localhost``, 127.0.0.0/8, ``::1``) or with ``allow_http``.
        client_id: The client identifier (RFC 6749 §2.2).
        client_secret: The client secret (RFC 6749 §2.3.1). Never shown in repr.
        scope: Space-separated scopes to request (RFC 6749 §3.3), or ``None``.
        auth_method: ``"client_secret_basic"`` (default) or ``"client_secret_post"``.
        extra_params: More form fields (names and values are strings) for every
            token request, e.g. ``{"audience": "https://api.example.com"}`` or
            RFC 8707 ``{"resource": ...}``.
        allow_http: Accept an ``http://`` token URL on a non-loopback host
            (e.g. behind a TLS-terminating sidecar). Default False.

    Raises:
        InvalidRequestError: (a ``ValueError``) naming the argument: a required
            argument is empty or not a string, ``token_url`` is not an absolute
            https URL (or http as allowed above), ``auth_method`` is unknown, or
            ``extra_params`` is not a mapping of strings or tries to override a
            grant field.
    """

    grant_type = "client_credentials"

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str | None = None,
        auth_method: ClientAuthMethod = "client_secret_basic",
        extra_params: Mapping[str, str] | None = None,
        allow_http: bool = False,
    ) -> None:
        for name, value in (("token_url", token_url), ("client_id", client_id),
                            ("client_secret", client_secret)):
            if not isinstance(value, str) or not value:
                raise InvalidRequestError(f"ClientCredentials.{name} must be a non-empty string")
        _check_token_url(token_url, allow_http=allow_http)
        if scope is not None and not isinstance(scope, str):
            raise InvalidRequestError("ClientCredentials.scope must be a string or None")
        if auth_method not in ("client_secret_basic", "client_secret_post"):
            raise InvalidRequestError(
                "ClientCredentials.auth_method must be 'client_secret_basic' or "
                f"'client_secret_post', got {auth_method!r}"
            )
        params = _check_extra_params(extra_params)
        self.token_url = token_url
        self.client_id = client_id
        self._client_secret = client_secret
        self.scope = scope
        self.auth_method: ClientAuthMethod = auth_method
        self.extra_params = params
        self.allow_http = allow_http
        self._cache_key = cache_key(token_url, client_id, scope, grant_type=self.grant_type,
                                    params=params)
        self._guard = threading.Lock()
        self._refused: dict[str, None] = {}  # digests of refused refresh tokens, oldest first

    @property
    def cache_key(self) -> str:
        """Key of this grant in a token cache: ``"mysdk-token-v2-<sha256 hex>"``.

        Covers token URL, client id, grant type, scope and every extra
        parameter (see :func:`mysdk.tokens.cache_key`).
        """
        return self._cache_key

    def token_flow(self, previous: Token | None) -> TokenFlow:
        """The provider's logic, without I/O (see :mod:`mysdk.auth.flow`).

        Yields one :class:`~mysdk.auth.flow.TokenPost` per token request: the
        refresh grant (RFC 6749 §6) first when ``previous`` carries a refresh
        token the server has not refused before; when that is refused for
        good, one client credentials request (§4.4.2). Driven by
        :meth:`fetch_token` (requests) and by the async client (httpx).

        Returns:
            The new token; after a refresh grant without a new refresh token it
            carries the one sent (RFC 6749 §6: the server MAY keep it).

        Raises:
            TokenRequestError, TransportError: As :meth:`fetch_token`.
        """
        refresh_token = previous.refresh_token if previous is not None else None
        if refresh_token and not self._was_refused(refresh_token):
            refused: TokenRequestError | None = None
            try:
                token = yield from post_token(self._post(self._form(
                    grant_type="refresh_token", refresh_token=refresh_token)))
            except TokenRequestError as exc:
                if exc.retryable:
                    raise  # transient: the caller's retry policy decides
                refused = exc
            else:
                if token.refresh_token is None:
                    # RFC 6749 §6: the server MAY keep the old refresh token; keep using it.
                    token = token.replace(refresh_token=refresh_token)
                return token
            # Refused for good (expired, revoked, rotated away, client not allowed
            # the grant, ...; RFC 6749 §5.2): drop it, use the client's own grant.
            assert refused is not None
            self._remember_refused(refresh_token)
            logger.info("refresh grant refused (%s, HTTP %s); using client credentials",
                        refused.error, refused.status_code)
        return (yield from post_token(self._post(self._form(grant_type=self.grant_type))))

    def fetch_token(
        self, session: requests.Session, *, timeout: object, previous: Token | None
    ) -> Token:
        """Get a new token: refresh grant first when possible, else client credentials.

        Runs :meth:`token_flow` with requests on ``session``.

        Args:
            session: The session to send the token request on.
            timeout: Seconds, a ``(connect, read)`` pair, or ``None``.
            previous: The token being replaced; its ``refresh_token`` (unless
                the server refused it before) is tried first (RFC 6749 §6).

        Returns:
            The new, validated token.

        Raises:
            TokenRequestError: The endpoint refused the client credentials grant
                (RFC 6749 §5.2), refused the refresh grant transiently (5xx, 429,
                ``temporarily_unavailable``; ``retryable`` is True), or did not
                answer with a valid token response (``invalid_response``).
            TransportError: The endpoint could not be reached.
        """
        return run_token_flow(self.token_flow(previous), session, timeout=timeout)

    def _form(self, **grant: str) -> dict[str, str]:
        form = {**grant, **self.extra_params}
        if self.scope:
            form["scope"] = self.scope
        return form

    def _post(self, form: dict[str, str]) -> TokenPost:
        return TokenPost(self.token_url, form, self.client_id, self._client_secret,
                         self.auth_method)

    def _was_refused(self, refresh_token: str) -> bool:
        with self._guard:
            return _digest(refresh_token) in self._refused

    def _remember_refused(self, refresh_token: str) -> None:
        with self._guard:
            self._refused[_digest(refresh_token)] = None
            while len(self._refused) > _REFUSED_MEMORY:
                del self._refused[next(iter(self._refused))]

    def __repr__(self) -> str:
        return (
            f"ClientCredentials(token_url={safe_url(self.token_url)!r}, "
            f"client_id={self.client_id!r}, scope={self.scope!r}, "
            f"auth_method={self.auth_method!r}, client_secret='***')"
        )


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def _check_token_url(token_url: str, *, allow_http: bool) -> None:
    """Raise InvalidRequestError unless ``token_url`` is https, or http where allowed."""
    scheme = host = ""
    try:
        parts = urlsplit(token_url)
        scheme, host = parts.scheme.lower(), parts.hostname or ""
        _ = parts.port  # a malformed port raises ValueError
    except ValueError:
        scheme = ""
    shown = safe_url(token_url)
    if scheme not in ("https", "http") or not host:
        raise InvalidRequestError(
            f"ClientCredentials.token_url must be an absolute https:// URL, got {shown!r}")
    if scheme == "http" and not allow_http and not _is_loopback(host):
        raise InvalidRequestError(
            f"ClientCredentials.token_url must use https (RFC 6749 §3.2 requires TLS for "
            f"the token endpoint), got {shown!r}; http is accepted only for a loopback host "
            "or with allow_http=True")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_extra_params(extra_params: Mapping[str, str] | None) -> dict[str, str]:
    if extra_params is None:
        return {}
    if not isinstance(extra_params, Mapping):
        raise InvalidRequestError("ClientCredentials.extra_params must be a mapping")
    params = dict(extra_params)
    for name, value in params.items():
        if not isinstance(name, str) or not name or not isinstance(value, str):
            raise InvalidRequestError(
                "ClientCredentials.extra_params must map non-empty string names to strings")
    clash = _RESERVED.intersection(params)
    if clash:
        raise InvalidRequestError(f"ClientCredentials.extra_params may not set {sorted(clash)}")
    return params
