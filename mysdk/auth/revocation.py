"""Token revocation (RFC 7009): tell the server a token is no longer needed."""

from __future__ import annotations

from typing import Any, Literal

import requests

from mysdk.auth._token_endpoint import ClientAuthMethod, request_form

__all__ = ["TokenTypeHint", "revoke_token"]

TokenTypeHint = Literal["refresh_token", "access_token"]
"""The ``token_type_hint`` values of RFC 7009 §2.1."""


def revoke_token(
    session: requests.Session,
    revocation_url: str,
    token: str,
    *,
    token_type_hint: TokenTypeHint,
    client_id: str,
    client_secret: str | None = None,
    auth_method: ClientAuthMethod = "client_secret_basic",
    timeout: Any,
) -> None:
    """Revoke one token at the revocation endpoint (RFC 7009 §2.1).

    A 200 means revoked, also for a token the server did not know (§2.2).
    Revoking a refresh token SHOULD also end the access tokens of the same
    grant (§2.1); revoke both when logging out (the refresh token first, so a
    thief cannot mint new access tokens in between).

    Args:
        session: The session to send it on (the client's TLS settings; none of
            its credentials are sent).
        revocation_url: The revocation endpoint (RFC 8414 ``revocation_endpoint``).
        token: The token to revoke. Never shown or logged.
        token_type_hint: ``"refresh_token"`` or ``"access_token"``.
        client_id: The client the token was issued to (RFC 6749 §2.2).
        client_secret: A confidential client's secret, or ``None`` (public).
        auth_method: How a confidential client authenticates (RFC 6749 §2.3.1).
        timeout: Seconds, a ``(connect, read)`` pair, or ``None``.

    Raises:
        TokenRequestError: The server refused (§2.2.1: ``unsupported_token_type``,
            ``invalid_client``, ...), or answered a 503 (``retryable``, with
            ``retry_after``) or something that is not an RFC 7009 answer.
        TransportError: The endpoint could not be reached.
        InvalidRequestError: The request could not be built.
    """
    request_form(session, revocation_url, {"token": token, "token_type_hint": token_type_hint},
                 client_id=client_id, client_secret=client_secret, auth_method=auth_method,
                 timeout=timeout, what="revocation request")
