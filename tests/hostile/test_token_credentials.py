"""Credentials stay where they belong (hardening issue 7, points 8 and 12).

* The token request never carries the caller's session-level credentials
  (``session.headers``, ``session.auth``, ~/.netrc, session cookies and params):
  they are meant for the API, not for the authorization server.
* An ``http://`` token URL is refused unless it is loopback or ``allow_http=True``.
* Fixed credentials that cannot be sent as a header are refused at construction.
"""

from __future__ import annotations

import base64
import socket
from pathlib import Path
from typing import Any

import pytest
import requests

from mysdk import APIKey, ClientCredentials, StaticToken
from mysdk.errors import InvalidRequestError
from tests.hostile.server import Request, hostile_server, respond

TOKEN_JSON = '{"access_token": "AT-1", "token_type": "Bearer", "expires_in": 60}'


def _ok(conn: socket.socket, request: Request) -> None:
    respond(conn, 200, TOKEN_JSON, {"Content-Type": "application/json"})


def _gateway_session() -> requests.Session:
    session = requests.Session()
    session.headers["X-Gateway-Key"] = "gw-secret"
    session.headers["Authorization"] = "Bearer api-secret"
    session.headers["User-Agent"] = "caller-agent/1.0"
    session.auth = ("u", "p")
    session.params = {"api_key": "param-secret"}
    session.cookies.set("sid", "cookie-secret", domain="127.0.0.1", path="/")
    return session


def _fetch(url: str, session: requests.Session, **kwargs: Any) -> None:
    provider = ClientCredentials(token_url=f"{url}/oauth/token?tenant=t1", client_id="cid",
                                 client_secret="sec", **kwargs)
    token = provider.fetch_token(session, timeout=(2, 2), previous=None)
    assert token.access_token == "AT-1"


def _assert_no_caller_credentials(request: Request) -> None:
    raw = repr(request)
    for secret in ("gw-secret", "api-secret", "param-secret", "cookie-secret",
                   base64.b64encode(b"u:p").decode()):
        assert secret not in raw, f"{secret} was sent to the token endpoint"
    assert request.header("X-Gateway-Key") is None
    assert request.header("Cookie") is None
    assert request.target == "/oauth/token?tenant=t1"
    assert request.header("User-Agent") == "caller-agent/1.0"  # harmless: kept


def test_session_headers_and_auth_are_not_sent_with_client_secret_basic() -> None:
    with hostile_server(_ok) as server, _gateway_session() as session:
        _fetch(server.url, session)
    [request] = server.requests
    _assert_no_caller_credentials(request)
    expected = base64.b64encode(b"cid:sec").decode()
    assert request.header("Authorization") == f"Basic {expected}"
    assert session.headers["X-Gateway-Key"] == "gw-secret"  # the session is untouched
    assert session.auth == ("u", "p")


def test_session_headers_and_auth_are_not_sent_with_client_secret_post() -> None:
    with hostile_server(_ok) as server, _gateway_session() as session:
        _fetch(server.url, session, auth_method="client_secret_post")
    [request] = server.requests
    _assert_no_caller_credentials(request)
    assert request.header("Authorization") is None
    assert b"client_secret=sec" in request.body


def test_netrc_is_not_used_for_the_token_request(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login netrc-user password netrc-secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with hostile_server(_ok) as server, requests.Session() as session:
        assert requests.utils.get_netrc_auth(server.url) == ("netrc-user", "netrc-secret")
        _fetch(server.url, session, auth_method="client_secret_post")
    [request] = server.requests
    assert request.header("Authorization") is None


# --- http:// token URLs (RFC 6749 §3.2: TLS is required) --------------------------------------


@pytest.mark.parametrize(
    "url",
    ["http://auth.example.com/token", "http://10.0.0.1/token", "HTTP://auth.example.com/t",
     "http://localhost.evil.example/token", "ftp://auth.example.com/token",
     "auth.example.com/token", "https:///token"],
)
def test_insecure_or_malformed_token_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidRequestError, match="token_url") as info:
        ClientCredentials(token_url=url, client_id="cid", client_secret="s3cr3t-val")
    assert isinstance(info.value, ValueError)
    assert "s3cr3t-val" not in str(info.value)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080/token", "http://127.9.9.9/token", "http://[::1]:80/token",
     "http://localhost/token", "http://LOCALHOST:1/token", "https://auth.example.com/token"],
)
def test_loopback_http_and_https_token_urls_are_accepted(url: str) -> None:
    assert ClientCredentials(token_url=url, client_id="cid", client_secret="sec").token_url == url


def test_allow_http_accepts_a_plain_http_token_url() -> None:
    url = "http://auth.internal/token"
    provider = ClientCredentials(token_url=url, client_id="cid", client_secret="sec",
                                 allow_http=True)
    assert provider.token_url == url
    with pytest.raises(InvalidRequestError, match="token_url"):
        ClientCredentials(token_url="ftp://auth.internal/token", client_id="cid",
                          client_secret="sec", allow_http=True)


def test_repr_redacts_userinfo_and_secret_query_values() -> None:
    provider = ClientCredentials(
        token_url="https://user:pw-secret@auth.example.com/token?sig=sig-secret&tenant=t1",
        client_id="cid", client_secret="client-secret")
    text = repr(provider)
    for secret in ("pw-secret", "sig-secret", "client-secret"):
        assert secret not in text
    assert "tenant=t1" in text
    assert "sig=***" in text


# --- fixed credentials -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "named"),
    [
        (("k\u00e9y-\u20ac-secret",), {}, "value"),  # € is not latin-1
        (("key\r\nX-Evil: 1",), {}, "value"),
        (("key\x00secret",), {}, "value"),
        (("key\x7fsecret",), {}, "value"),
        (("key\tsecret",), {}, "value"),
        ((" key-secret",), {}, "value"),
        (("key-secret ",), {}, "value"),
        (("",), {}, "value"),
        ((7,), {}, "value"),
        (("key-secret",), {"header": "X Key"}, "header"),
        (("key-secret",), {"header": "X-K\u00e9y"}, "header"),
        (("key-secret",), {"header": ""}, "header"),
        (("key-secret",), {"scheme": "Bear er"}, "scheme"),
    ],
)
def test_static_token_refuses_values_that_cannot_be_sent(
    args: tuple[Any, ...], kwargs: dict[str, Any], named: str,
) -> None:
    with pytest.raises(InvalidRequestError, match=named) as info:
        StaticToken(*args, **kwargs)
    assert "secret" not in str(info.value)
    assert info.value.__context__ is None


def test_api_key_that_is_not_latin1_is_refused_at_construction() -> None:
    with pytest.raises(InvalidRequestError, match="value") as info:
        APIKey("\u043a\u043b\u044e\u0447-secret")  # Cyrillic: not latin-1
    assert isinstance(info.value, ValueError)
    assert "secret" not in str(info.value)


def test_static_token_accepts_header_safe_values() -> None:
    headers: dict[str, str] = {}
    StaticToken("abc.DEF-_~+/=", scheme="Bearer").apply(headers)
    APIKey("k\u00e9y with inner space", header="X-Api-Key").apply(headers)
    assert headers == {"Authorization": "Bearer abc.DEF-_~+/=",
                       "X-Api-Key": "k\u00e9y with inner space"}
