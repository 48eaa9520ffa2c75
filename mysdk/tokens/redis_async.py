"""Token cache in Redis for asyncio code, on redis-py's ``redis.asyncio`` client.

Needs the ``redis`` extra (redis-py): ``pip install 'mysdk[redis]'``. Shares
entries and locks with :class:`~mysdk.tokens.redis.RedisTokenCache`: the same
key names, values, TTLs and lock (``mysdk.tokens._redis_common``), so sync and
async processes of one fleet make one token request per expiry between them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import TracebackType
from typing import Any, TypeVar

try:
    import redis.asyncio
    from redis.asyncio.lock import Lock
    from redis.asyncio.retry import Retry
    from redis.exceptions import LockError, WatchError
except ImportError as exc:
    raise ImportError(
        "mysdk.tokens.redis_async needs the 'redis' extra: pip install 'mysdk[redis]'"
    ) from exc

from mysdk.tokens._redis_common import (
    DEFAULT_COOLDOWN,
    DEFAULT_OP_TIMEOUT,
    CacheCore,
    LockAttempts,
    decode_entry,
    decode_or_none,
    describe_error,
    entry_name,
    lock_name,
    lock_wait,
    log_lock_expired,
    ttl_ms,
)
from mysdk.tokens.token import Token

__all__ = ["DEFAULT_COOLDOWN", "DEFAULT_OP_TIMEOUT", "AsyncRedisTokenCache"]

_T = TypeVar("_T")


class AsyncRedisTokenCache(CacheCore[redis.asyncio.Redis]):
    """An :class:`~mysdk.tokens.aio.AsyncTokenCache` in Redis, on ``redis.asyncio``.

    The same behaviour as :class:`~mysdk.tokens.redis.RedisTokenCache`, awaited:
    ``set`` is one ``SET <prefix><key> <token JSON> PX ttl`` (the TTL ends at
    :func:`~mysdk.tokens.cache.retain_until`); ``delete(only_if=...)``
    compares and deletes in a ``WATCH``/``MULTI`` transaction; :meth:`lock`
    is redis-py's asyncio :class:`~redis.asyncio.lock.Lock` on
    ``<prefix>lock:<key>``, expiring after ``lock_ttl`` seconds. A sync and an
    async cache with the same prefix on the same server share entries and
    exclude each other with the lock.

    Bounded waits: each operation (``get``, ``set``, ``delete``, one attempt
    to take the lock, its release) is given up after ``op_timeout`` seconds
    (:func:`asyncio.wait_for`), whatever the client's socket timeouts (a
    caller's client may have none). So this cache adds at most the lock wait
    (at most ``lock_timeout``) plus five times ``op_timeout`` to one token
    refresh, and about one ``op_timeout`` when Redis stops answering (the
    breaker then skips the rest). A ``get``/``set``/``delete`` given up on is
    cancelled (redis-py then drops its connection). An attempt to take the
    lock given up on is left to finish, like the sync cache's worker thread:
    if it wins after all, the lock is released at once (also when the waiting
    task was cancelled), so it is never kept until ``lock_ttl``; against a
    server that never answers and a client without socket timeouts it stays
    pending until the loop ends. A release runs to its end (bounded by
    ``op_timeout``) even when the task leaving the lock is cancelled.

    Circuit breaker (shared with the sync cache's code): a failing operation
    (a :class:`~redis.exceptions.RedisError` or other exception from the
    client, or no answer within ``op_timeout``) opens it; for ``cooldown``
    seconds every operation returns its "unavailable" value at once (``get``
    None, ``set`` nothing, ``delete`` False, ``lock`` False), then one trial
    is let through. Logged once at WARNING when it opens, once at INFO when it
    closes, DEBUG otherwise; never a token (a server's error reply is named by
    its class only). A cancelled operation says nothing about Redis and
    leaves the breaker as it was.

    For one event loop: a ``redis.asyncio`` client belongs to the loop it
    was first used on.

    Args:
        client: A ``redis.asyncio.Redis`` to use; it stays the caller's and is
            never closed here.
        url: Used instead of ``client``: a ``redis://``, ``rediss://`` or
            ``unix://`` URL. Its client has 2-second socket timeouts, retries
            a failed command once, and is closed by :meth:`aclose`.
        prefix: Prepended to every key this cache writes.
        lock_timeout: The most seconds :meth:`lock` ever waits for another holder.
        lock_ttl: Seconds after which a held lock expires on the server; keep
            it above the time a token request can take.
        op_timeout: The most seconds any one Redis operation may take
            (default :data:`DEFAULT_OP_TIMEOUT`, 2 s); finite and > 0.
        cooldown: Seconds the cache is skipped after a failure (default
            :data:`DEFAULT_COOLDOWN`, 30 s); finite and >= 0.

    Raises:
        ValueError: Not exactly one of ``client`` and ``url``, a timeout or
            cooldown out of range, or a ``url`` that is not a Redis URL.
    """

    def __init__(
        self,
        client: redis.asyncio.Redis | None = None,
        *,
        url: str | None = None,
        prefix: str = "mysdk:",
        lock_timeout: float = 30.0,
        lock_ttl: float = 30.0,
        op_timeout: float = DEFAULT_OP_TIMEOUT,
        cooldown: float = DEFAULT_COOLDOWN,
    ) -> None:
        super().__init__(
            "AsyncRedisTokenCache", client, url, from_url=redis.asyncio.Redis.from_url,
            retry=Retry, prefix=prefix, lock_timeout=lock_timeout, lock_ttl=lock_ttl,
            op_timeout=op_timeout, cooldown=cooldown,
        )
        # Tasks nobody awaits (late lock attempts, releases): asyncio keeps only
        # weak references to tasks, so they are kept here until they finish.
        self._background: set[asyncio.Task[Any]] = set()

    async def get(self, key: str) -> Token | None:
        """Return the unexpired token under ``key``, or ``None`` (also on outage).

        Takes at most ``op_timeout`` seconds; never raises (but cancellation).
        """
        name = entry_name(self._prefix, key)
        raw = await self._run("GET", lambda: self._client.get(name), None)
        return decode_entry(raw, name, time.time())

    async def set(self, key: str, token: Token) -> None:
        """Store ``token`` with a server TTL until :func:`~mysdk.tokens.cache.retain_until`.

        Takes at most ``op_timeout`` seconds; a failure is logged, never raised.
        """
        name, value = entry_name(self._prefix, key), token.to_json()
        ttl = ttl_ms(token, time.time())
        await self._run("SET", lambda: self._client.set(name, value, px=ttl), None)

    async def delete(self, key: str, *, only_if: Token | None = None) -> bool:
        """Remove ``key`` (only if it still holds ``only_if``, when given), atomically.

        Takes at most ``op_timeout`` seconds; never raises (but cancellation).

        Returns:
            True when an entry was removed; False when none was, when it held
            another token, or on outage.
        """
        name = entry_name(self._prefix, key)

        async def delete() -> bool:
            if only_if is None:
                return bool(await self._client.delete(name))
            try:
                async with self._client.pipeline() as pipe:
                    await pipe.watch(name)
                    raw = await pipe.get(name)  # immediate mode while watching
                    if raw is None or decode_or_none(raw) != only_if:
                        return False
                    pipe.multi()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
                    pipe.delete(name)
                    return bool((await pipe.execute())[0])
            except WatchError:
                return False  # replaced between GET and DEL: the entry is someone else's now

        return await self._run("DEL", delete, False)

    def lock(self, key: str, *, timeout: float) -> AbstractAsyncContextManager[bool]:
        """Hold the Redis lock ``<prefix>lock:<key>`` (expires after ``lock_ttl``).

        Each attempt to take it is one operation bounded by ``op_timeout``;
        attempts are repeated every 50 ms until the wait is over, so taking
        it takes at most the wait plus ``op_timeout`` seconds, and releasing
        it at most ``op_timeout`` more.

        Args:
            key: The cache key.
            timeout: Seconds to wait, capped at ``lock_timeout`` (NaN or < 0: 0).

        Returns:
            An async context manager yielding True when held, False when
            another holder kept it for ``timeout`` seconds or Redis is unavailable.
        """
        return self._hold(key, lock_wait(timeout, self._lock_timeout))

    async def aclose(self) -> None:
        """Close the client if this cache created it (from ``url``); a caller's stays open."""
        if self._owns_client:
            # aclose() since redis-py 5.0.1; close() before (deprecated since).
            close = getattr(self._client, "aclose", None) or self._client.close
            await close()

    async def __aenter__(self) -> AsyncRedisTokenCache:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _run(
        self,
        operation: str,
        call: Callable[[], Awaitable[_T]],
        unavailable: _T,
        *,
        on_late: Callable[[_T], None] | None = None,
        even_if_open: bool = False,
    ) -> _T:
        """Await ``call()`` for at most ``op_timeout`` seconds.

        Returns ``unavailable`` without calling when the breaker is open (unless
        ``even_if_open``), and when ``call`` fails or does not finish in time.
        Without ``on_late`` a call given up on is cancelled; with it, the call
        is left to finish and ``on_late`` receives its result.
        """
        if not self._breaker.admit(operation, even_if_open=even_if_open):
            return unavailable
        try:
            if on_late is None:
                result = await asyncio.wait_for(call(), self._op_timeout)
            else:
                result = await self._wait_leaving_late(call(), on_late)
        except asyncio.TimeoutError:
            self._breaker.timed_out(operation, self._op_timeout)
            return unavailable
        except Exception as exc:
            self._breaker.failed(operation, describe_error(exc))
            return unavailable
        except BaseException:  # cancelled: says nothing about Redis
            self._breaker.interrupted()
            raise
        self._breaker.succeeded()
        return result

    async def _wait_leaving_late(
        self, call: Awaitable[_T], on_late: Callable[[_T], None]
    ) -> _T:
        task = self._spawn(call)
        try:
            done, _ = await asyncio.wait({task}, timeout=self._op_timeout)
        except BaseException:  # cancelled while waiting: the call goes on
            task.add_done_callback(lambda t: _deliver_late(t, on_late))
            raise
        if not done:
            task.add_done_callback(lambda t: _deliver_late(t, on_late))
            raise asyncio.TimeoutError
        return task.result()

    def _spawn(self, call: Awaitable[_T]) -> asyncio.Task[_T]:
        task: asyncio.Task[_T] = asyncio.ensure_future(call)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    @asynccontextmanager
    async def _hold(self, key: str, wait: float) -> AsyncIterator[bool]:
        # thread_local=False: the token is the Lock object's, whichever task
        # (a late attempt, a release task) touches it.
        lock = self._client.lock(
            lock_name(self._prefix, key), timeout=self._lock_ttl, thread_local=False
        )

        def release_late(acquired: bool | None) -> None:
            if acquired:  # won after we gave up (or were cancelled): give it straight back
                self._spawn(self._release(lock, key))

        attempts = LockAttempts(key, wait)
        while (pause := attempts.pause_after(await self._run(
            "lock", lambda: _try_acquire(lock), None, on_late=release_late
        ))) is not None:
            await asyncio.sleep(pause)
        try:
            yield attempts.acquired
        finally:
            if attempts.acquired:
                # Shielded: a task cancelled while leaving still frees the lock.
                await asyncio.shield(self._spawn(self._release(lock, key)))

    async def _release(self, lock: Lock, key: str) -> None:
        await self._run("unlock", lambda: self._release_now(lock, key), None, even_if_open=True)

    async def _release_now(self, lock: Lock, key: str) -> None:
        try:
            await lock.release()
        except LockError:  # a subclass of RedisError: Redis answered, the lock was gone
            log_lock_expired(key, self._lock_ttl)


async def _try_acquire(lock: Lock) -> bool | None:
    return bool(await lock.acquire(blocking=False))


def _deliver_late(task: asyncio.Task[_T], on_late: Callable[[_T], None]) -> None:
    """Hand a late call's result to ``on_late``; a late error or cancellation is dropped."""
    if task.cancelled() or task.exception() is not None:  # retrieved: never "unretrieved"
        return
    on_late(task.result())
