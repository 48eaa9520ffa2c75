"""Login endpoints: metadata, device authorization and approval, authorize, revoke.

oauthlib answers the protocol (``refserver.oauth``); these handlers only move
requests and responses between tornado and it, and store device
authorizations. No handler logs a token, a code or a request body.

Routes (the issuer is ``http://127.0.0.1:PORT``):

* ``GET /.well-known/oauth-authorization-server`` and
  ``GET /.well-known/openid-configuration``: the metadata (RFC 8414 §3;
  OpenID Connect Discovery 1.0 §4).
* ``POST /oauth/device_authorization``: RFC 8628 §3.1, §3.2.
* ``GET /device`` (the verification URI, a small HTML form) and
  ``POST /device/approve`` (``user_code``, ``action=approve|deny``): the user's
  side of RFC 8628 §3.3, for tests and the demo (no login: the server's one
  user, ``ServerConfig.user``, decides).
* ``GET /oauth/authorize``: RFC 6749 §4.1.1 with PKCE; the user consents at
  once, so the answer is the redirect to the client's loopback URI.
* ``POST /oauth/revoke``: RFC 7009 §2.
"""

from __future__ import annotations

import html
from urllib.parse import parse_qs

from refserver.handlers import JsonHandler
from refserver.oauth import LoginEndpoints, TokenResponse
from refserver.validator import parse_basic

__all__ = [
    "AuthorizeHandler",
    "DeviceApprovalHandler",
    "DeviceAuthorizationHandler",
    "DevicePageHandler",
    "MetadataHandler",
    "RevocationHandler",
]

_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Device login</title></head>
<body><h1>Device login</h1>
<form method="post" action="/device/approve">
<label>Code <input name="user_code" value="{code}" autocomplete="off"></label>
<button name="action" value="approve">Approve</button>
<button name="action" value="deny">Deny</button>
</form></body></html>
"""


class _LoginHandler(JsonHandler):
    def endpoints(self) -> LoginEndpoints:
        login = self.ctx.login
        assert login is not None, "bind_issuer() runs before the server accepts requests"
        return login

    def send(self, result: TokenResponse) -> None:
        self.set_status(result.status)
        for name, value in result.headers.items():
            self.set_header(name, value)
        self.finish(result.body)


class MetadataHandler(_LoginHandler):
    """The authorization server metadata (RFC 8414 §3.2), also at the OIDC path."""

    def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(self.endpoints().metadata_json())


class DeviceAuthorizationHandler(_LoginHandler):
    """``POST /oauth/device_authorization`` (RFC 8628 §3.1)."""

    ALLOWED_METHODS = ("POST",)

    def post(self) -> None:
        body = self.request.body.decode("utf-8", errors="replace")
        result, data = self.endpoints().device_authorization_response(
            self.request.full_url(), body, dict(self.request.headers))
        if data is not None:
            config = self.ctx.config
            self.ctx.devices.add(
                device_code=str(data["device_code"]), user_code=str(data["user_code"]),
                client_id=_client_id(self.request.headers.get("Authorization"), body),
                scopes=str(data.get("scope") or config.default_scope).split(),
                lifetime=float(config.device_code_lifetime),
                interval=float(config.device_interval),
            )
        self.send(result)


class DevicePageHandler(_LoginHandler):
    """``GET /device``: the verification URI, a form to approve or deny a user code."""

    def get(self) -> None:
        code = self.get_query_argument("user_code", "")
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(_PAGE.format(code=html.escape(code[:32])))


class DeviceApprovalHandler(_LoginHandler):
    """``POST /device/approve``: the user approves or denies a user code (RFC 8628 §3.3)."""

    ALLOWED_METHODS = ("POST",)

    def post(self) -> None:
        code = self.get_body_argument("user_code", "")
        action = self.get_body_argument("action", "approve")
        if action not in ("approve", "deny"):
            self.respond(400, {"error": "bad_request", "message": "action is approve or deny"})
            return
        approve = action == "approve"
        if not self.ctx.devices.decide(code, approve=approve, user=self.ctx.config.user):
            self.respond(404, {"error": "unknown_user_code",
                               "message": "no pending device login has this code"})
            return
        self.respond(200, {"status": "approved" if approve else "denied"})


class AuthorizeHandler(_LoginHandler):
    """``GET /oauth/authorize`` (RFC 6749 §4.1.1, RFC 7636 §4.3): consent, then redirect."""

    def get(self) -> None:
        result = self.ctx.oauth.authorization_response(
            self.request.full_url(), dict(self.request.headers), user=self.ctx.config.user)
        self.send(result)


class RevocationHandler(_LoginHandler):
    """``POST /oauth/revoke`` (RFC 7009 §2.1)."""

    ALLOWED_METHODS = ("POST",)

    def post(self) -> None:
        body = self.request.body.decode("utf-8", errors="replace")
        self.send(self.ctx.oauth.revocation_response(
            self.request.full_url(), body, dict(self.request.headers)))


def _client_id(authorization: str | None, body: str) -> str:
    """The client a successful device authorization request came from."""
    basic = parse_basic(authorization) if authorization else None
    if basic is not None:
        return basic[0]
    return parse_qs(body).get("client_id", [""])[0]
