"""Threads that join one failed token fetch each get an error object of their own."""

from __future__ import annotations

import threading
import types
from typing import Any

import pytest

from mysdk import AuthError, MemoryTokenCache, TokenRequestError, TransportError
from mysdk.auth import manager as manager_mod
from mysdk.auth.manager import TokenManager
from tests.test_token_manager import WAIT, FakeClock, FakeProvider, _count_flight_waiters

THREADS = 32


def frames(exc: BaseException) -> int:
    count, tb = 0, exc.__traceback__
    while tb is not None:
        count, tb = count + 1, tb.tb_next
    return count


def fail_32_callers(monkeypatch: pytest.MonkeyPatch, error: Exception) -> list[Any]:
    """32 threads call ``token()``; the one fetch raises ``error`` once 31 wait on it."""
    clock = FakeClock()
    provider = FakeProvider(clock)
    provider.fail_with = error
    gate = provider.gate = threading.Event()
    manager = TokenManager(
        provider, MemoryTokenCache(timer=clock), session=object(),  # type: ignore[arg-type]
        timeout=(2.0, 5.0), clock=clock, lock_timeout=WAIT,
    )
    cond, waiting = _count_flight_waiters(monkeypatch)
    results: list[Any] = [None] * THREADS
    barrier = threading.Barrier(THREADS)

    def call(i: int) -> None:
        barrier.wait(WAIT)
        try:
            results[i] = manager.token()
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    assert provider.started.wait(WAIT)
    with cond:
        assert cond.wait_for(lambda: waiting[0] == THREADS - 1, WAIT), waiting
    gate.set()
    for thread in threads:
        thread.join(WAIT)
    assert not any(thread.is_alive() for thread in threads)
    assert len(provider.calls) == 1
    return results


def test_each_waiter_raises_its_own_copy_chained_to_the_leaders_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    leader_error = TokenRequestError(
        "token request refused", error="invalid_client", status_code=401
    )
    results = fail_32_callers(monkeypatch, leader_error)
    assert all(isinstance(r, TokenRequestError) for r in results), results
    assert len({id(r) for r in results}) == THREADS  # 32 distinct objects
    followers = [r for r in results if r is not leader_error]
    assert len(followers) == THREADS - 1  # the leader raised the original
    for err in followers:
        assert type(err) is TokenRequestError
        assert err.__cause__ is leader_error
        assert str(err) == str(leader_error)
        assert err.message == leader_error.message
        assert err.error == "invalid_client"
        assert err.status_code == 401
        assert err.attempts == leader_error.attempts
    followers[0].attempts = 7  # what a caller's retry loop does to "its" error
    assert leader_error.attempts == 1
    assert {err.attempts for err in followers[1:]} == {1}
    # Nobody's traceback collects the other threads' frames.
    assert max(frames(err) for err in results) <= 12, [frames(err) for err in results]


def test_a_foreign_leader_error_reaches_waiters_as_auth_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    leader_error = ValueError("provider bug")
    results = fail_32_callers(monkeypatch, leader_error)
    assert sum(r is leader_error for r in results) == 1
    followers = [r for r in results if r is not leader_error]
    assert len({id(r) for r in followers}) == THREADS - 1
    for err in followers:
        assert type(err) is AuthError
        assert str(err) == "another thread's token request failed (ValueError)"
        assert err.__cause__ is leader_error
    assert max(frames(err) for err in results) <= 12


def test_a_copied_transport_error_keeps_its_attributes_and_its_own_containers() -> None:
    leader_error = TransportError("cannot connect", method="POST",
                                  url="https://auth.example/token", attempts=3)
    leader_error.extra = {"n": 1}  # type: ignore[attr-defined]
    flight = manager_mod._Flight()
    flight.error = leader_error
    flight.done.set()
    with pytest.raises(TransportError) as info:
        flight.wait(1.0)
    copy = info.value
    assert copy is not leader_error
    assert copy.__cause__ is leader_error
    assert (copy.method, copy.url, copy.attempts) == ("POST", "https://auth.example/token", 3)
    assert copy.extra == {"n": 1}  # type: ignore[attr-defined]
    copy.extra["n"] = 2  # type: ignore[attr-defined]
    assert leader_error.extra == {"n": 1}  # type: ignore[attr-defined]
    assert isinstance(copy.__traceback__, types.TracebackType)
