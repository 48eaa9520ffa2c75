"""RefreshTokenProvider (RFC 6749 §6): rotation, the callback, log-in-again errors, storms."""

from __future__ import annotations

import logging
import pickle
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from mysdk import Client, MemoryTokenCache, Token, TokenRequestError
from mysdk.auth.login_errors import LoginRequiredError
from mysdk.auth.manager import TokenManager
from mysdk.auth.refresh import RefreshTokenProvider
from mysdk.errors import AuthError, InvalidRequestError
from mysdk.tokens import cache_key
from refserver import DEFAULT_PUBLIC_CLIENT_ID, RunningServer

TOKEN_URL = "https://id.example.com/token"
DEVICE = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


def provider(**kwargs: Any) -> RefreshTokenProvider:
    options: dict[str, Any] = {"token_url": TOKEN_URL, "client_id": "cli",
                               "refresh_token": "rt-secret-0"}
    options.update(kwargs)
    return RefreshTokenProvider(**options)


def chain(exc: BaseException) -> str:
    """Every message and repr along the cause/context chain."""
    parts = []
    seen: BaseException | None = exc
    while seen is not None:
        parts += [str(seen), repr(seen)]
        seen = seen.__cause__ or seen.__context__
    return " ".join(parts)


# -- unit behaviour on `responses` -------------------------------------------------------------


def test_public_client_sends_its_id_and_no_secret(session: requests.Session) -> None:
    with responses.RequestsMock() as rs:
        rs.post(TOKEN_URL, json={"access_token": "at-1", "refresh_token": "rt-secret-1",
                                 "expires_in": 60}, match=[
            matchers.urlencoded_params_matcher({
                "grant_type": "refresh_token", "refresh_token": "rt-secret-0",
                "client_id": "cli", "scope": "cars:read"})])
        token = provider(scope="cars:read").fetch_token(session, timeout=5, previous=None)
        assert "Authorization" not in rs.calls[0].request.headers
    assert token.access_token == "at-1"
    assert token.refresh_token == "rt-secret-1"


def test_confidential_client_authenticates(session: requests.Session) -> None:
    with responses.RequestsMock() as rs:
        rs.post(TOKEN_URL, json={"access_token": "at-1"})
        token = provider(client_secret="cs").fetch_token(session, timeout=5, previous=None)
        assert rs.calls[0].request.headers["Authorization"].startswith("Basic ")
    assert token.refresh_token == "rt-secret-0"  # not rotated: the old one is kept (§6)


def test_cached_refresh_token_wins_and_rotation_calls_back(session: requests.Session) -> None:
    rotated: list[str] = []
    p = provider(on_refresh_token=rotated.append)
    cached = Token("at-0", refresh_token="rt-secret-cached", expires_at=1.0)
    with responses.RequestsMock() as rs:
        rs.post(TOKEN_URL, json={"access_token": "at-1", "refresh_token": "rt-secret-2"},
                match=[matchers.urlencoded_params_matcher(
                    {"grant_type": "refresh_token", "refresh_token": "rt-secret-cached",
                     "client_id": "cli"})])
        p.fetch_token(session, timeout=5, previous=cached)
    assert rotated == ["rt-secret-2"]


def test_no_callback_when_not_rotated(session: requests.Session) -> None:
    rotated: list[str] = []
    with responses.RequestsMock() as rs:
        rs.post(TOKEN_URL, json={"access_token": "at-1", "refresh_token": "rt-secret-0"})
        provider(on_refresh_token=rotated.append).fetch_token(session, timeout=5, previous=None)
    assert rotated == []


def test_failing_callback_is_logged_not_raised(session: requests.Session,
                                               caplog: pytest.LogCaptureFixture) -> None:
    def broken(refresh_token: str) -> None:
        raise OSError(f"disk full writing {refresh_token}")

    with responses.RequestsMock() as rs, caplog.at_level(logging.DEBUG):
        rs.post(TOKEN_URL, json={"access_token": "at-1", "refresh_token": "rt-secret-9"})
        token = provider(on_refresh_token=broken).fetch_token(session, timeout=5, previous=None)
    assert token.refresh_token == "rt-secret-9"
    assert "on_refresh_token callback failed (OSError)" in caplog.text
    assert "secret" not in caplog.text


def test_a_rotated_away_token_is_never_sent_again(session: requests.Session) -> None:
    p = provider()
    stale = Token("at-0", refresh_token="rt-secret-0", expires_at=1.0)
    with responses.RequestsMock() as rs:
        rs.post(TOKEN_URL, json={"access_token": "at-1", "refresh_token": "rt-secret-1"})
        p.fetch_token(session, timeout=5, previous=stale)
        # A sharer hands back the token that still holds the rotated-away one:
        rs.replace(responses.POST, TOKEN_URL,
                   json={"access_token": "at-2", "refresh_token": "rt-secret-2"},
                   match=[matchers.urlencoded_params_matcher(
                       {"grant_type": "refresh_token", "refresh_token": "rt-secret-1",
                        "client_id": "cli"})])
        p.fetch_token(session, timeout=5, previous=stale)


def test_no_refresh_token_says_log_in(session: requests.Session) -> None:
    p = provider(refresh_token=None, login_hint="run `mysdk auth login`")
    with pytest.raises(LoginRequiredError, match=r"not logged in.*run `mysdk auth login`") as info:
        p.fetch_token(session, timeout=5, previous=None)
    assert info.value.error == "login_required"
    assert isinstance(info.value, AuthError)


def test_refused_refresh_token_says_log_in_again(session: requests.Session) -> None:
    p = provider()
    with responses.RequestsMock() as rs:
        rs.post(TOKEN_URL, status=400, json={"error": "invalid_grant",
                                             "error_description": "revoked"})
        with pytest.raises(LoginRequiredError, match=r"has ended.*invalid_grant.*log in again"
                           ) as info:
            p.fetch_token(session, timeout=5, previous=None)
        with pytest.raises(LoginRequiredError):  # not sent twice
            p.fetch_token(session, timeout=5, previous=None)
        assert len(rs.calls) == 1
    assert info.value.status_code == 400
    assert "rt-secret" not in chain(info.value)
    again = pickle.loads(pickle.dumps(info.value))  # noqa: S301 - our own data
    assert type(again) is LoginRequiredError
    assert again.error == "invalid_grant"


@pytest.mark.parametrize(("status", "error"), [(503, "temporarily_unavailable"),
                                               (401, "invalid_client")])
def test_other_refusals_are_raised_as_they_are(session: requests.Session, status: int,
                                               error: str) -> None:
    with responses.RequestsMock() as rs:
        rs.post(TOKEN_URL, status=status, json={"error": error})
        with pytest.raises(TokenRequestError) as info:
            provider().fetch_token(session, timeout=5, previous=None)
    assert not isinstance(info.value, LoginRequiredError)
    assert info.value.error == error


def test_token_endpoint_discovered_from_the_issuer(session: requests.Session) -> None:
    issuer = "https://id.example.com"
    with responses.RequestsMock() as rs:
        rs.get(f"{issuer}/.well-known/openid-configuration",
               json={"issuer": issuer, "token_endpoint": f"{issuer}/oauth2/token"})
        rs.post(f"{issuer}/oauth2/token", json={"access_token": "at-1"})
        provider(token_url=None, issuer=issuer).fetch_token(session, timeout=5, previous=None)


def test_cache_key_is_issuer_client_and_scope_only() -> None:
    a = RefreshTokenProvider(issuer="https://id.example.com", client_id="cli", scope="b a")
    b = RefreshTokenProvider(issuer="https://id.example.com", client_id="cli", scope="a b",
                             refresh_token="rt-secret", on_refresh_token=print)
    assert a.cache_key == b.cache_key == cache_key(
        "https://id.example.com", "cli", "a b", grant_type="refresh_token")
    other = RefreshTokenProvider(issuer="https://id.example.com", client_id="cli2", scope="a b")
    assert other.cache_key != a.cache_key


def test_repr_masks_secrets() -> None:
    p = provider(client_secret="cs-secret")
    assert "secret" not in repr(p)
    assert "public_client=False" in repr(p)


@pytest.mark.parametrize("kwargs", [
    {"client_id": ""}, {"token_url": None}, {"token_url": "http://id.example.com/token"},
    {"client_secret": ""}, {"refresh_token": ""}, {"auth_method": "none"},
    {"extra_params": {"grant_type": "x"}},
])
def test_arguments_are_checked(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequestError):
        provider(**kwargs)


# -- against the reference server --------------------------------------------------------------


def device_refresh_token(server: RunningServer, http: requests.Session) -> str:
    """A refresh token from a device login approved at once."""
    answer = http.post(f"{server.issuer}/oauth/device_authorization",
                       data={"client_id": DEFAULT_PUBLIC_CLIENT_ID}, timeout=5).json()
    assert server.decide_device(answer["user_code"])
    token = http.post(server.token_url, data={"grant_type": DEVICE,
                                              "device_code": answer["device_code"],
                                              "client_id": DEFAULT_PUBLIC_CLIENT_ID}, timeout=5)
    return str(token.json()["refresh_token"])


class CountingCache(MemoryTokenCache):
    """Records every write, to show the new access and refresh token go in one."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.writes: list[Token] = []

    def set(self, key: str, token: Token) -> None:
        self.writes.append(token)
        super().set(key, token)


def storm(manager: TokenManager) -> tuple[list[str], list[BaseException]]:
    """16 threads ask for a token at once; the access tokens they got, and errors."""
    barrier = threading.Barrier(16)
    got: list[str] = []
    errors: list[BaseException] = []

    def call() -> None:
        barrier.wait(5)
        try:
            got.append(manager.token().access_token)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return got, errors


def test_sixteen_threads_one_refresh_per_expiry(
    server: RunningServer, session: requests.Session
) -> None:
    offset = [0.0]

    def wall() -> float:
        return time.time() + offset[0]

    p = RefreshTokenProvider(issuer=server.issuer, client_id=DEFAULT_PUBLIC_CLIENT_ID,
                             refresh_token=device_refresh_token(server, session))

    class OnTheFakeClock:
        """The provider, its tokens' times moved onto the fake wall clock."""

        cache_key = p.cache_key

        def fetch_token(self, session: requests.Session, *, timeout: object,
                        previous: Token | None) -> Token:
            token = p.fetch_token(session, timeout=timeout, previous=previous)
            assert token.expires_at is not None
            return token.replace(issued_at=token.issued_at + offset[0],
                                 expires_at=token.expires_at + offset[0])

    cache = CountingCache(timer=wall)
    manager = TokenManager(OnTheFakeClock(), cache, session=session, timeout=5, clock=wall,
                           leeway=0)
    server.stats.reset()
    expiries = 4
    for _ in range(expiries):
        got, errors = storm(manager)
        assert errors == []
        assert len(got) == 16
        assert len(set(got)) == 1
        offset[0] += 3601  # the access token expires
    stats = server.stats.snapshot()
    assert stats["token_requests_by_grant"] == {"refresh_token": expiries}
    assert stats["invalid_grant"] == 0  # never a rotated-away refresh token
    refresh_tokens = [t.refresh_token for t in cache.writes]
    assert len(cache.writes) == expiries  # one write per refresh: token and rotation together
    assert len(set(refresh_tokens)) == expiries
    assert len({t.access_token for t in cache.writes}) == expiries


def test_client_uses_the_provider_and_says_log_in_again_after_revocation(
    server: RunningServer, session: requests.Session
) -> None:
    refresh_token = device_refresh_token(server, session)
    p = RefreshTokenProvider(issuer=server.issuer, client_id=DEFAULT_PUBLIC_CLIENT_ID,
                             refresh_token=refresh_token)
    with Client(base_url=server.base_url, auth=p) as client:
        assert client.get("/api/v1/cars")["items"] == []
        token = client.auth.token()  # type: ignore[union-attr]
        session.post(f"{server.issuer}/oauth/revoke",
                     data={"token": token.refresh_token, "client_id": DEFAULT_PUBLIC_CLIENT_ID},
                     timeout=5)
        with pytest.raises(LoginRequiredError, match="log in again"):
            client.get("/api/v1/cars")
