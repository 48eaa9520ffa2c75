"""Browser login: authorization code + PKCE (S256) with a loopback redirect (RFC 8252)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests

from mysdk.auth.browser import PkcePair, browser_flow, pkce_pair
from mysdk.auth.login import Login
from mysdk.auth.login_errors import LoginError
from mysdk.errors import TokenRequestError
from mysdk.tokens import MemoryTokenCache
from refserver import DEFAULT_PUBLIC_CLIENT_ID, RunningServer

Opener = Callable[[str], object]


class Browser:
    """Opens URLs in a thread, as a browser would; keeps what it saw."""

    def __init__(self, rewrite: Callable[[str], str] | None = None) -> None:
        self.opened: list[str] = []
        self.pages: list[tuple[int, str]] = []
        self._rewrite = rewrite
        self.done = threading.Event()

    def __call__(self, url: str) -> None:
        self.opened.append(url)
        with requests.Session() as http:
            resp = http.get(url, allow_redirects=False, timeout=10)
            location = resp.headers.get("Location")
            if location is not None:  # the authorization server's redirect to the loopback
                target = self._rewrite(location) if self._rewrite else location
                page = http.get(target, timeout=10)
                self.pages.append((page.status_code, page.text))
        self.done.set()


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def with_query(url: str, **changes: str | None) -> str:
    parts = urlsplit(url)
    query = query_of(url)
    query.update({k: v for k, v in changes.items() if v is not None})
    for k, v in changes.items():
        if v is None:
            query.pop(k, None)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def login_for(server: RunningServer, **kwargs: Any) -> Login:
    return Login(issuer=server.issuer, client_id=DEFAULT_PUBLIC_CLIENT_ID, scope="cars:read",
                 **kwargs)


def test_pkce_pair_is_s256() -> None:
    pair = PkcePair("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
    assert pair.challenge == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"  # RFC 7636 App. B
    fresh = pkce_pair()
    assert 43 <= len(fresh.verifier) <= 128
    assert fresh.verifier != pkce_pair().verifier
    assert fresh.verifier not in repr(fresh)


def test_browser_login_with_pkce(server: RunningServer, capsys: pytest.CaptureFixture[str]
                                 ) -> None:
    cache = MemoryTokenCache()
    browser = Browser()
    token = login_for(server).browser(cache=cache, open_browser=browser, login_timeout=20)
    assert token.refresh_token
    assert token.scope == "cars:read"
    assert login_for(server).saved(cache) == token
    (url,) = browser.opened
    query = query_of(url)
    assert url.startswith(f"{server.issuer}/oauth/authorize?")
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert query["redirect_uri"].startswith("http://127.0.0.1:")
    assert query["redirect_uri"].endswith("/callback")
    assert len(query["state"]) >= 43
    assert browser.done.wait(10)  # the browser thread records the page after the answer
    status, page = browser.pages[0]
    assert status == 200
    assert "You are logged in" in page
    assert server.stats.token_requests_by_grant == {"authorization_code": 1}
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ""


def test_state_mismatch_is_refused(server: RunningServer) -> None:
    browser = Browser(rewrite=lambda location: with_query(location, state="forged"))
    with pytest.raises(LoginError, match="state") as info:
        login_for(server).browser(cache=MemoryTokenCache(), open_browser=browser,
                                  login_timeout=20)
    assert info.value.error == "state_mismatch"
    # The login returns once its loopback server has answered; the browser thread
    # records the page just after: wait for it (bounded) rather than race it.
    assert browser.done.wait(10)
    assert browser.pages[0][0] == 400
    assert "Login failed" in browser.pages[0][1]
    assert server.stats.token_requests == 0  # the code was never exchanged


def test_iss_mismatch_is_refused(server: RunningServer) -> None:
    browser = Browser(rewrite=lambda loc: with_query(loc, iss="https://evil.example.com"))
    with pytest.raises(LoginError, match="another issuer") as info:
        login_for(server).browser(cache=MemoryTokenCache(), open_browser=browser,
                                  login_timeout=20)
    assert info.value.error == "iss_mismatch"


def test_missing_iss_refused_when_the_server_promises_it(server: RunningServer) -> None:
    browser = Browser(rewrite=lambda loc: with_query(loc, iss=None))
    with pytest.raises(LoginError) as info:
        login_for(server).browser(cache=MemoryTokenCache(), open_browser=browser,
                                  login_timeout=20)
    assert info.value.error == "iss_mismatch"


def test_authorization_error_is_reported(server: RunningServer) -> None:
    def deny(location: str) -> str:
        query = query_of(location)
        return with_query(location, code=None, iss=query["iss"], error="access_denied",
                          error_description="the user said no")

    with pytest.raises(LoginError, match=r"refused the login: access_denied \(the user said no"
                       ) as info:
        login_for(server).browser(cache=MemoryTokenCache(), open_browser=Browser(deny),
                                  login_timeout=20)
    assert info.value.error == "access_denied"


def test_server_refuses_a_wrong_verifier(server: RunningServer) -> None:
    # The code is exchanged with this login's verifier; another challenge at the
    # authorization endpoint makes the server's PKCE check (RFC 7636 §4.6) fail.
    other = pkce_pair().challenge

    class Tamper(Browser):
        def __call__(self, url: str) -> None:
            super().__call__(with_query(url, code_challenge=other))

    with pytest.raises(TokenRequestError, match="invalid_grant"):
        browser_flow(requests.Session(), authorization_url=f"{server.issuer}/oauth/authorize",
                     token_url=server.token_url, client_id=DEFAULT_PUBLIC_CLIENT_ID,
                     issuer=server.issuer, timeout=5, open_browser=Tamper(), login_timeout=20)


def test_timeout_closes_the_listener() -> None:
    opened: list[str] = []
    start = time.monotonic()
    with pytest.raises(LoginError, match=r"no answer from the browser within 0\.3 s") as info:
        browser_flow(requests.Session(), authorization_url="https://id.example.com/auth",
                     token_url="https://id.example.com/token", client_id="cli", timeout=5,
                     open_browser=opened.append, login_timeout=0.3)
    assert info.value.error == "timeout"
    assert time.monotonic() - start < 5
    port = int(query_of(opened[0])["redirect_uri"].split(":")[2].split("/")[0])
    with socket.socket() as sock:
        sock.settimeout(2)
        assert sock.connect_ex(("127.0.0.1", port)) != 0  # nothing listens any more


def test_other_paths_and_a_failing_opener(server: RunningServer) -> None:
    def opener(url: str) -> None:
        redirect = query_of(url)["redirect_uri"]
        stray = redirect.replace("/callback", "/favicon.ico")
        assert requests.get(stray, timeout=5).status_code == 404
        threading.Thread(target=Browser(), args=(url,)).start()
        raise RuntimeError("no browser here")

    token = login_for(server).browser(cache=MemoryTokenCache(), open_browser=opener,
                                      login_timeout=20)
    assert token.access_token


def test_a_stalled_connection_does_not_block_the_login(server: RunningServer) -> None:
    def opener(url: str) -> None:
        port = int(query_of(url)["redirect_uri"].split(":")[2].split("/")[0])
        stalled = socket.create_connection(("127.0.0.1", port))  # sends nothing
        try:
            Browser()(url)
        finally:
            stalled.close()

    token = login_for(server).browser(cache=MemoryTokenCache(), open_browser=opener,
                                      login_timeout=30)
    assert token.access_token
