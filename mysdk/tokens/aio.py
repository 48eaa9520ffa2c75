"""Token caches for asyncio code: the :class:`AsyncTokenCache` protocol and its backends.

Design: **an adapter over the sync caches + a native redis.asyncio cache.**

* :func:`as_async_cache` wraps any sync :class:`~mysdk.tokens.TokenCache`
  (memory, file, Redis, Django, your own) in a :class:`SyncCacheAdapter` that
  runs its blocking work off the event loop. The adapter is the right tool
  for the memory and file caches: the memory cache is shared with the sync
  client's threads of the same process, and an async client must see the
  same entries and the same per-key locks, which only the same object gives;
  the file cache's work is file I/O and ``flock(2)``, for which neither the
  standard library nor filelock has a non-blocking asyncio form (async file
  libraries use threads themselves), and reusing the sync class keeps one
  implementation of its on-disk format, modes and clean-up. It also makes
  every third-party sync cache usable from async code for free.
* :class:`~mysdk.tokens.redis_async.AsyncRedisTokenCache` is native: Redis
  is network I/O that ``redis.asyncio`` does on the loop itself, so many
  concurrent tasks share one connection pool instead of two threads per
  operation (the sync cache's worker thread inside the adapter's thread), and
  a timed-out or cancelled command is abandoned cleanly (redis-py drops the
  connection) instead of leaving a thread blocked on a socket. It shares key
  names, value format, lock and circuit breaker with the sync
  :class:`~mysdk.tokens.redis.RedisTokenCache` (``mysdk.tokens._redis_common``),
  so sync and async processes share tokens and single-flight refreshes.
  Wrapping a sync ``RedisTokenCache`` with :func:`as_async_cache` works too
  (for code that already has a sync client), at the cost of those threads.

How the adapter keeps the loop free, and how long each wait may last
(``op`` below is the wrapped cache's ``op_timeout`` when it states one, else
:data:`UNSTATED_OP_SECONDS`, 2 s, the token manager's assumption too):

* ``get``/``set``/``delete`` run in a short-lived daemon thread each; the
  caller waits at most ``op`` + :data:`THREAD_GRACE` (0.5 s) seconds, then
  carries on as if the backend were unavailable (``get`` returns None, ``set``
  is left to finish in its thread, ``delete`` returns False; logged at
  WARNING). Daemon threads, not :func:`asyncio.to_thread`: an operation given
  up on must not hold up ``asyncio.run()``'s executor shutdown at exit nor
  take a slot of the application's default executor. Fast path: for a plain
  :class:`~mysdk.tokens.MemoryTokenCache` (its own ``get``/``set``/``delete``,
  not a subclass's) these are called directly on the loop: they hold the
  cache's internal lock only for a dictionary update (microseconds), never
  while a token is fetched.
* ``lock`` never takes a sync lock on the loop: a *holder thread* enters the
  sync ``cache.lock(...)`` context, reports the outcome to the loop
  (``loop.call_soon_threadsafe``), waits for the release signal and leaves
  the context itself. A sync lock is left on the thread that took it, which
  thread-local locks (filelock's ``FileLock``) and owner-checked locks need.
  The awaiting task waits at most ``timeout`` + ``op`` + 0.5 s for the
  outcome; if it is cancelled (or gives up) meanwhile, a lock won later is
  released at once by the holder thread, so cancellation never leaks it.
  Leaving the ``async with`` waits at most ``op`` + 0.5 s for the release;
  a holder thread whose task never leaves releases after ``max_hold``
  seconds (:data:`MAX_HOLD_SECONDS`, 600), logged at WARNING.

Every backend here keeps the sync protocol's promises: expired entries are
kept while they carry a refresh token, a backend that cannot read returns
None, ``repr()`` never shows a token.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol, TypeVar, cast, runtime_checkable

from mysdk.tokens.cache import TokenCache
from mysdk.tokens.token import Token

__all__ = [
    "MAX_HOLD_SECONDS",
    "THREAD_GRACE",
    "UNSTATED_OP_SECONDS",
    "AsyncTokenCache",
    "SyncCacheAdapter",
    "as_async_cache",
]

logger = logging.getLogger("mysdk.tokens")

_T = TypeVar("_T")

UNSTATED_OP_SECONDS = 2.0
"""Seconds one operation of a wrapped cache stating no ``op_timeout`` may take.

The same as :data:`mysdk.auth.manager.DEFAULT_CACHE_OP_SECONDS`, which the
token manager assumes for such a cache (kept equal by a test; not imported,
so that this module does not import requests)."""

THREAD_GRACE = 0.5
"""Seconds the adapter allows on top of an operation's bound for starting its thread
and handing the result back to the loop (milliseconds on an idle machine)."""

MAX_HOLD_SECONDS = 600.0
"""Default seconds a holder thread keeps a sync lock for a task that never leaves it.

Far above what a token refresh holds it for (lock wait, token request, cache
operations); it only frees the lock for everyone else when the holding task
was lost (its loop closed, its coroutine dropped without ``finally``)."""


@runtime_checkable
class AsyncTokenCache(Protocol):
    """Where tokens live between calls of async clients: :class:`~mysdk.tokens.TokenCache`, awaited.

    The same semantics as the sync protocol: a backend shares tokens within a
    process, between processes or between machines; keys come from
    :func:`~mysdk.tokens.cache_key`, values are :class:`~mysdk.tokens.Token`.
    All methods are safe to call from concurrent tasks of one event loop.
    Whoever creates a cache closes it (if it has an ``aclose()``); a client
    never closes the cache it is given.

    A backend may state ``op_timeout``: the most seconds one operation (not
    counting the lock wait) takes, which the token manager uses to bound how
    long waiters wait; :data:`UNSTATED_OP_SECONDS` is assumed otherwise.

    ``isinstance(x, AsyncTokenCache)`` only checks that the four methods
    exist, which a sync cache passes too; :func:`as_async_cache` tells them
    apart (are they coroutine functions?).
    """

    async def get(self, key: str) -> Token | None:
        """Return the token stored under ``key``, or ``None``.

        An expired token is still returned until
        :func:`~mysdk.tokens.cache.retain_until` (while it carries a refresh
        token), so the latest rotated refresh token is never lost; callers
        check expiry themselves. A backend that cannot read (corrupt file,
        Redis down) logs and returns ``None`` rather than raising: the caller
        then fetches a fresh token.
        """
        ...

    async def set(self, key: str, token: Token) -> None:
        """Store ``token`` under ``key``, replacing any previous one atomically.

        The entry may be evicted once :func:`~mysdk.tokens.cache.retain_until`
        has passed.
        """
        ...

    async def delete(self, key: str, *, only_if: Token | None = None) -> bool:
        """Remove the entry for ``key``.

        Args:
            key: The cache key.
            only_if: When given, remove only if the stored token still equals
                this one (compare-and-delete), so a 401 on an old token never
                throws away a token another caller has just stored.

        Returns:
            True when an entry was removed.
        """
        ...

    def lock(self, key: str, *, timeout: float) -> AbstractAsyncContextManager[bool]:
        """A lock held while one caller fetches the token for ``key``.

        It spans everyone who shares the cache (tasks, threads, processes or
        machines), which makes the token request single-flight across all of
        them. It is not re-entrant: the holder must not ask for it again.

        Args:
            key: The cache key.
            timeout: Seconds to wait for the lock.

        Returns:
            An async context manager yielding True when the lock is held, False
            when it could not be had within ``timeout`` or the backend is
            unreachable (the caller then fetches without it rather than
            failing the call).
        """
        ...


def as_async_cache(cache: TokenCache | AsyncTokenCache) -> AsyncTokenCache:
    """``cache`` as an :class:`AsyncTokenCache`.

    Args:
        cache: An async cache (its ``get``, ``set`` and ``delete`` are
            coroutine functions), returned unchanged; or a sync
            :class:`~mysdk.tokens.TokenCache`, wrapped in a
            :class:`SyncCacheAdapter` (a new one per call; the adapter never
            closes the cache).

    Raises:
        TypeError: ``cache`` has neither shape: a method is missing, or some
            of ``get``/``set``/``delete`` are coroutine functions and some not.
    """
    methods = [getattr(cache, name, None) for name in ("get", "set", "delete", "lock")]
    if not all(callable(method) for method in methods):
        raise TypeError(
            f"{type(cache).__name__} is not a token cache: it needs get, set, delete and lock"
        )
    kinds = {inspect.iscoroutinefunction(method) for method in methods[:3]}
    if kinds == {True}:
        return cast(AsyncTokenCache, cache)
    if kinds == {False}:
        return SyncCacheAdapter(cast(TokenCache, cache))
    raise TypeError(
        f"{type(cache).__name__} mixes sync and async methods: get, set and delete must "
        "all be coroutine functions (an AsyncTokenCache) or none (a TokenCache)"
    )


class SyncCacheAdapter:
    """An :class:`AsyncTokenCache` over a sync :class:`~mysdk.tokens.TokenCache`.

    Never blocks the event loop: blocking work runs in threads, and every
    wait is bounded (see the module docstring for how and how long). The
    wrapped cache stays the caller's: it is shared, not copied, so sync code
    using it directly sees the same entries and is excluded by the same locks.

    Args:
        cache: The sync cache.
        max_hold: Seconds after which a holder thread releases a sync lock
            whose async holder never left it (default
            :data:`MAX_HOLD_SECONDS`, 600); finite and > 0. Lock waits longer
            than this are shortened to it.

    Raises:
        ValueError: ``max_hold`` is not finite and > 0.
    """

    def __init__(self, cache: TokenCache, *, max_hold: float = MAX_HOLD_SECONDS) -> None:
        if not 0.0 < max_hold < math.inf:
            raise ValueError(f"SyncCacheAdapter.max_hold must be finite and > 0 s, got {max_hold}")
        self._cache = cache
        self._max_hold = float(max_hold)
        self._stated = _stated_op_timeout(cache)
        # The most seconds one operation (or a release) is waited for.
        self._op_bound = (
            UNSTATED_OP_SECONDS if self._stated is None else self._stated
        ) + THREAD_GRACE
        self._direct = _never_blocks(cache)

    @property
    def wrapped(self) -> TokenCache:
        """The sync cache this adapter runs."""
        return self._cache

    @property
    def op_timeout(self) -> float | None:
        """The wrapped cache's ``op_timeout`` in seconds, or None when it states none.

        Passed through as the wrapped cache states it; the adapter waits up to
        :data:`THREAD_GRACE` longer for its thread to hand the result back.
        None makes readers assume their default, as
        ``getattr(cache, "op_timeout", None)`` does.
        """
        return self._stated

    async def get(self, key: str) -> Token | None:
        """The wrapped cache's ``get``, off the loop; None when it gives no answer in time."""
        return await self._call("get", lambda: self._cache.get(key), None)

    async def set(self, key: str, token: Token) -> None:
        """The wrapped cache's ``set``, off the loop; not waited for past the bound."""
        await self._call("set", lambda: self._cache.set(key, token), None)

    async def delete(self, key: str, *, only_if: Token | None = None) -> bool:
        """The wrapped cache's ``delete``, off the loop; False when it gives no answer in time."""
        return await self._call("delete", lambda: self._cache.delete(key, only_if=only_if), False)

    def lock(self, key: str, *, timeout: float) -> AbstractAsyncContextManager[bool]:
        """The wrapped cache's lock, entered and left by a holder thread.

        Args:
            key: The cache key.
            timeout: Seconds to wait for the lock (NaN or < 0 counts as 0,
                more than ``max_hold`` as ``max_hold``); the wrapped cache
                may cap it further (its ``lock_timeout``).

        Returns:
            An async context manager yielding True when held; False when the
            wrapped cache says so, or when it gave no answer within
            ``timeout`` + ``op`` + :data:`THREAD_GRACE` seconds.
        """
        wait = min(timeout, self._max_hold) if timeout > 0 else 0.0
        return self._hold(key, wait)

    def __repr__(self) -> str:
        return f"SyncCacheAdapter({self._cache!r})"

    async def _call(self, operation: str, call: Callable[[], _T], unavailable: _T) -> _T:
        if self._direct:
            return call()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[_T] = loop.create_future()

        def work() -> None:
            try:
                result = call()
            except BaseException as exc:  # handed to the awaiting task, as a sync call would
                _settle(loop, future, error=exc)
            else:
                _settle(loop, future, result)

        threading.Thread(target=work, name=f"mysdk-cache-{operation}", daemon=True).start()
        try:
            return await asyncio.wait_for(future, self._op_bound)
        except asyncio.TimeoutError:
            logger.warning(
                "token cache %s gave no answer to %s within %.3g s; carrying on without it",
                type(self._cache).__name__, operation, self._op_bound,
            )
            return unavailable

    @asynccontextmanager
    async def _hold(self, key: str, wait: float) -> AsyncIterator[bool]:
        loop = asyncio.get_running_loop()
        holder = _Holder(self._cache, key, wait, loop, self._max_hold)
        holder.start()
        bound = wait + self._op_bound
        try:
            held = await asyncio.wait_for(holder.acquired, bound)
        except asyncio.TimeoutError:
            holder.release()  # a lock won after this is given straight back
            logger.warning(
                "token cache lock for %s: %s gave no answer within %.3g s; going on without it",
                key, type(self._cache).__name__, bound,
            )
            held = False
        except BaseException:
            holder.release()  # cancelled while waiting: a lock won later is given straight back
            raise
        try:
            yield held
        finally:
            holder.release()
            if held:  # the lock is free when the async with is left, as with a sync lock
                try:
                    await asyncio.wait_for(holder.finished, self._op_bound)
                except asyncio.TimeoutError:
                    logger.warning(
                        "token cache lock for %s: %s did not release it within %.3g s",
                        key, type(self._cache).__name__, self._op_bound,
                    )


class _Holder:
    """Enters a sync cache's lock in its own thread, and leaves it in the same thread."""

    def __init__(
        self,
        cache: TokenCache,
        key: str,
        wait: float,
        loop: asyncio.AbstractEventLoop,
        max_hold: float,
    ) -> None:
        self.acquired: asyncio.Future[bool] = loop.create_future()
        """Settled with the lock's outcome (or the error entering it raised)."""
        self.finished: asyncio.Future[None] = loop.create_future()
        """Settled when the thread has left the lock."""
        self._cache = cache
        self._key = key
        self._wait = wait
        self._loop = loop
        self._max_hold = max_hold
        self._release = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mysdk-cache-lock", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def release(self) -> None:
        """Leave the lock now, or as soon as it is won (idempotent, thread-safe)."""
        self._release.set()

    def _run(self) -> None:
        entered = False
        try:
            with self._cache.lock(self._key, timeout=self._wait) as held:
                entered = True
                reported = _settle(self._loop, self.acquired, bool(held))
                # Unreported (the loop is closed): nobody can ever release it; leave now.
                if held and reported and not self._release.wait(self._max_hold):
                    logger.warning(
                        "token cache lock for %s released after %g s: its async holder "
                        "never left it", self._key, self._max_hold,
                    )
        except BaseException as exc:
            if entered:  # leaving raised; the caller has moved on: log (class only)
                logger.warning("token cache lock for %s: releasing it failed (%s)",
                               self._key, type(exc).__name__)
            else:
                _settle(self._loop, self.acquired, error=exc)
        finally:
            _settle(self._loop, self.finished, None)


def _settle(
    loop: asyncio.AbstractEventLoop,
    future: asyncio.Future[_T],
    result: _T | None = None,
    *,
    error: BaseException | None = None,
) -> bool:
    """From any thread: settle ``future`` unless it is done (cancelled, timed out).

    Returns False when the loop is closed (nobody can be waiting any more).
    """

    def settle() -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]  # _T when error is None

    try:
        loop.call_soon_threadsafe(settle)
    except RuntimeError:  # the loop is closed
        return False
    return True


def _stated_op_timeout(cache: object) -> float | None:
    stated = getattr(cache, "op_timeout", None)
    if isinstance(stated, (int, float)) and not isinstance(stated, bool) \
            and math.isfinite(stated) and stated >= 0:
        return float(stated)
    return None


def _never_blocks(cache: TokenCache) -> bool:
    """True for a MemoryTokenCache whose get/set/delete are its own (not overridden)."""
    from mysdk.tokens.memory import MemoryTokenCache  # cachetools: a core dependency

    cls = type(cache)
    return isinstance(cache, MemoryTokenCache) and all(
        getattr(cls, name) is getattr(MemoryTokenCache, name) for name in ("get", "set", "delete")
    )
