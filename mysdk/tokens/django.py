"""A token cache on Django's cache framework (``django.core.cache``).

Needs the ``django`` extra: ``pip install 'mysdk[django]'``. For a Django
project that already has a shared cache (Redis, Memcached, database): the
tokens live where the project's other cached values live, shared by every
worker that uses the same cache.

* Values are the token's JSON (:meth:`~mysdk.tokens.Token.to_json`) under
  ``prefix + key``; each entry's timeout is the token's retention
  (:func:`~mysdk.tokens.cache.retain_until`: its expiry, plus 30 days while it
  carries a refresh token), in whole seconds.
* :meth:`DjangoTokenCache.lock` is ``cache.add(lock_key, owner, timeout=lock_ttl)``:
  an atomic "set if absent" on every shared backend, with a timeout so a worker
  that dies holding it blocks the others for at most ``lock_ttl`` seconds.
  It is released by deleting the key if it still holds this owner's random value.
* ``delete(only_if=...)`` compares and deletes under a lock of this instance;
  across processes it relies, like the file cache, on callers holding
  :meth:`~DjangoTokenCache.lock` while they refresh (the token manager does).
* A backend error (Redis down, a corrupt value) is logged (its type, never a
  value) and read as "no token", as the protocol says: the caller then fetches.
"""

from __future__ import annotations

import logging
import math
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

try:
    from django.core.cache import BaseCache, caches  # type: ignore[import-untyped,unused-ignore]
except ImportError as exc:
    raise ImportError(
        "mysdk.tokens.django needs the 'django' extra: pip install 'mysdk[django]'"
    ) from exc

from mysdk.tokens.cache import retain_until
from mysdk.tokens.token import Token

__all__ = ["DjangoTokenCache"]

logger = logging.getLogger("mysdk.tokens")

_MAX_TIMEOUT = 366 * 24 * 3600  # seconds; an odd expiry (inf, NaN, 1e300) is kept this long
_POLL = 0.05  # seconds between lock attempts, growing to 0.5


class DjangoTokenCache:
    """A :class:`~mysdk.tokens.TokenCache` on a Django cache.

    Args:
        cache: A cache alias from ``settings.CACHES`` (default ``"default"``),
            looked up per operation (Django's handles are per thread), or a
            cache object (``django.core.cache.caches["tokens"]``).
        prefix: Prepended to every key (the lock's too).
        lock_ttl: Seconds after which a lock left by a dead holder expires.
        lock_timeout: The most seconds :meth:`lock` ever waits.

    Raises:
        ValueError: ``lock_ttl`` is not positive or ``lock_timeout`` is negative.
    """

    def __init__(self, cache: str | BaseCache = "default", *, prefix: str = "mysdk:",
                 lock_ttl: float = 30.0, lock_timeout: float = 30.0) -> None:
        if not 0 < lock_ttl < math.inf:
            raise ValueError(f"DjangoTokenCache.lock_ttl must be > 0 s, got {lock_ttl}")
        if not 0 <= lock_timeout < math.inf:
            raise ValueError(f"DjangoTokenCache.lock_timeout must be >= 0 s, got {lock_timeout}")
        self._cache = cache
        self._prefix = prefix
        self._lock_ttl = lock_ttl
        self._lock_timeout = lock_timeout
        self._guard = threading.Lock()  # makes delete's compare-then-delete atomic here

    @property
    def backend(self) -> BaseCache:
        """The Django cache in use (per thread, for an alias)."""
        return caches[self._cache] if isinstance(self._cache, str) else self._cache

    def get(self, key: str) -> Token | None:
        """The token under ``key`` (see :meth:`TokenCache.get`), or None; never raises."""
        raw = self._call("get", self._prefix + key)
        if raw is None:
            return None
        try:
            token = Token.from_json(raw)
        except ValueError as exc:  # the message names what is wrong, never the value
            logger.warning("ignoring corrupt token in the Django cache (%s)", exc)
            return None
        now = time.time()
        return None if now >= retain_until(token, now) else token

    def set(self, key: str, token: Token) -> None:
        """Store ``token`` for as long as :func:`retain_until` says (a failure is logged)."""
        now = time.time()
        left = retain_until(token, now) - now
        timeout = _MAX_TIMEOUT if not math.isfinite(left) else min(
            _MAX_TIMEOUT, max(0, math.ceil(left)))
        if timeout == 0:  # Django: 0 expires at once; an expired entry is not kept
            self._call("delete", self._prefix + key)
            return
        self._call("set", self._prefix + key, token.to_json(), timeout=timeout)

    def delete(self, key: str, *, only_if: Token | None = None) -> bool:
        """Remove ``key`` (only if it still holds ``only_if``, when given); never raises."""
        with self._guard:
            if only_if is not None and self.get(key) != only_if:
                return False
            return bool(self._call("delete", self._prefix + key))

    def lock(self, key: str, *, timeout: float) -> AbstractContextManager[bool]:
        """Hold ``<prefix>lock:<key>`` via ``cache.add`` (see the module docstring).

        Args:
            key: The cache key.
            timeout: Seconds to wait, capped at ``lock_timeout``.

        Returns:
            A context manager yielding True when held, False when another holder
            kept it for ``timeout`` seconds or the backend failed.
        """
        wait = min(timeout, self._lock_timeout) if timeout > 0 else 0.0
        return self._hold(self._prefix + "lock:" + key, wait)

    def __repr__(self) -> str:
        name = self._cache if isinstance(self._cache, str) else type(self._cache).__name__
        return f"DjangoTokenCache(cache={name!r}, prefix={self._prefix!r})"

    @contextmanager
    def _hold(self, lock_key: str, wait: float) -> Iterator[bool]:
        owner = secrets.token_hex(16)
        deadline = time.monotonic() + wait
        pause = _POLL
        ttl = max(1, math.ceil(self._lock_ttl))
        held = bool(self._call("add", lock_key, owner, timeout=ttl))
        while not held and time.monotonic() + pause <= deadline:
            time.sleep(pause)
            pause = min(pause * 2, 0.5)
            held = bool(self._call("add", lock_key, owner, timeout=ttl))
        if not held:
            logger.warning("token cache lock %s not acquired within %.3gs", lock_key, wait)
        try:
            yield held
        finally:
            if held and self._call("get", lock_key) == owner:
                self._call("delete", lock_key)

    def _call(self, operation: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return getattr(self.backend, operation)(*args, **kwargs)
        except Exception as exc:  # any backend's error: read as "nothing there"
            logger.warning("Django token cache %s failed (%s); going on without it",
                           operation, type(exc).__name__)
            return None
