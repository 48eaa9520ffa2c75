"""Tests for mysdk.retry: policy validation and the pure retry decisions."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mysdk.retry import (
    IDEMPOTENT_METHODS,
    MAX_RETRY_AFTER_SECONDS,
    NO_RETRY,
    RetryPolicy,
    backoff_delay,
    is_replay_safe,
    parse_retry_after,
    retry_after_delay,
    should_retry_status,
    within_budget,
)

# 1994-11-06 08:49:37 UTC, the RFC 9110 example date.
EXAMPLE_EPOCH = datetime(1994, 11, 6, 8, 49, 37, tzinfo=timezone.utc).timestamp()


def _const(value: float) -> Callable[[], float]:
    return lambda: value


# --- RetryPolicy -------------------------------------------------------------


def test_defaults() -> None:
    policy = RetryPolicy()
    assert policy.max_attempts == 3
    assert policy.base_delay == 0.5
    assert policy.max_delay == 8.0
    assert policy.retry_statuses == frozenset({408, 429, 500, 502, 503, 504})
    assert policy.retry_read_timeouts is True
    assert policy.max_retry_after == 60.0
    assert policy.total_budget == 120.0
    assert policy.retry_unsafe_methods is False
    assert NO_RETRY.max_attempts == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_attempts": 0}, "RetryPolicy.max_attempts must be an int >= 1, got 0"),
        ({"max_attempts": -3}, "RetryPolicy.max_attempts"),
        ({"max_attempts": 2.0}, "RetryPolicy.max_attempts"),
        ({"max_attempts": True}, "RetryPolicy.max_attempts"),
        ({"base_delay": -0.1}, "RetryPolicy.base_delay must be finite and >= 0, got -0.1"),
        ({"base_delay": math.nan}, "RetryPolicy.base_delay"),
        ({"base_delay": math.inf}, "RetryPolicy.base_delay"),
        ({"max_delay": -1.0}, "RetryPolicy.max_delay"),
        ({"max_delay": math.nan}, "RetryPolicy.max_delay"),
        ({"max_retry_after": -1.0}, "RetryPolicy.max_retry_after"),
        ({"max_retry_after": math.nan}, "RetryPolicy.max_retry_after"),
        ({"total_budget": 0.0}, "RetryPolicy.total_budget"),
        ({"total_budget": -5.0}, "RetryPolicy.total_budget"),
        ({"total_budget": math.nan}, "RetryPolicy.total_budget"),
        ({"retry_statuses": frozenset({99})}, "RetryPolicy.retry_statuses"),
        ({"retry_statuses": frozenset({600})}, "RetryPolicy.retry_statuses"),
        ({"retry_statuses": 503}, "RetryPolicy.retry_statuses"),
    ],
)
def test_policy_validation(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_policy_accepts_edges_and_normalises_statuses() -> None:
    policy = RetryPolicy(base_delay=0, max_delay=0, max_retry_after=0, total_budget=None)
    assert policy.total_budget is None
    listed = RetryPolicy(retry_statuses=[503, 503, 429])  # type: ignore[arg-type]
    assert listed.retry_statuses == frozenset({429, 503})


def test_replace_returns_validated_copy() -> None:
    policy = RetryPolicy()
    changed = policy.replace(max_attempts=5)
    assert changed.max_attempts == 5
    assert policy.max_attempts == 3
    with pytest.raises(ValueError, match="max_attempts"):
        policy.replace(max_attempts=0)


def test_policy_is_frozen_and_hashable() -> None:
    policy = RetryPolicy()
    with pytest.raises(AttributeError):
        policy.max_attempts = 9  # type: ignore[misc]
    assert hash(policy) == hash(RetryPolicy())


def test_should_retry_status() -> None:
    policy = RetryPolicy()
    assert should_retry_status(policy, 503)
    assert should_retry_status(policy, 429)
    assert not should_retry_status(policy, 404)
    assert not should_retry_status(policy, 501)


# --- is_replay_safe ----------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "get", "Delete"])
def test_idempotent_methods_are_replay_safe(method: str) -> None:
    assert is_replay_safe(method, has_idempotency_key=False, policy=RetryPolicy())


@pytest.mark.parametrize("method", ["POST", "PATCH", "post"])
def test_unsafe_methods(method: str) -> None:
    policy = RetryPolicy()
    assert not is_replay_safe(method, has_idempotency_key=False, policy=policy)
    assert is_replay_safe(method, has_idempotency_key=True, policy=policy)
    allow = policy.replace(retry_unsafe_methods=True)
    assert is_replay_safe(method, has_idempotency_key=False, policy=allow)


def test_idempotent_set_follows_rfc() -> None:
    assert {"GET", "HEAD", "OPTIONS", "PUT", "DELETE"} <= IDEMPOTENT_METHODS
    assert "POST" not in IDEMPOTENT_METHODS
    assert "PATCH" not in IDEMPOTENT_METHODS


# --- backoff_delay -----------------------------------------------------------


def test_backoff_jitter_spans_range() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=8.0)
    assert backoff_delay(policy, 1, _const(0.0)) == 0.0
    assert backoff_delay(policy, 1, _const(0.999)) == pytest.approx(0.4995)
    assert backoff_delay(policy, 3, _const(0.5)) == pytest.approx(1.0)


def test_backoff_exponent_growth_and_cap() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=8.0)
    near_top = [backoff_delay(policy, n, _const(0.999)) for n in range(1, 8)]
    expected = [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert near_top == pytest.approx([0.999 * e for e in expected])


def test_backoff_huge_retry_number_does_not_overflow() -> None:
    policy = RetryPolicy(base_delay=1e300, max_delay=8.0)
    assert backoff_delay(policy, 10**9, _const(0.999)) == pytest.approx(8.0 * 0.999)
    assert backoff_delay(RetryPolicy(), 2**64, _const(0.5)) == 4.0


def test_backoff_clamps_bad_random() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0)
    assert backoff_delay(policy, 1, _const(-3.0)) == 0.0
    assert backoff_delay(policy, 1, _const(7.0)) == 1.0


def test_backoff_rejects_retry_number_zero() -> None:
    with pytest.raises(ValueError, match="retry_number"):
        backoff_delay(RetryPolicy(), 0)


def test_backoff_default_random_in_range() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=8.0)
    for _ in range(200):
        assert 0.0 <= backoff_delay(policy, 2) <= 1.0


policies = st.builds(
    RetryPolicy,
    base_delay=st.floats(0, 1e6, allow_nan=False),
    max_delay=st.floats(0, 1e6, allow_nan=False),
)


@given(policy=policies, n=st.integers(1, 10**6), r=st.floats(0, 1, exclude_max=True))
def test_backoff_property(policy: RetryPolicy, n: int, r: float) -> None:
    delay = backoff_delay(policy, n, _const(r))
    ceiling = min(policy.max_delay, policy.base_delay * 2.0 ** min(n - 1, 1000))
    assert 0.0 <= delay <= ceiling
    assert math.isfinite(delay)


# --- parse_retry_after -------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", 0.0),
        ("120", 120.0),
        ("  7\t", 7.0),
        ("1.5", 1.5),
        ("007", 7.0),
    ],
)
def test_retry_after_delta_seconds(value: str, expected: float) -> None:
    assert parse_retry_after(value, now=0.0) == expected


@pytest.mark.parametrize(
    "value",
    [
        "Sun, 06 Nov 1994 08:49:37 GMT",  # IMF-fixdate
        "Sunday, 06-Nov-94 08:49:37 GMT",  # obsolete RFC 850
        "Sun Nov  6 08:49:37 1994",  # obsolete asctime, no zone: UTC
    ],
)
def test_retry_after_http_dates(value: str) -> None:
    assert parse_retry_after(value, now=EXAMPLE_EPOCH - 30) == pytest.approx(30.0)


def test_retry_after_past_date_is_zero() -> None:
    assert parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now=EXAMPLE_EPOCH + 5) == 0.0


def test_retry_after_far_future_date_is_clamped() -> None:
    assert parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now=0.0) == MAX_RETRY_AFTER_SECONDS


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "   ",
        "-1",
        "-0.5",
        "+5",
        "nan",
        "NaN",
        "inf",
        "-inf",
        "1e3",
        "1.",
        ".5",
        "1.2.3",
        "soon",
        "\u0661\u0662",  # Arabic-Indic digits are not delta-seconds
        "Sun, 06 Nov 1994 25:61:99 GMT",
        "Mon, 99 Foo 1994 08:49:37 GMT",
    ],
)
def test_retry_after_malformed_is_none(value: str | None) -> None:
    assert parse_retry_after(value, now=EXAMPLE_EPOCH) is None


def test_retry_after_enormous_is_finite() -> None:
    assert parse_retry_after("99999999999999999999", now=0.0) == MAX_RETRY_AFTER_SECONDS
    assert parse_retry_after("9" * 5000, now=0.0) == MAX_RETRY_AFTER_SECONDS


def test_retry_after_with_nan_now_is_none_for_dates() -> None:
    assert parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now=math.nan) is None


@given(st.text())
def test_retry_after_never_raises(value: str) -> None:
    result = parse_retry_after(value, now=EXAMPLE_EPOCH)
    assert result is None or (math.isfinite(result) and result >= 0.0)


date_like = st.builds(
    "{}, {} {} {} {}:{}:{} {}".format,
    st.sampled_from(["Sun", "Sunday", "Xyz", ""]),
    st.integers(-5, 10**12),
    st.sampled_from(["Nov", "Feb", "Foo"]),
    st.integers(-(10**6), 10**12),
    st.integers(-1, 10**4),
    st.integers(-1, 99),
    st.integers(-1, 99),
    st.sampled_from(["GMT", "UTC", "-0000", "+2359", "-9999", "PST", ""]),
)


@given(date_like, st.floats(allow_nan=True, allow_infinity=True))
def test_retry_after_date_like_never_raises(value: str, now: float) -> None:
    result = parse_retry_after(value, now=now)
    assert result is None or (math.isfinite(result) and 0.0 <= result <= MAX_RETRY_AFTER_SECONDS)


@given(st.integers(min_value=0, max_value=10**30), st.sampled_from(["", " ", "\t"]))
def test_retry_after_integers_round_trip(n: int, pad: str) -> None:
    assert parse_retry_after(f"{pad}{n}{pad}", now=0.0) == min(float(n), MAX_RETRY_AFTER_SECONDS)


# --- retry_after_delay -------------------------------------------------------


def test_retry_after_delay_uses_header_within_cap() -> None:
    policy = RetryPolicy(max_retry_after=60.0)
    assert retry_after_delay(policy, 60.0, 1, _const(0.9)) == 60.0
    assert retry_after_delay(policy, 0.0, 1, _const(0.9)) == 0.0
    assert retry_after_delay(policy, -2.0, 1, _const(0.9)) == 0.0


def test_retry_after_delay_above_cap_is_none() -> None:
    policy = RetryPolicy(max_retry_after=60.0)
    assert retry_after_delay(policy, 60.001, 1) is None
    assert retry_after_delay(policy, MAX_RETRY_AFTER_SECONDS, 1) is None
    assert retry_after_delay(policy.replace(max_retry_after=0), 1.0, 1) is None


def test_retry_after_delay_falls_back_to_backoff() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=8.0)
    assert retry_after_delay(policy, None, 3, _const(0.5)) == 1.0
    assert retry_after_delay(policy, math.nan, 3, _const(0.5)) == 1.0


# --- within_budget -----------------------------------------------------------


def test_within_budget() -> None:
    policy = RetryPolicy(total_budget=10.0)
    assert within_budget(policy, started=100.0, now=105.0, delay=5.0)
    assert not within_budget(policy, started=100.0, now=105.0, delay=5.01)
    assert not within_budget(policy, started=100.0, now=111.0, delay=0.0)


def test_no_budget_is_always_within() -> None:
    policy = RetryPolicy(total_budget=None)
    assert within_budget(policy, started=0.0, now=1e12, delay=1e9)
