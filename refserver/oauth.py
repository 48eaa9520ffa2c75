"""OAuth 2.0 authorization and bearer checks, built on oauthlib.

oauthlib does the protocol: grant dispatch and validation for
``client_credentials`` (RFC 6749 §4.4) and ``refresh_token`` (RFC 6749 §6),
token responses (§5.1), error responses (§5.2) and bearer extraction
(RFC 6750 §2.1). This module supplies the storage-facing ``RequestValidator``
and wires oauthlib's endpoint classes together.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import parse_qs, unquote_plus

from oauthlib.oauth2 import (  # type: ignore[import-untyped]
    BearerToken,
    ClientCredentialsGrant,
    RefreshTokenGrant,
    RequestValidator,
    ResourceEndpoint,
    TokenEndpoint,
)
from oauthlib.oauth2.rfc6749.errors import OAuth2Error  # type: ignore[import-untyped]

from refserver.stats import ServerStats
from refserver.tokens import TokenStore

__all__ = ["BearerCheck", "CarsOAuth", "CarsRequestValidator", "TokenResponse"]

# oauthlib's DEBUG records contain token values (issued token dicts, refresh
# tokens being validated). Cap it at INFO unless someone chose a level on purpose.
_oauthlib_log = logging.getLogger("oauthlib")
if _oauthlib_log.level == logging.NOTSET:
    _oauthlib_log.setLevel(logging.INFO)

GRANT_TYPES = frozenset({"client_credentials", "refresh_token"})


@dataclass(frozen=True)
class _Client:
    """oauthlib requires ``request.client.client_id`` after client authentication."""

    client_id: str


@dataclass(frozen=True)
class TokenResponse:
    status: int
    headers: dict[str, str]
    body: str


@dataclass(frozen=True)
class BearerCheck:
    """Outcome of an RFC 6750 bearer check.

    ``error`` is None on success, else "missing" (no credentials: RFC 6750 §3.1 says
    send no error code), "invalid_token" or "insufficient_scope".
    """

    client_id: str | None
    error: str | None


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


class _AlwaysRefreshToken:
    """Token-handler proxy that makes ``create_token`` include a refresh token."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def create_token(self, request: Any, refresh_token: bool = False, **kwargs: Any) -> Any:
        return self._inner.create_token(request, refresh_token=True, **kwargs)


class RefreshingClientCredentialsGrant(ClientCredentialsGrant):  # type: ignore[misc]
    """Client credentials grant that also issues a refresh token.

    oauthlib follows RFC 6749 §4.4.3 ("A refresh token SHOULD NOT be included")
    by hard-coding ``refresh_token=False``; with ``issue_refresh_tokens`` on, this
    swaps in a token handler that asks for one, so SDK tests can exercise the
    refresh grant. Everything else is oauthlib's own grant.
    """

    def create_token_response(self, request: Any, token_handler: Any) -> Any:
        return super().create_token_response(request, _AlwaysRefreshToken(token_handler))


class CarsOAuth(TokenEndpoint, ResourceEndpoint):  # type: ignore[misc]
    """Token endpoint (client_credentials, refresh_token) plus bearer resource checks."""

    def __init__(
        self, validator: CarsRequestValidator, *, lifetime: float, issue_refresh_tokens: bool
    ) -> None:
        grant_cls = (
            RefreshingClientCredentialsGrant if issue_refresh_tokens else ClientCredentialsGrant
        )
        # A callable: oauthlib replaces a falsy int (a 0 s lifetime) with 3600, and
        # ``expires_in`` is whole seconds (RFC 6749 §5.1), rounded down here.
        whole_seconds = int(lifetime)
        bearer = BearerToken(validator, expires_in=lambda _request: whole_seconds)
        # Unknown grant types fall through to the default handler, whose own check
        # answers unsupported_grant_type (RFC 6749 §5.2).
        TokenEndpoint.__init__(
            self,
            default_grant_type="client_credentials",
            default_token_type=bearer,
            grant_types={
                "client_credentials": grant_cls(validator),
                "refresh_token": RefreshTokenGrant(validator),
            },
        )
        ResourceEndpoint.__init__(self, default_token="Bearer", token_types={"Bearer": bearer})

    def token_response(self, uri: str, body: str, headers: Mapping[str, str]) -> TokenResponse:
        """Answer one POST to the token endpoint (RFC 6749 §5.1 / §5.2)."""
        try:
            out_headers, out_body, status = self.create_token_response(
                uri, http_method="POST", body=body, headers=dict(headers)
            )
        except OAuth2Error as exc:
            # Endpoint-level checks (e.g. a query string on the token URI) raise
            # instead of returning; grants return their errors themselves.
            out_headers, out_body, status = dict(exc.headers), exc.json, exc.status_code
            out_headers["Content-Type"] = "application/json"
            out_headers["Cache-Control"] = "no-store"
        out = {str(k): str(v) for k, v in dict(out_headers).items()}
        out_body = _with_description(str(out_body))
        if int(status) == 401:
            # oauthlib always challenges with "Bearer"; for client authentication the
            # scheme must match the one the client can use: Basic (RFC 6749 §5.2).
            out["WWW-Authenticate"] = 'Basic realm="cars-api"'
        return TokenResponse(int(status), out, str(out_body))

    def check_bearer(
        self, method: str, authorization: str | None, scope: str | None
    ) -> BearerCheck:
        """Validate ``Authorization: Bearer`` (RFC 6750 §2.1) against the token store.

        Only the header is consulted: the URI and body are not passed on, so
        tokens in query strings (RFC 6750 §2.3, discouraged) are not accepted.
        """
        headers = {"Authorization": authorization} if authorization else {}
        valid, request = self.verify_request(
            "http://refserver.invalid/",
            http_method=method,
            body=None,
            headers=headers,
            scopes=[scope] if scope else [],
        )
        if valid:
            return BearerCheck(cast(str, request.client_id), None)
        return BearerCheck(None, getattr(request, "bearer_error", "invalid_token"))


# oauthlib leaves error_description empty for these; it is OPTIONAL (RFC 6749 §5.2)
# but SDK error messages are better with it.
_DESCRIPTIONS = {
    "invalid_client": "client authentication failed",
    "invalid_grant": "refresh token is invalid, expired, revoked or issued to another client",
    "unsupported_grant_type": "grant_type must be client_credentials or refresh_token",
    "invalid_scope": "requested scope is invalid or unknown",
    "unauthorized_client": "client may not use this grant type",
    "invalid_request": "malformed token request",
}


def _with_description(body: str) -> str:
    try:
        payload = json.loads(body)
    except ValueError:
        return body
    if not isinstance(payload, dict) or "error" not in payload or payload.get("error_description"):
        return body
    description = _DESCRIPTIONS.get(str(payload["error"]))
    if description is None:
        return body
    payload["error_description"] = description
    return json.dumps(payload)


def grant_type_of(body: str) -> str:
    """Best-effort grant_type of a token request, for stats only."""
    values = parse_qs(body, keep_blank_values=True).get("grant_type")
    return values[0] if values and values[0] else "(none)"


def error_code_of(body: str) -> str | None:
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    return payload.get("error") if isinstance(payload, dict) else None
