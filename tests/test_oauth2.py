"""mysdk.auth.oauth2.ClientCredentials: RFC 6749 §4.4 grant, §6 refresh, §5.2 errors."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, quote_plus

import pytest
import requests
import responses
from responses import matchers
from responses.registries import OrderedRegistry

from mysdk import Client, ClientCredentials, MemoryTokenCache, Token, TokenRequestError
from mysdk.auth.manager import TokenManager

TOKEN_URL = "https://auth.example.com/oauth/token"
BASE = "https://api.example.com"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


def _provider(**kwargs: Any) -> ClientCredentials:
    options: dict[str, Any] = {"token_url": TOKEN_URL, "client_id": "cid",
                               "client_secret": "sec"}
    options.update(kwargs)
    return ClientCredentials(**options)


def _form(call: Any) -> dict[str, list[str]]:
    body = call.request.body
    return parse_qs(body if isinstance(body, str) else body.decode(), keep_blank_values=True)


# --- client authentication (RFC 6749 §2.3.1) -----------------------------------------------


def test_client_secret_basic_sends_form_encoded_basic_credentials(
    session: requests.Session,
) -> None:
    client_id, secret = "my client:1", "p@ss w/rd+&="
    expected = base64.b64encode(
        f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    ).decode()
    provider = _provider(client_id=client_id, client_secret=secret, scope="read write")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rs:
        rs.post(TOKEN_URL, json={"access_token": "T1", "token_type": "Bearer"}, match=[
            matchers.urlencoded_params_matcher(
                {"grant_type": "client_credentials", "scope": "read write"}),
            matchers.header_matcher({"Authorization": f"Basic {expected}",
                                     "Content-Type": FORM, "Accept": "application/json"}),
        ])
        token = provider.fetch_token(session, timeout=3, previous=None)
        body = rs.calls[0].request.body
    assert token.access_token == "T1"
    assert "p%40ss" not in body
    assert "client_secret" not in body
    assert "client_id" not in body


def test_client_secret_post_sends_credentials_in_the_form(session: requests.Session) -> None:
    provider = _provider(auth_method="client_secret_post", client_secret="p@ss")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rs:
        rs.post(TOKEN_URL, json={"access_token": "T1"}, match=[
            matchers.urlencoded_params_matcher(
                {"grant_type": "client_credentials", "client_id": "cid",
                 "client_secret": "p@ss"}),
            matchers.header_matcher({"Content-Type": FORM}),
        ])
        provider.fetch_token(session, timeout=3, previous=None)
        assert "Authorization" not in rs.calls[0].request.headers


# --- scope and extra parameters on every fetch --------------------------------------------------


def test_scope_and_extra_params_are_sent_on_fetch_and_every_refetch() -> None:
    provider = _provider(scope="cars:read cars:write",
                         extra_params={"audience": "https://api.example.com", "resource": "r1"})
    grant = {"grant_type": "client_credentials", "scope": "cars:read cars:write",
             "audience": "https://api.example.com", "resource": "r1"}
    refresh = {**grant, "grant_type": "refresh_token", "refresh_token": "RT"}
    client = Client(base_url=BASE, auth=provider, retry=None)
    with responses.RequestsMock(assert_all_requests_are_fired=True,
                                registry=OrderedRegistry) as rs:
        rs.post(TOKEN_URL, json={"access_token": "T1", "expires_in": 3600},
                match=[matchers.urlencoded_params_matcher(grant)])
        rs.get(f"{BASE}/x", status=401)
        rs.post(TOKEN_URL, json={"access_token": "T2", "expires_in": 3600, "refresh_token": "RT"},
                match=[matchers.urlencoded_params_matcher(grant)])
        rs.get(f"{BASE}/x", json={"n": 1})
        rs.get(f"{BASE}/y", status=401)
        rs.post(TOKEN_URL, json={"access_token": "T3", "expires_in": 3600},
                match=[matchers.urlencoded_params_matcher(refresh)])
        rs.get(f"{BASE}/y", json={"n": 2},
               match=[matchers.header_matcher({"Authorization": "Bearer T3"})])
        assert client.get("/x") == {"n": 1}
        assert client.get("/y") == {"n": 2}


def test_extra_params_are_copied_at_construction(session: requests.Session) -> None:
    extra = {"audience": "a1"}
    provider = _provider(extra_params=extra)
    extra["audience"] = "changed"
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rs:
        rs.post(TOKEN_URL, json={"access_token": "T"}, match=[
            matchers.urlencoded_params_matcher(
                {"grant_type": "client_credentials", "audience": "a1"})])
        provider.fetch_token(session, timeout=3, previous=None)


# --- error answers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "description"),
    [
        (400, {"error": "invalid_scope", "error_description": "scope x is unknown"},
         "scope x is unknown"),
        (401, {"error": "invalid_client"}, None),
        (400, {"error": "invalid_request", "error_description": 42}, None),
        (503, {"error": "temporarily_unavailable"}, None),
    ],
)
def test_rfc6749_error_answer(session: requests.Session, status: int, body: dict[str, Any],
                              description: str | None) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rs:
        rs.post(TOKEN_URL, status=status, json=body)
        with pytest.raises(TokenRequestError) as info:
            _provider().fetch_token(session, timeout=3, previous=None)
    err = info.value
    assert err.error == body["error"]
    assert err.error_description == description
    assert err.status_code == status
    assert err.token_url == TOKEN_URL
    assert body["error"] in str(err)
    assert err.retryable == (status >= 500 or body["error"] == "temporarily_unavailable")


@pytest.mark.parametrize(
    ("status", "kwargs"),
    [
        (200, {"body": "<html>BODY-SECRET</html>", "content_type": "text/html"}),
        (200, {"json": {"token_type": "bearer", "note": "BODY-SECRET"}}),
        (200, {"json": {"access_token": "", "note": "BODY-SECRET"}}),
        (200, {"json": ["BODY-SECRET"]}),
        (200, {"json": {"access_token": "BODY-SECRET", "expires_in": "soon"}}),
        (502, {"body": "BODY-SECRET gateway", "content_type": "text/plain"}),
    ],
)
def test_invalid_token_response(session: requests.Session, status: int,
                                kwargs: dict[str, Any]) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rs:
        rs.post(TOKEN_URL, status=status, **kwargs)
        with pytest.raises(TokenRequestError) as info:
            _provider().fetch_token(session, timeout=3, previous=None)
    err = info.value
    assert err.error == "invalid_response"
    assert err.status_code == status
    assert err.token_url == TOKEN_URL
    for text in (str(err), repr(err), repr(vars(err))):
        assert "BODY-SECRET" not in text


# --- the token response ---------------------------------------------------------------------------


def test_token_fields_from_the_response(session: requests.Session) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rs:
        rs.post(TOKEN_URL, json={"access_token": "T1", "token_type": "bearer", "expires_in": 120,
                                 "scope": "a b", "refresh_token": "RT"})
        before = time.time()
        token = _provider().fetch_token(session, timeout=3, previous=None)
        after = time.time()
    assert before <= token.issued_at <= after
    assert token.expires_at == pytest.approx(token.issued_at + 120)
    assert (token.token_type, token.scope, token.refresh_token) == ("Bearer", "a b", "RT")
    assert token.authorization() == "Bearer T1"


@pytest.mark.parametrize("token_type", ["mac", "DPoP", "N_A"])
def test_a_token_type_other_than_bearer_is_refused(session: requests.Session,
                                                   token_type: str) -> None:
    # RFC 6749 §7.1: a client must not use a token whose type it does not understand.
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rs:
        rs.post(TOKEN_URL, json={"access_token": "T1", "token_type": token_type})
        with pytest.raises(TokenRequestError, match="token_type") as info:
            _provider().fetch_token(session, timeout=3, previous=None)
    assert info.value.error == "invalid_response"
    assert token_type in str(info.value)  # a registered type is named; the token is not
    assert "T1" not in str(info.value)


# --- refresh grant (RFC 6749 §6) ------------------------------------------------------------------


def test_refresh_grant_is_used_first_and_keeps_the_old_refresh_token(
    session: requests.Session,
) -> None:
    previous = Token(access_token="old", refresh_token="RT-1")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rs:
        rs.post(TOKEN_URL, json={"access_token": "new", "expires_in": 60}, match=[
            matchers.urlencoded_params_matcher(
                {"grant_type": "refresh_token", "refresh_token": "RT-1"})])
        token = _provider().fetch_token(session, timeout=3, previous=previous)
    assert token.access_token == "new"
    assert token.refresh_token == "RT-1"


def test_a_rotated_refresh_token_replaces_the_old_one(session: requests.Session) -> None:
    previous = Token(access_token="old", refresh_token="RT-1")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rs:
        rs.post(TOKEN_URL, json={"access_token": "new", "refresh_token": "RT-2"}, match=[
            matchers.urlencoded_params_matcher(
                {"grant_type": "refresh_token", "refresh_token": "RT-1"})])
        token = _provider().fetch_token(session, timeout=3, previous=previous)
    assert token.refresh_token == "RT-2"


def test_no_refresh_grant_without_a_refresh_token(session: requests.Session) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rs:
        rs.post(TOKEN_URL, json={"access_token": "new"}, match=[
            matchers.urlencoded_params_matcher({"grant_type": "client_credentials"})])
        _provider().fetch_token(session, timeout=3, previous=Token(access_token="old"))


def test_invalid_grant_on_refresh_falls_back_to_client_credentials(
    session: requests.Session,
) -> None:
    previous = Token(access_token="old", refresh_token="RT-revoked")
    with responses.RequestsMock(assert_all_requests_are_fired=True,
                                registry=OrderedRegistry) as rs:
        rs.post(TOKEN_URL, status=400, json={"error": "invalid_grant"}, match=[
            matchers.urlencoded_params_matcher(
                {"grant_type": "refresh_token", "refresh_token": "RT-revoked"})])
        rs.post(TOKEN_URL, json={"access_token": "fresh"}, match=[
            matchers.urlencoded_params_matcher({"grant_type": "client_credentials"})])
        token = _provider().fetch_token(session, timeout=3, previous=previous)
    assert token.access_token == "fresh"
    assert token.refresh_token is None


@pytest.mark.parametrize(
    ("status", "answer"),
    [
        (400, {"error": "unauthorized_client"}),
        (401, {"error": "invalid_client"}),
        (400, {"error": "invalid_scope"}),
        (400, {"error": "invalid_request", "error_description": "refresh_token unknown"}),
        (403, {"error": "access_denied"}),
        (200, {"access_token": "T-bad", "token_type": "mac"}),  # not a usable answer
    ],
)
def test_any_refused_refresh_grant_falls_back_to_one_client_credentials_request(
    session: requests.Session, status: int, answer: dict[str, Any],
) -> None:
    previous = Token(access_token="old", refresh_token="RT-refused")
    with responses.RequestsMock(assert_all_requests_are_fired=True,
                                registry=OrderedRegistry) as rs:
        refresh = rs.post(TOKEN_URL, status=status, json=answer, match=[
            matchers.urlencoded_params_matcher(
                {"grant_type": "refresh_token", "refresh_token": "RT-refused"})])
        grant = rs.post(TOKEN_URL, json={"access_token": "fresh", "expires_in": 60}, match=[
            matchers.urlencoded_params_matcher({"grant_type": "client_credentials"})])
        token = _provider().fetch_token(session, timeout=3, previous=previous)
        assert (refresh.call_count, grant.call_count, len(rs.calls)) == (1, 1, 2)
    assert token.access_token == "fresh"
    assert token.refresh_token is None  # the refused refresh token is dropped


def test_a_refused_refresh_token_is_not_sent_again(session: requests.Session) -> None:
    provider = _provider()
    previous = Token(access_token="old", refresh_token="RT-refused")
    with responses.RequestsMock(assert_all_requests_are_fired=True,
                                registry=OrderedRegistry) as rs:
        rs.post(TOKEN_URL, status=400, json={"error": "unauthorized_client"})
        rs.post(TOKEN_URL, status=503, json={"error": "temporarily_unavailable"})
        rs.post(TOKEN_URL, json={"access_token": "fresh"}, match=[
            matchers.urlencoded_params_matcher({"grant_type": "client_credentials"})])
        with pytest.raises(TokenRequestError, match="temporarily_unavailable"):
            provider.fetch_token(session, timeout=3, previous=previous)
        # The caller still holds the old token; the refused refresh token is skipped.
        token = provider.fetch_token(session, timeout=3, previous=previous)
        assert len(rs.calls) == 3
    assert token.access_token == "fresh"


def test_when_the_fallback_is_refused_too_its_error_is_raised(
    session: requests.Session,
) -> None:
    previous = Token(access_token="old", refresh_token="RT")
    with responses.RequestsMock(assert_all_requests_are_fired=True,
                                registry=OrderedRegistry) as rs:
        rs.post(TOKEN_URL, status=400, json={"error": "unauthorized_client"})
        rs.post(TOKEN_URL, status=401, json={"error": "invalid_client"})
        with pytest.raises(TokenRequestError) as info:
            _provider().fetch_token(session, timeout=3, previous=previous)
        assert len(rs.calls) == 2
    assert info.value.error == "invalid_client"
    assert info.value.__context__ is None


@pytest.mark.parametrize(
    ("status", "answer"),
    [
        (500, {"error": "server_error"}),
        (503, {"error": "temporarily_unavailable"}),
        (429, {"error": "slow_down"}),
        (400, {"error": "temporarily_unavailable"}),
        (502, None),
    ],
)
def test_transient_refresh_failures_propagate_without_a_fallback(
    session: requests.Session, status: int, answer: dict[str, str] | None,
) -> None:
    previous = Token(access_token="old", refresh_token="RT")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rs:
        rs.post(TOKEN_URL, status=status,
                **({"json": answer} if answer is not None else {"body": "bad gateway"}))
        with pytest.raises(TokenRequestError) as info:
            _provider().fetch_token(session, timeout=3, previous=previous)
        assert len(rs.calls) == 1
    assert info.value.retryable


def test_a_refused_refresh_token_is_replaced_in_a_shared_cache() -> None:
    cache = MemoryTokenCache()
    provider = _provider()
    key = provider.cache_key
    now = time.time()
    cache.set(key, Token(access_token="old", refresh_token="RT-refused", issued_at=now - 7200,
                         expires_at=now - 3600))
    with requests.Session() as session, responses.RequestsMock(
            assert_all_requests_are_fired=True, registry=OrderedRegistry) as rs:
        rs.post(TOKEN_URL, status=400, json={"error": "unauthorized_client"})
        rs.post(TOKEN_URL, json={"access_token": "fresh", "expires_in": 3600})
        assert TokenManager(provider, cache, session=session, timeout=3).token().access_token \
            == "fresh"
        # A restarted process (new provider, same cache) reuses the new token.
        again = TokenManager(_provider(), cache, session=session, timeout=3).token()
        assert len(rs.calls) == 2
    stored = cache.get(key)
    assert stored is not None
    assert (stored.access_token, stored.refresh_token) == ("fresh", None)
    assert again.access_token == "fresh"


# --- timeouts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("timeout", [(1.5, 7.0), 4, None])
def test_token_requests_use_the_clients_timeout(timeout: Any) -> None:
    client = Client(base_url=BASE, auth=_provider(), timeout=timeout)
    with responses.RequestsMock(assert_all_requests_are_fired=True,
                                registry=OrderedRegistry) as rs:
        rs.post(TOKEN_URL, json={"access_token": "T1"})
        rs.get(f"{BASE}/x", json={})
        client.get("/x")
        assert rs.calls[0].request.url == TOKEN_URL
        assert rs.calls[0].request.req_kwargs["timeout"] == timeout
        assert rs.calls[1].request.req_kwargs["timeout"] == timeout


def test_token_is_reused_across_calls() -> None:
    client = Client(base_url=BASE, auth=_provider())
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rs:
        token = rs.post(TOKEN_URL, json={"access_token": "T1", "expires_in": 3600})
        rs.get(f"{BASE}/x", json={}, match=[matchers.header_matcher(
            {"Authorization": "Bearer T1"})])
        for _ in range(3):
            client.get("/x")
        assert token.call_count == 1


# --- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"token_url": ""}, "token_url"),
        ({"client_id": ""}, "client_id"),
        ({"client_secret": ""}, "client_secret"),
        ({"client_secret": None}, "client_secret"),
        ({"client_id": 7}, "client_id"),
        ({"auth_method": "private_key_jwt"}, "auth_method"),
        ({"extra_params": {"grant_type": "password"}}, "grant_type"),
        ({"extra_params": {"client_secret": "x"}}, "client_secret"),
        ({"extra_params": {"scope": "x"}}, "scope"),
        ({"extra_params": {"refresh_token": "x"}}, "refresh_token"),
    ],
)
def test_bad_constructor_arguments(kwargs: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        _provider(**kwargs)


def test_repr_hides_the_secret_and_cache_key_depends_on_identity() -> None:
    provider = _provider(client_secret="super-secret-value", scope="a")
    assert "super-secret-value" not in repr(provider)
    assert provider.cache_key == _provider(client_secret="other", scope="a").cache_key
    assert provider.cache_key != _provider(scope="b").cache_key
    assert provider.cache_key != _provider(client_id="cid2", scope="a").cache_key
    assert "cid" not in provider.cache_key
