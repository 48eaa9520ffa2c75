"""Tests for mysdk.ratelimit: a token bucket driven by fake clocks, never real sleeps."""

from __future__ import annotations

import math
import pickle
import threading
from dataclasses import dataclass

import pytest

from mysdk.errors import MySDKError, RateLimitTimeout
from mysdk.ratelimit import MAX_PAUSE_SECONDS, RateLimiter, TokenBucket

START = 1000.0


class FakeClock:
    """Single-threaded fake time: ``sleep`` records the duration and advances the clock."""

    def __init__(self, start: float = START) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


def bucket(rate: float, burst: int = 1, **kw: object) -> tuple[TokenBucket, FakeClock]:
    clock = FakeClock()
    limiter = TokenBucket(rate, burst, clock=clock, sleep=clock.sleep, **kw)  # type: ignore[arg-type]
    return limiter, clock


# --- single-threaded behaviour -----------------------------------------------


def test_burst_then_steady_rate() -> None:
    limiter, clock = bucket(rate=2.0, burst=3, max_wait=None)
    waits = [limiter.acquire() for _ in range(6)]
    assert waits == [0.0, 0.0, 0.0, 0.5, 0.5, 0.5]
    assert clock.now == START + 1.5
    assert clock.sleeps == [0.5, 0.5, 0.5]


def test_idle_refill_is_capped_at_burst() -> None:
    limiter, clock = bucket(rate=2.0, burst=3, max_wait=None)
    for _ in range(3):
        limiter.acquire()
    clock.advance(3600.0)
    assert [limiter.acquire() for _ in range(4)] == [0.0, 0.0, 0.0, 0.5]


def test_partial_refill() -> None:
    limiter, clock = bucket(rate=4.0, burst=1, max_wait=None)
    limiter.acquire()
    clock.advance(0.125)
    assert limiter.acquire() == 0.125


def test_fractional_tokens() -> None:
    limiter, _ = bucket(rate=1.0, burst=1, max_wait=None)
    assert limiter.acquire(0.5) == 0.0
    assert limiter.acquire(0.5) == 0.0
    assert limiter.acquire(0.5) == 0.5


def test_try_acquire_never_blocks() -> None:
    limiter, clock = bucket(rate=1.0, burst=2)
    assert limiter.try_acquire()
    assert limiter.try_acquire()
    assert not limiter.try_acquire()
    assert clock.sleeps == []
    clock.advance(1.0)
    assert limiter.try_acquire()
    assert not limiter.try_acquire()


def test_max_wait_exceeded_raises_and_does_not_consume() -> None:
    limiter, clock = bucket(rate=1.0, burst=1, max_wait=0.5)
    assert limiter.acquire() == 0.0
    with pytest.raises(RateLimitTimeout) as info:
        limiter.acquire()
    assert info.value.wait == 1.0
    assert isinstance(info.value, MySDKError)
    assert "max_wait" in str(info.value)
    assert clock.sleeps == []
    # Had the failed call reserved a permit, this one would need to wait 1s more.
    clock.advance(0.5)
    assert limiter.acquire() == 0.5


def test_max_wait_boundary_is_inclusive() -> None:
    limiter, _ = bucket(rate=1.0, burst=1, max_wait=1.0)
    limiter.acquire()
    assert limiter.acquire() == 1.0


def test_max_wait_zero_never_waits() -> None:
    limiter, clock = bucket(rate=1.0, burst=2, max_wait=0)
    assert limiter.acquire() == 0.0
    assert limiter.acquire() == 0.0
    for _ in range(3):
        with pytest.raises(RateLimitTimeout):
            limiter.acquire()
    assert clock.sleeps == []
    clock.advance(1.0)
    assert limiter.acquire() == 0.0


def test_rate_limit_timeout_pickles() -> None:
    err = pickle.loads(pickle.dumps(RateLimitTimeout("slow", wait=2.5)))  # noqa: S301
    assert err.wait == 2.5


# --- pause ---------------------------------------------------------------------


def test_pause_delays_next_permit() -> None:
    limiter, clock = bucket(rate=1.0, burst=5, max_wait=None)
    limiter.pause(2.5)
    assert not limiter.try_acquire()
    assert limiter.acquire() == 2.5
    assert clock.now == START + 2.5


def test_pause_does_not_bank_permits_beyond_burst() -> None:
    limiter, _ = bucket(rate=1.0, burst=2, max_wait=None)
    limiter.pause(100.0)
    assert [limiter.acquire() for _ in range(3)] == [100.0, 0.0, 1.0]


def test_waiters_queued_during_pause_keep_the_rate() -> None:
    clock = FakeClock()
    # A sleep that leaves time alone: both reservations are made at the same instant.
    limiter = TokenBucket(1.0, 1, max_wait=None, clock=clock, sleep=clock.sleeps.append)
    limiter.pause(5.0)
    assert limiter.acquire() == 5.0
    assert limiter.acquire() == 6.0
    assert clock.now == START


@pytest.mark.parametrize("seconds", [0.0, -1.0, math.nan])
def test_pause_ignores_non_positive(seconds: float) -> None:
    limiter, _ = bucket(rate=1.0, burst=1)
    limiter.pause(seconds)
    assert limiter.try_acquire()


@pytest.mark.parametrize("seconds", [1e12, math.inf])
def test_pause_clamps_huge(seconds: float) -> None:
    limiter, _ = bucket(rate=1.0, burst=1, max_wait=None)
    limiter.pause(seconds)
    assert limiter.acquire() == MAX_PAUSE_SECONDS


def test_shorter_pause_does_not_shorten_longer() -> None:
    limiter, _ = bucket(rate=1.0, burst=1, max_wait=None)
    limiter.pause(10.0)
    limiter.pause(1.0)
    assert limiter.acquire() == 10.0


def test_pause_beyond_max_wait_raises() -> None:
    limiter, _ = bucket(rate=1.0, burst=1, max_wait=30.0)
    limiter.pause(45.0)
    with pytest.raises(RateLimitTimeout) as info:
        limiter.acquire()
    assert info.value.wait == 45.0


# --- construction ------------------------------------------------------------


def test_per_interval_and_rate_limiter_match() -> None:
    clock_a, b_clock = FakeClock(), FakeClock()
    via_classmethod = TokenBucket.per_interval(
        4, 2.0, max_wait=None, clock=clock_a, sleep=clock_a.sleep
    )
    via_function = RateLimiter(4, 2.0, max_wait=None, clock=b_clock, sleep=b_clock.sleep)
    explicit = TokenBucket(2.0, 4)
    for limiter in (via_classmethod, via_function):
        assert isinstance(limiter, TokenBucket)
        assert (limiter.rate, limiter.burst) == (explicit.rate, explicit.burst) == (2.0, 4)
    waits_a = [via_classmethod.acquire() for _ in range(7)]
    waits_b = [via_function.acquire() for _ in range(7)]
    assert waits_a == waits_b == [0.0, 0.0, 0.0, 0.0, 0.5, 0.5, 0.5]


def test_rate_limiter_default_max_wait() -> None:
    assert RateLimiter(10, 1.0).max_wait == 30.0
    assert TokenBucket(1.0).burst == 1


def test_repr_shows_settings() -> None:
    assert repr(TokenBucket(2.5, 3, max_wait=None)) == (
        "TokenBucket(rate=2.5, burst=3, max_wait=None)"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rate": 0.0}, "rate must be finite and > 0"),
        ({"rate": -1.0}, "rate must"),
        ({"rate": math.nan}, "rate must"),
        ({"rate": math.inf}, "rate must"),
        ({"rate": 1.0, "burst": 0}, "burst must be an int >= 1"),
        ({"rate": 1.0, "burst": 1.5}, "burst must"),
        ({"rate": 1.0, "max_wait": -1.0}, "max_wait must"),
        ({"rate": 1.0, "max_wait": math.nan}, "max_wait must"),
    ],
)
def test_constructor_validation(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TokenBucket(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("max_messages", "every_seconds", "message"),
    [
        (0, 1.0, "max_messages"),
        (2.5, 1.0, "max_messages"),
        (5, 0.0, "every_seconds"),
        (5, -1.0, "every_seconds"),
        (5, math.inf, "every_seconds"),
        (5, math.nan, "every_seconds"),
    ],
)
def test_rate_limiter_validation(max_messages: int, every_seconds: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RateLimiter(max_messages, every_seconds)


@pytest.mark.parametrize("tokens", [0.0, -1.0, 3.5, math.nan, math.inf])
def test_tokens_validation(tokens: float) -> None:
    limiter, _ = bucket(rate=1.0, burst=3)
    with pytest.raises(ValueError, match="tokens must"):
        limiter.acquire(tokens)
    with pytest.raises(ValueError, match="tokens must"):
        limiter.try_acquire(tokens)


# --- many threads --------------------------------------------------------------


@dataclass
class _Sleeper:
    deadline: float
    woken: bool = False


class VirtualTime:
    """Discrete-event time shared by worker threads.

    Time stands still while any worker is running; once every live worker is
    asleep, the clock jumps to the earliest deadline and wakes those sleepers.
    So a worker's clock reading after ``sleep`` is exactly its deadline, and the
    test is deterministic about time whatever the thread interleaving.
    """

    def __init__(self, workers: int, start: float = START) -> None:
        self._cond = threading.Condition()
        self._now = start
        self._running = workers
        self._sleepers: list[_Sleeper] = []

    def clock(self) -> float:
        with self._cond:
            return self._now

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        with self._cond:
            me = _Sleeper(self._now + seconds)
            self._sleepers.append(me)
            self._running -= 1
            self._advance_if_idle()
            # Real-time guard only: a correct run wakes immediately.
            if not self._cond.wait_for(lambda: me.woken, timeout=20.0):
                raise AssertionError("virtual time stalled")

    def done(self) -> None:
        with self._cond:
            self._running -= 1
            self._advance_if_idle()

    def _advance_if_idle(self) -> None:
        if self._running or not self._sleepers:
            return
        self._now = max(self._now, min(s.deadline for s in self._sleepers))
        for sleeper in [s for s in self._sleepers if s.deadline <= self._now]:
            sleeper.woken = True
            self._sleepers.remove(sleeper)
            self._running += 1
        self._cond.notify_all()


def _max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best, j = 0, 0
    for i, start in enumerate(times):
        j = max(j, i)
        while j < len(times) and times[j] <= start + window:
            j += 1
        best = max(best, j - i)
    return best


def _hammer(
    rate: float, burst: int, threads: int, per_thread: int, pause_every: int = 0
) -> list[float]:
    vt = VirtualTime(threads)
    limiter = TokenBucket(rate, burst, max_wait=None, clock=vt.clock, sleep=vt.sleep)
    grants: list[float] = []
    errors: list[BaseException] = []
    record = threading.Lock()

    def work(index: int) -> None:
        try:
            for n in range(per_thread):
                if pause_every and index == 0 and n % pause_every == 0:
                    limiter.pause(0.75)
                limiter.acquire()
                now = vt.clock()
                with record:
                    grants.append(now)
        except BaseException as exc:
            errors.append(exc)
        finally:
            vt.done()

    workers = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30.0)
    assert not any(w.is_alive() for w in workers), "worker threads hung"
    assert errors == []
    assert len(grants) == threads * per_thread
    return grants


# Rates are powers of two so every virtual timestamp is exact in binary floating point.
@pytest.mark.parametrize(("rate", "burst"), [(4.0, 1), (4.0, 3), (8.0, 5), (0.5, 2)])
def test_threads_never_exceed_rate_window_bound(rate: float, burst: int) -> None:
    grants = _hammer(rate, burst, threads=8, per_thread=25)
    for window in (0.0, 0.125, 0.25, 1.0, 2.5, 10.0):
        assert _max_in_window(grants, window) <= math.floor(rate * window) + burst, window
    # Reservations queue without idling: the last permit is granted right on schedule.
    assert max(grants) == START + (len(grants) - burst) / rate


def test_threads_with_pauses_keep_the_bound() -> None:
    rate, burst = 4.0, 3
    grants = _hammer(rate, burst, threads=8, per_thread=20, pause_every=4)
    for window in (0.0, 0.25, 1.0, 3.0):
        assert _max_in_window(grants, window) <= math.floor(rate * window) + burst, window
