"""RedisTokenCache against a real redis-server: contract, TTLs, locks, outages."""

from __future__ import annotations

import importlib
import json
import logging
import math
import socket
import sys
import time
from collections.abc import Iterator

import pytest
import redis

from mysdk.tokens.cache import REFRESH_TOKEN_RETENTION
from mysdk.tokens.redis import RedisTokenCache
from tests.redis_server import RedisServer, start_redis_server

from .contract import (
    KEY,
    OTHER_KEY,
    TokenCacheContract,
    backends_imported_by,
    contender_wait,
    make_token,
)

# Refused by RedisTokenCache and AsyncRedisTokenCache alike (one CacheCore checks them).
BAD_ARGUMENTS: list[tuple[dict[str, object], str]] = [
    ({}, "client= or url="),
    ({"url": "redis://127.0.0.1:1/0", "client": "x"}, "not both"),
    ({"url": "redis://127.0.0.1:1/0", "lock_ttl": 0.0}, "lock_ttl"),
    ({"url": "redis://127.0.0.1:1/0", "lock_timeout": -1.0}, "lock_timeout"),
    ({"url": "redis://127.0.0.1:1/0", "op_timeout": 0.0}, "op_timeout"),
    ({"url": "redis://127.0.0.1:1/0", "op_timeout": float("nan")}, "op_timeout"),
    ({"url": "redis://127.0.0.1:1/0", "cooldown": float("inf")}, "cooldown"),
]


@pytest.fixture
def client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """A separate client to look at what the cache wrote."""
    with redis.Redis.from_url(redis_server.url) as client:
        yield client


@pytest.fixture
def cache(redis_server: RedisServer, redis_prefix: str) -> Iterator[RedisTokenCache]:
    with RedisTokenCache(url=redis_server.url, prefix=redis_prefix) as cache:
        yield cache


class TestRedisTokenCache(TokenCacheContract):
    """The contract; ``cache`` comes from the module fixture."""


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"  # nothing listens there any more


def test_ttl_matches_expiry(cache: RedisTokenCache, client: redis.Redis, redis_prefix: str) -> None:
    cache.set(KEY, make_token(expires_in=100.0, refresh_token=None))
    ttl = client.pttl(redis_prefix + KEY)
    assert 99_000 <= ttl <= 100_000


def test_ttl_keeps_a_refresh_token_past_expiry(
    cache: RedisTokenCache, client: redis.Redis, redis_prefix: str
) -> None:
    cache.set(KEY, make_token(expires_in=100.0))
    expected = (100.0 + REFRESH_TOKEN_RETENTION) * 1000
    assert expected - 1000 <= client.pttl(redis_prefix + KEY) <= expected


def test_unknown_expiry_lives_a_day(
    cache: RedisTokenCache, client: redis.Redis, redis_prefix: str
) -> None:
    cache.set(KEY, make_token(expires_in=None))
    assert 86_399_000 <= client.pttl(redis_prefix + KEY) <= 86_400_000


def test_expired_token_gets_shortest_ttl(
    cache: RedisTokenCache, client: redis.Redis, redis_prefix: str
) -> None:
    cache.set(KEY, make_token(expires_in=-10.0, refresh_token=None))
    assert client.pttl(redis_prefix + KEY) in (-2, 0, 1)  # gone, or going within 1 ms


def test_value_is_the_token_json(
    cache: RedisTokenCache, client: redis.Redis, redis_prefix: str
) -> None:
    token = make_token()
    cache.set(KEY, token)
    raw = client.get(redis_prefix + KEY)
    assert isinstance(raw, bytes)
    assert json.loads(raw) == token.to_dict()


def test_compare_and_delete_is_semantic(
    cache: RedisTokenCache, client: redis.Redis, redis_prefix: str
) -> None:
    token = make_token()
    # Written by another writer with other JSON formatting: still the same token.
    client.set(redis_prefix + KEY, json.dumps(token.to_dict(), indent=2, sort_keys=True))
    assert cache.delete(KEY, only_if=make_token("other")) is False
    assert client.exists(redis_prefix + KEY) == 1
    assert cache.delete(KEY, only_if=token) is True
    assert client.exists(redis_prefix + KEY) == 0


def test_corrupt_entry(
    cache: RedisTokenCache,
    client: redis.Redis,
    redis_prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client.set(redis_prefix + KEY, b'{"access_token": "secret-access-zzz", "issued_at": "x"}')
    with caplog.at_level(logging.WARNING, logger="mysdk.tokens"):
        assert cache.get(KEY) is None
    assert "corrupt" in caplog.text
    assert "secret" not in caplog.text
    assert cache.delete(KEY, only_if=make_token()) is False  # kept: not the token we hold
    assert cache.delete(KEY) is True


def test_decode_responses_client_works(redis_server: RedisServer, redis_prefix: str) -> None:
    with redis.Redis.from_url(redis_server.url, decode_responses=True) as client:
        cache = RedisTokenCache(client, prefix=redis_prefix)
        token = make_token()
        cache.set(KEY, token)
        assert cache.get(KEY) == token
        assert cache.delete(KEY, only_if=token) is True


def test_lock_across_two_caches(
    redis_server: RedisServer, redis_prefix: str, client: redis.Redis
) -> None:
    with (
        RedisTokenCache(url=redis_server.url, prefix=redis_prefix) as first,
        RedisTokenCache(url=redis_server.url, prefix=redis_prefix) as second,
    ):
        with first.lock(KEY, timeout=1) as held:
            assert held is True
            assert client.exists(redis_prefix + "lock:" + KEY) == 1
            with second.lock(KEY, timeout=0.2) as other:
                assert other is False
            with second.lock(OTHER_KEY, timeout=0.2) as other_key:
                assert other_key is True
        assert client.exists(redis_prefix + "lock:" + KEY) == 0
        with second.lock(KEY, timeout=0.2) as again:
            assert again is True


def test_lock_expires_after_lock_ttl(
    redis_server: RedisServer, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        RedisTokenCache(url=redis_server.url, prefix=redis_prefix, lock_ttl=0.2) as crashed,
        RedisTokenCache(url=redis_server.url, prefix=redis_prefix) as other,
    ):
        with (
            caplog.at_level(logging.WARNING, logger="mysdk.tokens"),
            crashed.lock(KEY, timeout=1) as held,
        ):
            assert held is True
            with other.lock(KEY, timeout=1.0) as taken_over:  # waits for the TTL
                assert taken_over is True
        # releasing the lock that expired was logged, not raised
        assert "expired before release" in caplog.text


def test_outage_on_closed_port_degrades(caplog: pytest.LogCaptureFixture) -> None:
    with RedisTokenCache(url=closed_port_url()) as cache:
        with caplog.at_level(logging.DEBUG, logger="mysdk.tokens"):
            assert cache.get(KEY) is None
            cache.set(KEY, make_token())
            assert cache.delete(KEY) is False
            assert cache.delete(KEY, only_if=make_token()) is False
            with cache.lock(KEY, timeout=0.1) as held:
                assert held is False
        levels = [r.levelno for r in caplog.records if "unavailable" in r.getMessage()]
        assert levels == [logging.WARNING] + [logging.DEBUG] * 4  # rate-limited
        assert "token cache unavailable, fetching directly" in caplog.text
        assert "secret" not in caplog.text


def test_server_stopped_mid_test(
    redis_server: RedisServer, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    server = start_redis_server()  # its own server, to stop; redis_server: skip if not installed
    try:
        with RedisTokenCache(url=server.url, prefix=redis_prefix) as cache:
            token = make_token()
            cache.set(KEY, token)
            assert cache.get(KEY) == token
            server.stop()
            start = time.monotonic()
            with caplog.at_level(logging.WARNING, logger="mysdk.tokens"):
                assert cache.get(KEY) is None
                cache.set(KEY, token)
                with cache.lock(KEY, timeout=0.1) as held:
                    assert held is False
            assert time.monotonic() - start < 5
            assert "token cache unavailable" in caplog.text
    finally:
        server.stop()


def test_server_error_reply_degrades_without_echoing_data(
    cache: RedisTokenCache,
    client: redis.Redis,
    redis_prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client.rpush(redis_prefix + KEY, "secret-in-a-list")  # GET on a list: WRONGTYPE
    with caplog.at_level(logging.WARNING, logger="mysdk.tokens"):
        assert cache.get(KEY) is None
    assert "ResponseError" in caplog.text
    assert "secret" not in caplog.text


def client_names(observer: redis.Redis) -> set[str]:
    return {entry["name"] for entry in observer.client_list()}


def wait_until_gone(observer: redis.Redis, name: str) -> bool:
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        if name not in client_names(observer):
            return True
        time.sleep(0.01)
    return False


def test_close_closes_only_own_client(redis_server: RedisServer, client: redis.Redis) -> None:
    with redis.Redis.from_url(redis_server.url, client_name="theirs") as theirs:
        theirs.ping()
        RedisTokenCache(theirs).close()
        with RedisTokenCache(theirs) as cache:
            cache.get(KEY)
        assert "theirs" in client_names(client)  # still connected
    ours = RedisTokenCache(url=redis_server.url + "?client_name=ours")
    ours.get(KEY)
    assert "ours" in client_names(client)
    ours.close()
    assert wait_until_gone(client, "ours")


def test_repr_masks_password() -> None:
    with RedisTokenCache(url="redis://user:hunter2@127.0.0.1:1/0?password=hunter3") as cache:
        text = repr(cache)
    assert "hunter" not in text
    assert text == "RedisTokenCache(url='redis://***@127.0.0.1:1/0?...', prefix='mysdk:')"


def test_repr_with_client(redis_server: RedisServer) -> None:
    with redis.Redis.from_url(redis_server.url) as client:
        text = repr(RedisTokenCache(client, prefix="p:"))
    assert text == f"RedisTokenCache(client='127.0.0.1:{redis_server.port}/0', prefix='p:')"


@pytest.mark.parametrize(("kwargs", "match"), BAD_ARGUMENTS)
def test_constructor_validates(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RedisTokenCache(**kwargs)  # type: ignore[arg-type]


def test_lock_wait_is_capped(redis_server: RedisServer, redis_prefix: str) -> None:
    with RedisTokenCache(url=redis_server.url, prefix=redis_prefix, lock_timeout=0.1) as cache:
        assert contender_wait(cache) < 1.0


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    monkeypatch.delitem(sys.modules, "mysdk.tokens.redis")
    with pytest.raises(ImportError, match=r"pip install 'mysdk\[redis\]'"):
        importlib.import_module("mysdk.tokens.redis")


def test_importing_tokens_does_not_import_backends() -> None:
    assert backends_imported_by("mysdk.tokens") == b"[]"


@pytest.mark.parametrize("expires_at", [math.inf, math.nan, 1e300])
def test_odd_expiry_still_stored(
    cache: RedisTokenCache, client: redis.Redis, redis_prefix: str, expires_at: float
) -> None:
    token = make_token(expires_at=expires_at)
    cache.set(KEY, token)
    assert 0 < client.pttl(redis_prefix + KEY) <= 366 * 86_400_000
    got = cache.get(KEY)
    assert got is not None
    assert got.access_token == token.access_token
