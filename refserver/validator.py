"""oauthlib ``RequestValidator``: the storage-facing half of the OAuth 2.0 server.

oauthlib calls these hooks while it runs the grants; they authenticate clients
(RFC 6749 §2.3.1; public clients by ``client_id`` alone, §2.1), check scopes
(§3.3), look up refresh tokens (§6), device codes (RFC 8628 §3.5) and
authorization codes with their PKCE challenge (RFC 7636 §4.6), check loopback
redirect URIs (RFC 8252 §7.3), revoke tokens (RFC 7009) and save and check
bearer tokens (RFC 6750) in the in-memory stores.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus, urlsplit

from oauthlib.oauth2.rfc8628.request_validator import (  # type: ignore[import-untyped]
    RequestValidator,
)

from refserver.grants import AuthorizationCode, CodeStore, DeviceStore
from refserver.stats import ServerStats
from refserver.tokens import TokenStore

__all__ = [
    "DEVICE_GRANT",
    "GRANT_TYPES",
    "PUBLIC_GRANT_TYPES",
    "CarsRequestValidator",
    "parse_basic",
]

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
#: Grants of confidential clients; a public client (no secret) may not use
#: client_credentials (RFC 6749 §4.4: confidential clients only).
GRANT_TYPES = frozenset({"client_credentials", "refresh_token", "authorization_code",
                         DEVICE_GRANT})
PUBLIC_GRANT_TYPES = frozenset({"refresh_token", "authorization_code", DEVICE_GRANT})


@dataclass(frozen=True)
class _Client:
    """oauthlib requires ``request.client.client_id`` after client authentication."""

    client_id: str


def parse_basic(header: str) -> tuple[str, str] | None:
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


def _is_loopback_redirect(uri: str) -> bool:
    """RFC 8252 §7.3: ``http`` on a loopback IP literal, any port, no fragment."""
    try:
        parts = urlsplit(uri)
        host = parts.hostname or ""
        _ = parts.port
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
    return parts.scheme == "http" and loopback and not parts.fragment


class CarsRequestValidator(RequestValidator):  # type: ignore[misc]
    """Storage side of oauthlib: confidential clients with a secret, and public clients."""

    def __init__(
        self,
        *,
        clients: Mapping[str, str],
        scopes: frozenset[str],
        default_scope: str,
        tokens: TokenStore,
        stats: ServerStats,
        lifetime: float,
        public_clients: frozenset[str] = frozenset(),
        devices: DeviceStore | None = None,
        codes: CodeStore | None = None,
    ) -> None:
        super().__init__()
        self._clients = dict(clients)
        self._public = frozenset(public_clients)
        self._scopes = scopes
        self._default_scope = default_scope
        self._tokens = tokens
        self._stats = stats
        self._lifetime = lifetime
        self.devices = devices
        self.codes = codes
        self.code_lifetime = 60.0  # seconds; RFC 6749 §4.1.2 recommends at most 10 minutes

    # -- client authentication (RFC 6749 §2.3.1) -----------------------------------

    def client_authentication_required(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        # A public client identifies itself by client_id alone (RFC 6749 §2.1,
        # §3.2.1); whoever sends credentials is authenticated by them.
        if request.headers.get("Authorization") or request.client_secret is not None:
            return True
        return request.client_id not in self._public

    def authenticate_client(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        header = request.headers.get("Authorization")
        basic = parse_basic(header) if header else None
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
        if client_id not in self._public:
            return False
        request.client = _Client(client_id)
        return True

    def validate_client_id(self, client_id: str, request: Any, *args: Any, **kwargs: Any) -> bool:
        return client_id in self._public or client_id in self._clients

    def validate_grant_type(
        self, client_id: str, grant_type: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        allowed = PUBLIC_GRANT_TYPES if client_id in self._public else GRANT_TYPES
        return grant_type in allowed

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

    # -- device authorization grant (RFC 8628) --------------------------------------

    def validate_device_code(
        self, client_id: str, code: str, request: Any, *args: Any, **kwargs: Any
    ) -> str | None:
        assert self.devices is not None
        status, grant = self.devices.poll(client_id, code)
        if status == "authorized" and grant is not None:
            request.scopes = list(grant.scopes)
            request.user = grant.user
        return status

    # -- authorization code grant with PKCE (RFC 6749 §4.1, RFC 7636) --------------

    def validate_redirect_uri(
        self, client_id: str, redirect_uri: str, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        return _is_loopback_redirect(redirect_uri)

    def get_default_redirect_uri(
        self, client_id: str, request: Any, *args: Any, **kwargs: Any
    ) -> str | None:
        return None  # every authorization request names its loopback redirect URI

    def validate_response_type(
        self, client_id: str, response_type: str, client: Any, request: Any, *args: Any,
        **kwargs: Any,
    ) -> bool:
        return bool(response_type == "code")

    def is_pkce_required(self, client_id: str, request: Any) -> bool:
        return True  # RFC 9700 §2.1.1: PKCE for every client

    def save_authorization_code(
        self, client_id: str, code: dict[str, str], request: Any, *args: Any, **kwargs: Any
    ) -> None:
        assert self.codes is not None
        self.codes.add(code["code"], AuthorizationCode(
            client_id=client_id,
            redirect_uri=request.redirect_uri,
            scopes=tuple(request.scopes or ()),
            user=str(request.user),
            expires_at=self.codes.lifetime_from_now(self.code_lifetime),
            challenge=request.code_challenge,
            challenge_method=request.code_challenge_method,
        ))

    def validate_code(
        self, client_id: str, code: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        assert self.codes is not None
        record = self.codes.get(code)
        if record is None or record.client_id != client_id:
            return False
        request.scopes = list(record.scopes)
        request.user = record.user
        return True

    def get_code_challenge(self, code: str, request: Any) -> str | None:
        assert self.codes is not None
        record = self.codes.get(code)
        return record.challenge if record else None

    def get_code_challenge_method(self, code: str, request: Any) -> str | None:
        assert self.codes is not None
        record = self.codes.get(code)
        return record.challenge_method if record else None

    def confirm_redirect_uri(
        self, client_id: str, code: str, redirect_uri: str, client: Any, request: Any,
        *args: Any, **kwargs: Any,
    ) -> bool:
        assert self.codes is not None
        record = self.codes.get(code)
        return record is not None and record.redirect_uri == redirect_uri

    def invalidate_authorization_code(
        self, client_id: str, code: str, request: Any, *args: Any, **kwargs: Any
    ) -> None:
        assert self.codes is not None
        self.codes.discard(code)  # a code is good for one token request (§4.1.2)

    # -- revocation (RFC 7009) -------------------------------------------------------

    def revoke_token(
        self, token: str, token_type_hint: str | None, request: Any, *args: Any, **kwargs: Any
    ) -> None:
        if self._tokens.revoke(token, request.client_id) is not None:
            self._stats.record_revocation()

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
