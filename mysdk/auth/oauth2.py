"""OAuth2 token providers: client credentials (RFC 6749 §4.4) and refresh (§6)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import requests

from mysdk.auth._token_endpoint import ClientAuthMethod, request_token
from mysdk.errors import TokenRequestError, safe_url
from mysdk.tokens.cache import cache_key
from mysdk.tokens.token import Token

__all__ = ["ClientCredentials"]

logger = logging.getLogger("mysdk.auth")

_RESERVED = frozenset({"grant_type", "client_id", "client_secret", "scope", "refresh_token"})


class ClientCredentials:
    """The client credentials grant (RFC 6749 §4.4).

    The full grant request (scope and every extra parameter) is kept as
    configuration and sent again on every re-fetch. When a token carries a
    ``refresh_token``, the refresh grant (RFC 6749 §6) is tried first; on
    ``invalid_grant`` the provider falls back to client credentials.

    Args:
        token_url: The token endpoint URL (RFC 6749 §3.2).
        client_id: The client identifier (RFC 6749 §2.2).
        client_secret: The client secret (RFC 6749 §2.3.1). Never shown in repr.
        scope: Space-separated scopes to request (RFC 6749 §3.3), or ``None``.
        auth_method: ``"client_secret_basic"`` (default) or ``"client_secret_post"``.
        extra_params: More form fields for every token request, e.g.
            ``{"audience": "https://api.example.com"}``.

    Raises:
        ValueError: A required argument is empty, ``auth_method`` is unknown,
            or ``extra_params`` tries to override a grant field.
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
    ) -> None:
        for name, value in (("token_url", token_url), ("client_id", client_id),
                            ("client_secret", client_secret)):
            if not isinstance(value, str) or not value:
                raise ValueError(f"ClientCredentials.{name} must be a non-empty string")
        if auth_method not in ("client_secret_basic", "client_secret_post"):
            raise ValueError(
                "ClientCredentials.auth_method must be 'client_secret_basic' or "
                f"'client_secret_post', got {auth_method!r}"
            )
        clash = _RESERVED.intersection(extra_params or {})
        if clash:
            raise ValueError(f"ClientCredentials.extra_params may not set {sorted(clash)}")
        self.token_url = token_url
        self.client_id = client_id
        self._client_secret = client_secret
        self.scope = scope
        self.auth_method: ClientAuthMethod = auth_method
        self.extra_params = dict(extra_params or {})
        self._cache_key = cache_key(token_url, client_id, scope)

    @property
    def cache_key(self) -> str:
        """Key of this identity (token URL, client id, scope) in a token cache."""
        return self._cache_key

    def fetch_token(
        self, session: requests.Session, *, timeout: object, previous: Token | None
    ) -> Token:
        """Get a new token: refresh grant first when possible, else client credentials.

        Raises:
            TokenRequestError: The endpoint refused (RFC 6749 §5.2).
            TransportError: The endpoint could not be reached.
        """
        if previous is not None and previous.refresh_token:
            try:
                return self._refresh(session, timeout, previous.refresh_token)
            except TokenRequestError as exc:
                if exc.error != "invalid_grant":
                    raise
                # The refresh token expired, was revoked or rotated away (RFC 6749 §5.2).
                logger.info("refresh token refused (invalid_grant); using client credentials")
        form = {"grant_type": self.grant_type, **self.extra_params}
        if self.scope:
            form["scope"] = self.scope
        return self._post(session, timeout, form)

    def _refresh(self, session: requests.Session, timeout: object, refresh_token: str) -> Token:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token, **self.extra_params}
        if self.scope:
            form["scope"] = self.scope
        token = self._post(session, timeout, form)
        if token.refresh_token is None:
            # RFC 6749 §6: the server MAY keep the old refresh token; keep using it.
            token = token.replace(refresh_token=refresh_token)
        return token

    def _post(self, session: requests.Session, timeout: object, form: dict[str, str]) -> Token:
        return request_token(
            session, self.token_url, form, client_id=self.client_id,
            client_secret=self._client_secret, auth_method=self.auth_method, timeout=timeout,
        )

    def __repr__(self) -> str:
        return (
            f"ClientCredentials(token_url={safe_url(self.token_url)!r}, "
            f"client_id={self.client_id!r}, scope={self.scope!r}, "
            f"auth_method={self.auth_method!r}, client_secret='***')"
        )
