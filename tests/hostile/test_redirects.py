"""A 3xx is never a silent success (issue 7, point 3).

Same-origin redirects are followed as RFC 9110 §15.4 says, at most 5 hops,
with credentials stamped again on each hop; another origin, or https to http,
is a RedirectError carrying the redacted Location.
"""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Iterator

import pytest
import responses
from responses import matchers

import mysdk
from mysdk import Event, RedirectError, TokenBucket
from mysdk.errors import APIStatusError
from tests.hostile.server import Request, hostile_server, respond

BASE = "https://api.example.com"


@pytest.fixture
def rs() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def _client(**kwargs: object) -> mysdk.Client:
    return mysdk.Client(base_url=BASE, retry=None, auth=mysdk.StaticToken("T1"),
                        **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [307, 308])
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_307_and_308_keep_the_method_and_the_body(
    rs: responses.RequestsMock, status: int, method: str
) -> None:
    rs.add(method, f"{BASE}/a", status=status, headers={"Location": "/b?x=1"})
    rs.add(method, f"{BASE}/b", json={"ok": 1}, match=[
        matchers.json_params_matcher({"n": 1}), matchers.query_param_matcher({"x": "1"}),
        matchers.header_matcher({"Authorization": "Bearer T1"})])
    assert _client().request(method, "/a", json={"n": 1}).json() == {"ok": 1}


def test_303_turns_into_a_get_without_the_body(rs: responses.RequestsMock) -> None:
    rs.post(f"{BASE}/jobs", status=303, headers={"Location": f"{BASE}/jobs/7"})
    done = rs.get(f"{BASE}/jobs/7", json={"id": 7})
    assert _client().post("/jobs", json={"n": 1}) == {"id": 7}
    assert done.calls[0].request.body is None
    assert "Content-Type" not in done.calls[0].request.headers


@pytest.mark.parametrize("status", [301, 302])
def test_301_and_302_turn_a_post_into_a_get(rs: responses.RequestsMock, status: int) -> None:
    rs.post(f"{BASE}/a", status=status, headers={"Location": "/b"})
    rs.get(f"{BASE}/b", json=[1])
    assert _client().post("/a", json={"n": 1}) == [1]


@pytest.mark.parametrize("status", [301, 302])
def test_301_and_302_keep_a_put(rs: responses.RequestsMock, status: int) -> None:
    rs.put(f"{BASE}/a", status=status, headers={"Location": "/b"})
    rs.put(f"{BASE}/b", json=[1], match=[matchers.json_params_matcher({"n": 1})])
    assert _client().put("/a", json={"n": 1}) == [1]


def test_a_file_body_is_rewound_for_the_next_hop() -> None:
    # A real socket: `responses` swaps a file body for its bytes.
    def handler(conn: socket.socket, request: Request) -> None:
        if request.target == "/a":
            respond(conn, 307, headers={"Location": "/b"})
        else:
            respond(conn, 200, b"{}", headers={"Content-Type": "application/json"})

    body = io.BytesIO(b"xxhello")
    body.seek(2)
    with hostile_server(handler) as server:
        mysdk.Client(base_url=server.url, retry=None).put("/a", data=body)
    assert [(r.target, r.body) for r in server.requests] == [("/a", b"hello"), ("/b", b"hello")]


def test_an_iterator_body_is_not_resent(rs: responses.RequestsMock) -> None:
    rs.put(f"{BASE}/a", status=307, headers={"Location": "/b"})
    with pytest.raises(RedirectError, match="iterator") as info:
        _client().put("/a", data=iter([b"a", b"b"]))
    assert info.value.status_code == 307
    assert info.value.location == f"{BASE}/b"


@pytest.mark.parametrize("location", [
    "https://evil.example.com/b?sig=s3cret&page=2",
    "http://api.example.com/b?sig=s3cret&page=2",   # https to http
    "https://api.example.com:8443/b?sig=s3cret&page=2",  # another port: another origin
    "//evil.example.com/b?sig=s3cret&page=2",
])
def test_another_origin_is_refused_with_the_location_redacted(
    rs: responses.RequestsMock, location: str
) -> None:
    rs.delete(f"{BASE}/cars/1", status=307, headers={"Location": location})
    with pytest.raises(RedirectError) as info:
        _client().delete("/cars/1")
    err = info.value
    assert err.status_code == 307
    assert "s3cret" not in err.location
    assert "sig=***" in err.location
    assert "page=2" in err.location
    assert "s3cret" not in str(err) + repr(err)
    assert len(rs.calls) == 1  # nothing went to the other origin


def test_at_most_five_hops(rs: responses.RequestsMock) -> None:
    for i in range(6):
        rs.get(f"{BASE}/r{i}", status=302, headers={"Location": f"/r{i + 1}"})
    events: list[Event] = []
    with pytest.raises(RedirectError, match="more than 5 redirects"):
        _client(on_event=events.append).get("/r0")
    assert len(rs.calls) == 6
    assert [e.kind for e in events].count("redirect") == 5


@pytest.mark.parametrize("headers", [{}, {"Location": ""}, {"Location": "ftp://api.example.com/x"}])
def test_a_redirect_without_a_usable_location_raises(
    rs: responses.RequestsMock, headers: dict[str, str]
) -> None:
    rs.post(f"{BASE}/a", status=307, headers=headers, body=b"")
    with pytest.raises(RedirectError):
        _client().post("/a", json={})


@pytest.mark.parametrize("status", [300, 305, 306])
def test_a_3xx_that_is_not_a_redirect_raises(rs: responses.RequestsMock, status: int) -> None:
    rs.get(f"{BASE}/a", status=status, headers={"Location": "/b"})
    with pytest.raises(RedirectError, match=str(status)):
        _client().get("/a")


def test_304_is_returned_by_request_but_raises_from_the_json_helpers(
    rs: responses.RequestsMock,
) -> None:
    rs.get(f"{BASE}/a", status=304)
    rs.get(f"{BASE}/a", status=304)
    client = _client()
    assert client.request("GET", "/a", headers={"If-None-Match": '"v1"'}).status_code == 304
    with pytest.raises(APIStatusError) as info:
        client.get("/a")
    assert info.value.status_code == 304
    assert not isinstance(info.value, RedirectError)


def test_each_hop_takes_a_permit_and_fresh_credentials(rs: responses.RequestsMock) -> None:
    provider = mysdk.ClientCredentials(token_url="https://auth.example.com/token",
                                       client_id="c", client_secret="s")
    rs.post("https://auth.example.com/token", json={"access_token": "A1", "expires_in": 3600})
    rs.get(f"{BASE}/a", status=307, headers={"Location": "/b"},
           match=[matchers.header_matcher({"Authorization": "Bearer A1"})])
    rs.get(f"{BASE}/b", status=401,
           match=[matchers.header_matcher({"Authorization": "Bearer A1"})])
    rs.post("https://auth.example.com/token", json={"access_token": "A2", "expires_in": 3600})
    rs.get(f"{BASE}/b", json={"v": 2},
           match=[matchers.header_matcher({"Authorization": "Bearer A2"})])
    permits: list[float] = []
    bucket = TokenBucket(1000, burst=10, clock=lambda: 0.0, sleep=permits.append)
    original = bucket.acquire

    def counting(tokens: float = 1.0) -> float:
        permits.append(-1)
        return original(tokens)

    bucket.acquire = counting  # type: ignore[method-assign]
    client = mysdk.Client(base_url=BASE, auth=provider, retry=None, rate_limiter=bucket)
    assert client.get("/a") == {"v": 2}
    assert permits.count(-1) == 3  # first send, the hop, the reauth replay


def test_the_json_helpers_never_return_none_for_a_redirect(rs: responses.RequestsMock) -> None:
    rs.delete(f"{BASE}/cars/1", status=307, body=b"")  # no Location: nothing was deleted
    with pytest.raises(RedirectError):
        _client().delete("/cars/1")


def test_a_redirected_listing_decodes_the_final_body(rs: responses.RequestsMock) -> None:
    rs.get(f"{BASE}/old", status=308, headers={"Location": "/new"})
    rs.get(f"{BASE}/new", body=json.dumps({"items": []}), content_type="application/json")
    assert _client().get("/old") == {"items": []}


def test_a_redirect_with_a_dripping_body_is_bounded_by_the_deadline() -> None:
    import time

    from tests.hostile.server import drip

    def handler(conn: socket.socket, request: Request) -> None:
        conn.sendall(b"HTTP/1.1 307 X\r\nLocation: https://evil.example.com/\r\n"
                     b"Content-Length: 500\r\nConnection: close\r\n\r\n")
        drip(conn, b"x" * 500, 0.05, limit=10)

    with hostile_server(handler) as server:
        client = mysdk.Client(base_url=server.url, timeout=(1, 0.5),
                              retry=mysdk.RetryPolicy(max_attempts=1, total_budget=1.0))
        started = time.monotonic()
        with pytest.raises(mysdk.ReadTimeoutError):
            client.get("/x")
    assert time.monotonic() - started < 2.0


def test_a_malformed_location_is_a_redirect_error_not_a_raw_value_error() -> None:
    def handler(conn: socket.socket, request: Request) -> None:
        respond(conn, 302, headers={"Location": "http://[::1/bad"})

    with hostile_server(handler) as server, pytest.raises(RedirectError):
        mysdk.Client(base_url=server.url, retry=None).get("/x")
