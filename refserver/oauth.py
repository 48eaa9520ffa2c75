"""OAuth 2.0 endpoints and bearer checks, built on oauthlib.

oauthlib does the protocol: grant dispatch and validation for
``client_credentials`` (RFC 6749 §4.4), ``refresh_token`` (§6),
``authorization_code`` with PKCE (§4.1, RFC 7636; S256 only) and the device
code grant (RFC 8628 §3.4, §3.5), token responses (§5.1), error responses
(§5.2), the authorization endpoint (§3.1), token revocation (RFC 7009) and
bearer extraction (RFC 6750 §2.1). ``refserver.validator`` supplies the
storage-facing hooks; this module wires oauthlib's endpoint classes together.
The device authorization endpoint (RFC 8628 §3.1) and the server metadata
(RFC 8414) need the issuer URL, known once the server is bound:
:class:`LoginEndpoints`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, cast
from urllib.parse import parse_qs

from oauthlib.oauth2 import (  # type: ignore[import-untyped]
    AuthorizationCodeGrant,
    AuthorizationEndpoint,
    BearerToken,
    ClientCredentialsGrant,
    DeviceAuthorizationEndpoint,
    MetadataEndpoint,
    RefreshTokenGrant,
    ResourceEndpoint,
    RevocationEndpoint,
    TokenEndpoint,
)
from oauthlib.oauth2.rfc6749.errors import (  # type: ignore[import-untyped]
    FatalClientError,
    OAuth2Error,
)
from oauthlib.oauth2.rfc6749.grant_types.authorization_code import (  # type: ignore[import-untyped]
    code_challenge_method_s256,
)
from oauthlib.oauth2.rfc8628.grant_types import DeviceCodeGrant  # type: ignore[import-untyped]

from refserver.grants import generate_user_code
from refserver.validator import DEVICE_GRANT, CarsRequestValidator

__all__ = [
    "BearerCheck",
    "CarsOAuth",
    "LoginEndpoints",
    "TokenResponse",
    "error_code_of",
    "grant_type_of",
]

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


class S256AuthorizationCodeGrant(AuthorizationCodeGrant):  # type: ignore[misc]
    """oauthlib's authorization code grant, PKCE with ``S256`` only (RFC 7636 §4.2).

    ``plain`` (and a request without ``code_challenge_method``, which means
    ``plain``) is refused with ``invalid_request`` (RFC 9700 §2.1.1).
    """

    _code_challenge_methods: ClassVar[dict[str, Any]] = {"S256": code_challenge_method_s256}


class CarsOAuth(
    AuthorizationEndpoint, TokenEndpoint, ResourceEndpoint, RevocationEndpoint,  # type: ignore[misc]
):
    """Authorization, token and revocation endpoints plus bearer resource checks.

    ``issuer`` (set once the server is bound) is added to every authorization
    response as ``iss`` (RFC 9207 §2).
    """

    def __init__(
        self, validator: CarsRequestValidator, *, lifetime: float, issue_refresh_tokens: bool
    ) -> None:
        grant_cls = (
            RefreshingClientCredentialsGrant if issue_refresh_tokens else ClientCredentialsGrant
        )
        self.validator = validator
        self.issuer = ""
        # A callable: oauthlib replaces a falsy int (a 0 s lifetime) with 3600, and
        # ``expires_in`` is whole seconds (RFC 6749 §5.1), rounded down here.
        whole_seconds = int(lifetime)
        bearer = BearerToken(validator, expires_in=lambda _request: whole_seconds)
        code_grant = S256AuthorizationCodeGrant(validator)
        code_grant.register_code_modifier(self._add_issuer)
        AuthorizationEndpoint.__init__(
            self, default_response_type="code", default_token_type=bearer,
            response_types={"code": code_grant},
        )
        # Unknown grant types fall through to the default handler, whose own check
        # answers unsupported_grant_type (RFC 6749 §5.2).
        TokenEndpoint.__init__(
            self,
            default_grant_type="client_credentials",
            default_token_type=bearer,
            grant_types={
                "client_credentials": grant_cls(validator),
                "refresh_token": RefreshTokenGrant(validator),
                "authorization_code": code_grant,
                DEVICE_GRANT: DeviceCodeGrant(validator),
            },
        )
        ResourceEndpoint.__init__(self, default_token="Bearer", token_types={"Bearer": bearer})
        RevocationEndpoint.__init__(self, validator)

    def _add_issuer(
        self, grant: dict[str, str], token_handler: Any, request: Any
    ) -> dict[str, str]:
        if self.issuer:
            grant["iss"] = self.issuer  # RFC 9207 §2
        return grant

    def authorization_response(
        self, uri: str, headers: Mapping[str, str], *, user: str
    ) -> TokenResponse:
        """Answer ``GET /oauth/authorize`` for ``user``, who consents at once (RFC 6749 §4.1.1).

        A valid request is redirected (302) to its redirect URI with ``code``,
        ``state`` and ``iss``; an error that may be redirected is (§4.1.2.1);
        one that may not (unknown client, a redirect URI that is not loopback,
        §3.1.2.4) is a 400 JSON error shown to the user instead.
        """
        try:
            out_headers, _body, status = self.create_authorization_response(
                uri, http_method="GET", body=None, headers=dict(headers),
                credentials={"user": user},
            )
        except FatalClientError as exc:
            return TokenResponse(int(exc.status_code), {"Content-Type": "application/json"},
                                 _with_description(str(exc.json)))
        except OAuth2Error as exc:  # e.g. a duplicated parameter
            return TokenResponse(int(exc.status_code), {"Content-Type": "application/json"},
                                 _with_description(str(exc.json)))
        out = {str(k): str(v) for k, v in dict(out_headers).items()}
        return TokenResponse(int(status), out, "")

    def revocation_response(self, uri: str, body: str, headers: Mapping[str, str]) -> TokenResponse:
        """Answer one POST to the revocation endpoint (RFC 7009 §2.1, §2.2)."""
        out_headers, out_body, status = self.create_revocation_response(
            uri, http_method="POST", body=body, headers=dict(headers))
        out = {str(k): str(v) for k, v in dict(out_headers).items()}
        out_body = _with_description(str(out_body or ""))
        if int(status) == 401:
            out["WWW-Authenticate"] = 'Basic realm="cars-api"'
        return TokenResponse(int(status), out, out_body)

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


class LoginEndpoints:
    """Device authorization (RFC 8628 §3.1) and server metadata (RFC 8414 §3), for one issuer.

    Args:
        oauth: The server's other endpoints (their URLs go into the metadata).
        issuer: The issuer URL, ``http://127.0.0.1:PORT`` (the metadata's
            ``issuer``, RFC 8414 §2).
        scopes: The ``scopes_supported``.
        device_lifetime: Seconds a device code and user code live (``expires_in``).
        device_interval: Seconds a device waits between polls (``interval``).
    """

    def __init__(self, oauth: CarsOAuth, *, issuer: str, scopes: frozenset[str],
                 device_lifetime: int, device_interval: int) -> None:
        self.issuer = issuer
        self.oauth = oauth
        self.device = DeviceAuthorizationEndpoint(
            oauth.validator,
            verification_uri=f"{issuer}/device",
            expires_in=device_lifetime,
            interval=device_interval,
            verification_uri_complete=f"{issuer}/device?user_code={{user_code}}",
            user_code_generator=generate_user_code,
        )
        claims: dict[str, Any] = {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/oauth/authorize",
            "token_endpoint": f"{issuer}/oauth/token",
            "revocation_endpoint": f"{issuer}/oauth/revoke",
            "device_authorization_endpoint": f"{issuer}/oauth/device_authorization",
            "scopes_supported": sorted(scopes),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": True,  # RFC 9207 §3
        }
        # raise_errors=False: oauthlib refuses an http issuer unless the process-wide
        # OAUTHLIB_INSECURE_TRANSPORT is set, and this issuer is loopback http.
        self.metadata = MetadataEndpoint([oauth], claims=claims, raise_errors=False)

    def device_authorization_response(
        self, uri: str, body: str, headers: Mapping[str, str]
    ) -> tuple[TokenResponse, dict[str, Any] | None]:
        """Answer one POST to the device authorization endpoint (RFC 8628 §3.2, §3.3).

        Returns the response and, for a 200, oauthlib's answer (device code, user
        code, scope, expiry) for the caller to store.
        """
        try:
            _headers, data, status = self.device.create_device_authorization_response(
                uri, http_method="POST", body=body, headers=dict(headers))
        except OAuth2Error as exc:
            headers_out = {"Content-Type": "application/json", "Cache-Control": "no-store"}
            status = int(exc.status_code)
            if status == 401:
                headers_out["WWW-Authenticate"] = 'Basic realm="cars-api"'
            return TokenResponse(status, headers_out, _with_description(str(exc.json))), None
        payload = dict(data)
        payload.pop("scope", None)  # not an RFC 8628 §3.2 field; kept server-side
        return TokenResponse(int(status), {"Content-Type": "application/json",
                                           "Cache-Control": "no-store"},
                             json.dumps(payload)), dict(data)

    def metadata_json(self) -> str:
        """The RFC 8414 §3.2 metadata document."""
        _headers, body, _status = self.metadata.create_metadata_response(self.issuer)
        return str(body)


# oauthlib leaves error_description empty for these; it is OPTIONAL (RFC 6749 §5.2)
# but SDK error messages are better with it.
_DESCRIPTIONS = {
    "invalid_client": "client authentication failed",
    "invalid_grant": "the grant (refresh token, authorization code, device code or PKCE "
                     "code_verifier) is invalid, expired, revoked or issued to another client",
    "unsupported_grant_type": "grant_type must be client_credentials, refresh_token, "
                              "authorization_code or urn:ietf:params:oauth:grant-type:device_code",
    "invalid_scope": "requested scope is invalid or unknown",
    "unauthorized_client": "client may not use this grant type",
    "invalid_request": "malformed request",
    "authorization_pending": "the user has not approved the device yet",
    "slow_down": "polling too often: wait 5 more seconds between polls",
    "expired_token": "the device code has expired; start a new device login",
    "access_denied": "the user denied the request",
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
