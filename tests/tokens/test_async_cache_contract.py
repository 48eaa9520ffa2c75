"""The token cache contract, awaited: every AsyncTokenCache backend behaves the same.

Backends: ``as_async_cache`` over the memory, file and sync Redis caches, and
the native ``AsyncRedisTokenCache``. Each also has a *sync twin*: a sync
cache sharing its entries and locks (the same memory cache, another
``FileTokenCache`` on the directory, a ``RedisTokenCache`` on the prefix), so
the tests also show sync and async code excluding each other.

pytest-asyncio is not used: each test runs its coroutine with ``asyncio.run``,
bounded by :data:`LIMIT` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    asynccontextmanager,
    contextmanager,
)
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import pytest

from mysdk.tokens import MemoryTokenCache, Token, TokenCache, cache_key
from mysdk.tokens.aio import AsyncTokenCache, SyncCacheAdapter, as_async_cache
from mysdk.tokens.cache import REFRESH_TOKEN_RETENTION

from .contract import KEY, OTHER_KEY, make_token
from .test_file_cache import HOLDER

REPO_ROOT = Path(__file__).resolve().parents[2]
LIMIT = 20.0  # seconds any one test's coroutine may run


@dataclass
class Backend:
    """How to open one backend's async cache, and a sync cache sharing its entries and locks."""

    name: str
    open: Callable[[], AbstractAsyncContextManager[AsyncTokenCache]]
    sync_twin: Callable[[], AbstractContextManager[TokenCache]]


def run(coro: Awaitable[None], limit: float = LIMIT) -> None:
    """Run ``coro`` on a fresh event loop, for at most ``limit`` seconds."""

    async def bounded() -> None:
        await asyncio.wait_for(coro, limit)

    asyncio.run(bounded())


def run_with(backend: Backend, body: Callable[[AsyncTokenCache], Awaitable[None]]) -> None:
    """Open ``backend``'s cache inside a fresh loop and run ``body`` with it."""

    async def main() -> None:
        async with backend.open() as cache:
            await body(cache)

    run(main())


@pytest.fixture(params=["memory", "file", "redis-sync", "redis-async"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    kind = request.param
    if kind == "memory":
        shared = MemoryTokenCache()

        @asynccontextmanager
        async def open_memory() -> AsyncIterator[AsyncTokenCache]:
            yield as_async_cache(shared)

        @contextmanager
        def memory_twin() -> Iterator[TokenCache]:
            yield shared

        return Backend(kind, open_memory, memory_twin)
    if kind == "file":
        from mysdk.tokens.file import FileTokenCache

        directory = tmp_path / "tokens"

        @asynccontextmanager
        async def open_file() -> AsyncIterator[AsyncTokenCache]:
            yield as_async_cache(FileTokenCache(directory))

        @contextmanager
        def file_twin() -> Iterator[TokenCache]:
            yield FileTokenCache(directory)

        return Backend(kind, open_file, file_twin)

    from mysdk.tokens.redis import RedisTokenCache
    from mysdk.tokens.redis_async import AsyncRedisTokenCache

    url = request.getfixturevalue("redis_server").url  # skips (fails under CI) without redis
    prefix = request.getfixturevalue("redis_prefix")

    @contextmanager
    def redis_twin() -> Iterator[TokenCache]:
        with RedisTokenCache(url=url, prefix=prefix) as cache:
            yield cache

    if kind == "redis-sync":

        @asynccontextmanager
        async def open_redis_sync() -> AsyncIterator[AsyncTokenCache]:
            with RedisTokenCache(url=url, prefix=prefix) as cache:
                yield as_async_cache(cache)

        return Backend(kind, open_redis_sync, redis_twin)

    @asynccontextmanager
    async def open_redis_async() -> AsyncIterator[AsyncTokenCache]:
        async with AsyncRedisTokenCache(url=url, prefix=prefix) as cache:
            yield cache

    return Backend(kind, open_redis_async, redis_twin)


class ThreadHolder:
    """Holds a sync cache's lock in a thread of its own until released."""

    def __init__(self, cache: TokenCache, key: str = KEY) -> None:
        self._cache = cache
        self._key = key
        self._held = threading.Event()
        self._release = threading.Event()
        self._thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        with self._cache.lock(self._key, timeout=5) as held:
            if held:
                self._held.set()
                self._release.wait(10)

    def __enter__(self) -> ThreadHolder:
        self._thread.start()
        assert self._held.wait(5), "the thread did not get the lock"
        return self

    def release(self) -> None:
        self._release.set()
        self._thread.join(5)
        assert not self._thread.is_alive()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


class Heartbeat:
    """Ticks every 10 ms on the running loop; a long gap means the loop was blocked."""

    def __init__(self) -> None:
        self.ticks: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _beat(self) -> None:
        while True:
            self.ticks.append(time.monotonic())
            await asyncio.sleep(0.01)

    async def __aenter__(self) -> Heartbeat:
        self._task = asyncio.ensure_future(self._beat())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.ticks.append(time.monotonic())  # a block just before leaving counts too
        assert self._task is not None
        self._task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self._task

    @property
    def max_gap(self) -> float:
        """The longest time in seconds between two ticks."""
        return max(b - a for a, b in zip(self.ticks, self.ticks[1:], strict=False))


def sync_lock_held(cache: TokenCache, timeout: float) -> bool:
    """Whether this thread gets ``cache``'s lock on KEY within ``timeout`` seconds."""
    with cache.lock(KEY, timeout=timeout) as held:
        return held


# ---------------------------------------------------------------- entries


def test_is_an_async_token_cache_and_is_kept_as_is(backend: Backend) -> None:
    async def body(cache: AsyncTokenCache) -> None:
        assert isinstance(cache, AsyncTokenCache)
        assert as_async_cache(cache) is cache

    run_with(backend, body)


def test_get_on_empty_is_none(backend: Backend) -> None:
    async def body(cache: AsyncTokenCache) -> None:
        assert await cache.get(KEY) is None

    run_with(backend, body)


def test_round_trip_preserves_every_field(backend: Backend) -> None:
    async def body(cache: AsyncTokenCache) -> None:
        token = make_token(token_type="MAC", scope="a b c")
        await cache.set(KEY, token)
        got = await cache.get(KEY)
        assert got == token
        assert got is not None
        assert got.to_dict() == token.to_dict()
        empty = Token(access_token="secret-x", issued_at=12.5, expires_at=time.time() + 60)
        await cache.set(OTHER_KEY, empty)
        assert await cache.get(OTHER_KEY) == empty

    run_with(backend, body)


def test_overwrite_replaces(backend: Backend) -> None:
    async def body(cache: AsyncTokenCache) -> None:
        await cache.set(KEY, make_token("old"))
        await cache.set(KEY, make_token("new"))
        got = await cache.get(KEY)
        assert got is not None
        assert got.access_token == "secret-access-new"

    run_with(backend, body)


def test_delete_and_compare_and_delete(backend: Backend) -> None:
    async def body(cache: AsyncTokenCache) -> None:
        assert await cache.delete(KEY) is False
        assert await cache.delete(KEY, only_if=make_token()) is False  # nothing there
        current = make_token("current")
        await cache.set(KEY, current)
        assert await cache.delete(KEY, only_if=make_token("stale")) is False
        assert await cache.get(KEY) == current  # a 401 on a stale token keeps the new one
        assert await cache.delete(KEY, only_if=current) is True
        assert await cache.get(KEY) is None
        await cache.set(KEY, current)
        assert await cache.delete(KEY) is True
        assert await cache.delete(KEY) is False

    run_with(backend, body)


def test_retention(backend: Backend) -> None:
    async def body(cache: AsyncTokenCache) -> None:
        await cache.set(KEY, make_token(expires_in=-1.0, refresh_token=None))
        assert await cache.get(KEY) is None  # expired, nothing to refresh it with
        kept = make_token(expires_in=-1.0)
        await cache.set(KEY, kept)
        assert await cache.get(KEY) == kept  # kept for its (latest, rotated) refresh token
        await cache.set(KEY, make_token(expires_in=-REFRESH_TOKEN_RETENTION - 5.0))
        assert await cache.get(KEY) is None  # past the refresh token's retention
        no_expiry = make_token(expires_in=None)
        await cache.set(KEY, no_expiry)
        assert await cache.get(KEY) == no_expiry

    run_with(backend, body)


def test_keys_are_independent(backend: Backend) -> None:
    async def body(cache: AsyncTokenCache) -> None:
        one, two = make_token("one"), make_token("two")
        await cache.set(KEY, one)
        await cache.set(OTHER_KEY, two)
        assert await cache.delete(KEY) is True
        assert await cache.get(KEY) is None
        assert await cache.get(OTHER_KEY) == two

    run_with(backend, body)


def test_concurrent_tasks_never_see_a_torn_token(backend: Backend) -> None:
    shared = cache_key("https://auth.example/token", "shared", None)
    written = {make_token(f"shared-{n}").access_token for n in range(6)}

    async def work(cache: AsyncTokenCache, n: int) -> Token:
        own = cache_key("https://auth.example/token", f"task-{n}", None)
        mine, last = make_token(f"shared-{n}"), make_token(f"task-{n}")
        for i in range(8):
            last = make_token(f"task-{n}-{i}")
            await cache.set(own, last)
            assert await cache.get(own) == last
            await cache.set(shared, mine)
            got = await cache.get(shared)
            assert got is None or got.access_token in written
            await cache.delete(shared, only_if=mine)
        return last

    async def body(cache: AsyncTokenCache) -> None:
        finals = await asyncio.gather(*(work(cache, n) for n in range(6)))
        for n, last in enumerate(finals):
            assert await cache.get(cache_key("https://auth.example/token", f"task-{n}", None)) \
                == last

    run_with(backend, body)


def test_sync_and_async_share_entries(backend: Backend) -> None:
    async def body(cache: AsyncTokenCache) -> None:
        with backend.sync_twin() as twin:
            from_sync = make_token("from-sync")
            await asyncio.to_thread(twin.set, KEY, from_sync)
            assert await cache.get(KEY) == from_sync
            from_async = make_token("from-async")
            await cache.set(KEY, from_async)
            assert await asyncio.to_thread(twin.get, KEY) == from_async
            assert await asyncio.to_thread(twin.delete, KEY, only_if=from_sync) is False
            assert await cache.delete(KEY, only_if=from_async) is True
            assert await asyncio.to_thread(twin.get, KEY) is None

    run_with(backend, body)


# ---------------------------------------------------------------- locks


def test_lock_excludes_other_tasks(backend: Backend) -> None:
    inside: list[int] = []
    most = [0]

    async def critical(cache: AsyncTokenCache) -> bool:
        async with cache.lock(KEY, timeout=5) as held:
            inside.append(1)
            most[0] = max(most[0], len(inside))
            await asyncio.sleep(0.05)
            inside.pop()
            return held

    async def body(cache: AsyncTokenCache) -> None:
        assert await asyncio.gather(*(critical(cache) for _ in range(3))) == [True] * 3
        assert most[0] == 1

    run_with(backend, body)


def test_a_second_holder_is_refused_until_release(backend: Backend) -> None:
    async def body(cache: AsyncTokenCache) -> None:
        async with cache.lock(KEY, timeout=1) as held:
            assert held is True
            async with cache.lock(KEY, timeout=0.2) as other:
                assert other is False
            async with cache.lock(OTHER_KEY, timeout=0.2) as other_key:
                assert other_key is True  # per key
        async with cache.lock(KEY, timeout=0.2) as again:
            assert again is True

    run_with(backend, body)


def test_lock_excludes_a_sync_thread_both_ways(backend: Backend) -> None:
    async def body(cache: AsyncTokenCache) -> None:
        with backend.sync_twin() as twin:
            with ThreadHolder(twin):
                async with cache.lock(KEY, timeout=0.2) as held:
                    assert held is False
            async with cache.lock(KEY, timeout=1) as held:
                assert held is True
                assert await asyncio.to_thread(sync_lock_held, twin, 0.2) is False
            assert await asyncio.to_thread(sync_lock_held, twin, 1) is True

    run_with(backend, body)


def test_lock_wait_is_bounded_and_the_loop_keeps_running(backend: Backend) -> None:
    async def body(cache: AsyncTokenCache) -> None:
        with backend.sync_twin() as twin, ThreadHolder(twin):
            async with Heartbeat() as beat:
                started = time.monotonic()
                async with cache.lock(KEY, timeout=0.6) as held:
                    waited = time.monotonic() - started
                    assert held is False
        assert 0.5 <= waited < 1.6, waited
        assert beat.max_gap < 0.45, beat.max_gap  # a blocked loop would stall 0.6 s
        assert len(beat.ticks) >= 10

    run_with(backend, body)


def test_lock_released_when_the_body_raises(backend: Backend) -> None:
    class Boom(Exception):
        pass

    async def fail_while_holding(cache: AsyncTokenCache) -> None:
        async with cache.lock(KEY, timeout=1) as held:
            assert held is True
            raise Boom

    async def body(cache: AsyncTokenCache) -> None:
        with pytest.raises(Boom):
            await fail_while_holding(cache)
        with backend.sync_twin() as twin:
            assert await asyncio.to_thread(sync_lock_held, twin, 0.5) is True

    run_with(backend, body)


def test_cancelled_holder_releases(backend: Backend) -> None:
    async def body(cache: AsyncTokenCache) -> None:
        entered = asyncio.Event()

        async def hold_forever() -> None:
            async with cache.lock(KEY, timeout=1) as held:
                assert held is True
                entered.set()
                await asyncio.sleep(30)

        task = asyncio.ensure_future(hold_forever())
        await asyncio.wait_for(entered.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with backend.sync_twin() as twin:
            assert await asyncio.to_thread(sync_lock_held, twin, 0.5) is True

    run_with(backend, body)


def test_cancelled_waiter_leaves_the_lock_free(backend: Backend) -> None:
    outcomes: list[bool] = []

    async def wait_for_lock(cache: AsyncTokenCache) -> None:
        async with cache.lock(KEY, timeout=5) as held:
            outcomes.append(held)  # never reached: cancelled while waiting

    async def body(cache: AsyncTokenCache) -> None:
        with backend.sync_twin() as twin:
            with ThreadHolder(twin):
                waiter = asyncio.ensure_future(wait_for_lock(cache))
                await asyncio.sleep(0.15)  # now waiting (for an adapter: in its holder thread)
                waiter.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await waiter
            # The thread released: an adapter's holder thread, still waiting in the
            # sync lock, may win it now, and must give it straight back.
            await asyncio.sleep(0.2)
            assert await asyncio.to_thread(sync_lock_held, twin, 2) is True
        async with cache.lock(KEY, timeout=2) as held:
            assert held is True
        assert outcomes == []

    run_with(backend, body)


# ---------------------------------------------------------------- nothing secret


def test_no_token_in_repr_or_logs(backend: Backend, caplog: pytest.LogCaptureFixture) -> None:
    async def body(cache: AsyncTokenCache) -> None:
        token = make_token("zzz")
        await cache.set(KEY, token)
        assert await cache.get(KEY) == token
        await cache.delete(KEY, only_if=make_token("other"))
        async with cache.lock(KEY, timeout=1) as held:
            assert held
            async with cache.lock(KEY, timeout=0.05) as again:  # logs a warning
                assert again is False
        texts.append(repr(cache))
        texts.append(str(cache))
        assert await cache.delete(KEY, only_if=token) is True

    texts: list[str] = []
    with caplog.at_level(logging.DEBUG, logger="mysdk"):
        run_with(backend, body)
    if backend.name != "memory":  # the memory cache's lock logs nothing
        assert "not acquired" in caplog.text
    assert "secret" not in caplog.text
    for text in texts:
        assert "secret" not in text


# ---------------------------------------------------------------- another process


def test_file_lock_held_by_another_process(tmp_path: Path) -> None:
    from mysdk.tokens.file import FileTokenCache

    directory = tmp_path / "tokens"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(directory), KEY],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=REPO_ROOT,
    ) as child:
        assert child.stdin is not None
        assert child.stdout is not None
        try:
            assert child.stdout.readline() == b"held\n"

            async def body() -> None:
                cache = as_async_cache(FileTokenCache(directory))
                async with Heartbeat() as beat:
                    started = time.monotonic()
                    async with cache.lock(KEY, timeout=0.6) as held:
                        assert held is False
                    waited = time.monotonic() - started
                    async with cache.lock(OTHER_KEY, timeout=0.5) as other:
                        assert other is True
                    # Now wait while the other process lets go after 0.3 s.
                    loop = asyncio.get_running_loop()
                    assert child.stdin is not None
                    loop.call_later(0.3, child.stdin.close)
                    started = time.monotonic()
                    async with cache.lock(KEY, timeout=5) as held:
                        assert held is True
                    took = time.monotonic() - started
                assert 0.5 <= waited < 1.6, waited
                assert 0.25 <= took < 3.0, took
                assert beat.max_gap < 0.45, beat.max_gap  # flock on the loop: 0.6 s

            run(body())
        finally:
            if child.stdin is not None and not child.stdin.closed:
                child.stdin.close()
            child.wait(timeout=10)
    assert child.returncode == 0


def test_adapter_enters_and_leaves_a_sync_lock_on_one_thread(tmp_path: Path) -> None:
    events: list[tuple[str, int]] = []

    class Recording(MemoryTokenCache):
        @contextmanager
        def _record(self, key: str, timeout: float) -> Iterator[bool]:
            events.append(("enter", threading.get_ident()))
            with super().lock(key, timeout=timeout) as held:
                yield held
            events.append(("leave", threading.get_ident()))

        def lock(self, key: str, *, timeout: float) -> AbstractContextManager[bool]:
            return self._record(key, timeout)

    async def body() -> None:
        cache = as_async_cache(Recording())
        assert isinstance(cache, SyncCacheAdapter)
        async with cache.lock(KEY, timeout=1) as held:
            assert held is True
        events.append(("loop", threading.get_ident()))

    run(body())
    (enter, entering), (leave, leaving), (_, loop_thread) = events
    assert (enter, leave) == ("enter", "leave")
    assert entering == leaving != loop_thread
