"""In-process token cache on cachetools, entries living as long as their token."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager

from cachetools import TLRUCache

from mysdk import _forksafe
from mysdk.tokens.cache import KeyedLocks, retain_until
from mysdk.tokens.token import Token

__all__ = ["MemoryTokenCache"]


class MemoryTokenCache:
    """A thread-safe token cache for one process (the default).

    Fork-safe: a child forked while a parent thread held the cache's lock or a
    key's :meth:`lock` gets fresh locks; when the cache's lock was held, an
    update may have been cut in half, so the child starts with an empty cache
    (it fetches its tokens again).

    Args:
        maxsize: Most entries kept (one per identity); least recently used go first.
        timer: Wall clock in epoch seconds; injectable for tests.

    Raises:
        ValueError: ``maxsize`` is below 1.
    """

    op_timeout: float = 0.0
    """Seconds one operation may take besides a lock wait: none, it is in memory."""

    def __init__(self, maxsize: int = 256, *, timer: Callable[[], float] = time.time) -> None:
        if maxsize < 1:
            raise ValueError(f"MemoryTokenCache.maxsize must be >= 1, got {maxsize}")
        self._timer = timer
        self._cache: TLRUCache[str, Token] = self._new_cache(maxsize)
        self._lock = threading.Lock()  # cachetools caches are not thread-safe
        self._locks = KeyedLocks()
        _forksafe.register(self)

    def _new_cache(self, maxsize: int) -> TLRUCache[str, Token]:
        return TLRUCache(maxsize=maxsize, ttu=_time_to_use, timer=self._timer)

    def _after_fork_in_child(self) -> None:
        # Locks held by parent threads would stay held here forever. A parent
        # thread inside the cache's lock may have left the cachetools structure
        # half-updated: then start empty rather than trust it.
        if self._lock.locked():
            self._cache = self._new_cache(int(self._cache.maxsize))
        self._lock = threading.Lock()
        self._locks = KeyedLocks()

    def get(self, key: str) -> Token | None:
        """Return the token under ``key`` (see :meth:`TokenCache.get`), or ``None``."""
        with self._lock:
            return self._cache.get(key)

    def set(self, key: str, token: Token) -> None:
        """Store ``token``; it is evicted at :func:`~mysdk.tokens.cache.retain_until`."""
        with self._lock:
            self._cache[key] = token

    def delete(self, key: str, *, only_if: Token | None = None) -> bool:
        """Remove ``key`` (only if it still holds ``only_if``, when given)."""
        with self._lock:
            current = self._cache.get(key)
            if current is None or (only_if is not None and current != only_if):
                return False
            del self._cache[key]
            return True

    def lock(self, key: str, *, timeout: float) -> AbstractContextManager[bool]:
        """A per-key in-process lock (threads of this process share it)."""
        return self._locks.hold(key, timeout=timeout)

    def __repr__(self) -> str:
        return f"MemoryTokenCache(maxsize={self._cache.maxsize}, entries={len(self._cache)})"


def _time_to_use(_key: str, token: Token, now: float) -> float:
    return retain_until(token, now)
