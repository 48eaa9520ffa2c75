"""The token cache interface every backend implements, and its cache key."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator, Mapping
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


def cache_key(
    token_url: str,
    client_id: str,
    scope: str | None,
    subject: str | None = None,
    *,
    grant_type: str = "client_credentials",
    params: Mapping[str, str] | None = None,
) -> str:
    """The cache key for one grant: what the token is good for, at one endpoint.

    Two grants share a key only when every parameter that changes what a token
    is good for is the same: token endpoint, client, grant type, scope, subject
    and every extra grant parameter (RFC 8707 ``resource``, ``audience``, ...),
    so a token issued for one API is never handed to another.

    Format (stable across processes, machines and mysdk versions; the prefix
    changes whenever the recipe does)::

        "mysdk-token-v2-" + sha256(canonical).hexdigest()

    where ``canonical`` is the UTF-8 encoding of the compact JSON array
    (``json.dumps(..., separators=(",", ":"), ensure_ascii=True)``)::

        [token_url, client_id, grant_type, scopes, subject or "", [[name, value], ...]]

    * ``token_url``, ``client_id``, ``grant_type``: as given (no URL normalisation).
    * ``scopes``: the scope split on whitespace, deduplicated and sorted, because
      a scope is an unordered set of space-delimited tokens (RFC 6749 §3.3);
      ``None`` and ``""`` both give ``[]``.
    * ``params``: every item, sorted by name (so their order does not matter).

    Keys of the former v1 format (``"mysdk-token-" + sha256`` of
    ``[token_url, client_id, scope, subject]``, which ignored ``params``) can
    never equal a v2 key, so an entry written by an older mysdk for another
    audience is never read back as valid.

    Args:
        token_url: The token endpoint URL (RFC 6749 §3.2).
        client_id: The OAuth2 client id (RFC 6749 §2.2).
        scope: The requested scope string (RFC 6749 §3.3), or ``None``.
        subject: The user/subject the token acts for, when known.
        grant_type: The grant that obtains the token (RFC 6749 §4.4:
            ``"client_credentials"``, the default).
        params: Every other grant parameter sent to the token endpoint, e.g.
            ``{"audience": "https://api.example.com"}``.

    Returns:
        ``"mysdk-token-v2-<64 lowercase hex>"`` (79 characters): reveals neither
        the client id nor the audience, and is safe as a file name.

    Raises:
        TypeError: A name or value in ``params`` is not a string.
    """
    items = dict(params or {})
    for name, value in items.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError("cache_key params must map strings to strings")
    canonical = [
        token_url,
        client_id,
        grant_type,
        sorted(set((scope or "").split())),
        subject or "",
        [[name, items[name]] for name in sorted(items)],
    ]
    raw = json.dumps(canonical, separators=(",", ":"), ensure_ascii=True)
    return "mysdk-token-v2-" + hashlib.sha256(raw.encode("utf-8")).hexdigest()


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
