"""mysdk.auth.manager.TokenManager: caching, proactive refresh, single flight, 401s."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest

from mysdk import ConnectError, Event, MemoryTokenCache, Token, TokenRequestError
from mysdk.auth import manager as manager_mod
from mysdk.auth.manager import TokenManager

START = 1_700_000_000.0
WAIT = 10.0  # seconds a test thread may wait on an Event before the test fails


class FakeClock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeProvider:
    """Issues tokens "T1", "T2", ... valid for ``lifetime`` seconds from the fake clock."""

    cache_key = "test-identity"
    token_url = "https://auth.example.com/oauth/token"

    def __init__(self, clock: FakeClock, lifetime: float | None = 1000.0) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.calls: list[Token | None] = []
        self.sessions: list[object] = []
        self.timeouts: list[object] = []
        self.next: Callable[[int], Token] | None = None  # override one answer
        self.fail_with: Exception | None = None
        self.gate: threading.Event | None = None
        self.started = threading.Event()
        self._lock = threading.Lock()

    def fetch_token(self, session: Any, *, timeout: object, previous: Token | None) -> Token:
        with self._lock:
            self.calls.append(previous)
            self.sessions.append(session)
            self.timeouts.append(timeout)
            n = len(self.calls)
        self.started.set()
        if self.gate is not None:
            assert self.gate.wait(WAIT), "test never opened the gate"
        if self.fail_with is not None:
            raise self.fail_with
        if self.next is not None:
            return self.next(n)
        now = self.clock()
        expires = None if self.lifetime is None else now + self.lifetime
        return Token(access_token=f"T{n}", expires_at=expires, issued_at=now)


SESSION = object()


def _manager(
    provider: FakeProvider, *, leeway: float = 60.0, jitter: float = 0.25, r: float = 0.5,
    cache: MemoryTokenCache | None = None, events: list[Event] | None = None,
) -> TokenManager:
    return TokenManager(
        provider, cache if cache is not None else MemoryTokenCache(timer=provider.clock),
        session=SESSION, timeout=(2.0, 5.0), leeway=leeway, jitter=jitter,  # type: ignore[arg-type]
        clock=provider.clock, random=lambda: r, lock_timeout=WAIT,
        on_event=events.append if events is not None else None,
    )


# --- basics -------------------------------------------------------------------------------


def test_token_is_fetched_once_and_cached() -> None:
    clock = FakeClock()
    provider = FakeProvider(clock)
    events: list[Event] = []
    mgr = _manager(provider, events=events)
    first = mgr.token()
    clock.advance(100)
    assert mgr.token() == first
    headers: dict[str, str] = {}
    assert mgr.apply(headers) == first
    assert headers == {"Authorization": f"Bearer {first.access_token}"}
    assert provider.calls == [None]
    assert provider.sessions == [SESSION]
    assert provider.timeouts == [(2.0, 5.0)]
    assert mgr.cache.get(mgr.key) == first
    assert [(e.kind, e.reason, e.path) for e in events] == [
        ("token_fetched", "fetched", "/oauth/token")]


@pytest.mark.parametrize(("leeway", "jitter"), [(-1.0, 0.2), (10.0, -0.1), (10.0, 1.5)])
def test_bad_arguments(leeway: float, jitter: float) -> None:
    with pytest.raises(ValueError, match="leeway" if leeway < 0 else "jitter"):
        _manager(FakeProvider(FakeClock()), leeway=leeway, jitter=jitter)


# --- unknown expiry --------------------------------------------------------------------------


def test_missing_expires_in_is_reused_until_a_401() -> None:
    clock = FakeClock()
    provider = FakeProvider(clock, lifetime=None)
    mgr = _manager(provider)
    first = mgr.token()
    assert first.expires_at is None
    assert first.refresh_at is None
    clock.advance(10 * 365 * 86400.0)  # ten years on: still no refresh without a 401
    assert mgr.token() is first
    assert len(provider.calls) == 1
    assert mgr.on_unauthorized(first) is True
    second = mgr.token()
    assert second.access_token != first.access_token
    assert len(provider.calls) == 2
    assert provider.calls[1] == first


# --- proactive refresh ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lifetime", "leeway", "jitter", "r"),
    [(1000.0, 60.0, 0.25, 0.4), (100.0, 60.0, 0.25, 0.9), (30.0, 60.0, 0.0, 0.3),
     (1000.0, 60.0, 1.0, 0.0), (500.0, 0.0, 0.25, 0.5)],
)
def test_proactive_refresh_time(lifetime: float, leeway: float, jitter: float, r: float) -> None:
    clock = FakeClock()
    provider = FakeProvider(clock, lifetime=lifetime)
    mgr = _manager(provider, leeway=leeway, jitter=jitter, r=r)
    token = mgr.token()
    assert token.expires_at == START + lifetime
    margin = min(leeway, lifetime / 2) * (1 - jitter * r)
    assert token.refresh_at == pytest.approx(START + lifetime - margin)
    assert token.refresh_at is not None
    clock.now = token.refresh_at - 0.001
    assert mgr.token() is token
    assert len(provider.calls) == 1
    clock.now = token.refresh_at
    renewed = mgr.token()
    assert renewed.access_token == "T2"
    assert provider.calls == [None, token]


def test_a_fresh_token_shorter_than_the_leeway_is_not_refreshed_at_once() -> None:
    clock = FakeClock()
    provider = FakeProvider(clock, lifetime=30.0)  # leeway 60 > lifetime
    mgr = _manager(provider, leeway=60.0)
    token = mgr.token()
    assert token.refresh_at is not None
    assert token.refresh_at > START
    for _ in range(5):
        assert mgr.token() is token
    assert len(provider.calls) == 1


def test_the_server_reissuing_the_same_token_does_not_loop() -> None:
    clock = FakeClock()
    provider = FakeProvider(clock, lifetime=1000.0)
    mgr = _manager(provider, leeway=60.0, jitter=0.0)
    first = mgr.token()
    assert first.refresh_at == START + 940
    same = Token(access_token=first.access_token, expires_at=first.expires_at, issued_at=START)
    provider.next = lambda n: same
    clock.now = START + 950  # inside the leeway
    again = mgr.token()
    assert again.access_token == first.access_token
    assert again.refresh_at == again.expires_at
    for _ in range(5):
        clock.advance(9)
        assert mgr.token() is again
    assert len(provider.calls) == 2
    provider.next = None
    clock.now = START + 1000  # expired: now it must be replaced
    assert mgr.token().access_token == "T3"


def test_failed_proactive_refresh_keeps_the_still_valid_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    provider = FakeProvider(clock, lifetime=1000.0)
    mgr = _manager(provider, jitter=0.0)
    token = mgr.token()
    clock.now = START + 950
    provider.fail_with = TokenRequestError("down", error="temporarily_unavailable",
                                           status_code=503)
    with caplog.at_level(logging.WARNING, logger="mysdk.auth"):
        assert mgr.token() is token
    assert "proactive token refresh failed" in caplog.text
    provider.fail_with = ConnectError("no route")
    assert mgr.token() is token
    assert len(provider.calls) == 3
    clock.now = START + 1000  # expired: the failure surfaces
    with pytest.raises(ConnectError):
        mgr.token()
    provider.fail_with = None
    assert mgr.token().access_token == "T5"


# --- single flight -----------------------------------------------------------------------------


def _count_flight_waiters(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Condition, list[int]]:
    """Count threads that joined another thread's fetch (they wait on its flight)."""
    cond = threading.Condition()
    waiting = [0]
    original = manager_mod._Flight.wait

    def counting_wait(self: Any, timeout: float) -> Token:
        with cond:
            waiting[0] += 1
            cond.notify_all()
        return original(self, timeout)

    monkeypatch.setattr(manager_mod._Flight, "wait", counting_wait)
    return cond, waiting


def _run_threads(
    n: int, target: Callable[[], Any]
) -> tuple[list[threading.Thread], list[Any]]:
    results: list[Any] = [None] * n
    barrier = threading.Barrier(n)

    def run(i: int) -> None:
        barrier.wait(WAIT)
        try:
            results[i] = target()
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    return threads, results


def _sixteen_callers_on_one_gated_fetch(
    monkeypatch: pytest.MonkeyPatch, provider: FakeProvider, mgr: TokenManager
) -> list[Any]:
    """16 threads call ``mgr.token``; the fetch is released once 15 wait on it."""
    cond, waiting = _count_flight_waiters(monkeypatch)
    gate = provider.gate = threading.Event()
    threads, results = _run_threads(16, mgr.token)
    assert provider.started.wait(WAIT)
    with cond:
        assert cond.wait_for(lambda: waiting[0] == 15, WAIT), waiting
    gate.set()
    for t in threads:
        t.join(WAIT)
    return results


def test_sixteen_threads_share_one_fetch(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = FakeProvider(FakeClock())
    results = _sixteen_callers_on_one_gated_fetch(monkeypatch, provider, _manager(provider))
    assert len(provider.calls) == 1
    assert all(isinstance(r, Token) for r in results), results
    assert {r.access_token for r in results} == {"T1"}


def test_a_failed_fetch_reaches_every_waiter_and_the_next_call_retries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    provider = FakeProvider(FakeClock())
    provider.fail_with = TokenRequestError("refused", error="invalid_client", status_code=401)
    mgr = _manager(provider)
    results = _sixteen_callers_on_one_gated_fetch(monkeypatch, provider, mgr)
    assert len(provider.calls) == 1
    assert all(isinstance(r, TokenRequestError) for r in results), results
    assert {r.error for r in results} == {"invalid_client"}
    # Nothing is stuck: the next call fetches again, and succeeds.
    provider.fail_with = None
    provider.gate = None
    assert mgr.token().access_token == "T2"
    assert len(provider.calls) == 2


# --- 401 handling -------------------------------------------------------------------------------


def test_refresh_keeps_a_newer_token_another_holder_stored() -> None:
    clock = FakeClock()
    provider = FakeProvider(clock)
    mgr = _manager(provider)
    old = mgr.token()
    newer = Token(access_token="from-another-process", expires_at=START + 3600, issued_at=START)
    mgr.cache.set(mgr.key, newer)
    assert mgr.refresh(stale=old) == newer
    assert mgr.cache.get(mgr.key) == newer
    assert len(provider.calls) == 1
    assert mgr.token() == newer
    assert mgr.on_unauthorized(old) is True
    assert len(provider.calls) == 1


def test_refresh_replaces_the_stale_token_when_the_cache_holds_it() -> None:
    clock = FakeClock()
    provider = FakeProvider(clock)
    mgr = _manager(provider)
    old = mgr.token()
    new = mgr.refresh(stale=old)
    assert new.access_token == "T2"
    assert provider.calls == [None, old]
    assert mgr.cache.get(mgr.key) == new
    assert mgr.token() == new


def test_on_unauthorized_reports_when_no_other_token_could_be_had() -> None:
    clock = FakeClock()
    provider = FakeProvider(clock)
    mgr = _manager(provider)
    old = mgr.token()
    provider.next = lambda n: Token(access_token=old.access_token,
                                    expires_at=START + 1000, issued_at=START)
    assert mgr.on_unauthorized(old) is False


class RotatingProvider(FakeProvider):
    """Issues T<n> with refresh token R<n>; a refresh with anything but the latest
    refresh token is refused with invalid_grant, as a rotating server does."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock, lifetime=100.0)
        self.latest: str | None = None
        self.invalid_grants = 0

    def fetch_token(self, session: Any, *, timeout: object, previous: Token | None) -> Token:
        if previous is not None and previous.refresh_token is not None \
                and previous.refresh_token != self.latest:
            self.invalid_grants += 1
        token = super().fetch_token(session, timeout=timeout, previous=previous)
        self.latest = f"R{len(self.calls)}"
        return token.replace(refresh_token=self.latest)


def test_an_idle_sharer_refreshes_with_the_latest_rotated_refresh_token() -> None:
    # Two managers on one cache stand for two processes sharing a file/Redis cache.
    clock = FakeClock()
    provider = RotatingProvider(clock)
    shared = MemoryTokenCache(timer=clock)
    busy = _manager(provider, leeway=0.0, cache=shared)
    idle = _manager(provider, leeway=0.0, cache=shared)
    assert idle.token().access_token == "T1"  # both start on T1 / R1
    clock.advance(101)
    assert busy.token().access_token == "T2"  # busy rotates R1 -> R2; idle sleeps
    clock.advance(101)  # T2 expired too: the cache must still hold R2 for idle
    assert idle.token().access_token == "T3"
    assert provider.calls[-1] is not None
    assert provider.calls[-1].refresh_token == "R2"
    assert provider.invalid_grants == 0


def test_a_failed_refresh_after_a_401_keeps_the_saved_refresh_token() -> None:
    """A transient token-endpoint failure must not lose a saved login's refresh token."""
    import time as _time

    import requests

    from mysdk.auth.manager import TokenManager
    from mysdk.errors import TokenRequestError
    from mysdk.tokens import MemoryTokenCache, Token

    class Down:
        cache_key = "k"

        def fetch_token(self, session: requests.Session, *, timeout: object,
                        previous: Token | None) -> Token:
            raise TokenRequestError("down", error="temporarily_unavailable", status_code=503)

    now = _time.time()
    saved = Token("AT", expires_at=now + 3600, refresh_token="RT", issued_at=now)
    cache = MemoryTokenCache()
    cache.set("k", saved)
    manager = TokenManager(Down(), cache, session=requests.Session(), timeout=1.0)
    with pytest.raises(TokenRequestError):
        manager.on_unauthorized(saved)
    kept = cache.get("k")
    assert kept is not None
    assert kept.refresh_token == "RT"
