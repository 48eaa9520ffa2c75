"""Retry policy and the pure decisions of the retry loop.

Nothing here sleeps, reads a clock or touches the network: the client's request
loop passes in the clock values and performs the sleeps, so every rule can be
tested directly. All durations are in seconds.
"""

from __future__ import annotations

import math
import random as _random
from collections.abc import Callable, Iterable
from datetime import timezone
from email.utils import parsedate_to_datetime

from mysdk._frozen import Frozen

__all__ = [
    "IDEMPOTENT_METHODS",
    "MAX_RETRY_AFTER_SECONDS",
    "NO_RETRY",
    "RetryPolicy",
    "backoff_delay",
    "is_replay_safe",
    "parse_retry_after",
    "retry_after_delay",
    "should_retry_status",
    "within_budget",
]

IDEMPOTENT_METHODS: frozenset[str] = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
"""Methods whose repetition has the same effect as one request (RFC 9110 §9.2.2)."""

MAX_RETRY_AFTER_SECONDS = 1e9
"""Upper clamp for a parsed Retry-After (about 31 years), so results stay finite."""

# 2**63 * any sane base_delay is already far above any max_delay; capping the
# exponent keeps huge retry numbers from overflowing a float.
_MAX_EXPONENT = 63

_DEFAULT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def _check_seconds(name: str, value: float) -> None:
    """Raise ValueError unless ``value`` is a finite number >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"RetryPolicy.{name} must be a number of seconds, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"RetryPolicy.{name} must be finite and >= 0, got {value!r}")


class RetryPolicy(Frozen):
    """How a failed call is retried.

    Attributes:
        max_attempts: Total attempts including the first; 1 disables retries.
            Must be >= 1.
        base_delay: Seconds; the backoff before retry ``n`` is drawn uniformly
            from ``[0, min(max_delay, base_delay * 2**(n-1))]`` ("full jitter").
            0 means retry immediately.
        max_delay: Seconds; cap on one backoff sleep.
        retry_statuses: HTTP statuses worth retrying (any iterable of ints in
            100-599 is accepted and stored as a frozenset).
        retry_read_timeouts: Retry read timeouts, but only when the request is
            safe to repeat (see :func:`is_replay_safe`): the server may have
            acted on it.
        max_retry_after: Seconds; a server's Retry-After above this is not
            slept on, the caller raises instead. 0 refuses any positive wait.
        total_budget: Seconds across all attempts and sleeps (> 0), or None
            for no budget.
        retry_unsafe_methods: True when the caller explicitly allows retrying
            non-idempotent methods (POST, PATCH) without an Idempotency-Key.

    Raises:
        ValueError: On construction, naming the field and the bad value.
    """

    __slots__ = (
        "base_delay",
        "max_attempts",
        "max_delay",
        "max_retry_after",
        "retry_read_timeouts",
        "retry_statuses",
        "retry_unsafe_methods",
        "total_budget",
    )

    max_attempts: int
    base_delay: float
    max_delay: float
    retry_statuses: frozenset[int]
    retry_read_timeouts: bool
    max_retry_after: float
    total_budget: float | None
    retry_unsafe_methods: bool

    def __init__(
        self,
        max_attempts: int = 3,
        base_delay: float = 0.5,
        max_delay: float = 8.0,
        retry_statuses: Iterable[int] = _DEFAULT_STATUSES,
        retry_read_timeouts: bool = True,
        max_retry_after: float = 60.0,
        total_budget: float | None = 120.0,
        retry_unsafe_methods: bool = False,
    ) -> None:
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
            raise ValueError(f"RetryPolicy.max_attempts must be an int >= 1, got {max_attempts!r}")
        _check_seconds("base_delay", base_delay)
        _check_seconds("max_delay", max_delay)
        _check_seconds("max_retry_after", max_retry_after)
        if total_budget is not None:
            _check_seconds("total_budget", total_budget)
            if total_budget == 0:
                raise ValueError("RetryPolicy.total_budget must be > 0 or None, got 0")
        self._set("max_attempts", max_attempts)
        self._set("base_delay", base_delay)
        self._set("max_delay", max_delay)
        self._set("retry_statuses", _status_set(retry_statuses))
        self._set("retry_read_timeouts", retry_read_timeouts)
        self._set("max_retry_after", max_retry_after)
        self._set("total_budget", total_budget)
        self._set("retry_unsafe_methods", retry_unsafe_methods)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self._fields().items())
        return f"RetryPolicy({fields})"


def _status_set(statuses: Iterable[int]) -> frozenset[int]:
    """Return ``statuses`` as a frozenset, raising ValueError on a non-HTTP status."""
    try:
        result = frozenset(statuses)
    except TypeError:
        raise ValueError(
            f"RetryPolicy.retry_statuses must be a set of ints, got {statuses!r}"
        ) from None
    for status in result:
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise ValueError(
                f"RetryPolicy.retry_statuses must hold HTTP statuses 100-599, got {status!r}"
            )
    return result


NO_RETRY = RetryPolicy(max_attempts=1)
"""A policy that makes exactly one attempt."""


def should_retry_status(policy: RetryPolicy, status: int) -> bool:
    """Return True when an HTTP ``status`` is in ``policy.retry_statuses``."""
    return status in policy.retry_statuses


def is_replay_safe(method: str, *, has_idempotency_key: bool, policy: RetryPolicy) -> bool:
    """Return True when sending the request again cannot duplicate its effect.

    Args:
        method: HTTP method, any case.
        has_idempotency_key: The request carries an ``Idempotency-Key`` header,
            so the server deduplicates repeats.
        policy: ``policy.retry_unsafe_methods`` overrides the rule.

    Returns:
        True for idempotent methods (RFC 9110 §9.2.2), keyed requests, or when
        the policy explicitly allows unsafe retries.
    """
    return (
        method.upper() in IDEMPOTENT_METHODS or has_idempotency_key or policy.retry_unsafe_methods
    )


def backoff_delay(
    policy: RetryPolicy,
    retry_number: int,
    random: Callable[[], float] = _random.random,
) -> float:
    """Return the full-jitter backoff before retry ``retry_number``.

    Args:
        policy: Supplies ``base_delay`` and ``max_delay``.
        retry_number: 1 for the first retry (the second attempt), and so on.
        random: Returns a float in ``[0, 1)``; injectable for tests.

    Returns:
        Seconds in ``[0, min(max_delay, base_delay * 2**(retry_number-1))]``.

    Raises:
        ValueError: If ``retry_number`` < 1.
    """
    if retry_number < 1:
        raise ValueError(f"retry_number must be >= 1, got {retry_number!r}")
    exponent = min(retry_number - 1, _MAX_EXPONENT)
    ceiling = min(policy.max_delay, policy.base_delay * 2.0**exponent)
    # Clamp so a misbehaving ``random`` can never yield a negative or oversized sleep.
    return min(max(ceiling * random(), 0.0), ceiling)


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Parse a Retry-After header value (RFC 9110 §10.2.3) into seconds to wait.

    Accepts delta-seconds and HTTP-date: IMF-fixdate and the obsolete RFC 850
    and asctime forms, as :func:`email.utils.parsedate_to_datetime` reads them.
    A date without a zone is taken as UTC. Tolerated deviations: surrounding
    whitespace, and a decimal delta such as ``"1.5"``.

    Args:
        value: The header value, or None when the header is absent.
        now: Current time as epoch seconds (``time.time()``), for HTTP-dates.

    Returns:
        Seconds to wait, >= 0.0 (0.0 for a date in the past), clamped to
        :data:`MAX_RETRY_AFTER_SECONDS`; None when the value is missing,
        malformed, negative, NaN or infinite. Never raises.
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    if _is_delta_seconds(text):
        # float(), not int(): int() refuses strings over 4300 digits.
        return min(float(text), MAX_RETRY_AFTER_SECONDS)
    return _parse_http_date(text, now)


def _is_delta_seconds(text: str) -> bool:
    """Return True for ASCII digits with at most one inner decimal point."""
    whole, dot, fraction = text.partition(".")
    if not (whole.isascii() and whole.isdigit()):
        return False
    return not dot or (fraction.isascii() and fraction.isdigit())


def _parse_http_date(text: str, now: float) -> float | None:
    """Return seconds from ``now`` until the HTTP-date ``text``, or None."""
    if not math.isfinite(now):
        return None
    try:
        when = parsedate_to_datetime(text)
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = when.timestamp() - now
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def retry_after_delay(
    policy: RetryPolicy,
    retry_after: float | None,
    retry_number: int,
    random: Callable[[], float] = _random.random,
) -> float | None:
    """Return the sleep before the next attempt, or None to stop and raise.

    Args:
        policy: Supplies ``max_retry_after`` and the backoff settings.
        retry_after: Seconds from :func:`parse_retry_after`, or None.
        retry_number: 1 for the first retry; used for backoff.
        random: As for :func:`backoff_delay`.

    Returns:
        The server's Retry-After (clamped to >= 0) when given and within
        ``policy.max_retry_after``; None when it exceeds that cap, meaning do
        not sleep, raise; otherwise :func:`backoff_delay`. A NaN Retry-After
        is treated as absent.

    Raises:
        ValueError: If ``retry_number`` < 1 and backoff is needed.
    """
    if retry_after is None or math.isnan(retry_after):
        return backoff_delay(policy, retry_number, random)
    if retry_after > policy.max_retry_after:
        return None
    return max(retry_after, 0.0)


def within_budget(policy: RetryPolicy, *, started: float, now: float, delay: float) -> bool:
    """Return True when sleeping ``delay`` more seconds stays within the budget.

    Args:
        policy: Supplies ``total_budget`` (None means unlimited: always True).
        started: ``time.monotonic()`` when the first attempt began.
        now: ``time.monotonic()`` now.
        delay: Seconds the caller is about to sleep.
    """
    if policy.total_budget is None:
        return True
    return now + delay - started <= policy.total_budget
