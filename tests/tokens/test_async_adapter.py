"""as_async_cache and SyncCacheAdapter: what is wrapped, what runs where, every wait bounded.

The cache contract itself runs in test_async_cache_contract.py.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest

from mysdk.auth.manager import DEFAULT_CACHE_OP_SECONDS
from mysdk.tokens import MemoryTokenCache, Token
from mysdk.tokens.aio import (
    THREAD_GRACE,
    UNSTATED_OP_SECONDS,
    AsyncTokenCache,
    SyncCacheAdapter,
    as_async_cache,
)

from .contract import KEY, make_token
from .test_async_cache_contract import Heartbeat, ThreadHolder, run, sync_lock_held


class SlowCache(MemoryTokenCache):
    """A memory cache whose operations take ``delay`` seconds, stating ``op_timeout``."""

    op_timeout = 0.1

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self.threads: list[tuple[str, int]] = []
        self.released = threading.Event()

    def get(self, key: str) -> Token | None:
        time.sleep(self.delay)
        return super().get(key)

    def set(self, key: str, token: Token) -> None:
        time.sleep(self.delay)
        super().set(key, token)

    def delete(self, key: str, *, only_if: Token | None = None) -> bool:
        time.sleep(self.delay)
        return super().delete(key, only_if=only_if)

    @contextmanager
    def _slow_lock(self, key: str, timeout: float) -> Iterator[bool]:
        time.sleep(self.delay)  # e.g. a lock server that answers late
        with super().lock(key, timeout=timeout) as held:
            self.threads.append(("enter", threading.get_ident()))
            try:
                yield held
            finally:
                self.threads.append(("leave", threading.get_ident()))
        self.released.set()

    def lock(self, key: str, *, timeout: float) -> AbstractContextManager[bool]:
        return self._slow_lock(key, timeout)


class AsyncOnly:
    async def get(self, key: str) -> Token | None:
        return None

    async def set(self, key: str, token: Token) -> None:
        return None

    async def delete(self, key: str, *, only_if: Token | None = None) -> bool:
        return False

    def lock(self, key: str, *, timeout: float) -> Any:
        raise NotImplementedError


class Mixed(AsyncOnly):
    def get(self, key: str) -> Token | None:  # type: ignore[override]  # mixed on purpose
        return None


def test_wraps_a_sync_cache_and_keeps_an_async_one() -> None:
    memory = MemoryTokenCache()
    adapter = as_async_cache(memory)
    assert isinstance(adapter, SyncCacheAdapter)
    assert adapter.wrapped is memory
    assert as_async_cache(adapter) is adapter
    native = AsyncOnly()
    assert as_async_cache(native) is native
    assert isinstance(native, AsyncTokenCache)


@pytest.mark.parametrize(("value", "match"), [(object(), "not a token cache"),
                                              (Mixed(), "mixes sync and async")])
def test_refuses_what_is_no_cache(value: object, match: str) -> None:
    with pytest.raises(TypeError, match=match):
        as_async_cache(value)  # type: ignore[arg-type]


def test_op_timeout_is_passed_through(tmp_path: Path) -> None:
    from mysdk.tokens.file import FileTokenCache
    from mysdk.tokens.redis import RedisTokenCache

    assert SyncCacheAdapter(MemoryTokenCache()).op_timeout == 0.0
    assert SyncCacheAdapter(SlowCache(0)).op_timeout == 0.1
    assert SyncCacheAdapter(FileTokenCache(tmp_path)).op_timeout is None  # states none
    with RedisTokenCache(url="redis://127.0.0.1:1/0", op_timeout=0.7) as redis_cache:
        assert SyncCacheAdapter(redis_cache).op_timeout == 0.7

    class Odd(MemoryTokenCache):
        op_timeout = float("nan")

    assert SyncCacheAdapter(Odd()).op_timeout is None


def test_unstated_op_bound_is_the_token_managers() -> None:
    assert UNSTATED_OP_SECONDS == DEFAULT_CACHE_OP_SECONDS


def test_a_plain_memory_cache_is_called_on_the_loop_others_off_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, int] = {}

    def recorder(name: str, cache: MemoryTokenCache) -> None:
        original = getattr(cache, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            seen[f"{type(cache).__name__}.{name}"] = threading.get_ident()
            return original(*args, **kwargs)

        monkeypatch.setattr(cache, name, call)

    class Subclass(MemoryTokenCache):
        def get(self, key: str) -> Token | None:  # may block, for all the adapter knows
            return super().get(key)

    plain, sub = MemoryTokenCache(), Subclass()
    adapters = [as_async_cache(plain), as_async_cache(sub)]  # decided before patching
    for cache in (plain, sub):
        for name in ("get", "set", "delete"):
            recorder(name, cache)

    async def body() -> int:
        for adapter in adapters:
            await adapter.set(KEY, make_token())
            await adapter.get(KEY)
            await adapter.delete(KEY)
        return threading.get_ident()

    loop_thread: list[int] = []

    async def main() -> None:
        loop_thread.append(await body())

    run(main())
    for name in ("get", "set", "delete"):
        assert seen[f"MemoryTokenCache.{name}"] == loop_thread[0]  # fast path
    assert seen["Subclass.get"] != loop_thread[0]  # overridden: off the loop
    assert seen["Subclass.set"] != loop_thread[0]  # the whole cache is treated as blocking


def test_a_slow_operation_is_given_up_on_without_blocking_the_loop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    slow = SlowCache(delay=1.0)
    adapter = as_async_cache(slow)
    bound = slow.op_timeout + THREAD_GRACE

    async def body() -> None:
        async with Heartbeat() as beat:
            started = time.monotonic()
            assert await adapter.get(KEY) is None
            await adapter.set(KEY, make_token())
            took = time.monotonic() - started
        assert 2 * bound - 0.1 <= took < 2 * bound + 0.5, took
        assert beat.max_gap < 0.5, beat.max_gap  # on the loop, each would stall it 1 s

    with caplog.at_level(logging.WARNING, logger="mysdk.tokens"):
        run(body())
    assert caplog.text.count("gave no answer") == 2
    assert "SlowCache" in caplog.text
    assert "secret" not in caplog.text


def test_a_lock_won_after_the_bound_is_released_on_its_thread(
    caplog: pytest.LogCaptureFixture,
) -> None:
    slow = SlowCache(delay=1.0)
    adapter = as_async_cache(slow)

    async def body() -> None:
        started = time.monotonic()
        async with adapter.lock(KEY, timeout=0.1) as held:
            assert held is False  # no answer within 0.1 + 0.1 + 0.5 s
        took = time.monotonic() - started
        assert 0.6 <= took < 1.0, took

    with caplog.at_level(logging.WARNING, logger="mysdk.tokens"):
        run(body())
    assert slow.released.wait(3)  # won at ~1 s, given straight back
    (enter, entering), (leave, leaving) = slow.threads
    assert (enter, leave, entering) == ("enter", "leave", leaving)
    with MemoryTokenCache.lock(slow, KEY, timeout=0.1) as free:  # not the slow path
        assert free is True
    assert "gave no answer" in caplog.text


def test_a_lost_holder_releases_after_max_hold(caplog: pytest.LogCaptureFixture) -> None:
    memory = MemoryTokenCache()
    adapter = SyncCacheAdapter(memory, max_hold=0.3)

    async def body() -> None:
        lost = adapter.lock(KEY, timeout=1)
        assert await lost.__aenter__() is True  # and never left, as by a dropped coroutine
        started = time.monotonic()
        assert await asyncio.to_thread(sync_lock_held, memory, 3) is True
        assert 0.15 <= time.monotonic() - started < 1.0
        await lost.__aexit__(None, None, None)  # late: nothing left to release

    with caplog.at_level(logging.WARNING, logger="mysdk.tokens"):
        run(body())
    assert "never left it" in caplog.text


@pytest.mark.parametrize("timeout", [float("nan"), -1.0, float("inf")])
def test_odd_lock_timeouts_are_bounded(timeout: float) -> None:
    memory = MemoryTokenCache()
    adapter = SyncCacheAdapter(memory, max_hold=0.3)

    async def body() -> None:
        with ThreadHolder(memory):
            started = time.monotonic()
            async with adapter.lock(KEY, timeout=timeout) as held:
                assert held is False
            assert time.monotonic() - started < 0.3 + 0.5  # inf: max_hold; NaN, < 0: none

    run(body())


@pytest.mark.parametrize("bad", [0.0, -1.0, float("inf"), float("nan")])
def test_max_hold_is_validated(bad: float) -> None:
    with pytest.raises(ValueError, match="max_hold"):
        SyncCacheAdapter(MemoryTokenCache(), max_hold=bad)


def test_errors_of_a_broken_cache_reach_the_caller() -> None:
    class Broken(MemoryTokenCache):
        def get(self, key: str) -> Token | None:
            raise RuntimeError("broken get")

        def lock(self, key: str, *, timeout: float) -> AbstractContextManager[bool]:
            raise RuntimeError("broken lock")

    adapter = as_async_cache(Broken())

    async def body() -> None:
        with pytest.raises(RuntimeError, match="broken get"):
            await adapter.get(KEY)
        with pytest.raises(RuntimeError, match="broken lock"):
            async with adapter.lock(KEY, timeout=1):
                pass

    run(body())


def test_repr_shows_the_wrapped_cache_and_no_token() -> None:
    memory = MemoryTokenCache()
    memory.set(KEY, make_token("zzz"))
    text = repr(as_async_cache(memory))
    assert text == "SyncCacheAdapter(MemoryTokenCache(maxsize=256, entries=1))"
    assert "secret" not in text
