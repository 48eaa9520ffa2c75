"""Reauthentication on 401: refresh the token and replay the request once."""

from __future__ import annotations

import io
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from responses import matchers
from responses.registries import OrderedRegistry

from mysdk import (
    APIKey,
    Client,
    ClientCredentials,
    Event,
    RetryPolicy,
    StaticToken,
    UnauthorizedError,
)

BASE = "https://api.example.com"
TOKEN_URL = "https://auth.example.com/oauth/token"
WAIT = 10.0


class TokenEndpoint:
    """A token endpoint callback handing out T1, T2, ... (thread-safe counter)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0

    def __call__(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        with self.lock:
            self.count += 1
            n = self.count
        return 200, {"Content-Type": "application/json"}, json.dumps(
            {"access_token": f"T{n}", "token_type": "Bearer", "expires_in": 3600})


def _client(events: list[Event] | None = None, **kwargs: Any) -> Client:
    provider = ClientCredentials(token_url=TOKEN_URL, client_id="cid", client_secret="sec")
    sleeps: list[float] = []
    options: dict[str, Any] = {"sleep": sleeps.append, "monotonic": lambda: 0.0}
    options.update(kwargs)
    client = Client(base_url=BASE, auth=provider,
                    on_event=events.append if events is not None else None, **options)
    client.test_sleeps = sleeps  # type: ignore[attr-defined]
    return client


def _bearer(token: str) -> list[Any]:
    return [matchers.header_matcher({"Authorization": f"Bearer {token}"})]


def test_401_refreshes_the_token_and_replays_once() -> None:
    events: list[Event] = []
    client = _client(events)
    with responses.RequestsMock(assert_all_requests_are_fired=True,
                                registry=OrderedRegistry) as rs:
        rs.post(TOKEN_URL, json={"access_token": "T1", "expires_in": 3600})
        rs.get(f"{BASE}/cars", status=401, match=_bearer("T1"))
        rs.post(TOKEN_URL, json={"access_token": "T2", "expires_in": 3600})
        rs.get(f"{BASE}/cars", json={"items": []}, match=_bearer("T2"))
        assert client.get("/cars") == {"items": []}
        assert len(rs.calls) == 4
    reauth = [e for e in events if e.kind == "reauth"]
    assert len(reauth) == 1
    assert (reauth[0].method, reauth[0].path, reauth[0].status, reauth[0].attempt) == (
        "GET", "/cars", 401, 1)
    assert client.test_sleeps == []  # type: ignore[attr-defined]


def test_a_second_401_raises_without_more_requests() -> None:
    client = _client(retry=RetryPolicy(max_attempts=5))
    with responses.RequestsMock(assert_all_requests_are_fired=True,
                                registry=OrderedRegistry) as rs:
        rs.post(TOKEN_URL, json={"access_token": "T1", "expires_in": 3600})
        rs.get(f"{BASE}/cars", status=401, match=_bearer("T1"))
        rs.post(TOKEN_URL, json={"access_token": "T2", "expires_in": 3600})
        rs.get(f"{BASE}/cars", status=401, json={"error": "invalid_token"}, match=_bearer("T2"))
        with pytest.raises(UnauthorizedError) as info:
            client.get("/cars")
        assert len(rs.calls) == 4
        token_calls = [c for c in rs.calls if c.request.url == TOKEN_URL]
        assert len(token_calls) == 2
    assert info.value.status_code == 401
    assert info.value.attempts == 1
    assert client.test_sleeps == []  # type: ignore[attr-defined]


def test_each_call_may_reauth_once() -> None:
    endpoint = TokenEndpoint()
    client = _client()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rs:
        rs.add_callback("POST", TOKEN_URL, callback=endpoint)
        api = rs.get(f"{BASE}/cars", status=401)
        for expected_tokens in (2, 3):  # the first call fetches T1 and T2; the next T3
            with pytest.raises(UnauthorizedError):
                client.get("/cars")
            assert endpoint.count == expected_tokens
        assert api.call_count == 4


def _generator() -> Iterator[bytes]:
    yield b"chunk-1;"
    yield b"chunk-2"


@pytest.fixture
def pipe_stream() -> Iterator[io.BufferedReader]:
    read_fd, write_fd = os.pipe()
    os.write(write_fd, b"streamed body")
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as stream:
        assert not stream.seekable()
        yield stream


@pytest.mark.parametrize("kind", ["generator", "pipe"])
def test_a_non_replayable_body_is_not_replayed(
    kind: str, pipe_stream: io.BufferedReader
) -> None:
    data: Any = _generator() if kind == "generator" else pipe_stream
    endpoint = TokenEndpoint()
    client = _client(retry=RetryPolicy(max_attempts=3))
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rs:
        rs.add_callback("POST", TOKEN_URL, callback=endpoint)
        api = rs.put(f"{BASE}/upload", status=401)
        with pytest.raises(UnauthorizedError) as info:
            client.put("/upload", data=data)
        assert api.call_count == 1
    message = str(info.value)
    assert "not replayed" in message
    assert ("iterator" if kind == "generator" else "stream") in message
    assert client.test_sleeps == []  # type: ignore[attr-defined]


def test_a_seekable_file_is_replayed_from_its_original_offset(tmp_path: Path) -> None:
    path = tmp_path / "body.bin"
    path.write_bytes(b"0123456789")
    client = _client()
    with path.open("rb") as body, responses.RequestsMock(
        assert_all_requests_are_fired=True, registry=OrderedRegistry
    ) as rs:
        body.seek(3)
        rs.post(TOKEN_URL, json={"access_token": "T1"})
        rs.put(f"{BASE}/upload", status=401, match=_bearer("T1"))
        rs.post(TOKEN_URL, json={"access_token": "T2"})
        rs.put(f"{BASE}/upload", status=204, match=_bearer("T2"))
        assert client.put("/upload", data=body) is None
        sent = [c.request.body for c in rs.calls if c.request.url.startswith(BASE)]
    assert sent == [b"3456789", b"3456789"]


@pytest.mark.parametrize("auth", [StaticToken("fixed"), APIKey("key-1")])
def test_fixed_credentials_are_not_replayed(auth: StaticToken) -> None:
    events: list[Event] = []
    client = Client(base_url=BASE, auth=auth, on_event=events.append)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rs:
        api = rs.get(f"{BASE}/cars", status=401)
        with pytest.raises(UnauthorizedError):
            client.get("/cars")
        assert api.call_count == 1
    assert not [e for e in events if e.kind == "reauth"]


def test_sixteen_threads_hitting_401_cause_one_refresh() -> None:
    endpoint = TokenEndpoint()
    client = _client()
    stale = {"T1"}
    api_calls = {"ok": 0, "401": 0}
    counter_lock = threading.Lock()

    def api(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        token = request.headers["Authorization"].removeprefix("Bearer ")
        with counter_lock:
            if token in stale:
                api_calls["401"] += 1
                return 401, {}, ""
            api_calls["ok"] += 1
        return 200, {"Content-Type": "application/json"}, json.dumps({"token": token})

    with responses.RequestsMock(assert_all_requests_are_fired=True) as rs:
        rs.add_callback("POST", TOKEN_URL, callback=endpoint)
        rs.add_callback("GET", f"{BASE}/cars", callback=api)
        stale.clear()
        assert client.get("/cars") == {"token": "T1"}  # warm up: T1 is cached
        assert endpoint.count == 1
        stale.add("T1")  # the server now refuses T1

        barrier = threading.Barrier(16)
        results: list[Any] = [None] * 16

        def worker(i: int) -> None:
            barrier.wait(WAIT)
            try:
                results[i] = client.get("/cars")
            except Exception as exc:
                results[i] = exc

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(WAIT)
        assert not any(t.is_alive() for t in threads)
    assert results == [{"token": "T2"}] * 16
    assert endpoint.count == 2
    assert api_calls["ok"] == 17
    assert 1 <= api_calls["401"] <= 16
