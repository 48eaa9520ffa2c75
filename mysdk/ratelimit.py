"""A thread-safe client-side token-bucket rate limiter.

The bucket holds up to ``burst`` permits and refills at ``rate`` permits per
second; it starts full. A caller that finds too few permits *reserves* them
anyway (the level may go negative) under a lock, then sleeps outside the lock
until its reservation matures. Waiters are therefore served in arrival order,
nobody sleeps while holding the lock, and in any window of ``W`` seconds at
most ``rate * W + burst`` permits are handed out.

All durations are in seconds.

Fork-safe: a child forked while a parent thread held a bucket's lock gets a
fresh lock (:mod:`mysdk._forksafe`); each process then has its own bucket.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping

from mysdk import _forksafe
from mysdk.errors import RateLimitTimeout

__all__ = ["MAX_PAUSE_SECONDS", "RateLimiter", "TokenBucket", "pause_from_headers"]

MAX_PAUSE_SECONDS = 3600.0
"""Longest pause :meth:`TokenBucket.pause` honours; a bogus server value cannot stall for days."""


def _check_max_wait(max_wait: float | None) -> None:
    if max_wait is not None and (math.isnan(max_wait) or max_wait < 0):
        raise ValueError(f"max_wait must be None or >= 0 seconds, got {max_wait!r}")


class TokenBucket:
    """Token-bucket limiter, safe to share between threads.

    After ``os.fork()`` the child keeps the bucket's level but gets a fresh
    lock, so a lock held by a parent thread never blocks the child. Parent and
    child then limit independently (each allows ``rate``).

    Args:
        rate: Permits added per second; finite and > 0.
        burst: Bucket capacity, the most permits granted at once; an int >= 1.
        max_wait: Longest :meth:`acquire` may block, in seconds. None waits as
            long as needed; 0 never waits.
        clock: Monotonic seconds; injectable for tests.
        sleep: Sleeps for the given seconds; injectable for tests.

    Raises:
        ValueError: If ``rate``, ``burst`` or ``max_wait`` is out of range.
    """

    def __init__(
        self,
        rate: float,
        burst: int = 1,
        *,
        max_wait: float | None = 30.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError(f"rate must be finite and > 0 permits per second, got {rate!r}")
        if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
            raise ValueError(f"burst must be an int >= 1, got {burst!r}")
        _check_max_wait(max_wait)
        self._rate = float(rate)
        self._burst = burst
        self._max_wait = max_wait
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._level = float(burst)  # permits in the bucket at time _stamp; < 0 = reserved
        self._stamp = clock()
        self._paused_until = -math.inf
        _forksafe.register(self)

    def _after_fork_in_child(self) -> None:
        # A parent thread may have held the lock at fork time; it would stay
        # held in the child forever. The counters are plain floats: kept.
        self._lock = threading.Lock()

    @classmethod
    def per_interval(
        cls,
        max_messages: int,
        every_seconds: float,
        *,
        max_wait: float | None = 30.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> TokenBucket:
        """Build a bucket allowing ``max_messages`` per ``every_seconds``.

        Equivalent to ``TokenBucket(max_messages / every_seconds, burst=max_messages)``.

        Raises:
            ValueError: If ``max_messages`` < 1 or ``every_seconds`` is not finite and > 0.
        """
        if isinstance(max_messages, bool) or not isinstance(max_messages, int) or max_messages < 1:
            raise ValueError(f"max_messages must be an int >= 1, got {max_messages!r}")
        if not (math.isfinite(every_seconds) and every_seconds > 0):
            raise ValueError(f"every_seconds must be finite and > 0, got {every_seconds!r}")
        return cls(
            max_messages / every_seconds,
            max_messages,
            max_wait=max_wait,
            clock=clock,
            sleep=sleep,
        )

    @property
    def rate(self) -> float:
        """Permits added per second."""
        return self._rate

    @property
    def burst(self) -> int:
        """Bucket capacity in permits."""
        return self._burst

    @property
    def max_wait(self) -> float | None:
        """Longest :meth:`acquire` blocks, in seconds (None: unbounded)."""
        return self._max_wait

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(rate={self._rate!r}, burst={self._burst!r}, "
            f"max_wait={self._max_wait!r})"
        )

    def acquire(self, tokens: float = 1.0) -> float:
        """Take ``tokens`` permits, blocking until they are available.

        Args:
            tokens: Permits to take; > 0 and <= ``burst``.

        Returns:
            Seconds waited (0.0 when permits were available at once).

        Raises:
            RateLimitTimeout: The wait needed exceeds ``max_wait``; nothing is
                consumed. Its ``wait`` attribute holds the seconds needed.
            ValueError: If ``tokens`` is out of range.
        """
        wait = self.reserve(tokens)
        # Sleep outside the lock: the permit is already reserved for us.
        if wait > 0:
            self._sleep(wait)
        return wait

    def reserve(self, tokens: float = 1.0) -> float:
        """Take ``tokens`` permits now and say how long to wait before using them.

        Never blocks (the internal lock is held only for arithmetic), so an
        event loop can call it and then ``await asyncio.sleep(wait)``; this is
        how :class:`mysdk.AsyncClient` waits without blocking its loop. One
        limiter may be shared by sync and async clients.

        Returns:
            Seconds the caller must wait before sending (0.0: at once).

        Raises:
            RateLimitTimeout: The wait needed exceeds ``max_wait``; nothing is
                reserved.
            ValueError: If ``tokens`` is out of range.
        """
        self._check_tokens(tokens)
        with self._lock:
            now = self._clock()
            wait = self._wait_for(tokens, now)
            if self._max_wait is not None and wait > self._max_wait:
                raise RateLimitTimeout(
                    f"rate limit: a permit needs {wait:.3f}s, more than max_wait={self._max_wait}s",
                    wait=wait,
                )
            self._reserve(tokens, now)
        return wait

    def try_acquire(self, tokens: float = 1.0) -> bool:
        """Take ``tokens`` permits only if that needs no wait; never blocks.

        Raises:
            ValueError: If ``tokens`` is out of range.
        """
        self._check_tokens(tokens)
        with self._lock:
            now = self._clock()
            if self._wait_for(tokens, now) > 0:
                return False
            self._reserve(tokens, now)
            return True

    def pause(self, seconds: float) -> None:
        """Hand out no permit until ``seconds`` from now (e.g. a server's Retry-After).

        Args:
            seconds: Pause length. Values <= 0 or NaN are ignored; values above
                :data:`MAX_PAUSE_SECONDS` are clamped to it. A shorter pause
                never cuts an earlier, longer one short.

        Permits already reserved by sleeping callers are not revoked.
        """
        if math.isnan(seconds) or seconds <= 0:
            return
        seconds = min(seconds, MAX_PAUSE_SECONDS)
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    def _check_tokens(self, tokens: float) -> None:
        if not (math.isfinite(tokens) and 0 < tokens <= self._burst):
            raise ValueError(f"tokens must be > 0 and <= burst ({self._burst}), got {tokens!r}")

    def _start(self, now: float) -> float:
        """Earliest time a new reservation may be served (end of any pause)."""
        # Never before _stamp: a pause may already have moved it into the future.
        return max(now, self._paused_until, self._stamp)

    def _level_at(self, when: float) -> float:
        """Permits in the bucket at ``when`` (>= _stamp), counting refill."""
        return min(float(self._burst), self._level + (when - self._stamp) * self._rate)

    def _wait_for(self, tokens: float, now: float) -> float:
        """Seconds from ``now`` until ``tokens`` permits would be ready. Caller holds the lock."""
        start = self._start(now)
        shortfall = max(0.0, tokens - self._level_at(start))
        return start + shortfall / self._rate - now

    def _reserve(self, tokens: float, now: float) -> None:
        """Deduct ``tokens`` (possibly going negative). Caller holds the lock."""
        start = self._start(now)
        # Refilling only up to ``start`` means time spent paused cannot bank
        # permits beyond ``burst``, which keeps the window bound after a pause.
        self._level = self._level_at(start) - tokens
        self._stamp = start


# A function with a class-like name: the seed design's call sites stay unchanged.
def RateLimiter(
    max_messages: int,
    every_seconds: float,
    *,
    max_wait: float | None = 30.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> TokenBucket:
    """Return a limiter allowing ``max_messages`` per ``every_seconds`` (the seed design's form).

    Same as :meth:`TokenBucket.per_interval`: ``rate = max_messages / every_seconds``
    and ``burst = max_messages``. Unlike the seed's fixed window, a token bucket
    never lets through two full windows' worth of messages back to back.

    Raises:
        ValueError: If ``max_messages`` < 1 or ``every_seconds`` is not finite and > 0.
    """
    return TokenBucket.per_interval(
        max_messages, every_seconds, max_wait=max_wait, clock=clock, sleep=sleep
    )


_EPOCH_THRESHOLD = 1e9  # X-RateLimit-Reset values above this are epoch seconds, not deltas


def pause_from_headers(headers: Mapping[str, str], *, now: float) -> float | None:
    """Seconds to pause when a response says the client's quota is used up.

    Reads ``RateLimit-Remaining``/``RateLimit-Reset`` (IETF
    draft-ietf-httpapi-ratelimit-headers: reset in delta seconds) and the common
    ``X-RateLimit-Remaining``/``X-RateLimit-Reset`` (reset as delta seconds, or
    as epoch seconds when it is above 1e9). Pure; never raises.

    Args:
        headers: Response headers (case-insensitive mapping).
        now: Current epoch seconds (``time.time()``), for epoch resets.

    Returns:
        Seconds until the quota resets (clamped to ``[0, MAX_PAUSE_SECONDS]``)
        when ``remaining`` is 0; None when quota is left or the headers are
        absent or malformed.
    """
    for prefix in ("RateLimit-", "X-RateLimit-"):
        remaining = _number(headers.get(prefix + "Remaining"))
        if remaining is None:
            continue
        if remaining > 0:
            return None
        reset = _number(headers.get(prefix + "Reset"))
        if reset is None:
            return None
        if reset > _EPOCH_THRESHOLD:
            reset -= now
        return min(max(reset, 0.0), MAX_PAUSE_SECONDS)
    return None


def _number(value: str | None) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None
