"""The Cars example SDK unit-tested with the kit: fake token endpoint and factories.

What an SDK author building on mysdk writes for their own client: no server, no
cassette, every token request counted.
"""

from __future__ import annotations

from typing import Any

import pytest
from responses import matchers

import mysdk
from examples.cars_sdk import Car, CarNotFound, CarsClient
from mysdk.testing import FakeTokenEndpoint, make_model, make_status_error

API = "https://api.example.test"
CARS = f"{API}/api/v1/cars"


def car_json(car_id: int, **changes: Any) -> dict[str, Any]:
    return {"id": car_id, "make": "VW", "model": "Golf", "year": 2000 + car_id, "color": None,
            "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
            **changes}


def test_create_and_get_with_one_token(fake_token_endpoint: FakeTokenEndpoint) -> None:
    fake_token_endpoint.protect("POST", CARS, status=201, json=car_json(1, make="Saab"))
    fake_token_endpoint.protect("GET", f"{CARS}/1", json=car_json(1, make="Saab"))
    with fake_token_endpoint.client(API, cls=CarsClient) as client:
        created = client.cars.create(make="Saab", model="Golf", year=2001)
        assert client.cars.get(created.id) == created == make_model(Car, car_json(1), make="Saab")
    assert fake_token_endpoint.count == 1


def test_iterate_follows_cursors_and_survives_an_expiry(
        fake_token_endpoint: FakeTokenEndpoint) -> None:
    page_2 = matchers.query_param_matcher({"limit": "2", "cursor": "c2"})
    fake_token_endpoint.mock.get(CARS, match=[page_2], json={
        "items": [car_json(3)], "next_cursor": None})
    fake_token_endpoint.protect("GET", CARS, json={
        "items": [car_json(1), car_json(2)], "next_cursor": "c2"})
    with fake_token_endpoint.client(API, cls=CarsClient) as client:
        cars = iter(client.cars.iterate(limit=2))
        assert next(cars).id == 1
        fake_token_endpoint.expire()
        assert [car.id for car in cars] == [2, 3]
        assert [car.id for car in client.cars.list(limit=2).items] == [1, 2]  # 401, new token
    assert fake_token_endpoint.grants == ["client_credentials", "client_credentials"]


def test_code_handling_errors_gets_the_client_s_typed_errors() -> None:
    def describe(error: mysdk.APIStatusError) -> str:  # code under test in a user's app
        if isinstance(error, mysdk.NotFoundError):
            return "gone"
        if isinstance(error, mysdk.RateLimitError):
            return f"retry in {error.retry_after:.0f}s"
        return "failed"

    assert describe(make_status_error(404, json={"error": "not_found"})) == "gone"
    assert describe(make_status_error(429, headers={"Retry-After": "7"})) == "retry in 7s"
    assert describe(make_status_error(500, body="oops")) == "failed"


def test_an_unknown_car_is_the_sdk_s_own_error(fake_token_endpoint: FakeTokenEndpoint) -> None:
    fake_token_endpoint.protect("GET", f"{CARS}/9", status=404,
                                json={"error": "not_found", "message": "car 9 not found"})
    with fake_token_endpoint.client(API, cls=CarsClient) as client, \
            pytest.raises(CarNotFound, match="car 9 not found"):
        client.cars.get(9)


def test_an_invalid_car_is_a_decode_error(fake_token_endpoint: FakeTokenEndpoint) -> None:
    fake_token_endpoint.protect("GET", f"{CARS}/9", json=car_json(9, year="1999"))
    with fake_token_endpoint.client(API, cls=CarsClient) as client, \
            pytest.raises(mysdk.DecodeError):
        client.cars.get(9)
