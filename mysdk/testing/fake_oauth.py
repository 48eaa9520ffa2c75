"""A fake OAuth 2.0 token endpoint on ``responses``, for unit tests without a server.

Example::

    with responses.RequestsMock() as mock:
        oauth = FakeTokenEndpoint(mock, refresh_tokens=True)
        oauth.protect("GET", "https://api.example.test/api/v1/cars", json={"items": []})
        client = oauth.client(base_url="https://api.example.test")
        client.get("/api/v1/cars")
        oauth.expire()                      # the API now answers 401 invalid_token
        client.get("/api/v1/cars")          # refresh grant, then the replay
        assert oauth.grants == ["client_credentials", "refresh_token"]
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, overload
from urllib.parse import parse_qsl, unquote_plus

if TYPE_CHECKING:
    import requests
    import responses

    import mysdk

__all__ = ["FakeTokenEndpoint", "TokenRequest"]

C = TypeVar("C", bound="mysdk.Client")

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # RFC 6749 §5.1


@dataclass(frozen=True)
class TokenRequest:
    """One request the fake endpoint answered.

    Attributes:
        grant_type: The ``grant_type`` field, or ``None`` when missing.
        form: The form fields; ``client_secret`` and ``refresh_token`` values
            are kept so tests can check them.
        client_auth: ``"client_secret_basic"``, ``"client_secret_post"`` or
            ``"none"`` (no or wrong client credentials).
        status: The HTTP status answered.
    """

    grant_type: str | None
    form: Mapping[str, str]
    client_auth: str
    status: int


class FakeTokenEndpoint:
    """A token endpoint (RFC 6749 §3.2) registered on a ``responses`` mock.

    It authenticates the client (HTTP Basic with form-encoded parts, or form
    fields, RFC 6749 §2.3.1), answers the client credentials grant (§4.4) and
    the refresh grant (§6), and errors as §5.2 says. Tokens are
    ``fake-access-<n>`` and ``fake-refresh-<n>``, numbered from 1.

    Args:
        mock: The ``responses.RequestsMock`` to register on (active or not).
        token_url: URL of the endpoint.
        client_id: The accepted client id.
        client_secret: The accepted client secret.
        expires_in: ``expires_in`` of issued tokens, seconds; ``None`` omits it.
        refresh_tokens: Issue a refresh token with client-credentials tokens.
        rotate_refresh_tokens: A refresh grant issues a new refresh token and
            revokes the one used (reusing it gets ``invalid_grant``); False
            answers without a new refresh token, keeping the old one valid.
        scope: Scope granted when a request names none.
    """

    def __init__(self, mock: responses.RequestsMock, *,
                 token_url: str = "https://auth.example.test/oauth/token",  # noqa: S107
                 client_id: str = "test-client",
                 client_secret: str = "test-secret",  # noqa: S107 - a fake's credential
                 expires_in: int | None = 3600, refresh_tokens: bool = False,
                 rotate_refresh_tokens: bool = True, scope: str = "read write") -> None:
        self.mock = mock
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.expires_in = expires_in
        self.refresh_tokens = refresh_tokens
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.scope = scope
        self.requests: list[TokenRequest] = []
        self._lock = threading.Lock()
        self._issued = 0
        self._access: dict[str, bool] = {}  # access token -> still valid
        self._refresh: set[str] = set()  # valid refresh tokens
        self._failures: list[tuple[int, str]] = []
        mock.add_callback("POST", token_url, callback=self._answer,
                          content_type="application/json")

    # -- what happened ---------------------------------------------------------

    @property
    def count(self) -> int:
        """Token requests answered so far (errors included)."""
        return len(self.requests)

    @property
    def grants(self) -> list[str | None]:
        """``grant_type`` of each request, in order."""
        return [r.grant_type for r in self.requests]

    @property
    def access_token(self) -> str | None:
        """The access token issued last, or ``None``."""
        return f"fake-access-{self._issued}" if self._issued else None

    @property
    def valid_refresh_tokens(self) -> frozenset[str]:
        """Refresh tokens that a refresh grant would accept now."""
        with self._lock:
            return frozenset(self._refresh)

    def is_valid(self, access_token: str) -> bool:
        """Whether ``access_token`` was issued here and is not expired or revoked."""
        with self._lock:
            return self._access.get(access_token, False)

    # -- changing state --------------------------------------------------------

    def expire(self) -> None:
        """Expire every access token issued so far: protected routes answer 401."""
        with self._lock:
            self._access = dict.fromkeys(self._access, False)

    def revoke(self, token: str | None = None) -> None:
        """Revoke one access or refresh token (RFC 7009), or every token when ``None``."""
        with self._lock:
            if token is None:
                self._access = dict.fromkeys(self._access, False)
                self._refresh.clear()
            else:
                if token in self._access:
                    self._access[token] = False
                self._refresh.discard(token)

    def fail_next(self, error: str = "temporarily_unavailable", *, status: int = 503,
                  times: int = 1) -> None:
        """Answer the next ``times`` requests with ``{"error": error}`` and ``status``."""
        with self._lock:
            self._failures.extend([(status, error)] * times)

    # -- building clients and protected routes ---------------------------------

    def credentials(self, **kwargs: Any) -> mysdk.ClientCredentials:
        """A :class:`mysdk.ClientCredentials` for this endpoint; ``kwargs`` are passed on."""
        import mysdk

        return mysdk.ClientCredentials(token_url=self.token_url, client_id=self.client_id,
                                       client_secret=self.client_secret, **kwargs)

    @overload
    def client(self, base_url: str = ..., *, cls: None = None, **kwargs: Any) -> mysdk.Client: ...

    @overload
    def client(self, base_url: str = ..., *, cls: type[C], **kwargs: Any) -> C: ...

    def client(self, base_url: str = "https://api.example.test", *,
               cls: type[Any] | None = None, **kwargs: Any) -> Any:
        """A client authenticating here (``retry=None`` unless given).

        Args:
            base_url: The API's URL.
            cls: The client class, e.g. your SDK's ``mysdk.Client`` subclass;
                default :class:`mysdk.Client`.
            **kwargs: More keyword arguments of the client.
        """
        import mysdk

        kwargs.setdefault("retry", None)
        client_class = cls if cls is not None else mysdk.Client
        return client_class(base_url=base_url, auth=self.credentials(), **kwargs)

    def protect(self, method: str, url: str, *, status: int = 200, json: Any = None,
                headers: Mapping[str, str] | None = None) -> None:
        """Register an API route that wants a valid bearer token from this endpoint.

        Without one it answers ``401`` with ``WWW-Authenticate: Bearer
        error="invalid_token"`` (RFC 6750 §3); with one, ``status`` and ``json``.
        """
        payload = "" if json is None else _dumps(json)

        def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
            scheme, _, token = str(request.headers.get("Authorization", "")).partition(" ")
            if scheme.lower() != "bearer" or not self.is_valid(token):
                return 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}, _dumps(
                    {"error": "invalid_token"})
            return status, dict(headers or {}), payload

        self.mock.add_callback(method, url, callback=answer, content_type="application/json")

    # -- the endpoint ----------------------------------------------------------

    def _answer(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        body = request.body.decode() if isinstance(request.body, bytes) else request.body or ""
        form = dict(parse_qsl(body, keep_blank_values=True))
        client_auth = self._client_auth(request, form)
        with self._lock:
            status, answer = self._grant(form, client_auth)
            self.requests.append(TokenRequest(form.get("grant_type"), form, client_auth, status))
        headers = dict(_NO_STORE)
        if status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="fake-oauth"'
        return status, headers, _dumps(answer)

    def _client_auth(self, request: requests.PreparedRequest, form: Mapping[str, str]) -> str:
        scheme, _, encoded = str(request.headers.get("Authorization", "")).partition(" ")
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(encoded, validate=True).decode().partition(
                    ":")
            except (binascii.Error, UnicodeDecodeError):
                return "none"
            ok = (unquote_plus(user), unquote_plus(password)) == (self.client_id,
                                                                  self.client_secret)
            return "client_secret_basic" if ok else "none"
        ok = (form.get("client_id"), form.get("client_secret")) == (self.client_id,
                                                                    self.client_secret)
        return "client_secret_post" if ok else "none"

    def _grant(self, form: Mapping[str, str], client_auth: str) -> tuple[int, dict[str, Any]]:
        if self._failures:
            status, error = self._failures.pop(0)
            return status, {"error": error}
        if client_auth == "none":
            return 401, {"error": "invalid_client"}
        grant = form.get("grant_type")
        scope = form.get("scope") or self.scope
        if grant == "client_credentials":
            return 200, self._issue(scope, refresh=self.refresh_tokens)
        if grant == "refresh_token":
            used = form.get("refresh_token", "")
            if used not in self._refresh:
                return 400, {"error": "invalid_grant",
                             "error_description": "refresh token expired, revoked or rotated"}
            if self.rotate_refresh_tokens:
                self._refresh.discard(used)
            return 200, self._issue(scope, refresh=self.rotate_refresh_tokens)
        if grant is None:
            return 400, {"error": "invalid_request", "error_description": "grant_type missing"}
        return 400, {"error": "unsupported_grant_type"}

    def _issue(self, scope: str, *, refresh: bool) -> dict[str, Any]:
        self._issued += 1
        access = f"fake-access-{self._issued}"
        self._access[access] = True
        answer: dict[str, Any] = {"access_token": access, "token_type": "Bearer", "scope": scope}
        if self.expires_in is not None:
            answer["expires_in"] = self.expires_in
        if refresh:
            answer["refresh_token"] = f"fake-refresh-{self._issued}"
            self._refresh.add(answer["refresh_token"])
        return answer


def _dumps(value: Any) -> str:
    return json.dumps(value)
