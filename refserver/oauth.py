"""OAuth 2.0 token endpoint and bearer checks, built on oauthlib.

oauthlib does the protocol: grant dispatch and validation for
``client_credentials`` (RFC 6749 §4.4) and ``refresh_token`` (RFC 6749 §6),
token responses (§5.1), error responses (§5.2) and bearer extraction
(RFC 6750 §2.1). ``refserver.validator`` supplies the storage-facing hooks;
this module wires oauthlib's endpoint classes together.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import parse_qs

from oauthlib.oauth2 import (  # type: ignore[import-untyped]
    BearerToken,
    ClientCredentialsGrant,
    RefreshTokenGrant,
    ResourceEndpoint,
    TokenEndpoint,
)
from oauthlib.oauth2.rfc6749.errors import OAuth2Error  # type: ignore[import-untyped]

from refserver.validator import CarsRequestValidator

__all__ = ["BearerCheck", "CarsOAuth", "TokenResponse", "error_code_of", "grant_type_of"]

# oauthlib's DEBUG records contain token values (issued token dicts, refresh
# tokens being validated). Cap it at INFO unless someone chose a level on purpose.
_oauthlib_log = logging.getLogger("oauthlib")
if _oauthlib_log.level == logging.NOTSET:
    _oauthlib_log.setLevel(logging.INFO)


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
