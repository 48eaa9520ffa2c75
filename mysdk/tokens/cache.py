"""The token cache interface every backend implements, and its cache key."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol, runtime_checkable

from mysdk.tokens.token import Token

__all__ = [
    "REFRESH_TOKEN_RETENTION",
    "UNKNOWN_EXPIRY_RETENTION",
    "KeyedLocks",
    "TokenCache",
    "cache_key",
    "retain_until",
]

REFRESH_TOKEN_RETENTION = 30 * 24 * 3600.0
"""Seconds a token carrying a refresh token is kept past its expiry.

Refresh tokens outlive access tokens; dropping the entry at access-token expiry
would lose the latest *rotated* refresh token and force a stale one to be
replayed (RFC 6749 §10.4 rotation makes that an ``invalid_grant``)."""

UNKNOWN_EXPIRY_RETENTION = 24 * 3600.0
"""Seconds a token without ``expires_at`` is kept (it is replaced on a 401 anyway)."""


def retain_until(token: Token, now: float) -> float:
    """Epoch seconds until which a cache keeps ``token``.

    Its expiry when it has no refresh token; its expiry plus
    :data:`REFRESH_TOKEN_RETENTION` when it has one (the caller refreshes an
    expired entry with its refresh token); ``now`` plus
    :data:`UNKNOWN_EXPIRY_RETENTION` when its expiry is unknown.
    """
    if token.expires_at is None:
        return now + UNKNOWN_EXPIRY_RETENTION
    if token.refresh_token:
        return token.expires_at + REFRESH_TOKEN_RETENTION
    return token.expires_at


@runtime_checkable
class TokenCache(Protocol):
    """Where tokens live between calls, shared by whoever shares the cache.

    A backend shares tokens within a process (memory), between processes on a
    machine (file) or between machines (Redis). All methods are thread-safe.
    Keys come from :func:`cache_key`; values are :class:`~mysdk.tokens.Token`.
    Whoever creates a cache closes it (if it has a ``close()``); a client never
    closes the cache it is given.
    """

    def get(self, key: str) -> Token | None:
        """Return the token stored under ``key``, or ``None``.

        An expired token is still returned until :func:`retain_until` (while it
        carries a refresh token), so the latest rotated refresh token is never
        lost; callers check expiry themselves. A backend that cannot read
        (corrupt file, Redis down) logs and returns ``None`` rather than
        raising: the caller then fetches a fresh token.
        """
        ...

    def set(self, key: str, token: Token) -> None:
        """Store ``token`` under ``key``, replacing any previous one atomically.

        The entry may be evicted once :func:`retain_until` has passed.
        """
        ...

    def delete(self, key: str, *, only_if: Token | None = None) -> bool:
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

    def lock(self, key: str, *, timeout: float) -> AbstractContextManager[bool]:
        """A lock held while one caller fetches the token for ``key``.

        It spans everyone who shares the cache (threads, processes or machines),
        which makes the token request single-flight across all of them. It is
        not re-entrant: the holder must not ask for it again.

        Args:
            key: The cache key.
            timeout: Seconds to wait for the lock.

        Returns:
            A context manager yielding True when the lock is held, False when it
            could not be had within ``timeout`` or the backend is unreachable
            (the caller then fetches without it rather than failing the call).
        """
        ...


def cache_key(token_url: str, client_id: str, scope: str | None, subject: str | None = None) -> str:
    """The cache key for one identity at one token endpoint.

    Args:
        token_url: The token endpoint URL.
        client_id: The OAuth2 client id (RFC 6749 §2.2).
        scope: The requested scope string, or ``None``.
        subject: The user/subject the token acts for, when known.

    Returns:
        ``"mysdk-token-<64 hex>"``: a SHA-256 of the parts, so keys never
        reveal the client id and are safe as file names.
    """
    raw = json.dumps([token_url, client_id, scope or "", subject or ""], separators=(",", ":"))
    return "mysdk-token-" + hashlib.sha256(raw.encode()).hexdigest()


class KeyedLocks:
    """One ``threading.Lock`` per key, for backends whose lock is in-process."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    def get(self, key: str) -> threading.Lock:
        """Return the lock for ``key``, creating it on first use."""
        with self._guard:
            lock = self._locks.get(key)
            if lock is None:
                lock = self._locks[key] = threading.Lock()
            return lock

    @contextmanager
    def hold(self, key: str, *, timeout: float) -> Iterator[bool]:
        """Hold the lock for ``key`` for up to ``timeout`` seconds of waiting."""
        lock = self.get(key)
        acquired = lock.acquire(timeout=max(timeout, 0.0))
        try:
            yield acquired
        finally:
            if acquired:
                lock.release()
