"""FakeTokenEndpoint: issues tokens, counts requests, expires, revokes and rotates."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
import responses

import mysdk
from mysdk.testing import FakeTokenEndpoint

API = "https://api.example.test"
CARS = f"{API}/api/v1/cars"
EMPTY = {"items": [], "next_cursor": None}


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rs:
        yield rs


def test_the_plugin_fixture_issues_and_counts(fake_token_endpoint: FakeTokenEndpoint) -> None:
    fake_token_endpoint.protect("GET", CARS, json=EMPTY)
    with fake_token_endpoint.client(API) as client:
        assert client.get("/api/v1/cars") == EMPTY
        assert client.get("/api/v1/cars") == EMPTY
    assert fake_token_endpoint.count == 1  # cached: one token for both calls
    assert fake_token_endpoint.grants == ["client_credentials"]
    assert fake_token_endpoint.requests[0].client_auth == "client_secret_basic"
    assert fake_token_endpoint.access_token == "fake-access-1"


def test_client_builds_an_sdk_s_own_client_class(mock: responses.RequestsMock) -> None:
    class MyClient(mysdk.Client):
        pass

    with FakeTokenEndpoint(mock).client(API, cls=MyClient, timeout=3.0) as client:
        assert type(client) is MyClient
        assert client.base_url == API
        assert client.retry == mysdk.NO_RETRY


def test_client_secret_post_is_accepted(mock: responses.RequestsMock) -> None:
    oauth = FakeTokenEndpoint(mock)
    oauth.protect("GET", CARS, json=EMPTY)
    provider = oauth.credentials(auth_method="client_secret_post")
    with mysdk.Client(base_url=API, auth=provider, retry=None) as client:
        client.get("/api/v1/cars")
    assert oauth.requests[0].client_auth == "client_secret_post"
    assert oauth.requests[0].form["client_secret"] == "test-secret"


def test_a_wrong_secret_is_invalid_client(mock: responses.RequestsMock) -> None:
    FakeTokenEndpoint(mock, client_secret="right")
    provider = mysdk.ClientCredentials(token_url="https://auth.example.test/oauth/token",
                                       client_id="test-client", client_secret="wrong")
    with mysdk.Client(base_url=API, auth=provider, retry=None) as client, \
            pytest.raises(mysdk.TokenRequestError) as info:
        client.get("/anything")
    assert info.value.error == "invalid_client"


def test_expire_makes_the_api_answer_401_and_the_client_refreshes(
        mock: responses.RequestsMock) -> None:
    oauth = FakeTokenEndpoint(mock, refresh_tokens=True)
    oauth.protect("GET", CARS, json=EMPTY)
    with oauth.client(API) as client:
        client.get("/api/v1/cars")
        assert oauth.is_valid("fake-access-1")
        oauth.expire()
        assert not oauth.is_valid("fake-access-1")
        client.get("/api/v1/cars")  # 401 -> refresh grant -> replay
    assert oauth.grants == ["client_credentials", "refresh_token"]
    assert oauth.requests[1].form["refresh_token"] == "fake-refresh-1"
    assert oauth.is_valid("fake-access-2")


def test_rotation_revokes_the_used_refresh_token(mock: responses.RequestsMock) -> None:
    oauth = FakeTokenEndpoint(mock, refresh_tokens=True)
    url = oauth.token_url
    requests.post(url, data={"grant_type": "client_credentials"}, auth=("test-client",
                                                                         "test-secret"), timeout=5)
    assert oauth.valid_refresh_tokens == {"fake-refresh-1"}
    first = requests.post(url, data={"grant_type": "refresh_token",
                                     "refresh_token": "fake-refresh-1"},
                          auth=("test-client", "test-secret"), timeout=5)
    assert first.json()["refresh_token"] == "fake-refresh-2"
    reuse = requests.post(url, data={"grant_type": "refresh_token",
                                     "refresh_token": "fake-refresh-1"},
                          auth=("test-client", "test-secret"), timeout=5)
    assert (reuse.status_code, reuse.json()["error"]) == (400, "invalid_grant")
    assert oauth.valid_refresh_tokens == {"fake-refresh-2"}


def test_without_rotation_the_refresh_token_stays(mock: responses.RequestsMock) -> None:
    oauth = FakeTokenEndpoint(mock, refresh_tokens=True, rotate_refresh_tokens=False)
    auth = ("test-client", "test-secret")
    requests.post(oauth.token_url, data={"grant_type": "client_credentials"}, auth=auth,
                  timeout=5)
    answer = requests.post(oauth.token_url, data={"grant_type": "refresh_token",
                                                  "refresh_token": "fake-refresh-1"},
                           auth=auth, timeout=5).json()
    assert "refresh_token" not in answer
    assert oauth.valid_refresh_tokens == {"fake-refresh-1"}


def test_revoked_refresh_tokens_fall_back_to_client_credentials(
        mock: responses.RequestsMock) -> None:
    oauth = FakeTokenEndpoint(mock, refresh_tokens=True)
    oauth.protect("GET", CARS, json=EMPTY)
    with oauth.client(API) as client:
        client.get("/api/v1/cars")
        oauth.revoke()  # every access and refresh token
        client.get("/api/v1/cars")
    assert oauth.grants == ["client_credentials", "refresh_token", "client_credentials"]
    assert [r.status for r in oauth.requests] == [200, 400, 200]


def test_revoking_one_access_token(mock: responses.RequestsMock) -> None:
    oauth = FakeTokenEndpoint(mock)
    oauth.protect("GET", CARS, json=EMPTY)
    with oauth.client(API) as client:
        client.get("/api/v1/cars")
        oauth.revoke("fake-access-1")
        client.get("/api/v1/cars")
    assert oauth.count == 2


def test_fail_next_answers_errors_then_recovers(mock: responses.RequestsMock) -> None:
    oauth = FakeTokenEndpoint(mock)
    oauth.fail_next("invalid_scope", status=400)
    oauth.protect("GET", CARS, json=EMPTY)
    with oauth.client(API) as client:
        with pytest.raises(mysdk.TokenRequestError) as info:
            client.get("/api/v1/cars")
        assert info.value.error == "invalid_scope"
        assert client.get("/api/v1/cars") == EMPTY
    assert [r.status for r in oauth.requests] == [400, 200]


@pytest.mark.parametrize(("form", "error"), [
    ({}, "invalid_request"), ({"grant_type": "password"}, "unsupported_grant_type"),
    ({"grant_type": "refresh_token", "refresh_token": "never-issued"}, "invalid_grant"),
])
def test_bad_grants_get_rfc6749_errors(mock: responses.RequestsMock, form: dict[str, str],
                                       error: str) -> None:
    oauth = FakeTokenEndpoint(mock)
    resp = requests.post(oauth.token_url, data=form, auth=("test-client", "test-secret"),
                         timeout=5)
    assert (resp.status_code, resp.json()["error"]) == (400, error)
    assert resp.headers["Cache-Control"] == "no-store"


def test_protected_routes_want_a_bearer_token(mock: responses.RequestsMock) -> None:
    oauth = FakeTokenEndpoint(mock)
    oauth.protect("GET", CARS, json={"items": []})
    resp = requests.get(CARS, timeout=5)
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


@pytest.fixture
def mysdk_fake_oauth_options() -> dict[str, object]:
    return {"token_url": "https://login.example.test/token", "expires_in": None}


def test_the_fixture_takes_options(fake_token_endpoint: FakeTokenEndpoint) -> None:
    resp = requests.post("https://login.example.test/token",
                         data={"grant_type": "client_credentials"},
                         auth=("test-client", "test-secret"), timeout=5)
    assert resp.status_code == 200
    assert "expires_in" not in resp.json()
    assert fake_token_endpoint.count == 1
