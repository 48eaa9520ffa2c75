"""What the client needs from auth: stamp a request, and react to a 401."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Protocol, runtime_checkable

import requests

from mysdk.tokens.token import Token

__all__ = ["AsyncCredentials", "Credentials", "TokenProvider"]


@runtime_checkable
class Credentials(Protocol):
    """Applies credentials to one request; the client calls it per attempt.

    Implemented by :class:`~mysdk.auth.StaticToken` and by the token manager
    that wraps a :class:`TokenProvider`.
    """

    def apply(self, headers: MutableMapping[str, str]) -> object:
        """Set the credential header(s) in ``headers`` (a per-call copy).

        Returns:
            A handle on the credential used, passed back to
            :meth:`on_unauthorized` if the server answers 401.
        """
        ...

    def on_unauthorized(self, used: object) -> bool:
        """React to a 401 for a request sent with ``used``.

        Returns:
            True when new credentials were obtained and one replay makes sense.

        Raises:
            AuthError: Obtaining new credentials failed.
        """
        ...


@runtime_checkable
class AsyncCredentials(Protocol):
    """:class:`Credentials` for the async client: the same two calls, awaited.

    Implemented by :class:`~mysdk.auth.manager_async.AsyncTokenManager`.
    """

    async def apply(self, headers: MutableMapping[str, str]) -> object:
        """Set the credential header(s) in ``headers``; a handle on what was used."""
        ...

    async def on_unauthorized(self, used: object) -> bool:
        """React to a 401 for ``used``; True when a replay makes sense.

        Raises:
            AuthError: Obtaining new credentials failed.
        """
        ...


@runtime_checkable
class TokenProvider(Protocol):
    """Obtains OAuth2 tokens from an authorization server.

    The client wraps a provider in a token manager that caches its tokens,
    refreshes them before expiry and after a 401, and makes every fetch
    single-flight. Providers only talk to the token endpoint.

    The sync :class:`~mysdk.Client` calls :meth:`fetch_token`. The async
    client cannot (it would block its event loop on requests): it needs a
    provider that also has ``token_flow(previous)``, the provider's logic as a
    sans-I/O generator (:mod:`mysdk.auth.flow`) that yields a
    :class:`~mysdk.auth.flow.TokenPost` per token request (and a
    :class:`~mysdk.auth.flow.MetadataRequest` for discovery), is sent the
    :class:`~mysdk.tokens.Token` (or has the request's error thrown in) and
    returns the new token. The built-in providers have it, and their
    ``fetch_token`` is ``run_token_flow(self.token_flow(previous), session,
    timeout=timeout)``, so both clients run the same logic. A provider with
    ``fetch_token`` only is refused by the async client with an
    :class:`~mysdk.errors.InvalidRequestError` naming ``token_flow``.
    """

    @property
    def cache_key(self) -> str:
        """Key of this identity in a token cache (see :func:`mysdk.tokens.cache_key`)."""
        ...

    def fetch_token(
        self, session: requests.Session, *, timeout: object, previous: Token | None
    ) -> Token:
        """Request a new token.

        Args:
            session: The session to send the token request on (the client's,
                so TLS settings, proxies and mTLS apply). Never the API path:
                token requests are not reauthenticated or retried by it.
            timeout: Seconds (number, ``(connect, read)`` pair or ``None``).
            previous: The token being replaced, if any; a provider that holds a
                refresh grant uses ``previous.refresh_token`` first (RFC 6749 §6).

        Returns:
            The new token, ``issued_at`` set to when the request was sent.

        Raises:
            TokenRequestError: The endpoint refused (RFC 6749 §5.2) or answered
                something that is not a token response.
            TransportError: The token endpoint could not be reached.
        """
        ...
