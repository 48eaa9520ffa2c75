"""The token lifecycle: cache, proactive refresh, refresh after 401, single flight.

One :class:`TokenManager` serves one identity (one provider, one cache key).
It gives each request a valid token and guarantees that, per cache key, at
most one token request is in flight:

* within a process, concurrent callers join one in-flight fetch and share its
  result or its error (:class:`_Flight`);
* across processes or machines, the fetching caller holds the cache's lock
  and re-reads the cache inside it, so a token another holder just stored is
  used instead of fetching again.

After a 401 the token that was used is replaced only if the cache still
holds it, so a 401 on an old token never throws away a newer one.

Threads that joined a fetch which failed each raise an error object of their
own, chained to the leader's (``raise own from leader_error``), so no two
threads ever share, mutate or grow one exception's traceback.

After ``os.fork()`` the child starts with no fetch in flight and a fresh guard
(:mod:`mysdk._forksafe`): a fetch a parent thread was running is not the child's
to wait for.

Every rule about a token (when it is used, refreshed, replaced; how long a
follower waits; the follower's own error) is in :mod:`mysdk.auth._lifecycle`,
shared with :class:`~mysdk.auth.manager_async.AsyncTokenManager`; this module
holds the threads' side only.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, MutableMapping

import requests

from mysdk.auth import _lifecycle as rules
from mysdk.auth._lifecycle import CACHE_OPS_PER_REFRESH, DEFAULT_CACHE_OP_SECONDS
from mysdk.auth._manager_core import ManagerCore
from mysdk.auth.base import TokenProvider
from mysdk.errors import AuthError
from mysdk.events import EventHook
from mysdk.tokens.cache import TokenCache
from mysdk.tokens.token import Token

__all__ = ["CACHE_OPS_PER_REFRESH", "DEFAULT_CACHE_OP_SECONDS", "TokenManager"]

logger = logging.getLogger("mysdk.auth")


class _Flight:
    """One in-process token fetch that other threads can wait on."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.token: Token | None = None
        self.error: BaseException | None = None

    def wait(self, timeout: float) -> Token:
        """Wait for the leader's token.

        Args:
            timeout: Seconds to wait for the leader to finish.

        Returns:
            The token the leader fetched.

        Raises:
            AuthError: The leader did not finish within ``timeout`` seconds,
                or it failed with an error that is not a ``MySDKError``.
            MySDKError: A copy of the leader's error (same class, same
                attributes), raised from the leader's error.
        """
        if not self.done.wait(timeout):
            raise AuthError(f"gave up waiting {timeout:g} s for another thread's token request")
        if self.error is not None:
            raise _own_error(self.error) from self.error
        assert self.token is not None
        return self.token


def _own_error(leader_error: BaseException) -> BaseException:
    """A thread's own copy of the leader's error (see :func:`mysdk.auth._lifecycle.own_error`)."""
    return rules.own_error(leader_error, "thread")


class TokenManager(ManagerCore[_Flight]):
    """Keeps a valid token for one provider in one cache.

    Implements :class:`~mysdk.auth.base.Credentials`, so the client stamps
    requests with it and calls :meth:`on_unauthorized` on a 401.

    Args:
        provider: Where tokens come from (e.g. :class:`~mysdk.auth.ClientCredentials`).
        cache: Where tokens are shared (memory, file, Redis).
        session: Session for token requests (the client's).
        timeout: Token request timeout: seconds, ``(connect, read)`` or ``None``.
        leeway: Seconds before expiry at which a token is refreshed
            proactively; capped at half the token's lifetime. ``0`` disables
            proactive refresh (tokens are replaced at expiry or on a 401).
        jitter: Fraction (0 to 1) by which the leeway is randomly shortened per
            token, so a fleet does not refresh in lockstep.
        lock_timeout: Seconds to wait for the cache lock.
        on_event: Receives a ``token_fetched`` :class:`~mysdk.events.Event`.
        log: Logger the event is also logged to (default ``mysdk``).
        clock: Wall clock in epoch seconds (tokens persist across processes).
        random: Source of uniform floats in [0, 1) for the jitter.

    How long one refresh may take, in seconds: the lock wait (at most
    ``lock_timeout``), plus the token request (the sum of ``timeout``'s parts;
    300 when unbounded), plus what the cache adds on top of its lock wait: at
    most :data:`CACHE_OPS_PER_REFRESH` operations of the cache's ``op_timeout``
    seconds each (:class:`~mysdk.tokens.redis.RedisTokenCache` states one, 2 s
    by default, and skips itself for a cooldown once it failed;
    :data:`DEFAULT_CACHE_OP_SECONDS` is assumed for a cache that states
    none). A thread that joined another thread's fetch waits that long before
    it raises :class:`~mysdk.errors.AuthError`.

    Fork-safe: in a child forked while a parent thread was fetching, the first
    call fetches anew instead of waiting for a fetch that does not exist there.

    Raises:
        ValueError: ``leeway`` is negative or ``jitter`` outside [0, 1].
    """

    def __init__(
        self,
        provider: TokenProvider,
        cache: TokenCache,
        *,
        session: requests.Session,
        timeout: object,
        leeway: float = 60.0,
        jitter: float = 0.25,
        lock_timeout: float = 30.0,
        on_event: EventHook | None = None,
        log: logging.Logger | None = None,
        clock: Callable[[], float] = time.time,
        random: Callable[[], float] = random.random,
    ) -> None:
        rules.check_settings(leeway, jitter)
        super().__init__(provider=provider, cache=cache, timeout=timeout, leeway=leeway,
                         jitter=jitter, lock_timeout=lock_timeout, on_event=on_event,
                         log=log, clock=clock, random=random)
        self.provider = provider
        self.cache = cache
        self.key = provider.cache_key
        self._session = session

    # -- Credentials -----------------------------------------------------------

    def apply(self, headers: MutableMapping[str, str]) -> object:
        """Set ``Authorization`` from a valid token; returns the token used."""
        token = self.token()
        headers["Authorization"] = token.authorization()
        return token

    def on_unauthorized(self, used: object) -> bool:
        """After a 401 for ``used``: get a different token. True when one was had.

        A 401 to a bearer token means it expired or was revoked (RFC 6750 §3,
        ``error="invalid_token"``), whatever our clock said; the clock is not
        trusted over the server.
        """
        stale = used if isinstance(used, Token) else None
        return rules.got_another(stale, self.refresh(stale))

    # -- lifecycle -------------------------------------------------------------

    def token(self) -> Token:
        """Return a token valid now, fetching or refreshing it when due.

        Raises:
            TokenRequestError: The token endpoint refused.
            TransportError: The token endpoint could not be reached.
            AuthError: Another thread's token request did not finish in time.
        """
        current = self._current
        if self._fresh(current):
            return current
        try:
            return self._obtain(stale=None, current=current)
        except Exception as exc:
            kept = self._kept_after(exc, current)
            if kept is None:
                raise
            return kept

    def refresh(self, stale: Token | None) -> Token:
        """Return a token other than ``stale`` (which a server refused).

        ``stale`` is removed from the cache only if the cache still holds it.
        """
        token = self._obtain(stale=stale, current=None)
        if rules.joined_older_flight(stale, token):
            token = self._obtain(stale=stale, current=None)
        return token

    def _obtain(self, *, stale: Token | None, current: Token | None) -> Token:
        with self._guard:
            flight = self._flight
            leader = flight is None
            if flight is None:
                flight = self._flight = _Flight()
        if not leader:
            if self._still_valid(current):
                return current  # still valid: don't wait for a proactive refresh
            return flight.wait(self._flight_timeout)
        try:
            flight.token = self._current = self._fetch_shared(stale)
            return flight.token
        except BaseException as exc:
            flight.error = exc
            raise
        finally:
            with self._guard:
                self._flight = None
            flight.done.set()

    def _fetch_shared(self, stale: Token | None) -> Token:
        with self.cache.lock(self.key, timeout=self._lock_timeout) as held:
            self._note_lock(held)
            cached = self.cache.get(self.key)
            if self._reusable(cached, stale):
                return cached  # another thread, process or machine refreshed it
            token = self._fetch(rules.previous_for(cached, stale, self._current))
            self.cache.set(self.key, token)
            return token

    def _fetch(self, previous: Token | None) -> Token:
        started = time.monotonic()
        token = self.provider.fetch_token(
            self._session, timeout=self._timeout, previous=previous
        )
        return self._fetched(token, previous, started)

    def __repr__(self) -> str:
        return f"TokenManager(provider={self.provider!r}, cache={self.cache!r})"

