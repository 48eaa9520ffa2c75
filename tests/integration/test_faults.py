"""The resilient request path against the reference server with faults switched on."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

import pytest

import mysdk
from examples.cars_sdk import CarsClient
from refserver import FaultConfig, RunningServer
from tests.integration.conftest import provider_for

pytestmark = pytest.mark.integration

FAST_RETRIES = mysdk.RetryPolicy(max_attempts=10, base_delay=0.002, max_delay=0.01)


def test_200_crud_calls_survive_30_percent_transient_failures(server: RunningServer) -> None:
    events: list[mysdk.Event] = []
    client = CarsClient(base_url=server.base_url, auth=provider_for(server),
                          retry=FAST_RETRIES, idempotency_keys=True, on_event=events.append)
    client.cars.list()  # fetch the token before the faults start
    events.clear()
    server.stats.reset()
    # 15% answer 503, 15% drop the connection *after* acting on the request.
    server.set_faults(FaultConfig(error_503_rate=0.15, drop_rate=0.15,
                                  drop_after_processing=True, seed=7))
    created: list[int] = []
    with client:
        for i in range(40):  # 5 calls each: 200 calls
            car = client.cars.create(make="Volvo", model=f"m{i}", year=1990)
            created.append(car.id)
            assert client.cars.get(car.id) == car
            client.cars.replace(car.id, make="Volvo", model=f"m{i}", year=1991)
            client.cars.update(car.id, color="green")
            assert client.cars.get(car.id).color == "green"
        server.set_faults(None)
        listed = [c.id for c in client.cars.iterate(limit=100)]

    stats = server.stats.snapshot()
    kinds = Counter(e.kind for e in events)
    assert sorted(listed) == sorted(created)
    assert len(set(created)) == 40
    assert stats["cars_created"] == 40
    assert stats["faults_injected"]["error_503"] > 0
    assert stats["faults_injected"]["drop"] > 0
    # Every request the server received is an attempt the client reported ...
    assert stats["api_requests"] == kinds["response"] + kinds["error"]
    # ... which is the calls plus the retries the client announced.
    assert stats["api_requests"] == 200 + 1 + kinds["retry"]


def test_read_timeout_retries_only_what_is_safe(start: Callable[..., RunningServer]) -> None:
    server = start(faults=FaultConfig(slow_rate=1.0, slow_seconds=1.0))
    policy = mysdk.RetryPolicy(max_attempts=2, base_delay=0, max_delay=0)
    with CarsClient(base_url=server.base_url, auth=provider_for(server), retry=policy,
                      timeout=(2.0, 0.2)) as client:
        with pytest.raises(mysdk.ReadTimeoutError) as post:
            client.cars.create(make="Saab", model="900", year=1992)  # no Idempotency-Key
        with pytest.raises(mysdk.ReadTimeoutError) as get:
            client.cars.list()
    assert post.value.attempts == 1
    assert get.value.attempts == 2
    assert server.stats.api_requests == 3


def test_client_rate_limiter_keeps_under_the_server_limit(
    start: Callable[..., RunningServer],
) -> None:
    server = start(faults=FaultConfig(rate_limit_per_second=20))
    limiter = mysdk.TokenBucket(rate=15, burst=1)
    with CarsClient(base_url=server.base_url, auth=provider_for(server),
                      rate_limiter=limiter, retry=None) as client:
        for _ in range(15):
            client.cars.list()
    assert server.stats.snapshot()["faults_injected"].get("rate_limit_429", 0) == 0


def test_429_retry_after_is_honoured(start: Callable[..., RunningServer]) -> None:
    server = start(faults=FaultConfig(rate_limit_per_second=2))
    slept: list[float] = []
    limiter = mysdk.TokenBucket(rate=1000, burst=10)

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)  # real: the server's bucket refills by wall clock

    with CarsClient(base_url=server.base_url, auth=provider_for(server),
                      rate_limiter=limiter, sleep=sleep) as client:
        for _ in range(4):
            client.cars.list()
    assert slept
    assert all(s >= 1.0 for s in slept)
    assert server.stats.snapshot()["faults_injected"]["rate_limit_429"] == len(slept)
