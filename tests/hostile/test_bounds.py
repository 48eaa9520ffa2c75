"""Every wait has a stated bound and memory stays bounded (issue 7, points 9-10, 12).

A body dripped one byte at a time cannot hold a call past its deadline (the
retry budget); an error body is kept up to MAX_ERROR_BODY bytes; the token
endpoint's 5xx and 429 are retried by the call's policy, with Retry-After.
"""

from __future__ import annotations

import pickle
import socket
import time

import pytest
import responses
from responses import matchers
from responses.registries import OrderedRegistry

import mysdk
from mysdk import ReadTimeoutError, RetryPolicy, ServerError, TokenRequestError
from mysdk.errors import MAX_ERROR_BODY
from tests.hostile.server import Request, drip, hostile_server

BASE = "https://api.example.com"
TOKEN_URL = "https://auth.example.com/token"


def _dripping(conn: socket.socket, request: Request) -> None:
    body = b'{"items": [' + b"1," * 200 + b"1]}"
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                 b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")
    drip(conn, body, 0.05, limit=10)


def _dripping_chunked(conn: socket.socket, request: Request) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n")
    drip(conn, b"190\r\n" + b" " * 400 + b"\r\n0\r\n\r\n", 0.05, limit=10)


@pytest.mark.parametrize("handler", [_dripping, _dripping_chunked])
def test_a_dripped_body_cannot_hold_a_call_past_its_deadline(handler: object) -> None:
    policy = RetryPolicy(max_attempts=1, total_budget=1.0)
    with hostile_server(handler) as server:  # type: ignore[arg-type]
        client = mysdk.Client(base_url=server.url, retry=policy, timeout=(1.0, 0.5))
        started = time.monotonic()
        with pytest.raises(ReadTimeoutError, match="deadline") as info:
            client.get("/slow")
        took = time.monotonic() - started
    assert took < 2.0  # budget 1 s + one read timeout (0.5 s) + slack
    assert info.value.outcome_unknown is True


def test_a_huge_error_body_is_kept_bounded() -> None:
    size = 30 * 1024 * 1024

    def handler(conn: socket.socket, request: Request) -> None:
        conn.sendall(b"HTTP/1.1 500 Oops\r\nContent-Type: application/json\r\n"
                     b"Connection: close\r\nContent-Length: " + str(size).encode() + b"\r\n\r\n")
        chunk = b"x" * 65536
        try:
            for _ in range(size // len(chunk)):
                conn.sendall(chunk)
        except OSError:
            pass  # the client hung up once it had enough: that is the point

    with hostile_server(handler) as server:
        client = mysdk.Client(base_url=server.url, retry=None)
        with pytest.raises(ServerError) as info:
            client.get("/x")
    err = info.value
    assert err.body_truncated is True
    assert len(err.body) <= MAX_ERROR_BODY
    assert len(err.response.content) <= MAX_ERROR_BODY
    assert len(pickle.dumps(err)) < 2 * MAX_ERROR_BODY
    assert pickle.loads(pickle.dumps(err)).body_truncated is True  # noqa: S301


def test_a_small_error_body_is_whole() -> None:
    with responses.RequestsMock() as rs:
        rs.get(f"{BASE}/x", status=404, json={"message": "gone"})
        with pytest.raises(mysdk.NotFoundError) as info:
            mysdk.Client(base_url=BASE, retry=None).get("/x")
    assert info.value.body == {"message": "gone"}
    assert info.value.body_truncated is False


@pytest.mark.parametrize(("status", "error"), [(503, "temporarily_unavailable"),
                                               (500, "server_error"), (429, "slow_down")])
def test_the_token_endpoints_transient_failures_are_retried(status: int, error: str) -> None:
    provider = mysdk.ClientCredentials(token_url=TOKEN_URL, client_id="c", client_secret="s")
    sleeps: list[float] = []
    client = mysdk.Client(base_url=BASE, auth=provider, sleep=sleeps.append,
                          retry=RetryPolicy(max_attempts=3, base_delay=0.1))
    with responses.RequestsMock(registry=OrderedRegistry) as rs:
        rs.post(TOKEN_URL, status=status, json={"error": error}, headers={"Retry-After": "2"})
        rs.post(TOKEN_URL, json={"access_token": "A1", "expires_in": 3600})
        rs.get(f"{BASE}/x", json={"ok": 1},
               match=[matchers.header_matcher({"Authorization": "Bearer A1"})])
        assert client.get("/x") == {"ok": 1}
    assert sleeps == [2.0]  # the token endpoint's Retry-After


def test_a_token_endpoint_that_stays_down_raises_after_the_policys_attempts() -> None:
    provider = mysdk.ClientCredentials(token_url=TOKEN_URL, client_id="c", client_secret="s")
    sleeps: list[float] = []
    client = mysdk.Client(base_url=BASE, auth=provider, sleep=sleeps.append,
                          retry=RetryPolicy(max_attempts=3, base_delay=0.1))
    with responses.RequestsMock() as rs:
        token = rs.post(TOKEN_URL, status=503, json={"error": "temporarily_unavailable"})
        with pytest.raises(TokenRequestError) as info:
            client.post("/orders", json={})  # a POST: nothing reached the API
    assert token.call_count == 3
    assert info.value.attempts == 3
    assert len(sleeps) == 2


def test_a_refusal_by_the_token_endpoint_is_not_retried() -> None:
    provider = mysdk.ClientCredentials(token_url=TOKEN_URL, client_id="c", client_secret="s")
    client = mysdk.Client(base_url=BASE, auth=provider, sleep=lambda s: None)
    with responses.RequestsMock() as rs:
        token = rs.post(TOKEN_URL, status=401, json={"error": "invalid_client"})
        with pytest.raises(TokenRequestError):
            client.get("/x")
    assert token.call_count == 1
