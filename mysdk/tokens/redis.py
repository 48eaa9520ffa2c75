"""Token cache in Redis, shared by every process and machine using the server.

Needs the ``redis`` extra (redis-py): ``pip install 'mysdk[redis]'``.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from types import TracebackType
from typing import Generic, TypeVar
from urllib.parse import urlsplit, urlunsplit

try:
    import redis
    from redis.backoff import NoBackoff
    from redis.exceptions import LockError, WatchError
    from redis.lock import Lock
    from redis.retry import Retry
except ImportError as exc:
    raise ImportError(
        "mysdk.tokens.redis needs the 'redis' extra: pip install 'mysdk[redis]'"
    ) from exc

from mysdk import _forksafe
from mysdk.tokens.cache import retain_until
from mysdk.tokens.token import Token

__all__ = ["DEFAULT_COOLDOWN", "DEFAULT_OP_TIMEOUT", "RedisTokenCache"]

logger = logging.getLogger("mysdk.tokens")

_T = TypeVar("_T")

DEFAULT_OP_TIMEOUT = 2.0
"""Seconds one Redis operation (get, set, delete, one lock attempt, unlock) may take."""

DEFAULT_COOLDOWN = 30.0
"""Seconds a Redis cache seen to fail is skipped before it is tried again."""

_UNKNOWN_EXPIRY_TTL_MS = 24 * 3600 * 1000  # tokens without expires_at live a day
_MAX_TTL_MS = 366 * 24 * 3600 * 1000  # Redis refuses absurd TTLs; a cache may forget early
_SOCKET_TIMEOUT = 2.0  # seconds, for clients built from a URL
_LOCK_POLL = 0.05  # seconds between two attempts to take a held lock


class RedisTokenCache:
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
        if not 0.0 <= lock_timeout < math.inf:
            raise ValueError(f"RedisTokenCache.lock_timeout must be >= 0 s, got {lock_timeout}")
        if not 0.001 <= lock_ttl < math.inf:
            raise ValueError(f"RedisTokenCache.lock_ttl must be >= 0.001 s, got {lock_ttl}")
        if not 0.0 < op_timeout < math.inf:
            raise ValueError(
                f"RedisTokenCache.op_timeout must be finite and > 0 s, got {op_timeout}")
        if not 0.0 <= cooldown < math.inf:
            raise ValueError(f"RedisTokenCache.cooldown must be finite and >= 0 s, got {cooldown}")
        if url is not None:
            if client is not None:
                raise ValueError("RedisTokenCache takes client= or url=, not both")
            # Fail fast: one retry, short timeouts; a cache outage must not stall calls.
            client = redis.Redis.from_url(
                url,
                socket_timeout=_SOCKET_TIMEOUT,
                socket_connect_timeout=_SOCKET_TIMEOUT,
                retry=Retry(NoBackoff(), 1),
            )
            self._owns_client = True
            self._where = f"url={_mask_url(url)!r}"
        elif client is not None:
            self._owns_client = False
            self._where = f"client={_describe_client(client)!r}"
        else:
            raise ValueError("RedisTokenCache needs client= or url=")
        self._client = client
        self._prefix = prefix
        self._lock_timeout = float(lock_timeout)
        self._lock_ttl = float(lock_ttl)
        self._op_timeout = float(op_timeout)
        self._breaker = _Breaker(float(cooldown), self._where)
        _forksafe.register(self)

    @property
    def op_timeout(self) -> float:
        """The most seconds one Redis operation may take."""
        return self._op_timeout

    @property
    def cooldown(self) -> float:
        """Seconds the cache is skipped after a failure."""
        return self._breaker.cooldown

    def get(self, key: str) -> Token | None:
        """Return the unexpired token under ``key``, or ``None`` (also on outage).

        Takes at most ``op_timeout`` seconds; never raises.
        """
        name = self._prefix + key
        raw = self._run("GET", lambda: self._client.get(name), None)
        if raw is None:
            return None
        try:
            token = Token.from_json(raw)
        except ValueError as exc:
            logger.warning("ignoring corrupt token cache entry %s (%s)", name, exc)
            return None
        # The server TTL should have removed it already; clocks of hosts differ.
        now = time.time()
        return None if now >= retain_until(token, now) else token

    def set(self, key: str, token: Token) -> None:
        """Store ``token`` with a server TTL until :func:`~mysdk.tokens.cache.retain_until`.

        Takes at most ``op_timeout`` seconds; a failure is logged, never raised.
        """
        now = time.time()
        remaining = retain_until(token, now) - now
        if math.isfinite(remaining):
            ttl_ms = min(max(math.ceil(remaining * 1000), 1), _MAX_TTL_MS)
        else:
            ttl_ms = _UNKNOWN_EXPIRY_TTL_MS
        name, value = self._prefix + key, token.to_json()
        self._run("SET", lambda: self._client.set(name, value, px=ttl_ms), None)

    def delete(self, key: str, *, only_if: Token | None = None) -> bool:
        """Remove ``key`` (only if it still holds ``only_if``, when given), atomically.

        Takes at most ``op_timeout`` seconds; never raises.

        Returns:
            True when an entry was removed; False when none was, when it held
            another token, or on outage.
        """
        name = self._prefix + key

        def delete() -> bool:
            if only_if is None:
                return bool(self._client.delete(name))
            try:
                with self._client.pipeline() as pipe:
                    pipe.watch(name)  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
                    raw = pipe.get(name)
                    if raw is None or _decode_or_none(raw) != only_if:
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
        wait = min(timeout, self._lock_timeout) if timeout > 0 else 0.0  # NaN counts as 0
        return self._hold(key, wait)

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

    def __repr__(self) -> str:
        return f"RedisTokenCache({self._where}, prefix={self._prefix!r})"

    def _after_fork_in_child(self) -> None:
        self._breaker.after_fork_in_child()

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
        if not even_if_open and not self._breaker.allow():
            self._breaker.skipped(operation)
            return unavailable
        work = _Work(call, on_late)
        worker = threading.Thread(target=work.run, name=f"mysdk-redis-{operation}", daemon=True)
        worker.start()
        worker.join(self._op_timeout)
        if work.abandon():
            self._breaker.failed(operation, f"no answer within {self._op_timeout:g} s")
            return unavailable
        if work.error is not None:
            self._breaker.failed(operation, _describe_error(work.error))
            if not isinstance(work.error, Exception):
                raise work.error  # not ours to swallow (e.g. SystemExit)
            return unavailable
        self._breaker.succeeded()
        return work.result  # type: ignore[return-value]  # set when error is None

    @contextmanager
    def _hold(self, key: str, wait: float) -> Iterator[bool]:
        # thread_local=False: worker threads take and release it, not the caller.
        lock = self._client.lock(
            self._prefix + "lock:" + key, timeout=self._lock_ttl, thread_local=False
        )

        def release_late(acquired: bool | None) -> None:
            if acquired:  # won after we gave up: give it straight back
                self._release_now(lock, key)

        deadline = time.monotonic() + wait
        acquired = False
        while True:
            outcome = self._run(
                "lock", lambda: bool(lock.acquire(blocking=False)), None, on_late=release_late
            )
            if outcome is None:
                break  # unavailable: already logged
            if outcome:
                acquired = True
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                logger.warning("token cache lock for %s not acquired within %.3gs", key, wait)
                break
            time.sleep(min(_LOCK_POLL, remaining))
        try:
            yield acquired
        finally:
            if acquired:
                self._run("unlock", lambda: self._release_now(lock, key), None, even_if_open=True)

    def _release_now(self, lock: Lock, key: str) -> None:
        try:
            lock.release()
        except LockError:  # a subclass of RedisError: Redis answered, the lock was gone
            logger.warning(
                "token cache lock for %s expired before release; raise lock_ttl (%.3gs)",
                key,
                self._lock_ttl,
            )


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


class _Breaker:
    """Closed, open for ``cooldown`` seconds after a failure, then one trial."""

    def __init__(self, cooldown: float, where: str) -> None:
        self.cooldown = cooldown
        self._where = where
        self._guard = threading.Lock()
        self._open_until: float | None = None  # time.monotonic(); None: closed
        self._trial = False  # a trial operation is under way (half-open)

    def allow(self) -> bool:
        """True when an operation may touch Redis now (closed, or the trial)."""
        with self._guard:
            if self._open_until is None:
                return True
            if self._trial or time.monotonic() < self._open_until:
                return False
            self._trial = True
            return True

    def skipped(self, operation: str) -> None:
        with self._guard:
            left = 0.0 if self._open_until is None else self._open_until - time.monotonic()
        logger.debug(
            "token cache unavailable, fetching directly (%s %s skipped; tried again in %.1f s)",
            self._where, operation, max(left, 0.0),
        )

    def failed(self, operation: str, why: str) -> None:
        with self._guard:
            opening = self._open_until is None
            self._open_until = time.monotonic() + self.cooldown
            self._trial = False
        if opening:
            logger.warning(
                "token cache unavailable, fetching directly (%s %s failed: %s); "
                "skipping it for %g s",
                self._where, operation, why, self.cooldown,
            )
        else:
            logger.debug(
                "token cache still unavailable (%s %s failed: %s); skipping it for %g s more",
                self._where, operation, why, self.cooldown,
            )

    def succeeded(self) -> None:
        with self._guard:
            closing = self._open_until is not None
            self._open_until = None
            self._trial = False
        if closing:
            logger.info("token cache available again (%s)", self._where)

    def after_fork_in_child(self) -> None:
        # A parent thread may have held the guard or run the trial at fork time.
        self._guard = threading.Lock()
        self._trial = False


def _decode_or_none(raw: bytes | str) -> Token | None:
    try:
        return Token.from_json(raw)
    except ValueError:
        return None


def _describe_error(exc: BaseException) -> str:
    # Connection errors say where and why; a server's error reply may quote the
    # command's arguments (a token), so only its class is logged.
    if isinstance(exc, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)):
        return f"{type(exc).__name__}: {exc}"
    return type(exc).__name__


def _mask_url(url: str) -> str:
    """``url`` with userinfo masked and the query (which may hold a password) elided."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, "..." if parts.query else "", ""))


def _describe_client(client: redis.Redis) -> str:
    kwargs = getattr(getattr(client, "connection_pool", None), "connection_kwargs", None)
    if not isinstance(kwargs, dict):  # e.g. a cluster client
        return type(client).__name__
    if "path" in kwargs:
        return f"unix://{kwargs['path']}?db={kwargs.get('db', 0)}"
    return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"
