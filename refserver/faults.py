"""Fault injection for the Cars API (``/api/v1/*`` only, never ``/oauth/token``).

Faults model what an SDK meets between itself and a real API: a flaky upstream
(503, optionally with ``Retry-After`` per RFC 9110 §10.2.3), a rate limiter
(429 per RFC 6585 §4, with ``Retry-After`` in whole seconds), connections that
die with no response at all, and slow responses.

Every decision is drawn from one ``random.Random`` seeded by ``FaultConfig.seed``,
and each request always consumes the same three draws, so a given config and a
given request sequence produce the same faults run after run.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["FaultConfig", "FaultDecision", "FaultInjector", "FaultKind"]


class FaultKind:
    """Names used as keys of ``stats.faults_injected``."""

    ERROR_503 = "error_503"
    RATE_LIMIT_429 = "rate_limit_429"
    DROP = "drop"
    SLOW = "slow"


def _check_rate(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be between 0.0 and 1.0, got {value!r}")


@dataclass(frozen=True)
class FaultConfig:
    """Which faults to inject; everything defaults to off.

    Rates are fractions of ``/api/v1/*`` requests (0.0 = never, 1.0 = always).
    """

    error_503_rate: float = 0.0
    #: Value of ``Retry-After`` on injected 503s (RFC 9110 §10.2.3); None = no header.
    retry_after_503: str | None = None
    #: Requests per second allowed before answering 429; None = unlimited.
    rate_limit_per_second: float | None = None
    drop_rate: float = 0.0
    #: If True a dropped request is processed first (e.g. the car is created) and
    #: only the response is lost, which is what makes blind retries unsafe.
    drop_after_processing: bool = False
    slow_rate: float = 0.0
    slow_seconds: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        _check_rate("error_503_rate", self.error_503_rate)
        _check_rate("drop_rate", self.drop_rate)
        _check_rate("slow_rate", self.slow_rate)
        if self.slow_seconds < 0:
            raise ValueError("slow_seconds must be >= 0")
        if self.rate_limit_per_second is not None and self.rate_limit_per_second <= 0:
            raise ValueError("rate_limit_per_second must be > 0 or None")


@dataclass(frozen=True)
class FaultDecision:
    """What to do to one request. At most one of 429/503 applies; drop and slow may combine."""

    retry_after_429: int | None = None
    error_503: bool = False
    drop: bool = False
    drop_after_processing: bool = False
    slow_seconds: float = 0.0
    retry_after_503: str | None = None


_NO_FAULT = FaultDecision()


class _TokenBucket:
    """Token bucket holding at most one second's worth of requests (at least 1)."""

    def __init__(self, rate: float, clock: Callable[[], float]) -> None:
        self._rate = rate
        self._capacity = max(1.0, rate)
        self._tokens = self._capacity
        self._clock = clock
        self._last = clock()

    def take(self) -> int | None:
        """Consume one token; return None if allowed, else seconds to wait (>= 1)."""
        now = self._clock()
        self._tokens = min(self._capacity, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return None
        # Retry-After is delay-seconds, a non-negative integer (RFC 9110 §10.2.3);
        # round up so a client honouring it is not limited again straight away.
        return max(1, math.ceil((1.0 - self._tokens) / self._rate))


class FaultInjector:
    """Thread-safe: the config is swapped from test threads while the IOLoop decides."""

    def __init__(
        self, config: FaultConfig | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._config = FaultConfig()
        self._rng = random.Random()
        self._bucket: _TokenBucket | None = None
        self.configure(config or FaultConfig())

    @property
    def config(self) -> FaultConfig:
        with self._lock:
            return self._config

    def configure(self, config: FaultConfig) -> None:
        """Replace the config; reseeds the generator and refills the rate limiter."""
        with self._lock:
            self._config = config
            self._rng = random.Random(config.seed)
            rate = config.rate_limit_per_second
            self._bucket = _TokenBucket(rate, self._clock) if rate is not None else None

    def decide(self) -> FaultDecision:
        """Decide the faults for one ``/api/v1/*`` request."""
        with self._lock:
            cfg = self._config
            # Always three draws, so the sequence does not depend on which faults are on.
            r_503, r_drop, r_slow = self._rng.random(), self._rng.random(), self._rng.random()
            if self._bucket is not None:
                wait = self._bucket.take()
                if wait is not None:
                    return FaultDecision(retry_after_429=wait)
        if r_503 < cfg.error_503_rate:
            return FaultDecision(error_503=True, retry_after_503=cfg.retry_after_503)
        drop = r_drop < cfg.drop_rate
        slow = cfg.slow_seconds if (r_slow < cfg.slow_rate and cfg.slow_seconds > 0) else 0.0
        if not drop and not slow:
            return _NO_FAULT
        return FaultDecision(
            drop=drop,
            drop_after_processing=drop and cfg.drop_after_processing,
            slow_seconds=slow,
        )
