"""The token lifecycle for asyncio: :class:`AsyncTokenManager`.

The same semantics as :class:`~mysdk.auth.manager.TokenManager`, with tasks
instead of threads; every rule about a token is the same function
(:mod:`mysdk.auth._lifecycle`), and the provider's logic the same flow
(:mod:`mysdk.auth.flow`), driven with httpx. Per manager at most one token
request is in flight:

* within a process, concurrent tasks join one in-flight fetch and share its
  result or error. The fetch runs as a task of its own that the callers wait
  on (``asyncio.wait``, which never cancels what it waits for): cancelling the
  task that started it cancels only that task's wait, and the fetch goes on for
  the others (and stores its token for later callers);
* across processes or machines, the fetching task holds the cache's lock
  (:meth:`AsyncTokenCache.lock <mysdk.tokens.aio.AsyncTokenCache.lock>`) around
  re-reading the cache, fetching and storing, so a token another holder just
  stored is used instead of fetching again.

Every waiter waits at most the flight timeout (the leader's lock wait, cache
operations and token request, :func:`mysdk.auth._lifecycle.flight_timeout`).
Tasks that joined a fetch which failed each raise an error object of their own,
chained to the leader's (``raise own from leader_error``); the task that
started the fetch raises the original.

Event loops: nothing here is bound to a loop beyond one fetch. The fetch task
is created on the running loop, and there is no module-level or long-lived
``asyncio.Lock``, so a manager can be used by one ``asyncio.run()`` after
another. Tasks of two loops running at once (in two threads) do not share a
fetch; the cache lock still makes their requests one at a time.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, MutableMapping

import httpx

from mysdk.auth import _lifecycle as rules
from mysdk.auth._manager_core import ManagerCore
from mysdk.auth.base import TokenProvider
from mysdk.auth.flow import FlowTokenProvider, require_flow
from mysdk.auth.flow_async import afetch_token
from mysdk.errors import AuthError
from mysdk.events import EventHook
from mysdk.tokens.aio import AsyncTokenCache, as_async_cache
from mysdk.tokens.cache import TokenCache
from mysdk.tokens.token import Token

__all__ = ["AsyncTokenManager"]


class _Flight:
    """One token fetch of one event loop, which tasks of that loop wait on."""

    __slots__ = ("loop", "task")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.task: asyncio.Task[Token] | None = None

    async def join(self, timeout: float, *, leader: bool) -> Token:
        """Wait for the fetch's token, at most ``timeout`` seconds.

        Cancelling the caller cancels only this wait, never the fetch.

        Raises:
            AuthError: The fetch did not finish within ``timeout`` seconds or
                was cancelled; or, for a follower, it failed with an error that
                is not a ``MySDKError``.
            MySDKError: The leader's error (``leader``), or a copy of it raised
                from it (a follower).
        """
        task = self.task
        assert task is not None
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            whose = "the" if leader else "another task's"
            raise AuthError(f"gave up waiting {timeout:g} s for {whose} token request")
        if task.cancelled():
            raise AuthError("the token request was cancelled (its event loop is closing)")
        error = task.exception()
        if error is None:
            return task.result()
        if leader:
            raise error
        raise rules.own_error(error, "task") from error


def _retrieve(task: asyncio.Task[Token]) -> None:
    # Mark the fetch's error as seen even when every waiter was cancelled or
    # gave up: asyncio would log "exception was never retrieved" otherwise.
    if not task.cancelled():
        task.exception()


class AsyncTokenManager(ManagerCore[_Flight]):
    """Keeps a valid token for one provider in one cache, for asyncio code.

    The async twin of :class:`~mysdk.auth.manager.TokenManager`: the same
    rules (:mod:`mysdk.auth._lifecycle`) with awaits. An async client stamps
    requests with :meth:`apply` and calls :meth:`on_unauthorized` on a 401.

    Args:
        provider: Where tokens come from; it must have ``token_flow(previous)``
            (:class:`~mysdk.auth.ClientCredentials` and
            :class:`~mysdk.auth.RefreshTokenProvider` do; see
            :mod:`mysdk.auth.flow`). A :class:`~mysdk.auth.TokenProvider` with
            ``fetch_token`` only is refused (checked here, not by the type).
        cache: Where tokens are shared: an
            :class:`~mysdk.tokens.aio.AsyncTokenCache` (a sync
            :class:`~mysdk.tokens.TokenCache` is wrapped with
            :func:`~mysdk.tokens.aio.as_async_cache`).
        http: The client token requests are sent on (never changed; none of
            its credentials are sent to the token endpoint).
        timeout: Token request timeout: seconds, ``(connect, read)`` or ``None``.
        leeway: Seconds before expiry at which a token is refreshed
            proactively; capped at half the token's lifetime. ``0`` disables
            proactive refresh.
        jitter: Fraction (0 to 1) by which the leeway is randomly shortened per
            token, so a fleet does not refresh in lockstep.
        lock_timeout: Seconds to wait for the cache lock.
        on_event: Receives a ``token_fetched`` :class:`~mysdk.events.Event`.
        log: Logger the event is also logged to (default ``mysdk``).
        clock: Wall clock in epoch seconds (tokens persist across processes).
        random: Source of uniform floats in [0, 1) for the jitter.

    A task that joined another task's fetch waits at most
    ``lock_timeout`` + 5 cache operations of the cache's ``op_timeout`` (2 s
    when it states none) + the token request's total (the sum of ``timeout``'s
    parts; 300 when unbounded) seconds before it raises
    :class:`~mysdk.errors.AuthError`.

    Raises:
        ValueError: ``leeway`` is negative or ``jitter`` outside [0, 1].
        InvalidRequestError: ``provider`` has no ``token_flow`` (a provider
            written for the sync client only); the message says what to add.
        TypeError: ``cache`` is not a token cache.
    """

    def __init__(
        self,
        provider: FlowTokenProvider | TokenProvider,
        cache: AsyncTokenCache | TokenCache,
        *,
        http: httpx.AsyncClient,
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
        require_flow(provider)
        self.provider = provider
        self.cache = as_async_cache(cache)
        self.key: str = provider.cache_key
        self._http = http
        # Its guard covers the flight slot only: tasks of one loop need no lock,
        # but a manager may be used from loops in several threads.
        super().__init__(provider=provider, cache=self.cache, timeout=timeout, leeway=leeway,
                         jitter=jitter, lock_timeout=lock_timeout, on_event=on_event,
                         log=log, clock=clock, random=random)

    # -- credentials -----------------------------------------------------------

    async def apply(self, headers: MutableMapping[str, str]) -> object:
        """Set ``Authorization`` from a valid token; returns the token used."""
        token = await self.token()
        headers["Authorization"] = token.authorization()
        return token

    async def on_unauthorized(self, used: object) -> bool:
        """After a 401 for ``used``: get a different token. True when one was had.

        Compare-before-invalidate: ``used`` is replaced only if the cache still
        holds it; a different token another task, process or machine stored
        is used instead.

        Raises:
            TokenRequestError, TransportError, AuthError: As :meth:`token`.
        """
        stale = used if isinstance(used, Token) else None
        return rules.got_another(stale, await self.refresh(stale))

    # -- lifecycle -------------------------------------------------------------

    async def token(self) -> Token:
        """Return a token valid now, fetching or refreshing it when due.

        When a proactive refresh (due, not expired) fails at the token
        endpoint, the still-valid token is returned and a warning logged.

        Raises:
            TokenRequestError: The token endpoint refused.
            TransportError: The token endpoint could not be reached.
            AuthError: The fetch did not finish within the flight timeout.
            InvalidRequestError: The token request could not be built.
        """
        current = self._current
        if self._fresh(current):
            return current
        try:
            return await self._obtain(stale=None, current=current)
        except Exception as exc:
            kept = self._kept_after(exc, current)
            if kept is None:
                raise
            return kept

    async def refresh(self, stale: Token | None) -> Token:
        """Return a token other than ``stale`` (which a server refused).

        ``stale`` is replaced in the cache only if the cache still holds it.
        """
        token = await self._obtain(stale=stale, current=None)
        if rules.joined_older_flight(stale, token):
            token = await self._obtain(stale=stale, current=None)
        return token

    async def _obtain(self, *, stale: Token | None, current: Token | None) -> Token:
        loop = asyncio.get_running_loop()
        with self._guard:
            flight = self._flight
            if flight is not None and flight.loop is not loop and flight.loop.is_closed():
                flight = self._flight = None  # left behind by a loop that is gone
            leader = flight is None or flight.loop is not loop
            if leader:
                flight = _Flight(loop)
                flight.task = loop.create_task(self._lead(flight, stale))
                flight.task.add_done_callback(_retrieve)
                if self._flight is None:  # another live loop's flight keeps the slot
                    self._flight = flight
        assert flight is not None
        if not leader and self._still_valid(current):
            return current  # still valid: don't wait for a proactive refresh
        return await flight.join(self._flight_timeout, leader=leader)

    async def _lead(self, flight: _Flight, stale: Token | None) -> Token:
        try:
            token = self._current = await self._fetch_shared(stale)
            return token
        finally:
            # Before the task is done, so no caller joins a finished fetch.
            with self._guard:
                if self._flight is flight:
                    self._flight = None

    async def _fetch_shared(self, stale: Token | None) -> Token:
        async with self.cache.lock(self.key, timeout=self._lock_timeout) as held:
            self._note_lock(held)
            cached = await self.cache.get(self.key)
            if self._reusable(cached, stale):
                return cached  # another task, process or machine refreshed it
            token = await self._fetch(rules.previous_for(cached, stale, self._current))
            await self.cache.set(self.key, token)
            return token

    async def _fetch(self, previous: Token | None) -> Token:
        started = time.monotonic()
        token = await afetch_token(self.provider, self._http, timeout=self._timeout,
                                   previous=previous)
        return self._fetched(token, previous, started)

    def __repr__(self) -> str:
        return f"AsyncTokenManager(provider={self.provider!r}, cache={self.cache!r})"
