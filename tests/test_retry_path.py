"""The retry loop of Client.request with fake sleep and monotonic clock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses
from responses import matchers
from responses.registries import OrderedRegistry

from mysdk import (
    Client,
    ClientCredentials,
    ConnectError,
    Event,
    InvalidRequestError,
    RateLimitError,
    ReadTimeoutError,
    RetryPolicy,
    ServerDisconnectedError,
    ServerError,
    TokenBucket,
    UnauthorizedError,
)
from tests.test_ratelimit import FakeClock as LimiterClock

BASE = "https://api.example.com"
TOKEN_URL = "https://auth.example.com/oauth/token"


class FakeTime:
    """A monotonic clock that only moves when the client sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


@pytest.fixture
def rs() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True,
                                registry=OrderedRegistry) as mock:
        yield mock


def _client(fake: FakeTime, policy: RetryPolicy | None = None, **kwargs: Any) -> Client:
    return Client(base_url=BASE, retry=policy or RetryPolicy(max_attempts=3),
                  sleep=fake.sleep, monotonic=fake.monotonic, **kwargs)


# --- Retry-After -------------------------------------------------------------------------


def test_retry_after_is_slept_then_success(fake: FakeTime, rs: responses.RequestsMock) -> None:
    events: list[Event] = []
    rs.get(f"{BASE}/x", status=503, headers={"Retry-After": "2"})
    rs.get(f"{BASE}/x", json={"ok": 1})
    assert _client(fake, on_event=events.append).get("/x") == {"ok": 1}
    assert fake.sleeps == [2.0]
    retries = [e for e in events if e.kind == "retry"]
    assert [(e.attempt, e.delay, e.status, e.reason, e.path) for e in retries] == [
        (1, 2.0, 503, "status 503", "/x")]
    assert [e.attempt for e in events if e.kind == "response"] == [1, 2]


@pytest.mark.parametrize(("status", "error"), [(503, ServerError), (429, RateLimitError)])
def test_retry_after_above_the_cap_raises_without_sleeping(
    fake: FakeTime, rs: responses.RequestsMock, status: int, error: type[Exception]
) -> None:
    rs.get(f"{BASE}/x", status=status, headers={"Retry-After": "30"})
    client = _client(fake, RetryPolicy(max_attempts=5, max_retry_after=10))
    with pytest.raises(error) as info:
        client.get("/x")
    assert info.value.retry_after == 30.0  # type: ignore[attr-defined]
    assert info.value.attempts == 1  # type: ignore[attr-defined]
    assert fake.sleeps == []
    assert len(rs.calls) == 1


def test_429_is_retried_for_post_without_a_key(
    fake: FakeTime, rs: responses.RequestsMock
) -> None:
    rs.post(f"{BASE}/x", status=429, headers={"Retry-After": "1"})
    rs.post(f"{BASE}/x", status=201, json={"id": 1})
    assert _client(fake).post("/x", json={}) == {"id": 1}
    assert fake.sleeps == [1.0]


# --- backoff and exhaustion ------------------------------------------------------------------


def test_backoff_without_retry_after_stays_within_the_cap(
    fake: FakeTime, rs: responses.RequestsMock
) -> None:
    for _ in range(3):
        rs.get(f"{BASE}/x", status=502)
    rs.get(f"{BASE}/x", json={})
    policy = RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=0.75)
    _client(fake, policy).get("/x")
    caps = [0.5, 0.75, 0.75]
    assert len(fake.sleeps) == 3
    for slept, cap in zip(fake.sleeps, caps, strict=True):
        assert 0.0 <= slept <= cap


def test_exhausted_status_retries_raise_the_last_error(
    fake: FakeTime, rs: responses.RequestsMock
) -> None:
    rs.get(f"{BASE}/x", status=503, headers={"Retry-After": "1"})
    rs.get(f"{BASE}/x", status=500, headers={"Retry-After": "1"})
    rs.get(f"{BASE}/x", status=502, headers={"X-Request-Id": "last"})
    with pytest.raises(ServerError) as info:
        _client(fake).get("/x")
    err = info.value
    assert err.status_code == 502
    assert err.request_id == "last"
    assert err.attempts == 3
    assert "after 3 attempts" in str(err)
    assert fake.sleeps == [1.0, 1.0]
    assert err.response is not None
    assert err.response.status_code == 502  # the last attempt's response


def test_exhausted_transport_retries_raise_the_last_error(
    fake: FakeTime, rs: responses.RequestsMock
) -> None:
    for _ in range(3):
        rs.get(f"{BASE}/x", body=requests.ConnectionError(ConnectionRefusedError("refused")))
    with pytest.raises(ConnectError) as info:
        _client(fake, RetryPolicy(max_attempts=3, base_delay=0.1)).get("/x")
    assert info.value.attempts == 3
    assert "after 3 attempts" in str(info.value)
    assert len(fake.sleeps) == 2


def test_statuses_outside_the_policy_are_not_retried(
    fake: FakeTime, rs: responses.RequestsMock
) -> None:
    rs.get(f"{BASE}/x", status=500)
    with pytest.raises(ServerError):
        _client(fake, RetryPolicy(max_attempts=3, retry_statuses={503})).get("/x")
    assert fake.sleeps == []


# --- what may be repeated -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "error"),
    [({"status": 503}, ServerError), ({"body": requests.ReadTimeout("slow")}, ReadTimeoutError)],
)
def test_post_without_a_key_is_not_repeated_once_it_may_have_been_processed(
    fake: FakeTime, rs: responses.RequestsMock, body: dict[str, Any], error: type[Exception]
) -> None:
    rs.post(f"{BASE}/orders", **body)
    with pytest.raises(error):
        _client(fake).post("/orders", json={"n": 1})
    assert len(rs.calls) == 1
    assert fake.sleeps == []


def test_post_without_a_key_is_retried_when_it_never_connected(
    fake: FakeTime, rs: responses.RequestsMock
) -> None:
    rs.post(f"{BASE}/orders", body=requests.ConnectionError(ConnectionRefusedError("refused")))
    rs.post(f"{BASE}/orders", status=201, json={"id": 1})
    assert _client(fake).post("/orders", json={"n": 1}) == {"id": 1}
    assert len(fake.sleeps) == 1
    assert rs.calls[0].request.body == rs.calls[1].request.body == b'{"n":1}'


def test_server_disconnect_is_not_repeated_for_post(
    fake: FakeTime, rs: responses.RequestsMock
) -> None:
    from urllib3.exceptions import ProtocolError

    rs.post(f"{BASE}/orders", body=requests.ConnectionError(ProtocolError("aborted")))
    with pytest.raises(ServerDisconnectedError):
        _client(fake).post("/orders", json={})
    assert fake.sleeps == []


def test_post_with_a_key_is_retried_with_the_same_key(
    fake: FakeTime, rs: responses.RequestsMock
) -> None:
    key = [matchers.header_matcher({"Idempotency-Key": "order-1"})]
    rs.post(f"{BASE}/orders", status=503, match=key)
    rs.post(f"{BASE}/orders", body=requests.ReadTimeout("slow"), match=key)
    rs.post(f"{BASE}/orders", status=201, json={"id": 1}, match=key)
    assert _client(fake).post("/orders", json={}, idempotency_key="order-1") == {"id": 1}
    assert [c.request.headers["Idempotency-Key"] for c in rs.calls] == ["order-1"] * 3
    assert len(fake.sleeps) == 2


def test_read_timeouts_are_not_retried_when_the_policy_says_so(
    fake: FakeTime, rs: responses.RequestsMock
) -> None:
    rs.get(f"{BASE}/x", body=requests.ReadTimeout("slow"))
    with pytest.raises(ReadTimeoutError):
        _client(fake, RetryPolicy(max_attempts=3, retry_read_timeouts=False)).get("/x")
    assert fake.sleeps == []


def test_a_non_replayable_body_is_not_retried(fake: FakeTime, rs: responses.RequestsMock) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"a"

    rs.put(f"{BASE}/upload", status=503)
    with pytest.raises(InvalidRequestError) as info:
        _client(fake).put("/upload", data=chunks())
    message = str(info.value)
    assert "not retried" in message
    assert "iterator" in message
    assert isinstance(info.value.__cause__, ServerError)
    assert len(rs.calls) == 1
    assert fake.sleeps == []


# --- reauth and retries ------------------------------------------------------------------------


def _oauth_client(fake: FakeTime, policy: RetryPolicy) -> Client:
    provider = ClientCredentials(token_url=TOKEN_URL, client_id="cid", client_secret="sec")
    return _client(fake, policy, auth=provider)


def _bearer(token: str) -> list[Any]:
    return [matchers.header_matcher({"Authorization": f"Bearer {token}"})]


def test_a_refresh_does_not_use_up_a_retry(fake: FakeTime, rs: responses.RequestsMock) -> None:
    rs.post(TOKEN_URL, json={"access_token": "T1", "expires_in": 3600})
    rs.get(f"{BASE}/x", status=503, headers={"Retry-After": "1"}, match=_bearer("T1"))
    rs.get(f"{BASE}/x", status=401, match=_bearer("T1"))
    rs.post(TOKEN_URL, json={"access_token": "T2", "expires_in": 3600})
    rs.get(f"{BASE}/x", json={"ok": True}, match=_bearer("T2"))
    # Two attempts are enough: the 401 replay happens inside the second one.
    assert _oauth_client(fake, RetryPolicy(max_attempts=2)).get("/x") == {"ok": True}
    assert fake.sleeps == [1.0]


def test_a_retry_never_triggers_a_second_refresh(
    fake: FakeTime, rs: responses.RequestsMock
) -> None:
    rs.post(TOKEN_URL, json={"access_token": "T1", "expires_in": 3600})
    rs.get(f"{BASE}/x", status=401, match=_bearer("T1"))
    rs.post(TOKEN_URL, json={"access_token": "T2", "expires_in": 3600})
    rs.get(f"{BASE}/x", status=503, headers={"Retry-After": "1"}, match=_bearer("T2"))
    rs.get(f"{BASE}/x", status=401, match=_bearer("T2"))
    with pytest.raises(UnauthorizedError) as info:
        _oauth_client(fake, RetryPolicy(max_attempts=5)).get("/x")
    assert info.value.attempts == 2
    assert len([c for c in rs.calls if c.request.url == TOKEN_URL]) == 2
    assert fake.sleeps == [1.0]


def test_401_then_401_raises(fake: FakeTime, rs: responses.RequestsMock) -> None:
    rs.post(TOKEN_URL, json={"access_token": "T1", "expires_in": 3600})
    rs.get(f"{BASE}/x", status=401)
    rs.post(TOKEN_URL, json={"access_token": "T2", "expires_in": 3600})
    rs.get(f"{BASE}/x", status=401)
    with pytest.raises(UnauthorizedError):
        _oauth_client(fake, RetryPolicy(max_attempts=5)).get("/x")
    assert len(rs.calls) == 4
    assert fake.sleeps == []


# --- budget ---------------------------------------------------------------------------------------


def test_the_total_budget_stops_retries(fake: FakeTime, rs: responses.RequestsMock) -> None:
    rs.get(f"{BASE}/x", status=503, headers={"Retry-After": "4"})
    rs.get(f"{BASE}/x", status=503, headers={"Retry-After": "4"})
    policy = RetryPolicy(max_attempts=10, total_budget=5.0)
    with pytest.raises(ServerError) as info:
        _client(fake, policy).get("/x")
    assert fake.sleeps == [4.0]  # 4 fits in 5 s; 4 more would not
    assert info.value.attempts == 2


def test_transport_retry_events(fake: FakeTime, rs: responses.RequestsMock) -> None:
    events: list[Event] = []
    rs.get(f"{BASE}/x", body=requests.ConnectTimeout("slow"))
    rs.get(f"{BASE}/x", json={})
    _client(fake, RetryPolicy(max_attempts=2, base_delay=0.2), on_event=events.append).get("/x")
    retry = [e for e in events if e.kind == "retry"]
    assert len(retry) == 1
    assert (retry[0].attempt, retry[0].status, retry[0].reason) == (1, None, "ConnectTimeoutError")
    assert retry[0].delay == fake.sleeps[0]
    assert [e.reason for e in events if e.kind == "error"] == ["ConnectTimeoutError"]


# --- the rate limiter ---------------------------------------------------------------------------


def test_the_limiter_is_consulted_before_each_attempt(
    fake: FakeTime, rs: responses.RequestsMock
) -> None:
    clock = LimiterClock(0.0)
    bucket = TokenBucket(rate=1.0, burst=1, clock=clock, sleep=clock.sleep)
    events: list[Event] = []
    rs.get(f"{BASE}/x", status=503, headers={"Retry-After": "0.25"})
    rs.get(f"{BASE}/x", json={})
    client = _client(fake, rate_limiter=bucket, on_event=events.append)
    client.get("/x")
    # The first attempt took the only permit; the retry waited for the next one.
    assert clock.sleeps == [pytest.approx(1.0)]
    limited = [e for e in events if e.kind == "rate_limited"]
    assert [(e.attempt, e.delay) for e in limited] == [(2, pytest.approx(1.0))]
    assert fake.sleeps == [0.25]


def test_the_replay_after_a_401_takes_a_permit_too(
    fake: FakeTime, rs: responses.RequestsMock
) -> None:
    clock = LimiterClock(0.0)
    bucket = TokenBucket(rate=1.0, burst=1, clock=clock, sleep=clock.sleep)
    rs.post(TOKEN_URL, json={"access_token": "t1", "expires_in": 3600})
    rs.get(f"{BASE}/x", status=401)
    rs.post(TOKEN_URL, json={"access_token": "t2", "expires_in": 3600})
    rs.get(f"{BASE}/x", json={})
    provider = ClientCredentials(token_url=TOKEN_URL, client_id="c", client_secret="s")
    _client(fake, rate_limiter=bucket, auth=provider).get("/x")
    assert clock.sleeps == [pytest.approx(1.0)]  # the replay waited for a second permit


def test_a_429_with_retry_after_pauses_the_limiter(
    fake: FakeTime, rs: responses.RequestsMock
) -> None:
    clock = LimiterClock(0.0)
    bucket = TokenBucket(rate=100.0, burst=10, clock=clock, sleep=clock.sleep)
    rs.get(f"{BASE}/x", status=429, headers={"Retry-After": "3"})
    rs.get(f"{BASE}/x", json={})
    _client(fake, rate_limiter=bucket).get("/x")
    assert fake.sleeps == [3.0]
    assert clock.sleeps == [pytest.approx(3.0)]  # the limiter's own clock saw the pause
    assert bucket.try_acquire()


def test_a_429_pauses_a_shared_limiter_even_when_not_retried(
    fake: FakeTime, rs: responses.RequestsMock
) -> None:
    clock = LimiterClock(0.0)
    bucket = TokenBucket(rate=100.0, burst=10, clock=clock, sleep=clock.sleep)
    rs.get(f"{BASE}/x", status=429, headers={"Retry-After": "3"})
    client = Client(base_url=BASE, retry=None, rate_limiter=bucket, sleep=fake.sleep,
                    monotonic=fake.monotonic)
    with pytest.raises(RateLimitError):
        client.get("/x")
    assert not bucket.try_acquire()
    clock.now = 3.0
    assert bucket.try_acquire()
