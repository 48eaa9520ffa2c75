"""mysdk.client.Client: options, timeouts, query, JSON helpers, URLs, headers, keys."""

from __future__ import annotations

import math
import uuid
from typing import Any

import pytest
import requests
import responses
from responses import matchers
from responses.registries import OrderedRegistry

import mysdk
from mysdk import Client, ClientCredentials, DecodeError, InvalidRequestError, RetryPolicy
from mysdk._types import DEFAULT_TIMEOUT

BASE = "https://api.example.com"


def _timeout_of(call: Any) -> Any:
    return call.request.req_kwargs["timeout"]


# --- keyword options ------------------------------------------------------------------


def test_options_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        Client(BASE)  # type: ignore[misc]
    client = Client(base_url=BASE)
    with pytest.raises(TypeError):
        client.request("GET", "/x", {"a": 1})  # type: ignore[misc]


def test_unknown_option_is_refused() -> None:
    with pytest.raises(TypeError):
        Client(base_url=BASE, timeuot=3)  # type: ignore[call-arg]


@pytest.mark.parametrize("auth", ["token-string", 42, object()])
def test_auth_of_the_wrong_kind_is_refused(auth: object) -> None:
    with pytest.raises(InvalidRequestError, match="auth"):
        Client(base_url=BASE, auth=auth)  # type: ignore[arg-type]


def test_token_cache_needs_a_token_provider() -> None:
    with pytest.raises(InvalidRequestError, match="token_cache"):
        Client(base_url=BASE, token_cache=mysdk.MemoryTokenCache())
    with pytest.raises(InvalidRequestError, match="token_cache"):
        Client(base_url=BASE, auth=mysdk.StaticToken("t"), token_cache=mysdk.MemoryTokenCache())


# --- timeouts -------------------------------------------------------------------------


@responses.activate(assert_all_requests_are_fired=True)
def test_default_timeout_is_finite_and_passed_to_requests() -> None:
    responses.get(f"{BASE}/x", json={})
    Client(base_url=BASE).get("/x")
    sent = _timeout_of(responses.calls[0])
    assert sent == DEFAULT_TIMEOUT
    parts = sent if isinstance(sent, tuple) else (sent,)
    assert all(p is not None and math.isfinite(p) and p > 0 for p in parts)


@responses.activate(assert_all_requests_are_fired=True)
def test_client_and_call_timeouts_are_passed() -> None:
    responses.get(f"{BASE}/x", json={})
    client = Client(base_url=BASE, timeout=(1.5, 9))
    client.get("/x")
    client.get("/x", timeout=2.5)
    client.get("/x", timeout=(None, 4.0))
    assert [_timeout_of(c) for c in responses.calls] == [(1.5, 9), 2.5, (None, 4.0)]


@responses.activate(assert_all_requests_are_fired=True)
def test_explicit_none_timeout_passes_none() -> None:
    responses.get(f"{BASE}/x", json={})
    Client(base_url=BASE, timeout=None).get("/x")
    Client(base_url=BASE).get("/x", timeout=None)
    assert [_timeout_of(c) for c in responses.calls] == [None, None]


@pytest.mark.parametrize("bad", [-1, 0, float("nan"), float("inf"), "5", True, (1, 2, 3), (1, -2)])
def test_invalid_timeout_is_refused_naming_timeout(bad: Any) -> None:
    with pytest.raises(InvalidRequestError, match="timeout"):
        Client(base_url=BASE, timeout=bad)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rs:
        with pytest.raises(InvalidRequestError, match="timeout"):
            Client(base_url=BASE).get("/x", timeout=bad)
        assert len(rs.calls) == 0


# --- query parameters ------------------------------------------------------------------


@responses.activate(assert_all_requests_are_fired=True)
def test_query_params_keep_zero_and_false_and_drop_none() -> None:
    responses.get(
        f"{BASE}/cars",
        match=[matchers.query_param_matcher(
            {"page": "0", "flag": "false", "on": "true", "q": "a b", "n": "0.0"}
        )],
        json=[],
    )
    Client(base_url=BASE).get(
        "/cars", params={"page": 0, "flag": False, "on": True, "skip": None, "q": "a b", "n": 0.0}
    )
    url = responses.calls[0].request.url
    assert "skip" not in url
    assert "flag=false" in url
    assert "page=0" in url


@responses.activate(assert_all_requests_are_fired=True)
def test_all_none_params_send_no_query() -> None:
    responses.get(f"{BASE}/cars", json=[])
    Client(base_url=BASE).get("/cars", params={"cursor": None})
    assert responses.calls[0].request.url == f"{BASE}/cars"


# --- JSON helpers -------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_helpers_return_decoded_json(method: str) -> None:
    payload = {"method": method, "items": [1, 2, {"x": None}]}
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rs:
        rs.add(method.upper(), f"{BASE}/things", json=payload)
        result = getattr(Client(base_url=BASE), method)("/things")
        assert rs.calls[0].request.method == method.upper()
    assert result == payload


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_helpers_return_none_on_204(method: str) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rs:
        rs.add(method.upper(), f"{BASE}/things", status=204)
        assert getattr(Client(base_url=BASE), method)("/things") is None


@responses.activate(assert_all_requests_are_fired=True)
def test_request_returns_the_response_object() -> None:
    responses.get(f"{BASE}/raw", body=b"\x00\x01", status=200,
                  content_type="application/octet-stream")
    resp = Client(base_url=BASE).request("get", "/raw")
    assert isinstance(resp, requests.Response)
    assert resp.content == b"\x00\x01"
    assert responses.calls[0].request.method == "GET"


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [(200, "<html>hi</html>", "text/html"), (201, "{not json", "application/json")],
)
def test_non_json_success_body_raises_decode_error(
    status: int, body: str, content_type: str
) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rs:
        rs.post(f"{BASE}/things", status=status, body=body, content_type=content_type)
        with pytest.raises(DecodeError) as info:
            Client(base_url=BASE).post("/things", json={})
    err = info.value
    assert err.status_code == status
    assert err.content_type.startswith(content_type)
    assert err.method == "POST"
    assert err.url == f"{BASE}/things"
    assert str(status) in str(err)
    assert content_type in str(err)
    assert isinstance(err.__cause__, ValueError)


# --- URLs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example.com/api/v1/cars",
        "http://api.example.com/api/v1/cars",
        "https://api.example.com:8443/api/v1/cars",
        "https://api.example.com.evil.org/x",
    ],
)
def test_absolute_url_to_another_origin_is_refused(target: str) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rs:
        client = Client(base_url=BASE, auth=mysdk.StaticToken("secret-token"))
        with pytest.raises(InvalidRequestError, match="another origin"):
            client.get(target)
        assert len(rs.calls) == 0


@responses.activate(assert_all_requests_are_fired=True)
def test_absolute_url_on_the_same_origin_is_allowed() -> None:
    responses.get(f"{BASE}/api/v1/cars", match=[matchers.query_param_matcher({"cursor": "c2"})],
                  json={"ok": True})
    assert Client(base_url=BASE).get(f"{BASE}/api/v1/cars?cursor=c2") == {"ok": True}


@pytest.mark.parametrize(
    "base_url", ["api.example.com", "ftp://api.example.com", "", "//api.example.com", None, 42]
)
def test_base_url_must_be_http_or_https(base_url: Any) -> None:
    with pytest.raises(InvalidRequestError, match="base_url"):
        Client(base_url=base_url)


@pytest.mark.parametrize(
    ("base_url", "path"),
    [
        ("https://api.example.com/v1/", "/cars"),
        ("https://api.example.com/v1", "/cars"),
        ("https://api.example.com/v1", "cars"),
        ("https://api.example.com/v1//", "cars"),
    ],
)
def test_base_url_and_path_are_joined(base_url: str, path: str) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rs:
        rs.get("https://api.example.com/v1/cars", json=[])
        Client(base_url=base_url).get(path)
        assert rs.calls[0].request.url == "https://api.example.com/v1/cars"


@pytest.mark.parametrize("leeway", [-1.0, float("nan"), float("inf"), "60"])
def test_bad_token_leeway_is_named(leeway: Any) -> None:
    provider = ClientCredentials(token_url=f"{BASE}/token", client_id="c", client_secret="s")
    with pytest.raises(InvalidRequestError, match="token_leeway"):
        Client(base_url=BASE, auth=provider, token_leeway=leeway)


def test_base_url_with_credentials_is_refused_without_echoing_them() -> None:
    with pytest.raises(InvalidRequestError, match="credentials") as info:
        Client(base_url="https://user:pw-SECRET@api.example.com")
    assert "pw-SECRET" not in str(info.value)


def test_path_must_be_a_string() -> None:
    with pytest.raises(InvalidRequestError, match="path"):
        Client(base_url=BASE).get(b"/x")  # type: ignore[arg-type]


# --- headers -----------------------------------------------------------------------------


@responses.activate(assert_all_requests_are_fired=True)
def test_default_and_per_call_headers() -> None:
    responses.get(f"{BASE}/x", json={})
    client = Client(base_url=BASE, headers={"X-Team": "a", "X-Default": "d"})
    client.get("/x", headers={"X-Team": "b", "X-Extra": "1"})
    client.get("/x")
    first, second = (c.request.headers for c in responses.calls)
    assert first["X-Team"] == "b"
    assert first["X-Extra"] == "1"
    assert first["X-Default"] == "d"
    assert first["Accept"] == "application/json"
    assert second["X-Team"] == "a"
    assert "X-Extra" not in second
    assert "Authorization" not in second


@responses.activate(assert_all_requests_are_fired=True)
def test_default_accept_can_be_overridden() -> None:
    responses.get(f"{BASE}/x", json={}, match=[matchers.header_matcher(
        {"Accept": "application/vnd.cars+json"})])
    Client(base_url=BASE, headers={"Accept": "application/vnd.cars+json"}).get("/x")


@responses.activate(assert_all_requests_are_fired=True)
def test_static_token_and_api_key_are_sent() -> None:
    responses.get(f"{BASE}/bearer", json={},
                  match=[matchers.header_matcher({"Authorization": "Bearer abc"})])
    responses.get(f"{BASE}/key", json={}, match=[matchers.header_matcher({"X-API-Key": "k1"})])
    Client(base_url=BASE, auth=mysdk.StaticToken("abc")).get("/bearer")
    Client(base_url=BASE, auth=mysdk.APIKey("k1")).get("/key")
    assert "Authorization" not in responses.calls[1].request.headers


# --- context manager ------------------------------------------------------------------------


def test_context_manager_returns_the_client_and_closes(monkeypatch: pytest.MonkeyPatch) -> None:
    closed: list[Client] = []
    monkeypatch.setattr(Client, "close", lambda self: closed.append(self))
    with Client(base_url=BASE) as client:
        assert isinstance(client, Client)
        assert closed == []
    assert closed == [client]
    with pytest.raises(RuntimeError), Client(base_url=BASE) as other:
        raise RuntimeError("inside")
    assert closed == [client, other]


# --- Idempotency-Key -------------------------------------------------------------------------


def _keys(calls: Any) -> list[str | None]:
    return [c.request.headers.get("Idempotency-Key") for c in calls]


@responses.activate(assert_all_requests_are_fired=True)
def test_client_mints_a_fresh_key_per_unsafe_call() -> None:
    for method in ("POST", "PATCH", "PUT", "GET", "DELETE"):
        responses.add(method, f"{BASE}/x", json={})
    client = Client(base_url=BASE, idempotency_keys=True)
    client.post("/x", json={})
    client.post("/x", json={})
    client.patch("/x", json={})
    client.put("/x", json={})
    client.get("/x")
    client.delete("/x")
    post1, post2, patch, put, get, delete = _keys(responses.calls)
    for key in (post1, post2, patch):
        assert key is not None
        assert uuid.UUID(key).version == 4
    assert len({post1, post2, patch}) == 3
    assert (put, get, delete) == (None, None, None)


@responses.activate(assert_all_requests_are_fired=True)
def test_no_key_by_default_and_per_call_choices() -> None:
    responses.post(f"{BASE}/x", json={})
    plain = Client(base_url=BASE)
    minting = Client(base_url=BASE, idempotency_keys=True)
    plain.post("/x")
    plain.post("/x", idempotency_key="order-7")
    plain.post("/x", idempotency_key=True)
    minting.post("/x", idempotency_key=False)
    minting.post("/x", headers={"Idempotency-Key": "mine"})
    none, given, minted, refused, header = _keys(responses.calls)
    assert none is None
    assert given == "order-7"
    assert minted is not None
    assert uuid.UUID(minted).version == 4
    assert refused is None
    assert header == "mine"


def test_the_same_key_is_sent_on_every_attempt() -> None:
    sleeps: list[float] = []
    client = Client(base_url=BASE, idempotency_keys=True, sleep=sleeps.append,
                    monotonic=lambda: 0.0, retry=RetryPolicy(max_attempts=3, base_delay=0.1))
    with responses.RequestsMock(assert_all_requests_are_fired=True,
                                registry=OrderedRegistry) as rs:
        rs.post(f"{BASE}/orders", status=503)
        rs.post(f"{BASE}/orders", status=502)
        rs.post(f"{BASE}/orders", status=201, json={"id": 1})
        assert client.post("/orders", json={"n": 1}) == {"id": 1}
        keys = _keys(rs.calls)
        rs.post(f"{BASE}/orders", status=201, json={"id": 2})
        client.post("/orders", json={"n": 2})
        next_key = _keys(rs.calls)[-1]
    assert len(keys) == 3
    assert keys[0] is not None
    assert keys == [keys[0]] * 3
    assert next_key not in (None, keys[0])
    assert len(sleeps) == 2


@pytest.mark.parametrize("name", ["idempotency-key", "IDEMPOTENCY-KEY"])
def test_a_callers_key_header_is_found_whatever_its_case(name: str) -> None:
    # Header names are case-insensitive (RFC 9110 §5.1): the caller's key must be
    # neither replaced by a minted one nor ignored when deciding to retry.
    sleeps: list[float] = []
    with responses.RequestsMock(assert_all_requests_are_fired=True,
                                registry=OrderedRegistry) as rs:
        rs.post(f"{BASE}/orders", status=503)
        rs.post(f"{BASE}/orders", status=201, json={"id": 1})
        rs.post(f"{BASE}/orders", status=201, json={"id": 2})
        plain = Client(base_url=BASE, sleep=sleeps.append, monotonic=lambda: 0.0)
        assert plain.post("/orders", json={}, headers={name: "mine"}) == {"id": 1}
        minting = Client(base_url=BASE, idempotency_keys=True)
        minting.post("/orders", json={}, headers={name: "mine"})
        assert _keys(rs.calls) == ["mine", "mine", "mine"]
    assert len(sleeps) == 1
