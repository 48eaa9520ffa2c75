"""Token cache in Redis, shared by every process and machine using the server.

Needs the ``redis`` extra (redis-py): ``pip install 'mysdk[redis]'``.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

try:
    import redis
    from redis.backoff import NoBackoff
    from redis.exceptions import LockError, RedisError, WatchError
    from redis.lock import Lock
    from redis.retry import Retry
except ImportError as exc:
    raise ImportError(
        "mysdk.tokens.redis needs the 'redis' extra: pip install 'mysdk[redis]'"
    ) from exc

from mysdk.tokens.cache import retain_until
from mysdk.tokens.token import Token

__all__ = ["RedisTokenCache"]

logger = logging.getLogger("mysdk.tokens")

_UNKNOWN_EXPIRY_TTL_MS = 24 * 3600 * 1000  # tokens without expires_at live a day
_MAX_TTL_MS = 366 * 24 * 3600 * 1000  # Redis refuses absurd TTLs; a cache may forget early
_WARNING_INTERVAL = 30.0  # seconds between two "unavailable" warnings of one cache
_SOCKET_TIMEOUT = 2.0  # seconds, for clients built from a URL
_LOCK_POLL = 0.05  # seconds between two attempts to take a held lock


class RedisTokenCache:
    """A token cache in Redis: entries expire on the server with their token.

    ``set`` is one ``SET key value PX ttl``; ``delete(only_if=...)`` compares
    and deletes in a ``WATCH``/``MULTI`` transaction; :meth:`lock` is a
    redis-py :class:`~redis.lock.Lock` that expires after ``lock_ttl`` seconds,
    so a crashed holder never blocks the others for longer.

    Redis errors never reach the caller: on any :class:`~redis.exceptions.RedisError`
    ``get`` returns ``None``, ``set`` does nothing, ``delete`` returns False and
    ``lock`` yields False; "token cache unavailable, fetching directly" is
    logged at WARNING at most every 30 seconds per cache (DEBUG in between).

    Args:
        client: A client to use; it stays the caller's and is never closed here.
        url: Used instead of ``client``: a ``redis://``, ``rediss://`` or
            ``unix://`` URL. Its client has 2-second socket timeouts, retries
            a failed command once, and is closed by :meth:`close`.
        prefix: Prepended to every key this cache writes.
        lock_timeout: The most seconds :meth:`lock` ever waits.
        lock_ttl: Seconds after which a held lock expires on the server; keep
            it above the time a token request can take.

    Raises:
        ValueError: Not exactly one of ``client`` and ``url``, a timeout out of
            range, or a ``url`` that is not a Redis URL.
    """

    def __init__(
        self,
        client: redis.Redis | None = None,
        *,
        url: str | None = None,
        prefix: str = "mysdk:",
        lock_timeout: float = 30.0,
        lock_ttl: float = 30.0,
    ) -> None:
        if not 0.0 <= lock_timeout < math.inf:
            raise ValueError(f"RedisTokenCache.lock_timeout must be >= 0 s, got {lock_timeout}")
        if not 0.001 <= lock_ttl < math.inf:
            raise ValueError(f"RedisTokenCache.lock_ttl must be >= 0.001 s, got {lock_ttl}")
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
        self._warn_guard = threading.Lock()
        self._next_warning = 0.0  # time.monotonic() from which the next WARNING may be logged

    def get(self, key: str) -> Token | None:
        """Return the unexpired token under ``key``, or ``None`` (also on outage)."""
        try:
            raw = self._client.get(self._prefix + key)
        except RedisError as exc:
            self._unavailable("GET", exc)
            return None
        if raw is None:
            return None
        try:
            token = Token.from_json(raw)
        except ValueError as exc:
            logger.warning("ignoring corrupt token cache entry %s (%s)", self._prefix + key, exc)
            return None
        # The server TTL should have removed it already; clocks of hosts differ.
        now = time.time()
        return None if now >= retain_until(token, now) else token

    def set(self, key: str, token: Token) -> None:
        """Store ``token`` with a server TTL until :func:`~mysdk.tokens.cache.retain_until`."""
        now = time.time()
        remaining = retain_until(token, now) - now
        if math.isfinite(remaining):
            ttl_ms = min(max(math.ceil(remaining * 1000), 1), _MAX_TTL_MS)
        else:
            ttl_ms = _UNKNOWN_EXPIRY_TTL_MS
        value = token.to_json()
        try:
            self._client.set(self._prefix + key, value, px=ttl_ms)
        except RedisError as exc:
            self._unavailable("SET", exc)

    def delete(self, key: str, *, only_if: Token | None = None) -> bool:
        """Remove ``key`` (only if it still holds ``only_if``, when given), atomically.

        Returns:
            True when an entry was removed; False when none was, when it held
            another token, or on outage.
        """
        name = self._prefix + key
        try:
            if only_if is None:
                return bool(self._client.delete(name))
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
        except RedisError as exc:
            self._unavailable("DEL", exc)
            return False

    def lock(self, key: str, *, timeout: float) -> AbstractContextManager[bool]:
        """Hold the Redis lock ``<prefix>lock:<key>`` (expires after ``lock_ttl``).

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

    @contextmanager
    def _hold(self, key: str, wait: float) -> Iterator[bool]:
        lock = self._client.lock(
            self._prefix + "lock:" + key,
            timeout=self._lock_ttl,
            sleep=min(_LOCK_POLL, wait) or _LOCK_POLL,
            blocking_timeout=wait,
        )
        try:
            acquired = bool(lock.acquire())
        except RedisError as exc:
            self._unavailable("lock", exc)
            acquired = False
        else:
            if not acquired:
                logger.warning("token cache lock for %s not acquired within %.3gs", key, wait)
        try:
            yield acquired
        finally:
            if acquired:
                self._release(lock, key)

    def _release(self, lock: Lock, key: str) -> None:
        try:
            lock.release()
        except LockError:  # a subclass of RedisError: handled first
            logger.warning(
                "token cache lock for %s expired before release; raise lock_ttl (%.3gs)",
                key,
                self._lock_ttl,
            )
        except RedisError as exc:
            self._unavailable("unlock", exc)  # the lock expires after lock_ttl anyway

    def _unavailable(self, operation: str, exc: RedisError) -> None:
        now = time.monotonic()
        with self._warn_guard:
            loud = now >= self._next_warning
            if loud:
                self._next_warning = now + _WARNING_INTERVAL
        logger.log(
            logging.WARNING if loud else logging.DEBUG,
            "token cache unavailable, fetching directly (%s %s failed: %s)",
            self._where,
            operation,
            _describe_error(exc),
        )


def _decode_or_none(raw: bytes | str) -> Token | None:
    try:
        return Token.from_json(raw)
    except ValueError:
        return None


def _describe_error(exc: RedisError) -> str:
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
