"""oauthlib ``RequestValidator``: the storage-facing half of the OAuth 2.0 server.

oauthlib calls these hooks while it runs the grants; they authenticate clients
(RFC 6749 §2.3.1), check scopes (§3.3), look up refresh tokens (§6) and save and
check bearer tokens (RFC 6750) in the in-memory ``TokenStore``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from oauthlib.oauth2 import RequestValidator  # type: ignore[import-untyped]

from refserver.stats import ServerStats
from refserver.tokens import TokenStore

__all__ = ["GRANT_TYPES", "CarsRequestValidator"]

GRANT_TYPES = frozenset({"client_credentials", "refresh_token"})


@dataclass(frozen=True)
class _Client:
    """oauthlib requires ``request.client.client_id`` after client authentication."""

    client_id: str


def _parse_basic(header: str) -> tuple[str, str] | None:
    """client_secret_basic: RFC 6749 §2.3.1 form-encodes id and secret before Basic."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return None
    return unquote_plus(client_id), unquote_plus(secret)


class CarsRequestValidator(RequestValidator):  # type: ignore[misc]
    """Storage side of oauthlib for confidential clients with a shared secret."""

    def __init__(
        self,
        *,
        clients: Mapping[str, str],
        scopes: frozenset[str],
        default_scope: str,
        tokens: TokenStore,
        stats: ServerStats,
        lifetime: float,
    ) -> None:
        super().__init__()
        self._clients = dict(clients)
        self._scopes = scopes
        self._default_scope = default_scope
        self._tokens = tokens
        self._stats = stats
        self._lifetime = lifetime

    # -- client authentication (RFC 6749 §2.3.1) -----------------------------------

    def client_authentication_required(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        return True

    def authenticate_client(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        header = request.headers.get("Authorization")
        basic = _parse_basic(header) if header else None
        if basic is not None:
            # RFC 6749 §2.3: a client MUST NOT use more than one method per request.
            if request.client_secret is not None:
                return False
            if request.client_id is not None and request.client_id != basic[0]:
                return False
            client_id, secret = basic
        elif header and header.split(" ", 1)[0].lower() == "basic":
            return False  # Basic was attempted but is malformed
        else:
            client_id, secret = request.client_id, request.client_secret
        if not isinstance(client_id, str) or not isinstance(secret, str):
            return False
        expected = self._clients.get(client_id)
        if expected is None or not hmac.compare_digest(
            expected.encode("utf-8"), secret.encode("utf-8")
        ):
            return False
        request.client = _Client(client_id)
        request.client_id = client_id
        return True

    def authenticate_client_id(
        self, client_id: str, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        return False  # no public clients

    def validate_grant_type(
        self, client_id: str, grant_type: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        return grant_type in GRANT_TYPES

    # -- scopes (RFC 6749 §3.3) ------------------------------------------------------

    def get_default_scopes(self, client_id: str, request: Any, *args: Any, **kwargs: Any) -> str:
        return self._default_scope

    def validate_scopes(
        self,
        client_id: str,
        scopes: list[str],
        client: Any,
        request: Any,
        *args: Any,
        **kwargs: Any,
    ) -> bool:
        return set(scopes) <= self._scopes

    def get_original_scopes(
        self, refresh_token: str, request: Any, *args: Any, **kwargs: Any
    ) -> list[str]:
        record = self._tokens.refresh(refresh_token)
        return sorted(record.scopes) if record else []

    # -- refresh tokens (RFC 6749 §6) --------------------------------------------------

    def validate_refresh_token(
        self, refresh_token: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        record = self._tokens.refresh(refresh_token)
        # A refresh token is bound to the client it was issued to (RFC 6749 §6).
        return record is not None and record.client_id == client.client_id

    def rotate_refresh_token(self, request: Any) -> bool:
        return True

    # -- issuing and checking bearer tokens ---------------------------------------------

    def save_bearer_token(self, token: Any, request: Any, *args: Any, **kwargs: Any) -> None:
        replaced = request.refresh_token if request.grant_type == "refresh_token" else None
        self._tokens.save(
            access_token=token["access_token"],
            client_id=request.client_id,
            scopes=frozenset(request.scopes or ()),
            # The exact lifetime, not the rounded-down ``expires_in`` sent to the client.
            lifetime=self._lifetime,
            refresh_token=token.get("refresh_token"),
            replaces_refresh_token=replaced,
        )
        self._stats.record_token_issued()

    def validate_bearer_token(self, token: str | None, scopes: list[str], request: Any) -> bool:
        # oauthlib only reports True/False; the reason rides on the request object.
        if not token:
            request.bearer_error = "missing"
            return False
        record = self._tokens.access(token)
        if record is None:
            request.bearer_error = "invalid_token"
            return False
        request.client_id = record.client_id
        request.scopes = sorted(record.scopes)
        if not set(scopes or ()) <= record.scopes:
            request.bearer_error = "insufficient_scope"
            return False
        return True
