"""mysdk against the real reference server: CRUD, errors, token lifecycle."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import pytest
import requests

import mysdk
from examples.cars_sdk import CarsClient
from refserver import RunningServer
from tests.integration.conftest import provider_for

pytestmark = pytest.mark.integration


def test_crud_round_trip(server: RunningServer) -> None:
    with CarsClient(base_url=server.base_url, auth=provider_for(server)) as client:
        created = client.cars.create(make="Volvo", model="240", year=1989, color="red")
        assert client.cars.get(created.id) == created
        replaced = client.cars.replace(created.id, make="Volvo", model="245", year=1990)
        assert (replaced.model, replaced.year, replaced.color) == ("245", 1990, None)
        patched = client.cars.update(created.id, color="blue")
        assert (patched.model, patched.color) == ("245", "blue")
        client.cars.delete(created.id)
        with pytest.raises(mysdk.NotFoundError) as info:
            client.cars.get(created.id)
    assert info.value.status_code == 404
    assert info.value.request_id  # the server sends X-Request-Id
    assert info.value.body["error"] == "not_found"


def test_pagination_walks_every_car_once(server: RunningServer) -> None:
    with CarsClient(base_url=server.base_url, auth=provider_for(server)) as client:
        ids = [client.cars.create(make="Fiat", model=f"m{i}", year=2000 + i).id
               for i in range(7)]
        walked = [car.id for car in client.cars.iterate(limit=3)]
    assert walked == ids


def test_validation_error_carries_field_errors(server: RunningServer) -> None:
    with CarsClient(base_url=server.base_url, auth=provider_for(server)) as client, \
            pytest.raises(mysdk.UnprocessableEntityError) as info:
        client.cars.create(make="", model="x", year=1700)
    assert set(info.value.body["fields"]) == {"make", "year"}


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_both_client_auth_methods(server: RunningServer, method: str) -> None:
    provider = provider_for(server, auth_method=method)
    with CarsClient(base_url=server.base_url, auth=provider) as client:
        assert client.cars.list().items == []
    assert server.stats.token_requests == 1


def test_wrong_secret_is_a_token_request_error(server: RunningServer) -> None:
    provider = mysdk.ClientCredentials(token_url=server.token_url, client_id="demo-client",
                                       client_secret="wrong-secret-123")
    with CarsClient(base_url=server.base_url, auth=provider) as client, \
            pytest.raises(mysdk.TokenRequestError) as info:
        client.cars.list()
    assert info.value.error == "invalid_client"
    assert "wrong-secret-123" not in str(info.value) + repr(info.value)
    assert server.stats.api_requests == 0


def test_new_token_after_real_expiry(start: Callable[..., RunningServer]) -> None:
    server = start(access_token_lifetime=1.0)
    events: list[mysdk.Event] = []
    with CarsClient(base_url=server.base_url, auth=provider_for(server),
                      on_event=events.append) as client:
        client.cars.list()
        time.sleep(1.2)  # past the server's token lifetime
        client.cars.list()
    assert server.stats.token_requests == 2
    assert [e.status for e in events if e.kind == "response"] == [200, 200]


def test_reauth_when_the_server_revokes_the_token(server: RunningServer) -> None:
    events: list[mysdk.Event] = []
    with CarsClient(base_url=server.base_url, auth=provider_for(server),
                      on_event=events.append) as client:
        car = client.cars.create(make="Saab", model="900", year=1992)
        server.expire_access_tokens()
        assert client.cars.get(car.id) == car
    assert server.stats.token_requests == 2
    assert [e.status for e in events if e.kind == "response"] == [201, 401, 200]


@pytest.mark.parametrize("threads", [16, 64])
def test_one_token_request_when_many_threads_hit_the_expiry(
    server: RunningServer, threads: int
) -> None:
    with CarsClient(base_url=server.base_url, auth=provider_for(server)) as client:
        client.cars.list()
        server.expire_access_tokens()  # every thread now holds a token the server refuses
        barrier = threading.Barrier(threads)
        failures: list[BaseException] = []

        def call() -> None:
            barrier.wait(timeout=10)
            try:
                client.cars.list()
            except BaseException as exc:  # collected and asserted below
                failures.append(exc)

        workers = [threading.Thread(target=call) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=30)
    assert failures == []
    assert server.stats.token_requests == 2  # the first token and exactly one refresh


def test_caller_session_is_used_and_left_open(server: RunningServer) -> None:
    session = requests.Session()
    session.headers["X-Gateway"] = "team-a"
    with CarsClient(base_url=server.base_url, auth=provider_for(server),
                      session=session) as client:
        client.cars.list()
    assert dict(session.headers)["X-Gateway"] == "team-a"
    assert "Authorization" not in session.headers
    assert session.get(f"{server.base_url}/healthz", timeout=5).status_code == 200
    session.close()


def test_a_redis_outage_degrades_to_direct_token_fetches(
    server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    from mysdk.tokens.redis import RedisTokenCache

    with socket.socket() as sock:  # a loopback port with nothing listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with RedisTokenCache(url=f"redis://127.0.0.1:{port}/0", lock_timeout=0.2) as cache, \
            CarsClient(base_url=server.base_url, auth=provider_for(server),
                         token_cache=cache) as client:
        client.cars.create(make="Saab", model="900", year=1992)
        assert len(client.cars.list().items) == 1
    assert server.stats.token_requests == 1  # this process still reuses its token
    assert any("token cache unavailable" in r.getMessage() for r in caplog.records)
