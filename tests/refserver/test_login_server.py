"""The reference server's login endpoints, over loopback HTTP with plain ``requests``.

Metadata (RFC 8414), the device authorization grant with every RFC 8628 §3.5
error code, authorization code + PKCE verified by the server (RFC 7636 §4.6),
refresh-token rotation and revocation (RFC 7009).
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from refserver import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_PUBLIC_CLIENT_ID,
    RunningServer,
    ServerConfig,
    start_server,
)

DEVICE = "urn:ietf:params:oauth:grant-type:device_code"
PUBLIC = DEFAULT_PUBLIC_CLIENT_ID
TIMEOUT = 10.0
REDIRECT = "http://127.0.0.1:45678/callback"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def server(clock: Clock) -> Iterator[RunningServer]:
    with start_server(ServerConfig(clock=clock, device_interval=5,
                                   device_code_lifetime=600)) as srv:
        yield srv


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def device_authorization(srv: RunningServer, http: requests.Session,
                         **form: str) -> dict[str, Any]:
    resp = http.post(f"{srv.issuer}/oauth/device_authorization",
                     data={"client_id": PUBLIC, **form}, timeout=TIMEOUT)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def poll(srv: RunningServer, http: requests.Session, device_code: str) -> requests.Response:
    return http.post(srv.token_url, data={"grant_type": DEVICE, "device_code": device_code,
                                          "client_id": PUBLIC}, timeout=TIMEOUT)


def error_of(resp: requests.Response) -> str:
    assert resp.status_code in (400, 401), resp.text
    return str(resp.json()["error"])


# -- metadata (RFC 8414 §3) ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/.well-known/oauth-authorization-server",
                                  "/.well-known/openid-configuration"])
def test_metadata_names_every_endpoint(server: RunningServer, http: requests.Session,
                                       path: str) -> None:
    meta = http.get(server.issuer + path, timeout=TIMEOUT).json()
    assert meta["issuer"] == server.issuer
    assert meta["token_endpoint"] == server.token_url
    assert meta["authorization_endpoint"] == f"{server.issuer}/oauth/authorize"
    assert meta["device_authorization_endpoint"] == f"{server.issuer}/oauth/device_authorization"
    assert meta["revocation_endpoint"] == f"{server.issuer}/oauth/revoke"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["authorization_response_iss_parameter_supported"] is True
    assert set(meta["grant_types_supported"]) == {
        "client_credentials", "refresh_token", "authorization_code", DEVICE}


# -- device authorization grant (RFC 8628) ----------------------------------------------------


def test_device_authorization_answer(server: RunningServer, http: requests.Session) -> None:
    answer = device_authorization(server, http, scope="cars:read")
    assert answer["verification_uri"] == f"{server.issuer}/device"
    assert answer["verification_uri_complete"] == (
        f"{server.issuer}/device?user_code={answer['user_code']}")
    assert answer["expires_in"] == 600
    assert answer["interval"] == 5
    code = answer["user_code"]
    assert len(code) == 9
    assert code[4] == "-"
    assert set(code.replace("-", "")) <= set("BCDFGHJKLMNPQRSTVWXZ")  # RFC 8628 §6.1
    assert "scope" not in answer


def test_device_code_errors_of_rfc8628_3_5(
    server: RunningServer, http: requests.Session, clock: Clock
) -> None:
    answer = device_authorization(server, http)
    device_code = answer["device_code"]
    assert error_of(poll(server, http, device_code)) == "authorization_pending"
    clock.advance(1)  # sooner than the 5 s interval
    resp = poll(server, http, device_code)
    assert error_of(resp) == "slow_down"
    assert "5 more seconds" in resp.json()["error_description"]
    clock.advance(9)  # the interval is now 10 s: still too soon
    assert error_of(poll(server, http, device_code)) == "slow_down"
    clock.advance(15)
    assert error_of(poll(server, http, device_code)) == "authorization_pending"
    assert server.decide_device(answer["user_code"].lower(), approve=True)  # any case
    clock.advance(15)
    token = poll(server, http, device_code)
    assert token.status_code == 200, token.text
    body = token.json()
    assert body["token_type"] == "Bearer"
    assert body["refresh_token"]
    clock.advance(15)
    assert error_of(poll(server, http, device_code)) == "invalid_grant"  # used once only


def test_device_access_denied(server: RunningServer, http: requests.Session) -> None:
    answer = device_authorization(server, http)
    resp = http.post(f"{server.issuer}/device/approve",
                     data={"user_code": answer["user_code"], "action": "deny"}, timeout=TIMEOUT)
    assert resp.json() == {"status": "denied"}
    assert error_of(poll(server, http, answer["device_code"])) == "access_denied"


def test_device_expired_token(
    server: RunningServer, http: requests.Session, clock: Clock
) -> None:
    answer = device_authorization(server, http)
    clock.advance(600)
    assert error_of(poll(server, http, answer["device_code"])) == "expired_token"
    assert not server.decide_device(answer["user_code"])  # too late to approve


def test_device_code_of_another_client_is_invalid_grant(
    server: RunningServer, http: requests.Session
) -> None:
    answer = device_authorization(server, http)
    resp = http.post(server.token_url, data={"grant_type": DEVICE,
                                             "device_code": answer["device_code"]},
                     auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET), timeout=TIMEOUT)
    assert error_of(resp) == "invalid_grant"


def test_device_authorization_refuses_unknown_client(
    server: RunningServer, http: requests.Session
) -> None:
    resp = http.post(f"{server.issuer}/oauth/device_authorization",
                     data={"client_id": "nobody"}, timeout=TIMEOUT)
    assert resp.status_code in (400, 401)
    assert resp.json()["error"] in ("invalid_client", "invalid_request")


def test_confidential_client_device_login(server: RunningServer, http: requests.Session) -> None:
    resp = http.post(f"{server.issuer}/oauth/device_authorization",
                     data={"client_id": DEFAULT_CLIENT_ID},
                     auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET), timeout=TIMEOUT)
    assert resp.status_code == 200, resp.text


def test_approval_route(server: RunningServer, http: requests.Session) -> None:
    page = http.get(f"{server.issuer}/device?user_code=ABCD-EFGH", timeout=TIMEOUT)
    assert "ABCD-EFGH" in page.text
    assert 'action="/device/approve"' in page.text
    unknown = http.post(f"{server.issuer}/device/approve", data={"user_code": "ZZZZ-ZZZZ"},
                        timeout=TIMEOUT)
    assert unknown.status_code == 404
    bad = http.post(f"{server.issuer}/device/approve",
                    data={"user_code": "ZZZZ-ZZZZ", "action": "maybe"}, timeout=TIMEOUT)
    assert bad.status_code == 400


def test_public_client_may_not_use_client_credentials(
    server: RunningServer, http: requests.Session
) -> None:
    resp = http.post(server.token_url, data={"grant_type": "client_credentials",
                                             "client_id": PUBLIC}, timeout=TIMEOUT)
    assert error_of(resp) in ("invalid_client", "unauthorized_client")


# -- authorization code + PKCE (RFC 6749 §4.1, RFC 7636) ---------------------------------------


def pkce() -> tuple[str, str]:
    verifier = base64.urlsafe_b64encode(b"v" * 48).decode().rstrip("=")
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def authorize(srv: RunningServer, http: requests.Session, **overrides: str) -> requests.Response:
    _, challenge = pkce()
    query = {"response_type": "code", "client_id": PUBLIC, "redirect_uri": REDIRECT,
             "state": "s-123", "code_challenge": challenge, "code_challenge_method": "S256",
             "scope": "cars:read"}
    query.update(overrides)
    query = {k: v for k, v in query.items() if v != ""}
    return http.get(f"{srv.issuer}/oauth/authorize?{urlencode(query)}",
                    allow_redirects=False, timeout=TIMEOUT)


def redirect_params(resp: requests.Response) -> dict[str, str]:
    assert resp.status_code == 302, resp.text
    location = resp.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def exchange(srv: RunningServer, http: requests.Session, code: str,
             verifier: str | None) -> requests.Response:
    form = {"grant_type": "authorization_code", "code": code, "client_id": PUBLIC,
            "redirect_uri": REDIRECT}
    if verifier is not None:
        form["code_verifier"] = verifier
    return http.post(srv.token_url, data=form, timeout=TIMEOUT)


def test_authorization_code_with_pkce(server: RunningServer, http: requests.Session) -> None:
    params = redirect_params(authorize(server, http))
    assert params["state"] == "s-123"
    assert params["iss"] == server.issuer  # RFC 9207 §2
    verifier, _ = pkce()
    resp = exchange(server, http, params["code"], verifier)
    assert resp.status_code == 200, resp.text
    assert resp.json()["scope"] == "cars:read"
    assert resp.json()["refresh_token"]
    again = exchange(server, http, params["code"], verifier)
    assert error_of(again) == "invalid_grant"  # a code is good once (RFC 6749 §4.1.2)


def test_server_verifies_the_code_verifier(server: RunningServer, http: requests.Session) -> None:
    params = redirect_params(authorize(server, http))
    wrong = base64.urlsafe_b64encode(b"w" * 48).decode().rstrip("=")
    assert error_of(exchange(server, http, params["code"], wrong)) == "invalid_grant"
    params = redirect_params(authorize(server, http))
    assert error_of(exchange(server, http, params["code"], None)) == "invalid_request"


def test_pkce_is_required_and_s256_only(server: RunningServer, http: requests.Session) -> None:
    missing = redirect_params(authorize(server, http, code_challenge=""))
    assert missing["error"] == "invalid_request"
    plain = redirect_params(authorize(server, http, code_challenge_method="plain"))
    assert plain["error"] == "invalid_request"
    assert plain["state"] == "s-123"


def test_redirect_uri_must_be_loopback(server: RunningServer, http: requests.Session) -> None:
    resp = authorize(server, http, redirect_uri="https://evil.example/callback")
    assert resp.status_code == 400  # never redirected to an unchecked URI (§3.1.2.4)
    assert "Location" not in resp.headers


def test_redirect_uri_must_match_at_the_token_endpoint(
    server: RunningServer, http: requests.Session
) -> None:
    params = redirect_params(authorize(server, http))
    verifier, _ = pkce()
    resp = http.post(server.token_url, data={
        "grant_type": "authorization_code", "code": params["code"], "client_id": PUBLIC,
        "redirect_uri": "http://127.0.0.1:1/other", "code_verifier": verifier}, timeout=TIMEOUT)
    assert resp.status_code in (400, 401)


# -- refresh-token rotation and revocation (RFC 6749 §6, RFC 7009) ----------------------------


def device_login(srv: RunningServer, http: requests.Session, clock: Clock) -> dict[str, Any]:
    answer = device_authorization(srv, http)
    assert srv.decide_device(answer["user_code"])
    resp = poll(srv, http, answer["device_code"])
    assert resp.status_code == 200, resp.text
    clock.advance(0)
    return dict(resp.json())


def refresh(srv: RunningServer, http: requests.Session, refresh_token: str) -> requests.Response:
    return http.post(srv.token_url, data={"grant_type": "refresh_token",
                                          "refresh_token": refresh_token, "client_id": PUBLIC},
                     timeout=TIMEOUT)


def api(srv: RunningServer, http: requests.Session, access_token: str) -> int:
    resp = http.get(f"{srv.base_url}/api/v1/cars",
                    headers={"Authorization": f"Bearer {access_token}"}, timeout=TIMEOUT)
    return resp.status_code


def test_refresh_rotates_for_a_public_client(
    server: RunningServer, http: requests.Session, clock: Clock
) -> None:
    first = device_login(server, http, clock)
    resp = refresh(server, http, first["refresh_token"])
    assert resp.status_code == 200, resp.text
    second = resp.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert error_of(refresh(server, http, first["refresh_token"])) == "invalid_grant"


def revoke(srv: RunningServer, http: requests.Session, token: str, hint: str) -> requests.Response:
    return http.post(f"{srv.issuer}/oauth/revoke",
                     data={"token": token, "token_type_hint": hint, "client_id": PUBLIC},
                     timeout=TIMEOUT)


def test_revoking_the_refresh_token_ends_the_grant(
    server: RunningServer, http: requests.Session, clock: Clock
) -> None:
    login = device_login(server, http, clock)
    assert api(server, http, login["access_token"]) == 200
    resp = revoke(server, http, login["refresh_token"], "refresh_token")
    assert resp.status_code == 200
    assert error_of(refresh(server, http, login["refresh_token"])) == "invalid_grant"
    assert api(server, http, login["access_token"]) == 401  # same grant (RFC 7009 §2.1)
    assert server.stats.revocations == 1


def test_revoking_an_access_token(
    server: RunningServer, http: requests.Session, clock: Clock
) -> None:
    login = device_login(server, http, clock)
    assert revoke(server, http, login["access_token"], "access_token").status_code == 200
    assert api(server, http, login["access_token"]) == 401
    assert refresh(server, http, login["refresh_token"]).status_code == 200


def test_revoking_an_unknown_token_is_200(server: RunningServer, http: requests.Session) -> None:
    assert revoke(server, http, "no-such-token", "refresh_token").status_code == 200
    assert server.stats.revocations == 0


def test_revocation_needs_client_authentication(
    server: RunningServer, http: requests.Session
) -> None:
    resp = http.post(f"{server.issuer}/oauth/revoke", data={"token": "x"},
                     auth=(DEFAULT_CLIENT_ID, "wrong"), timeout=TIMEOUT)
    assert resp.status_code == 401
    assert resp.json()["error"] == "invalid_client"


def test_another_clients_token_is_not_revoked(
    server: RunningServer, http: requests.Session, clock: Clock
) -> None:
    login = device_login(server, http, clock)
    resp = http.post(f"{server.issuer}/oauth/revoke", data={"token": login["refresh_token"]},
                     auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET), timeout=TIMEOUT)
    assert resp.status_code == 200
    assert refresh(server, http, login["refresh_token"]).status_code == 200
