"""The time a Redis token cache may add to a refresh is bounded; a failing cache is skipped.

A "blackholed" Redis is a loopback listener that accepts connections and never
answers; the client talking to it is built by the caller with redis-py's
defaults, i.e. no socket timeouts at all.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from redis.lock import Lock

from mysdk import MemoryTokenCache
from mysdk.auth.manager import TokenManager
from mysdk.tokens.redis import RedisTokenCache
from tests.redis_server import RedisServer
from tests.test_token_manager import FakeClock, FakeProvider
from tests.tokens.conftest import redis_prefix, redis_server  # noqa: F401 - shared fixtures
from tests.tokens.contract import KEY, make_token


class Blackhole:
    """Accepts TCP connections on 127.0.0.1 and never sends a byte."""

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, name="blackhole", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            self._accepted.append(conn)  # held open, never read, never answered

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for conn in self._accepted:
            conn.close()  # unblocks clients stuck reading
        self._listener.close()


@pytest.fixture
def blackhole() -> Iterator[Blackhole]:
    hole = Blackhole()
    yield hole
    hole.close()


@pytest.fixture
def no_timeout_client(blackhole: Blackhole) -> Iterator[redis.Redis]:
    client = redis.Redis(host="127.0.0.1", port=blackhole.port)  # socket_timeout=None
    yield client
    client.close()


def unavailable_records(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "mysdk.tokens" and r.levelno == level]


def test_a_refresh_through_a_blackholed_redis_is_bounded_then_skips_it(
    no_timeout_client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    cache = RedisTokenCache(no_timeout_client)  # op_timeout 2 s, cooldown 30 s
    clock = FakeClock(time.time())
    provider = FakeProvider(clock)
    manager = TokenManager(provider, cache, session=object(),  # type: ignore[arg-type]
                           timeout=(2.0, 5.0), clock=clock)
    with caplog.at_level(logging.DEBUG, logger="mysdk.tokens"):
        started = time.monotonic()
        first = manager.token()
        first_took = time.monotonic() - started
        started = time.monotonic()
        second = manager.refresh(first)  # within the cooldown: Redis is not even tried
        second_took = time.monotonic() - started
    assert (first.access_token, second.access_token) == ("T1", "T2")
    assert first_took < 6.0, first_took
    assert second_took < 0.5, second_took
    warnings = unavailable_records(caplog, logging.WARNING)
    assert len(warnings) == 1, warnings
    assert "token cache unavailable" in warnings[0]
    assert "30" in warnings[0]  # says for how long it is skipped


@pytest.mark.parametrize("operation", ["get", "set", "delete", "delete_only_if", "lock"])
def test_every_operation_is_bounded_by_op_timeout(
    no_timeout_client: redis.Redis, operation: str
) -> None:
    cache = RedisTokenCache(no_timeout_client, op_timeout=0.3, cooldown=0.0)
    token = make_token()
    started = time.monotonic()
    if operation == "get":
        assert cache.get(KEY) is None
    elif operation == "set":
        cache.set(KEY, token)
    elif operation == "delete":
        assert cache.delete(KEY) is False
    elif operation == "delete_only_if":
        assert cache.delete(KEY, only_if=token) is False
    else:
        with cache.lock(KEY, timeout=10) as held:
            assert held is False
    assert time.monotonic() - started < 1.5


def test_the_breaker_opens_on_an_error_skips_redis_then_lets_a_trial_through(
    redis_server: RedisServer,  # noqa: F811
    redis_prefix: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with redis.Redis.from_url(redis_server.url) as client, \
            redis.Redis.from_url(redis_server.url) as observer:
        cache = RedisTokenCache(client, prefix=redis_prefix, op_timeout=1.0, cooldown=0.5)
        token = make_token()
        name = redis_prefix + KEY

        def refuse(*_args: Any, **_kwargs: Any) -> Any:
            raise redis.ConnectionError("connection refused (test)")

        with caplog.at_level(logging.DEBUG, logger="mysdk.tokens"):
            monkeypatch.setattr(client, "set", refuse)
            cache.set(KEY, token)  # fails: opens the breaker
            monkeypatch.undo()
            observer.set(name, token.to_json())
            started = time.monotonic()
            assert cache.get(KEY) is None  # skipped, although Redis holds it
            cache.set(KEY, make_token("skipped"))
            assert cache.delete(KEY) is False
            with cache.lock(KEY, timeout=5) as held:
                assert held is False
            assert time.monotonic() - started < 0.3
            assert observer.get(name) == token.to_json().encode()
            assert len(unavailable_records(caplog, logging.WARNING)) == 1
            assert unavailable_records(caplog, logging.INFO) == []
            time.sleep(0.6)  # the cooldown passes: the next operation is a trial
            assert cache.get(KEY) == token
            infos = unavailable_records(caplog, logging.INFO)
            assert len(infos) == 1, infos
            assert "available again" in infos[0]
            cache.set(KEY, make_token("back"))
            got = cache.get(KEY)
            assert got is not None
            assert got.access_token == "secret-access-back"
            with cache.lock(KEY, timeout=1) as held:
                assert held is True
        assert len(unavailable_records(caplog, logging.WARNING)) == 1
        assert "secret" not in caplog.text


def test_a_failed_trial_keeps_the_breaker_open_without_another_warning(
    redis_server: RedisServer,  # noqa: F811
    redis_prefix: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with redis.Redis.from_url(redis_server.url) as client:
        cache = RedisTokenCache(client, prefix=redis_prefix, op_timeout=0.2, cooldown=0.3)
        calls = []

        def slow_get(*args: Any, **_kwargs: Any) -> Any:
            calls.append(args)
            time.sleep(0.5)  # slower than op_timeout: counts as a failure
            return None

        monkeypatch.setattr(client, "get", slow_get)
        with caplog.at_level(logging.DEBUG, logger="mysdk.tokens"):
            started = time.monotonic()
            assert cache.get(KEY) is None
            assert time.monotonic() - started < 0.45
            assert cache.get(KEY) is None  # skipped
            assert len(calls) == 1
            time.sleep(0.35)
            assert cache.get(KEY) is None  # the trial, too slow again
            assert len(calls) == 2
            assert cache.get(KEY) is None  # skipped again
            assert len(calls) == 2
        assert len(unavailable_records(caplog, logging.WARNING)) == 1
        assert unavailable_records(caplog, logging.INFO) == []


def test_a_lock_won_after_its_op_timeout_is_released(
    redis_server: RedisServer,  # noqa: F811
    redis_prefix: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    won, released = threading.Event(), threading.Event()

    class SlowLock(Lock):
        def do_acquire(self, token: str) -> bool:
            time.sleep(0.4)  # the SET NX lands after the caller gave up
            acquired = bool(super().do_acquire(token))
            if acquired:
                won.set()
            return acquired

        def do_release(self, expected_token: str) -> None:
            super().do_release(expected_token)
            released.set()

    with redis.Redis.from_url(redis_server.url) as client, \
            redis.Redis.from_url(redis_server.url) as observer:
        original = client.lock
        monkeypatch.setattr(client, "lock", lambda *a, **k: original(*a, lock_class=SlowLock, **k))
        cache = RedisTokenCache(client, prefix=redis_prefix, op_timeout=0.1, cooldown=0.0)
        started = time.monotonic()
        with cache.lock(KEY, timeout=5) as held:
            assert held is False
        assert time.monotonic() - started < 0.35
        assert won.wait(3)
        assert released.wait(3)  # given straight back, not left to expire after 30 s
        assert observer.exists(redis_prefix + "lock:" + KEY) == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"op_timeout": 0.0}, "op_timeout"), ({"op_timeout": float("inf")}, "op_timeout"),
     ({"op_timeout": float("nan")}, "op_timeout"), ({"cooldown": -1.0}, "cooldown"),
     ({"cooldown": float("inf")}, "cooldown")],
)
def test_bounds_are_validated(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RedisTokenCache(url="redis://127.0.0.1:1/0", **kwargs)  # type: ignore[arg-type]


def test_a_follower_waits_for_the_leaders_cache_operations_too() -> None:
    class SlowCache(MemoryTokenCache):
        op_timeout = 0.2  # what a cache states as the most one operation takes, seconds

    clock = FakeClock(time.time())
    provider = FakeProvider(clock)
    gate = provider.gate = threading.Event()
    manager = TokenManager(provider, SlowCache(), session=object(),  # type: ignore[arg-type]
                           timeout=(0.1, 0.1), clock=clock, lock_timeout=0.1)
    leader = threading.Thread(target=manager.token)
    leader.start()
    try:
        assert provider.started.wait(5)
        started = time.monotonic()
        with pytest.raises(Exception, match=r"gave up waiting 1\.3 s") as info:
            manager.token()
        waited = time.monotonic() - started
    finally:
        gate.set()
        leader.join(5)
    assert type(info.value).__name__ == "AuthError"
    # lock wait 0.1 + token request 0.2 + 5 cache operations of 0.2 s each
    assert 1.2 <= waited < 2.5, waited
