"""What the sync and the async token manager share beyond the rules: state and non-I/O steps.

:class:`~mysdk.auth.manager.TokenManager` (threads) and
:class:`~mysdk.auth.manager_async.AsyncTokenManager` (tasks) keep the same
settings, reset the same state after ``fork``, and take the same steps around
their I/O: whether the current token is used as it is, whether a failed
proactive refresh falls back to it, whether a cached token is reused, and how
a fetched token is reported and stamped with its refresh time. Those steps
live here, once (the decisions themselves in :mod:`mysdk.auth._lifecycle`);
each manager only runs its fetch, its waits and its cache calls.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeGuard, TypeVar

from mysdk import _forksafe
from mysdk.auth import _lifecycle as rules
from mysdk.events import EventHook, emit
from mysdk.tokens.token import Token

__all__ = ["ManagerCore"]

logger = logging.getLogger("mysdk.auth")

_F = TypeVar("_F")


class ManagerCore(Generic[_F]):
    """The settings, state and non-I/O steps of a token manager.

    ``_F`` is the manager's in-flight fetch (a thread's or a loop's). The
    caller checks ``leeway`` and ``jitter`` (:func:`~mysdk.auth._lifecycle.check_settings`)
    first; ``cache`` is the one the manager uses (its ``op_timeout`` bounds
    the flight timeout).
    """

    def __init__(
        self,
        *,
        provider: object,
        cache: object,
        timeout: object,
        leeway: float,
        jitter: float,
        lock_timeout: float,
        on_event: EventHook | None,
        log: logging.Logger | None,
        clock: Callable[[], float],
        random: Callable[[], float],
    ) -> None:
        self._timeout = timeout
        self._leeway = leeway
        self._jitter = jitter
        self._lock_timeout = lock_timeout
        self._flight_timeout = rules.flight_timeout(lock_timeout, cache, timeout)
        self._on_event = on_event
        self._log = log or logging.getLogger("mysdk")
        self._clock = clock
        self._random = random
        # Guards the flight slot only, never across I/O or an await.
        self._guard = threading.Lock()
        self._flight: _F | None = None
        self._current: Token | None = None  # this process's last known token
        self._token_path = rules.token_path(provider)
        _forksafe.register(self)

    def _after_fork_in_child(self) -> None:
        # A parent's fetch (its thread or task, and the guard it may have held)
        # does not exist in the child: the child's next call leads a fetch of its own.
        self._guard = threading.Lock()
        self._flight = None

    def _fresh(self, current: Token | None) -> TypeGuard[Token]:
        """True when ``current`` is used as it is now (no refresh due)."""
        return rules.fresh(current, self._clock())

    def _still_valid(self, current: Token | None) -> TypeGuard[Token]:
        """True when ``current`` has not expired: a follower uses it instead of waiting."""
        return rules.still_valid(current, self._clock())

    def _kept_after(self, error: Exception, current: Token | None) -> Token | None:
        """``current`` when a refresh that failed with ``error`` falls back to it, else None.

        Falling back (a failed *proactive* refresh) is logged at WARNING.
        """
        if not rules.keeps_current(error, current, self._clock()):
            return None
        logger.warning("proactive token refresh failed (%s); using the current token",
                       type(error).__name__)
        return current

    @staticmethod
    def _note_lock(held: bool) -> None:
        """Log (WARNING) that the cache lock was not ``held`` and the fetch goes on without it."""
        if not held:
            logger.warning("token cache lock not held; fetching a token without it")

    def _reusable(self, cached: Token | None, stale: Token | None) -> TypeGuard[Token]:
        """True when ``cached``, read under the cache lock, is used instead of fetching."""
        return cached is not None and rules.usable(cached, stale, self._clock())

    def _fetched(self, token: Token, previous: Token | None, started: float) -> Token:
        """``token``, fetched since ``time.monotonic()`` was ``started``, with its refresh time.

        Emits (and logs) the ``token_fetched`` event.
        """
        emit(self._on_event, rules.fetched_event(
            self._token_path, time.monotonic() - started, previous), self._log)
        return token.with_refresh_at(rules.refresh_at(
            token, previous, leeway=self._leeway, jitter=self._jitter, random=self._random))
