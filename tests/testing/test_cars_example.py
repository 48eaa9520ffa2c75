"""The Cars example SDK unit-tested with the kit: fake token endpoint and factories.

What an SDK author forking mysdk writes for their own resources: no server, no
cassette, every token request counted.
"""

from __future__ import annotations

import pytest
from responses import matchers

import mysdk
from mysdk.testing import FakeTokenEndpoint, car_json, make_car, make_status_error

API = "https://api.example.test"
CARS = f"{API}/api/v1/cars"


def test_create_and_get_with_one_token(fake_token_endpoint: FakeTokenEndpoint) -> None:
    fake_token_endpoint.protect("POST", CARS, status=201, json=car_json(1, make="Saab"))
    fake_token_endpoint.protect("GET", f"{CARS}/1", json=car_json(1, make="Saab"))
    with fake_token_endpoint.client(API) as client:
        created = client.cars.create(make="Saab", model="Golf", year=2001)
        assert client.cars.get(created.id) == created == make_car(1, make="Saab")
    assert fake_token_endpoint.count == 1


def test_iterate_follows_cursors_and_survives_an_expiry(
        fake_token_endpoint: FakeTokenEndpoint) -> None:
    page_2 = matchers.query_param_matcher({"limit": "2", "cursor": "c2"})
    fake_token_endpoint.mock.get(CARS, match=[page_2], json={
        "items": [car_json(3)], "next_cursor": None})
    fake_token_endpoint.protect("GET", CARS, json={
        "items": [car_json(1), car_json(2)], "next_cursor": "c2"})
    with fake_token_endpoint.client(API) as client:
        cars = client.cars.iterate(limit=2)
        assert next(cars).id == 1
        fake_token_endpoint.expire()
        assert [car.id for car in cars] == [2, 3]
        assert client.cars.list(limit=2).next_cursor == "c2"  # expired: 401, new token, replay
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


def test_an_invalid_car_is_a_decode_error(fake_token_endpoint: FakeTokenEndpoint) -> None:
    fake_token_endpoint.protect("GET", f"{CARS}/9", json=car_json(9, year="1999"))
    with fake_token_endpoint.client(API) as client, pytest.raises(mysdk.DecodeError):
        client.cars.get(9)
