"""AsyncRedisTokenCache against a real redis-server: shared format, bounds, breaker, ownership.

The contract itself runs in test_async_cache_contract.py; here what is Redis's own,
mirroring test_redis_cache.py and tests/hostile/test_cache_bounds.py for the sync cache.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import redis.asyncio
from redis.asyncio.lock import Lock as AsyncLock

from mysdk.tokens.aio import as_async_cache
from mysdk.tokens.cache import REFRESH_TOKEN_RETENTION
from mysdk.tokens.redis import RedisTokenCache
from mysdk.tokens.redis_async import AsyncRedisTokenCache
from tests.hostile.test_cache_bounds import Blackhole, unavailable_records
from tests.redis_server import RedisServer

from .contract import KEY, backends_imported_by, make_token
from .test_async_cache_contract import Heartbeat, run
from .test_redis_cache import BAD_ARGUMENTS, client_names, wait_until_gone


@pytest.fixture
def client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """A sync client to look at what the cache wrote."""
    with redis.Redis.from_url(redis_server.url) as client:
        yield client


@pytest.fixture
def blackhole() -> Iterator[Blackhole]:
    hole = Blackhole()
    yield hole
    hole.close()


def test_ttls_and_value_are_the_sync_caches(
    redis_server: RedisServer, redis_prefix: str, client: redis.Redis
) -> None:
    name = redis_prefix + KEY
    plain = make_token(expires_in=100.0, refresh_token=None)

    async def body() -> None:
        async with AsyncRedisTokenCache(url=redis_server.url, prefix=redis_prefix) as cache:
            await cache.set(KEY, plain)
            assert 99_000 <= client.pttl(name) <= 100_000
            raw = client.get(name)
            assert isinstance(raw, bytes)
            assert json.loads(raw) == plain.to_dict()
            await cache.set(KEY, make_token(expires_in=100.0))
            expected = (100.0 + REFRESH_TOKEN_RETENTION) * 1000
            assert expected - 1000 <= client.pttl(name) <= expected
            await cache.set(KEY, make_token(expires_in=None))
            assert 86_399_000 <= client.pttl(name) <= 86_400_000
            await cache.set(KEY, make_token(expires_at=float("nan")))
            assert 0 < client.pttl(name) <= 366 * 86_400_000

    run(body())


def test_sync_and_async_caches_share_tokens_and_locks(
    redis_server: RedisServer, redis_prefix: str
) -> None:
    async def body() -> None:
        with RedisTokenCache(url=redis_server.url, prefix=redis_prefix) as sync_cache:
            async with AsyncRedisTokenCache(url=redis_server.url, prefix=redis_prefix) as cache:
                token = make_token("from-sync")
                sync_cache.set(KEY, token)  # a quick loopback call, fine in a test
                assert await cache.get(KEY) == token
                other = make_token("from-async")
                await cache.set(KEY, other)
                assert sync_cache.get(KEY) == other
                assert sync_cache.delete(KEY, only_if=other) is True
                assert await cache.get(KEY) is None
                async with cache.lock(KEY, timeout=1) as held:
                    assert held is True
                    assert await asyncio.to_thread(_sync_lock_held, sync_cache, 0.2) is False
                assert await asyncio.to_thread(_sync_lock_held, sync_cache, 0.2) is True

    run(body())


def _sync_lock_held(cache: RedisTokenCache, timeout: float) -> bool:
    with cache.lock(KEY, timeout=timeout) as held:
        return held


def test_compare_and_delete_is_semantic(
    redis_server: RedisServer, redis_prefix: str, client: redis.Redis
) -> None:
    token = make_token()
    name = redis_prefix + KEY
    # Written by another writer with other JSON formatting: still the same token.
    client.set(name, json.dumps(token.to_dict(), indent=2, sort_keys=True))

    async def body() -> None:
        async with AsyncRedisTokenCache(url=redis_server.url, prefix=redis_prefix) as cache:
            assert await cache.delete(KEY, only_if=make_token("other")) is False
            assert client.exists(name) == 1
            assert await cache.delete(KEY, only_if=token) is True
            assert client.exists(name) == 0

    run(body())


def test_corrupt_entry_and_error_replies_are_logged_without_data(
    redis_server: RedisServer,
    redis_prefix: str,
    client: redis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client.set(redis_prefix + KEY, b'{"access_token": "secret-access-zzz", "issued_at": "x"}')
    other = redis_prefix + "other"
    client.rpush(other, "secret-in-a-list")  # GET on a list: WRONGTYPE

    async def body() -> None:
        async with AsyncRedisTokenCache(url=redis_server.url, prefix=redis_prefix) as cache:
            assert await cache.get(KEY) is None
            assert await cache.delete(KEY, only_if=make_token()) is False  # not the one we hold
            assert await cache.delete(KEY) is True
            assert await cache.get("other") is None

    with caplog.at_level(logging.DEBUG, logger="mysdk.tokens"):
        run(body())
    assert "corrupt" in caplog.text
    assert "ResponseError" in caplog.text
    assert "secret" not in caplog.text


def test_decode_responses_client_works(redis_server: RedisServer, redis_prefix: str) -> None:
    async def body() -> None:
        client = redis.asyncio.Redis.from_url(redis_server.url, decode_responses=True)
        try:
            cache = AsyncRedisTokenCache(client, prefix=redis_prefix)
            token = make_token()
            await cache.set(KEY, token)
            assert await cache.get(KEY) == token
            assert await cache.delete(KEY, only_if=token) is True
            async with cache.lock(KEY, timeout=1) as held:
                assert held is True
        finally:
            await client.aclose()

    run(body())


def test_lock_expires_after_lock_ttl(
    redis_server: RedisServer, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def body() -> None:
        async with (
            AsyncRedisTokenCache(url=redis_server.url, prefix=redis_prefix,
                                 lock_ttl=0.2) as crashed,
            AsyncRedisTokenCache(url=redis_server.url, prefix=redis_prefix) as other,
            crashed.lock(KEY, timeout=1) as held,
        ):
            assert held is True
            async with other.lock(KEY, timeout=1.0) as taken_over:  # waits for the TTL
                assert taken_over is True

    with caplog.at_level(logging.WARNING, logger="mysdk.tokens"):
        run(body())
    assert "expired before release" in caplog.text  # logged, not raised


def test_lock_wait_is_capped_by_lock_timeout(redis_server: RedisServer, redis_prefix: str) -> None:
    async def body() -> None:
        async with (
            AsyncRedisTokenCache(url=redis_server.url, prefix=redis_prefix) as first,
            AsyncRedisTokenCache(url=redis_server.url, prefix=redis_prefix,
                                 lock_timeout=0.1) as second,
            first.lock(KEY, timeout=1) as held,
        ):
            assert held is True
            started = time.monotonic()
            async with second.lock(KEY, timeout=30) as other:
                assert other is False
            assert time.monotonic() - started < 1.0

    run(body())


@pytest.mark.parametrize("how", ["timed-out", "cancelled"])
def test_a_lock_won_after_the_waiter_left_is_released(
    redis_server: RedisServer,
    redis_prefix: str,
    client: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
    how: str,
) -> None:
    won: list[bool] = []
    released: list[bool] = []

    class SlowLock(AsyncLock):
        async def do_acquire(self, token: str | bytes) -> bool:
            await asyncio.sleep(0.4)  # the SET NX lands after the caller gave up
            acquired = bool(await super().do_acquire(token))
            won.append(acquired)
            return acquired

        async def do_release(self, expected_token: bytes) -> None:
            await super().do_release(expected_token)
            released.append(True)

    async def body() -> None:
        theirs = redis.asyncio.Redis.from_url(redis_server.url)
        original = theirs.lock
        monkeypatch.setattr(theirs, "lock",
                            lambda name, **k: original(name, lock_class=SlowLock, **k))
        cache = AsyncRedisTokenCache(theirs, prefix=redis_prefix, op_timeout=0.1, cooldown=0.0)
        try:
            started = time.monotonic()
            if how == "timed-out":
                async with cache.lock(KEY, timeout=5) as held:
                    assert held is False
            else:
                async def wait() -> None:
                    async with cache.lock(KEY, timeout=5):
                        pytest.fail("cancelled while waiting: never entered")

                waiter = asyncio.ensure_future(wait())
                await asyncio.sleep(0.05)
                waiter.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await waiter
            assert time.monotonic() - started < 0.35
            deadline = time.monotonic() + 3
            while not released and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            assert won == [True]
            assert released == [True]  # given straight back, not left to expire after 30 s
            assert client.exists(redis_prefix + "lock:" + KEY) == 0
        finally:
            await theirs.aclose()

    run(body())


def test_the_breaker_opens_on_an_error_skips_redis_then_lets_a_trial_through(
    redis_server: RedisServer,
    redis_prefix: str,
    client: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = make_token()
    name = redis_prefix + KEY

    async def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise redis.ConnectionError("connection refused (test)")

    async def body() -> None:
        theirs = redis.asyncio.Redis.from_url(redis_server.url)
        try:
            cache = AsyncRedisTokenCache(theirs, prefix=redis_prefix, op_timeout=1.0,
                                         cooldown=0.5)
            monkeypatch.setattr(theirs, "set", refuse)
            await cache.set(KEY, token)  # fails: opens the breaker
            monkeypatch.undo()
            client.set(name, token.to_json())
            started = time.monotonic()
            assert await cache.get(KEY) is None  # skipped, although Redis holds it
            await cache.set(KEY, make_token("skipped"))
            assert await cache.delete(KEY) is False
            async with cache.lock(KEY, timeout=5) as held:
                assert held is False
            assert time.monotonic() - started < 0.3
            assert client.get(name) == token.to_json().encode()
            assert len(unavailable_records(caplog, logging.WARNING)) == 1
            assert unavailable_records(caplog, logging.INFO) == []
            await asyncio.sleep(0.6)  # the cooldown passes: the next operation is a trial
            assert await cache.get(KEY) == token
            infos = unavailable_records(caplog, logging.INFO)
            assert len(infos) == 1, infos
            assert "available again" in infos[0]
            async with cache.lock(KEY, timeout=1) as held:
                assert held is True
        finally:
            await theirs.aclose()

    with caplog.at_level(logging.DEBUG, logger="mysdk.tokens"):
        run(body())
    assert len(unavailable_records(caplog, logging.WARNING)) == 1
    assert "secret" not in caplog.text


def test_a_cancelled_trial_does_not_keep_the_breaker_open(
    redis_server: RedisServer, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def body() -> None:
        theirs = redis.asyncio.Redis.from_url(redis_server.url)
        try:
            cache = AsyncRedisTokenCache(theirs, prefix=redis_prefix, op_timeout=1.0,
                                         cooldown=0.2)
            original = theirs.get

            async def refuse(*_args: Any, **_kwargs: Any) -> Any:
                raise redis.ConnectionError("down (test)")

            async def stall(*_args: Any, **_kwargs: Any) -> Any:
                await asyncio.sleep(30)

            monkeypatch.setattr(theirs, "get", refuse)
            assert await cache.get(KEY) is None  # opens the breaker
            await asyncio.sleep(0.25)
            monkeypatch.setattr(theirs, "get", stall)
            trial = asyncio.ensure_future(cache.get(KEY))  # the trial ...
            await asyncio.sleep(0.05)
            trial.cancel()  # ... is cancelled: that says nothing about Redis
            with pytest.raises(asyncio.CancelledError):
                await trial
            monkeypatch.setattr(theirs, "get", original)
            token = make_token()
            await cache.set(KEY, token)  # the next trial goes through and closes it
            assert await cache.get(KEY) == token
        finally:
            await theirs.aclose()

    run(body())


# ---------------------------------------------------------------- a blackholed Redis


@pytest.mark.parametrize("operation", ["get", "set", "delete", "delete_only_if", "lock"])
def test_every_operation_is_bounded_by_op_timeout(blackhole: Blackhole, operation: str) -> None:
    async def body() -> None:
        no_timeouts = redis.asyncio.Redis(host="127.0.0.1", port=blackhole.port)
        cache = AsyncRedisTokenCache(no_timeouts, op_timeout=0.3, cooldown=0.0)
        token = make_token()
        try:
            started = time.monotonic()
            if operation == "get":
                assert await cache.get(KEY) is None
            elif operation == "set":
                await cache.set(KEY, token)
            elif operation == "delete":
                assert await cache.delete(KEY) is False
            elif operation == "delete_only_if":
                assert await cache.delete(KEY, only_if=token) is False
            else:
                async with cache.lock(KEY, timeout=10) as held:
                    assert held is False
            took = time.monotonic() - started
            assert 0.25 <= took < 1.5, took
        finally:
            await no_timeouts.aclose()

    run(body())


@pytest.mark.parametrize("kind", ["async", "adapter-over-sync"])
def test_a_blackholed_redis_is_bounded_then_skipped(
    blackhole: Blackhole, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def body() -> None:
        if kind == "async":
            no_timeouts: Any = redis.asyncio.Redis(host="127.0.0.1", port=blackhole.port)
            cache: Any = AsyncRedisTokenCache(no_timeouts, op_timeout=0.6)  # cooldown 30 s
        else:
            no_timeouts = redis.Redis(host="127.0.0.1", port=blackhole.port)
            cache = as_async_cache(RedisTokenCache(no_timeouts, op_timeout=0.6))
        try:
            async with Heartbeat() as beat:
                started = time.monotonic()
                assert await cache.get(KEY) is None  # waits op_timeout, opens the breaker
                first = time.monotonic() - started
                started = time.monotonic()
                await cache.set(KEY, make_token())  # skipped: Redis is not even tried
                assert await cache.delete(KEY) is False
                async with cache.lock(KEY, timeout=10) as held:
                    assert held is False
                rest = time.monotonic() - started
            assert 0.55 <= first < 2.0, first
            assert rest < 0.5, rest
            assert beat.max_gap < 0.45, beat.max_gap  # on the loop, the get would stall 0.6 s
        finally:
            if kind == "async":
                await no_timeouts.aclose()
            else:
                no_timeouts.close()

    with caplog.at_level(logging.DEBUG, logger="mysdk.tokens"):
        run(body())
    warnings = unavailable_records(caplog, logging.WARNING)
    assert len(warnings) == 1, warnings
    assert "token cache unavailable" in warnings[0]
    assert "30" in warnings[0]  # says for how long it is skipped
    assert "secret" not in caplog.text


# ---------------------------------------------------------------- ownership, repr, arguments


def test_aclose_closes_only_own_client(redis_server: RedisServer, client: redis.Redis) -> None:
    async def body() -> None:
        theirs = redis.asyncio.Redis.from_url(redis_server.url, client_name="theirs-async")
        try:
            async with AsyncRedisTokenCache(theirs) as cache:
                await cache.get(KEY)
            await AsyncRedisTokenCache(theirs).aclose()
            assert await theirs.ping() is True  # still usable
            assert "theirs-async" in client_names(client)
        finally:
            await theirs.aclose()
        ours = AsyncRedisTokenCache(url=redis_server.url + "?client_name=ours-async")
        await ours.get(KEY)
        assert "ours-async" in client_names(client)
        await ours.aclose()

    run(body())
    assert wait_until_gone(client, "ours-async")


def test_repr_masks_password(redis_server: RedisServer) -> None:
    cache = AsyncRedisTokenCache(url="redis://user:hunter2@127.0.0.1:1/0?password=hunter3")
    assert "hunter" not in repr(cache)
    assert repr(cache) == (
        "AsyncRedisTokenCache(url='redis://***@127.0.0.1:1/0?...', prefix='mysdk:')"
    )
    theirs = redis.asyncio.Redis.from_url(redis_server.url)
    assert repr(AsyncRedisTokenCache(theirs, prefix="p:")) == (
        f"AsyncRedisTokenCache(client='127.0.0.1:{redis_server.port}/0', prefix='p:')"
    )
    run(cache.aclose())
    run(theirs.aclose())


@pytest.mark.parametrize(("kwargs", "match"), BAD_ARGUMENTS)
def test_constructor_validates(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        AsyncRedisTokenCache(**kwargs)  # type: ignore[arg-type]


def test_states_its_bounds() -> None:
    cache = AsyncRedisTokenCache(url="redis://127.0.0.1:1/0", op_timeout=0.7, cooldown=3.0)
    assert (cache.op_timeout, cache.cooldown) == (0.7, 3.0)
    run(cache.aclose())


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    monkeypatch.setitem(sys.modules, "redis.asyncio", None)
    monkeypatch.delitem(sys.modules, "mysdk.tokens.redis_async", raising=False)
    with pytest.raises(ImportError, match=r"pip install 'mysdk\[redis\]'"):
        importlib.import_module("mysdk.tokens.redis_async")


def test_importing_the_async_caches_imports_no_backend() -> None:
    assert backends_imported_by("mysdk.tokens.aio") == b"[]"
