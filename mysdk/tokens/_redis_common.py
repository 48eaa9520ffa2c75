"""What the sync and the asyncio Redis token caches share: the pure parts.

:class:`~mysdk.tokens.redis.RedisTokenCache` (redis-py) and
:class:`~mysdk.tokens.redis_async.AsyncRedisTokenCache` (``redis.asyncio``)
must store the same bytes under the same names and take the same lock, so
that sync and async processes of one fleet share tokens and single-flight
refreshes. Everything that decides that — key names, the value format and
its TTL, argument checks, the circuit breaker's state machine and what is
logged about failures — lives here, once; each cache only does its I/O.

Needs redis-py (the ``redis`` extra); the importing modules check for it first
so that the error names the extra.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit, urlunsplit

import redis.exceptions
from redis.backoff import NoBackoff

from mysdk import _forksafe
from mysdk.tokens.cache import retain_until
from mysdk.tokens.token import Token

__all__ = [
    "DEFAULT_COOLDOWN",
    "DEFAULT_OP_TIMEOUT",
    "LOCK_POLL",
    "SOCKET_TIMEOUT",
    "Breaker",
    "CacheCore",
    "LockAttempts",
    "decode_entry",
    "decode_or_none",
    "describe_client",
    "describe_error",
    "entry_name",
    "lock_name",
    "lock_wait",
    "log_lock_expired",
    "log_lock_not_acquired",
    "mask_url",
    "ttl_ms",
    "validate_bounds",
]

logger = logging.getLogger("mysdk.tokens")

DEFAULT_OP_TIMEOUT = 2.0
"""Seconds one Redis operation (get, set, delete, one lock attempt, unlock) may take."""

DEFAULT_COOLDOWN = 30.0
"""Seconds a Redis cache seen to fail is skipped before it is tried again."""

SOCKET_TIMEOUT = 2.0
"""Seconds of socket connect/read timeout for clients a cache builds from a URL."""

LOCK_POLL = 0.05
"""Seconds between two attempts to take a lock another holder has."""

_C = TypeVar("_C")

_UNKNOWN_EXPIRY_TTL_MS = 24 * 3600 * 1000  # tokens without expires_at live a day
_MAX_TTL_MS = 366 * 24 * 3600 * 1000  # Redis refuses absurd TTLs; a cache may forget early


def validate_bounds(
    owner: str, *, lock_timeout: float, lock_ttl: float, op_timeout: float, cooldown: float
) -> None:
    """Check a Redis cache's time arguments (all in seconds).

    Args:
        owner: The class name used in the messages.

    Raises:
        ValueError: ``lock_timeout`` < 0 or infinite, ``lock_ttl`` < 1 ms or
            infinite, ``op_timeout`` not finite and > 0, ``cooldown`` < 0 or
            infinite (NaN fails every check).
    """
    if not 0.0 <= lock_timeout < math.inf:
        raise ValueError(f"{owner}.lock_timeout must be >= 0 s, got {lock_timeout}")
    if not 0.001 <= lock_ttl < math.inf:
        raise ValueError(f"{owner}.lock_ttl must be >= 0.001 s, got {lock_ttl}")
    if not 0.0 < op_timeout < math.inf:
        raise ValueError(f"{owner}.op_timeout must be finite and > 0 s, got {op_timeout}")
    if not 0.0 <= cooldown < math.inf:
        raise ValueError(f"{owner}.cooldown must be finite and >= 0 s, got {cooldown}")


def entry_name(prefix: str, key: str) -> str:
    """The Redis key holding the token of cache key ``key``: ``<prefix><key>``."""
    return prefix + key


def lock_name(prefix: str, key: str) -> str:
    """The Redis key of the lock for cache key ``key``: ``<prefix>lock:<key>``."""
    return prefix + "lock:" + key


def lock_wait(timeout: float, lock_timeout: float) -> float:
    """Seconds :meth:`lock` waits: ``timeout`` capped at ``lock_timeout``; NaN or < 0 is 0."""
    return min(timeout, lock_timeout) if timeout > 0 else 0.0


def ttl_ms(token: Token, now: float) -> int:
    """The server-side TTL in milliseconds for storing ``token`` at epoch ``now``.

    Until :func:`~mysdk.tokens.cache.retain_until`, at least 1 ms (an expired
    token goes at once) and at most 366 days; a day when the retention is not
    a finite number (an odd ``expires_at`` such as NaN).
    """
    remaining = retain_until(token, now) - now
    if math.isfinite(remaining):
        return int(min(max(math.ceil(remaining * 1000), 1), _MAX_TTL_MS))
    return _UNKNOWN_EXPIRY_TTL_MS


def decode_or_none(raw: bytes | str) -> Token | None:
    """The token stored as ``raw`` (:meth:`Token.to_json`), or None when it is not one."""
    try:
        return Token.from_json(raw)
    except ValueError:
        return None


def decode_entry(raw: bytes | str | None, name: str, now: float) -> Token | None:
    """What ``get`` returns for the value ``raw`` read from Redis key ``name``.

    None for a missing entry, for a corrupt one (logged at WARNING with the
    reason, never the value) and for one past its retention at epoch ``now``
    (the server TTL should have removed it already; the clocks of hosts differ).
    """
    if raw is None:
        return None
    try:
        token = Token.from_json(raw)
    except ValueError as exc:
        logger.warning("ignoring corrupt token cache entry %s (%s)", name, exc)
        return None
    return None if now >= retain_until(token, now) else token


def log_lock_not_acquired(key: str, wait: float) -> None:
    """Log (WARNING) that another holder kept the lock for ``key`` all ``wait`` seconds."""
    logger.warning("token cache lock for %s not acquired within %.3gs", key, wait)


def log_lock_expired(key: str, lock_ttl: float) -> None:
    """Log (WARNING) that the lock for ``key`` expired on the server before its release."""
    logger.warning(
        "token cache lock for %s expired before release; raise lock_ttl (%.3gs)", key, lock_ttl
    )


def describe_error(exc: BaseException) -> str:
    """What is logged about a failed Redis operation: never a value it carried.

    Connection errors and redis-py's timeouts say where and why; any other
    error (a server's error reply may quote the command's arguments, i.e. a
    token) is named by its class only.
    """
    if isinstance(exc, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)):
        return f"{type(exc).__name__}: {exc}"
    return type(exc).__name__


def mask_url(url: str) -> str:
    """``url`` with userinfo masked and the query (which may hold a password) elided."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, "..." if parts.query else "", ""))


def describe_client(client: object) -> str:
    """Where a sync or asyncio client connects (``host:port/db``), without credentials."""
    kwargs = getattr(getattr(client, "connection_pool", None), "connection_kwargs", None)
    if not isinstance(kwargs, dict):  # e.g. a cluster client
        return type(client).__name__
    if "path" in kwargs:
        return f"unix://{kwargs['path']}?db={kwargs.get('db', 0)}"
    return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"


class Breaker:
    """Closed, open for ``cooldown`` seconds after a failure, then one trial.

    The state machine of both Redis caches. Thread-safe; its guard is held
    only while the state changes, never across I/O, so an event loop may
    call it too.

    Args:
        cooldown: Seconds Redis is skipped after a failure.
        where: How the cache names its server in log messages (masked).
    """

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

    def admit(self, operation: str, *, even_if_open: bool = False) -> bool:
        """True when ``operation`` may touch Redis now; when not, log it as skipped.

        ``even_if_open`` lets it through whatever the state (a lock's release),
        without taking the trial.
        """
        if even_if_open or self.allow():
            return True
        self.skipped(operation)
        return False

    def skipped(self, operation: str) -> None:
        """Log (DEBUG) that ``operation`` was not tried because the breaker is open."""
        with self._guard:
            left = 0.0 if self._open_until is None else self._open_until - time.monotonic()
        logger.debug(
            "token cache unavailable, fetching directly (%s %s skipped; tried again in %.1f s)",
            self._where, operation, max(left, 0.0),
        )

    def failed(self, operation: str, why: str) -> None:
        """Open (or keep open) the breaker; WARNING when it opens, DEBUG otherwise."""
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

    def timed_out(self, operation: str, op_timeout: float) -> None:
        """:meth:`failed` because ``operation`` gave no answer within ``op_timeout`` seconds."""
        self.failed(operation, f"no answer within {op_timeout:g} s")

    def succeeded(self) -> None:
        """Close the breaker; INFO when it was open."""
        with self._guard:
            closing = self._open_until is not None
            self._open_until = None
            self._trial = False
        if closing:
            logger.info("token cache available again (%s)", self._where)

    def interrupted(self) -> None:
        """An operation was cancelled before Redis answered: says nothing about Redis.

        The state is kept, but a trial under way is forgotten, so the next
        operation after the cooldown may be the trial (otherwise the breaker
        would stay open for good).
        """
        with self._guard:
            self._trial = False

    def after_fork_in_child(self) -> None:
        """Fresh guard and no trial: a parent thread may have held either at fork time."""
        self._guard = threading.Lock()
        self._trial = False


class LockAttempts:
    """When to try again to take a lock another holder has, and when to stop.

    Both caches' lock loop: after each attempt, :meth:`pause_after` says how
    long to sleep before the next one, or None to stop (then :attr:`acquired`
    says whether the lock is held). Attempts repeat every :data:`LOCK_POLL`
    seconds until ``wait`` seconds have passed since this was made.

    Args:
        key: The cache key (for the log message when the wait is over).
        wait: Seconds to keep trying (see :func:`lock_wait`).
    """

    def __init__(self, key: str, wait: float) -> None:
        self._key = key
        self._wait = wait
        self._deadline = time.monotonic() + wait
        self.acquired = False

    def pause_after(self, outcome: bool | None) -> float | None:
        """Seconds to sleep after an attempt that gave ``outcome``, or None to stop.

        ``outcome`` is True when the attempt took the lock, False when another
        holder has it, None when Redis is unavailable (already logged). When
        the wait is over, "not acquired" is logged at WARNING.
        """
        if outcome is None:
            return None
        if outcome:
            self.acquired = True
            return None
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            log_lock_not_acquired(self._key, self._wait)
            return None
        return min(LOCK_POLL, remaining)


class CacheCore(Generic[_C]):
    """The state and checks both Redis caches share; a subclass adds the I/O.

    Checks the arguments, builds a fail-fast client from ``url`` (2-second
    socket timeouts, one retry) or takes the caller's ``client``, and keeps
    the names, bounds and :class:`Breaker` every operation uses.

    Args:
        owner: The public class name, for messages and ``repr``.
        client: The caller's client, or None.
        url: Used instead of ``client``: a Redis URL.
        from_url: Builds a client from a URL (``Redis.from_url`` of redis-py
            or of ``redis.asyncio``).
        retry: The ``Retry`` class matching ``from_url``.
        prefix, lock_timeout, lock_ttl, op_timeout, cooldown: As the caches take them.

    Raises:
        ValueError: Not exactly one of ``client`` and ``url``, a timeout or
            cooldown out of range, or a ``url`` that is not a Redis URL.
    """

    def __init__(
        self,
        owner: str,
        client: _C | None,
        url: str | None,
        *,
        from_url: Callable[..., _C],
        retry: Callable[[NoBackoff, int], Any],
        prefix: str,
        lock_timeout: float,
        lock_ttl: float,
        op_timeout: float,
        cooldown: float,
    ) -> None:
        validate_bounds(owner, lock_timeout=lock_timeout, lock_ttl=lock_ttl,
                        op_timeout=op_timeout, cooldown=cooldown)
        if url is not None:
            if client is not None:
                raise ValueError(f"{owner} takes client= or url=, not both")
            # Fail fast: one retry, short timeouts; a cache outage must not stall calls.
            client = from_url(
                url,
                socket_timeout=SOCKET_TIMEOUT,
                socket_connect_timeout=SOCKET_TIMEOUT,
                retry=retry(NoBackoff(), 1),
            )
            self._owns_client = True
            self._where = f"url={mask_url(url)!r}"
        elif client is not None:
            self._owns_client = False
            self._where = f"client={describe_client(client)!r}"
        else:
            raise ValueError(f"{owner} needs client= or url=")
        self._owner = owner
        self._client: _C = client
        self._prefix = prefix
        self._lock_timeout = float(lock_timeout)
        self._lock_ttl = float(lock_ttl)
        self._op_timeout = float(op_timeout)
        self._breaker = Breaker(float(cooldown), self._where)
        _forksafe.register(self)

    @property
    def op_timeout(self) -> float:
        """The most seconds one Redis operation may take."""
        return self._op_timeout

    @property
    def cooldown(self) -> float:
        """Seconds the cache is skipped after a failure."""
        return self._breaker.cooldown

    def __repr__(self) -> str:
        return f"{self._owner}({self._where}, prefix={self._prefix!r})"

    def _after_fork_in_child(self) -> None:
        self._breaker.after_fork_in_child()
