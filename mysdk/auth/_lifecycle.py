"""The token lifecycle rules, shared by the sync and the async token manager.

Pure functions of tokens, clocks and settings: no I/O, no locks, no awaits.
:class:`~mysdk.auth.manager.TokenManager` (threads) and
:class:`~mysdk.auth.manager_async.AsyncTokenManager` (tasks) differ only in
their concurrency primitives; every decision about a token is made here:

* when a token is used as it is (:func:`fresh`), and when a still-valid one
  is used although its proactive refresh is due (:func:`still_valid`: a
  follower does not wait for it, a failed proactive refresh falls back to it,
  :func:`keeps_current`);
* when a cached token may replace the one that got a 401 (:func:`usable`,
  compare-before-invalidate) and which token a fetch replaces
  (:func:`previous_for`);
* when a new token is refreshed (:func:`refresh_at`: leeway capped at half the
  lifetime, jitter, the "same token re-issued" rule);
* how long a follower waits for the leader (:func:`flight_timeout`);
* what a 401 leads to (:func:`joined_older_flight`, :func:`got_another`);
* the error each follower of a failed fetch raises (:func:`own_error`).
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Callable
from urllib.parse import urlsplit

from mysdk.auth._token_endpoint import request_seconds
from mysdk.errors import AuthError, MySDKError, TokenRequestError, TransportError
from mysdk.events import Event
from mysdk.tokens.token import Token

__all__ = [
    "CACHE_OPS_PER_REFRESH",
    "DEFAULT_CACHE_OP_SECONDS",
    "cache_op_seconds",
    "check_settings",
    "fetched_event",
    "flight_timeout",
    "fresh",
    "got_another",
    "joined_older_flight",
    "keeps_current",
    "own_error",
    "previous_for",
    "refresh_at",
    "still_valid",
    "token_path",
    "usable",
]

logger = logging.getLogger("mysdk.auth")

CACHE_OPS_PER_REFRESH = 5
"""Cache operations one refresh may make: lock, get, delete, set, unlock."""

DEFAULT_CACHE_OP_SECONDS = 2.0
"""Seconds allowed per cache operation when the cache states no ``op_timeout``."""


def check_settings(leeway: float, jitter: float) -> None:
    """Raise ValueError unless ``leeway`` >= 0 seconds and ``jitter`` is in [0, 1]."""
    if not leeway >= 0:
        raise ValueError(f"leeway must be >= 0 seconds, got {leeway!r}")
    if not 0 <= jitter <= 1:
        raise ValueError(f"jitter must be between 0 and 1, got {jitter!r}")


def cache_op_seconds(cache: object) -> float:
    """The most seconds one operation of ``cache`` takes, as the cache states it.

    Its ``op_timeout`` when that is a finite number >= 0, else
    :data:`DEFAULT_CACHE_OP_SECONDS`.
    """
    stated = getattr(cache, "op_timeout", None)
    if isinstance(stated, (int, float)) and math.isfinite(stated) and stated >= 0:
        return float(stated)
    return DEFAULT_CACHE_OP_SECONDS


def flight_timeout(lock_timeout: float, cache: object, timeout: object) -> float:
    """Seconds a follower waits for the leader's fetch.

    The leader's lock wait (``lock_timeout``), its cache operations
    (:data:`CACHE_OPS_PER_REFRESH` of :func:`cache_op_seconds` each) and its
    token request (``request_seconds(timeout)``: the sum of the timeout's
    parts, 300 when unbounded), so a follower never gives up on a fetch still
    in time.
    """
    return (lock_timeout + CACHE_OPS_PER_REFRESH * cache_op_seconds(cache)
            + request_seconds(timeout))


def fresh(token: Token | None, now: float) -> bool:
    """True when ``token`` is used as it is at ``now`` (epoch seconds): no refresh due."""
    return token is not None and not token.needs_refresh(now)


def still_valid(token: Token | None, now: float) -> bool:
    """True when ``token`` has not expired at ``now``, whether or not a refresh is due."""
    return token is not None and not token.is_expired(now)


def keeps_current(error: BaseException, current: Token | None, now: float) -> bool:
    """True when a failed *proactive* refresh falls back to ``current``.

    Only for a token-endpoint failure (:class:`~mysdk.errors.TokenRequestError`,
    :class:`~mysdk.errors.TransportError`) while ``current`` is still valid;
    anything else is raised.
    """
    return isinstance(error, (TokenRequestError, TransportError)) and still_valid(current, now)


def usable(cached: Token, stale: Token | None, now: float) -> bool:
    """True when ``cached`` (read under the cache lock) is used instead of fetching.

    Compare-before-invalidate: not when it is ``stale`` (the token a server
    refused: the cache still holds it, so it is replaced), nor when a refresh
    is due. A different, fresh token was stored by another thread, process or
    machine, and is used.
    """
    if stale is not None and cached.access_token == stale.access_token:
        return False
    return not cached.needs_refresh(now)


def previous_for(cached: Token | None, stale: Token | None,
                 current: Token | None) -> Token | None:
    """The token a fetch replaces, passed to the provider as ``previous``.

    The cache's (it holds the newest refresh token any sharer stored), else the
    refused one, else this process's last. The stale entry is not deleted
    before the fetch: the cache write replaces it once the new token is in, and
    a failed refresh keeps its refresh token (a saved login).
    """
    return cached or stale or current


def refresh_at(token: Token, previous: Token | None, *, leeway: float, jitter: float,
               random: Callable[[], float]) -> float | None:
    """Epoch seconds from which ``token`` (just fetched, replacing ``previous``) is refreshed.

    ``leeway`` seconds before expiry, capped at half the lifetime, shortened by
    ``jitter * random()`` of itself (``random()`` uniform in [0, 1), drawn only
    when a margin is computed) so a fleet does not refresh in lockstep. None
    when the expiry is unknown (refresh on a 401 only). Its expiry when the
    server re-issued the same access token: refreshing early again would loop
    until it expires (google-auth #581).
    """
    lifetime = token.lifetime
    if token.expires_at is None or lifetime is None:
        return None
    if previous is not None and token.access_token == previous.access_token:
        return token.expires_at
    margin = min(leeway, lifetime / 2) * (1 - jitter * random())
    return token.expires_at - margin


def joined_older_flight(stale: Token | None, token: Token) -> bool:
    """True when a refresh for ``stale`` got ``stale`` back (it joined an older fetch).

    One more fetch is then made; a second identical answer is final.
    """
    return stale is not None and token.access_token == stale.access_token


def got_another(stale: Token | None, token: Token) -> bool:
    """``on_unauthorized``'s answer: True when ``token`` differs from ``stale``.

    A replay with the same refused token would only be refused again.
    """
    return stale is None or token.access_token != stale.access_token


def own_error(leader_error: BaseException, peer: str = "thread") -> BaseException:
    """A new error for one follower of a failed fetch, to be raised from ``leader_error``.

    A :class:`~mysdk.errors.MySDKError` is copied (same class and attributes;
    dicts, lists and sets among them copied too), so each follower's retry
    loop and traceback touch only its own object. Anything else becomes an
    :class:`~mysdk.errors.AuthError` naming the leader error's type.

    Args:
        leader_error: What the leader's fetch raised.
        peer: Who the leader is, for the message (``"thread"``, ``"task"``).
    """
    if isinstance(leader_error, MySDKError):
        try:
            own = copy.copy(leader_error)  # MySDKError.__reduce__: same class, same attributes
        except Exception:  # an odd subclass that cannot be copied: a generic error instead
            logger.debug("cannot copy %s for a waiter", type(leader_error).__name__)
        else:
            own.__dict__.update({
                name: copy.copy(value) for name, value in leader_error.__dict__.items()
                if isinstance(value, (dict, list, set))
            })
            if "response" in leader_error.__dict__:  # __reduce__ drops a live response
                own.__dict__["response"] = leader_error.__dict__["response"]
            return own
    return AuthError(f"another {peer}'s token request failed ({type(leader_error).__name__})")


def token_path(provider: object) -> str:
    """The path of the provider's token URL, for events (never the host or query)."""
    return urlsplit(getattr(provider, "token_url", None) or "").path


def fetched_event(path: str, elapsed: float, previous: Token | None) -> Event:
    """The ``token_fetched`` event of one fetch that took ``elapsed`` seconds."""
    return Event(kind="token_fetched", method="POST", path=path, elapsed=elapsed,
                 reason="refreshed" if previous is not None else "fetched")
