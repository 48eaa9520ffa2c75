"""Token cache in Redis, shared by every process and machine using the server.

Needs the ``redis`` extra (redis-py): ``pip install 'mysdk[redis]'``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from types import TracebackType
from typing import Generic, TypeVar

try:
    import redis
    from redis.exceptions import LockError, WatchError
    from redis.lock import Lock
    from redis.retry import Retry
except ImportError as exc:
    raise ImportError(
        "mysdk.tokens.redis needs the 'redis' extra: pip install 'mysdk[redis]'"
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

__all__ = ["DEFAULT_COOLDOWN", "DEFAULT_OP_TIMEOUT", "RedisTokenCache"]

_T = TypeVar("_T")


class RedisTokenCache(CacheCore[redis.Redis]):
    """A token cache in Redis: entries expire on the server with their token.

    ``set`` is one ``SET key value PX ttl``; ``delete(only_if=...)`` compares
    and deletes in a ``WATCH``/``MULTI`` transaction; :meth:`lock` is a
    redis-py :class:`~redis.lock.Lock` that expires after ``lock_ttl`` seconds,
    so a crashed holder never blocks the others for longer.

    Bounded waits: each operation (``get``, ``set``, ``delete``, one attempt
    to take the lock, its release) runs in a short-lived daemon thread and is
    given up after ``op_timeout`` seconds, whatever the client's own socket
    timeouts (a caller's client may have none). So the most this cache adds
    to one token refresh is the lock wait (at most ``lock_timeout``) plus
    five times ``op_timeout`` (lock, get, delete, set, unlock): with the
    defaults, 10 s on top of waiting for another holder; and about one
    ``op_timeout`` (2 s) when Redis stops answering, because the first
    failure opens the breaker and the remaining operations are skipped. A
    thread given up on stays blocked on its connection until the socket
    times out or closes; it is a daemon and holds no lock of this cache.

    Circuit breaker: an operation that fails (a
    :class:`~redis.exceptions.RedisError` or any other exception from the
    client, or no answer within ``op_timeout``) opens the breaker. For the
    next ``cooldown`` seconds every operation returns its "unavailable" value
    at once without touching Redis: ``get`` returns ``None``, ``set`` does
    nothing, ``delete`` returns False and ``lock`` yields False; callers then
    fetch tokens directly.
    After the cooldown one operation is let through as a trial (half-open):
    its success closes the breaker, its failure opens it for another
    ``cooldown``. "token cache unavailable" is logged once at WARNING when
    the breaker opens and "token cache available again" once at INFO when it
    closes; skipped operations and failed trials are logged at DEBUG. Only a
    held lock's release is attempted while the breaker is open (bounded by
    ``op_timeout``), so a lock is never kept until ``lock_ttl`` needlessly.

    Fork-safe: a child forked while a parent thread was inside an operation
    gets a fresh breaker lock and no pending trial.

    Args:
        client: A client to use; it stays the caller's and is never closed here.
        url: Used instead of ``client``: a ``redis://``, ``rediss://`` or
            ``unix://`` URL. Its client has 2-second socket timeouts, retries
            a failed command once, and is closed by :meth:`close`.
        prefix: Prepended to every key this cache writes.
        lock_timeout: The most seconds :meth:`lock` ever waits for another holder.
        lock_ttl: Seconds after which a held lock expires on the server; keep
            it above the time a token request can take.
        op_timeout: The most seconds any one Redis operation may take
            (default :data:`DEFAULT_OP_TIMEOUT`, 2 s); finite and > 0.
        cooldown: Seconds the cache is skipped after a failure (default
            :data:`DEFAULT_COOLDOWN`, 30 s); finite and >= 0 (0 tries Redis
            again at the next operation).

    Raises:
        ValueError: Not exactly one of ``client`` and ``url``, a timeout or
            cooldown out of range, or a ``url`` that is not a Redis URL.
    """

    def __init__(
        self,
        client: redis.Redis | None = None,
        *,
        url: str | None = None,
        prefix: str = "mysdk:",
        lock_timeout: float = 30.0,
        lock_ttl: float = 30.0,
        op_timeout: float = DEFAULT_OP_TIMEOUT,
        cooldown: float = DEFAULT_COOLDOWN,
    ) -> None:
        super().__init__(
            "RedisTokenCache", client, url, from_url=redis.Redis.from_url, retry=Retry,
            prefix=prefix, lock_timeout=lock_timeout, lock_ttl=lock_ttl,
            op_timeout=op_timeout, cooldown=cooldown,
        )

    def get(self, key: str) -> Token | None:
        """Return the unexpired token under ``key``, or ``None`` (also on outage).

        Takes at most ``op_timeout`` seconds; never raises.
        """
        name = entry_name(self._prefix, key)
        raw = self._run("GET", lambda: self._client.get(name), None)
        return decode_entry(raw, name, time.time())

    def set(self, key: str, token: Token) -> None:
        """Store ``token`` with a server TTL until :func:`~mysdk.tokens.cache.retain_until`.

        Takes at most ``op_timeout`` seconds; a failure is logged, never raised.
        """
        name, value = entry_name(self._prefix, key), token.to_json()
        ttl = ttl_ms(token, time.time())
        self._run("SET", lambda: self._client.set(name, value, px=ttl), None)

    def delete(self, key: str, *, only_if: Token | None = None) -> bool:
        """Remove ``key`` (only if it still holds ``only_if``, when given), atomically.

        Takes at most ``op_timeout`` seconds; never raises.

        Returns:
            True when an entry was removed; False when none was, when it held
            another token, or on outage.
        """
        name = entry_name(self._prefix, key)

        def delete() -> bool:
            if only_if is None:
                return bool(self._client.delete(name))
            try:
                with self._client.pipeline() as pipe:
                    pipe.watch(name)  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
                    raw = pipe.get(name)
                    if raw is None or decode_or_none(raw) != only_if:
                        return False
                    pipe.multi()
                    pipe.delete(name)
                    return bool(pipe.execute()[0])
            except WatchError:
                return False  # replaced between GET and DEL: the entry is someone else's now

        return self._run("DEL", delete, False)

    def lock(self, key: str, *, timeout: float) -> AbstractContextManager[bool]:
        """Hold the Redis lock ``<prefix>lock:<key>`` (expires after ``lock_ttl``).

        Each attempt to take it is one operation bounded by ``op_timeout``;
        attempts are repeated every 50 ms until the wait is over, so taking
        it takes at most the wait plus ``op_timeout`` seconds, and releasing
        it at most ``op_timeout`` more.

        Args:
            key: The cache key.
            timeout: Seconds to wait, capped at ``lock_timeout``.

        Returns:
            A context manager yielding True when held, False when another
            holder kept it for ``timeout`` seconds or Redis is unavailable.
        """
        return self._hold(key, lock_wait(timeout, self._lock_timeout))

    def close(self) -> None:
        """Close the client if this cache created it (from ``url``)."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> RedisTokenCache:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _run(
        self,
        operation: str,
        call: Callable[[], _T],
        unavailable: _T,
        *,
        on_late: Callable[[_T], None] | None = None,
        even_if_open: bool = False,
    ) -> _T:
        """Run ``call`` in a worker thread for at most ``op_timeout`` seconds.

        Returns ``unavailable`` without calling when the breaker is open (unless
        ``even_if_open``), and when ``call`` fails or does not finish in time;
        ``on_late`` then receives the result of a call that finishes late.
        """
        if not self._breaker.admit(operation, even_if_open=even_if_open):
            return unavailable
        work = _Work(call, on_late)
        worker = threading.Thread(target=work.run, name=f"mysdk-redis-{operation}", daemon=True)
        worker.start()
        worker.join(self._op_timeout)
        if work.abandon():
            self._breaker.timed_out(operation, self._op_timeout)
            return unavailable
        if work.error is not None:
            self._breaker.failed(operation, describe_error(work.error))
            if not isinstance(work.error, Exception):
                raise work.error  # not ours to swallow (e.g. SystemExit)
            return unavailable
        self._breaker.succeeded()
        return work.result  # type: ignore[return-value]  # set when error is None

    @contextmanager
    def _hold(self, key: str, wait: float) -> Iterator[bool]:
        # thread_local=False: worker threads take and release it, not the caller.
        lock = self._client.lock(
            lock_name(self._prefix, key), timeout=self._lock_ttl, thread_local=False
        )

        def release_late(acquired: bool | None) -> None:
            if acquired:  # won after we gave up: give it straight back
                self._release_now(lock, key)

        attempts = LockAttempts(key, wait)
        while (pause := attempts.pause_after(self._run(
            "lock", lambda: bool(lock.acquire(blocking=False)), None, on_late=release_late
        ))) is not None:
            time.sleep(pause)
        try:
            yield attempts.acquired
        finally:
            if attempts.acquired:
                self._run("unlock", lambda: self._release_now(lock, key), None, even_if_open=True)

    def _release_now(self, lock: Lock, key: str) -> None:
        try:
            lock.release()
        except LockError:  # a subclass of RedisError: Redis answered, the lock was gone
            log_lock_expired(key, self._lock_ttl)


class _Work(Generic[_T]):
    """One Redis operation in a worker thread, which its caller may give up on."""

    def __init__(self, call: Callable[[], _T], on_late: Callable[[_T], None] | None) -> None:
        self._call = call
        self._on_late = on_late
        self._guard = threading.Lock()
        self._finished = False
        self._abandoned = False
        self.result: _T | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        result: _T | None = None
        error: BaseException | None = None
        try:
            result = self._call()
        except BaseException as exc:  # handed to the caller, or dropped if it left
            error = exc
        with self._guard:
            self.result, self.error, self._finished = result, error, True
            late = self._abandoned
        if late and error is None and self._on_late is not None:
            with suppress(Exception):  # nobody is left to tell; Redis TTLs clean up
                self._on_late(result)  # type: ignore[arg-type]  # the call returned it

    def abandon(self) -> bool:
        """Give up on the result unless it is in; True when given up."""
        with self._guard:
            if self._finished:
                return False
            self._abandoned = True
            return True
