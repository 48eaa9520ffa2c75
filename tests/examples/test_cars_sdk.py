"""The example Cars SDK (examples/cars_sdk.py): declared operations over Client.request,
its errors, and cursor pagination."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import responses
from responses import matchers
from responses.registries import OrderedRegistry

from examples.cars_sdk import Car, Cars, CarsClient, CarsError
from mysdk import (
    DecodeError,
    InvalidRequestError,
    NotFoundError,
    UnprocessableEntityError,
)
from mysdk.pagination import Page

BASE = "https://api.example.com"
CARS = f"{BASE}/api/v1/cars"


def car_json(car_id: int, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": car_id, "make": "VW", "model": f"Golf {car_id}", "year": 2000 + car_id,
        "color": None, "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-02T00:00:00Z",
    }
    data.update(changes)
    return data


@pytest.fixture
def rs() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True,
                                registry=OrderedRegistry) as mock:
        yield mock


@pytest.fixture
def client() -> CarsClient:
    return CarsClient(base_url=BASE, retry=None)


def test_cars_is_one_resource_per_client(client: CarsClient) -> None:
    assert isinstance(client.cars, Cars)
    assert client.cars is client.cars
    assert CarsClient(base_url=BASE).cars is not client.cars


def test_create(rs: responses.RequestsMock, client: CarsClient) -> None:
    rs.post(CARS, status=201, json=car_json(1, color="red"), match=[
        matchers.json_params_matcher({"make": "VW", "model": "Golf 1", "year": 2001,
                                      "color": "red"}),
        matchers.header_matcher({"Idempotency-Key": "create-1"}),
    ])
    car = client.cars.create(make="VW", model="Golf 1", year=2001, color="red",
                             idempotency_key="create-1")
    assert car == Car.from_json(car_json(1, color="red"))
    assert car.color == "red"
    assert car.to_json() == car_json(1, color="red")


def test_create_without_a_key_sends_none(rs: responses.RequestsMock, client: CarsClient) -> None:
    rs.post(CARS, status=201, json=car_json(2))
    client.cars.create(make="VW", model="Golf 2", year=2002)
    assert "Idempotency-Key" not in rs.calls[0].request.headers


def test_get(rs: responses.RequestsMock, client: CarsClient) -> None:
    rs.get(f"{CARS}/7", json=car_json(7))
    car = client.cars.get(7)
    assert (car.id, car.make, car.model, car.year) == (7, "VW", "Golf 7", 2007)


def test_get_unknown_raises_not_found(rs: responses.RequestsMock, client: CarsClient) -> None:
    rs.get(f"{CARS}/99", status=404, json={"message": "no car 99"})
    with pytest.raises(NotFoundError, match="no car 99"):
        client.cars.get(99)


def test_replace(rs: responses.RequestsMock, client: CarsClient) -> None:
    rs.put(f"{CARS}/3", json=car_json(3, model="Polo"), match=[matchers.json_params_matcher(
        {"make": "VW", "model": "Polo", "year": 2003, "color": None})])
    assert client.cars.replace(3, make="VW", model="Polo", year=2003).model == "Polo"


def test_update_sends_only_the_given_fields(rs: responses.RequestsMock, client: CarsClient) -> None:
    rs.patch(f"{CARS}/3", json=car_json(3, color="blue"),
             match=[matchers.json_params_matcher({"color": "blue"})])
    assert client.cars.update(3, color="blue").color == "blue"


def test_update_validation_error(rs: responses.RequestsMock, client: CarsClient) -> None:
    rs.patch(f"{CARS}/3", status=422, json={"message": "invalid", "fields": {"year": "too old"}})
    with pytest.raises(UnprocessableEntityError) as info:
        client.cars.update(3, year=1500)
    assert info.value.body["fields"] == {"year": "too old"}


def test_delete(rs: responses.RequestsMock, client: CarsClient) -> None:
    rs.delete(f"{CARS}/3", status=204)
    assert client.cars.delete(3) is None
    assert rs.calls[0].request.method == "DELETE"


@pytest.mark.parametrize(
    ("car_id", "encoded"),
    [("1/../2", "1%2F..%2F2"), ("a b?c#d", "a%20b%3Fc%23d"), ("...", "..."), ("x%2F", "x%252F"),
     (42, "42")],
)
def test_ids_are_percent_encoded(rs: responses.RequestsMock, client: CarsClient, car_id: str,
                                 encoded: str) -> None:
    rs.get(f"{CARS}/{encoded}", json=car_json(1))
    client.cars.get(car_id)  # type: ignore[arg-type]
    assert rs.calls[0].request.path_url == f"/api/v1/cars/{encoded}"


@pytest.mark.parametrize("car_id", ["", ".", ".."])
@pytest.mark.parametrize("method", ["get", "delete", "update"])
def test_dot_segment_ids_are_refused(client: CarsClient, car_id: str, method: str) -> None:
    # requests removes "." and ".." segments: /cars/.. would become /api/v1/ and
    # /cars/. (or an empty id) the collection itself.
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rs:
        with pytest.raises(InvalidRequestError, match="id"):
            getattr(client.cars, method)(car_id)
        assert len(rs.calls) == 0


def test_list_one_page(rs: responses.RequestsMock, client: CarsClient) -> None:
    rs.get(CARS, json={"items": [car_json(1), car_json(2)], "next_cursor": "c2"},
           match=[matchers.query_param_matcher({"limit": "2", "make": "VW"})])
    page = client.cars.list(limit=2, make="VW")
    assert isinstance(page, Page)
    assert [c.id for c in page.items] == [1, 2]
    assert page.next_cursor == "c2"


def test_list_last_page_has_no_cursor(rs: responses.RequestsMock, client: CarsClient) -> None:
    rs.get(CARS, json={"items": [], "next_cursor": None},
           match=[matchers.query_param_matcher({"limit": "20", "cursor": "c9"})])
    page = client.cars.list(cursor="c9")
    assert page.items == []
    assert page.next_cursor is None


def test_iterate_follows_the_cursor_across_an_empty_page(
    rs: responses.RequestsMock, client: CarsClient
) -> None:
    rs.get(CARS, json={"items": [car_json(1), car_json(2)], "next_cursor": "p2"},
           match=[matchers.query_param_matcher({"limit": "2"})])
    rs.get(CARS, json={"items": [], "next_cursor": "p3"},
           match=[matchers.query_param_matcher({"limit": "2", "cursor": "p2"})])
    rs.get(CARS, json={"items": [car_json(3)], "next_cursor": None},
           match=[matchers.query_param_matcher({"limit": "2", "cursor": "p3"})])
    cars = client.cars.iterate(limit=2)
    assert len(rs.calls) == 0  # lazy: nothing fetched before iterating
    assert next(cars).id == 1
    assert len(rs.calls) == 1
    assert [c.id for c in cars] == [2, 3]
    assert len(rs.calls) == 3


def test_iterate_stops_after_max_pages(rs: responses.RequestsMock, client: CarsClient) -> None:
    rs.get(CARS, json={"items": [car_json(1)], "next_cursor": "p2"})
    rs.get(CARS, json={"items": [car_json(2)], "next_cursor": "p3"})
    assert [c.id for c in client.cars.iterate(max_pages=2)] == [1, 2]


def test_a_repeated_cursor_raises_decode_error(
    rs: responses.RequestsMock, client: CarsClient
) -> None:
    rs.get(CARS, json={"items": [car_json(1)], "next_cursor": "a"})
    rs.get(CARS, json={"items": [car_json(2)], "next_cursor": "b"})
    rs.get(CARS, json={"items": [car_json(3)], "next_cursor": "a"})
    cars = client.cars.iterate()
    assert [next(cars).id for _ in range(3)] == [1, 2, 3]
    with pytest.raises(DecodeError, match="cursor"):
        next(cars)
    assert len(rs.calls) == 3


@pytest.mark.parametrize(
    "bad",
    [
        {k: v for k, v in car_json(1).items() if k != "make"},
        car_json(1, year="2001"),
        car_json(1, id="1"),
        car_json(1, model=None),
        [car_json(1)],
        "a car",
    ],
)
def test_bad_car_json_raises_decode_error(rs: responses.RequestsMock, client: CarsClient,
                                          bad: Any) -> None:
    rs.get(f"{CARS}/1", json=bad)
    with pytest.raises(DecodeError, match="Car"):
        client.cars.get(1)


@pytest.mark.parametrize(
    "bad",
    [[car_json(1)], {"next_cursor": None}, {"items": {"0": car_json(1)}},
     {"items": [car_json(1, make=3)], "next_cursor": None}],
)
def test_bad_page_json_raises_decode_error(rs: responses.RequestsMock, client: CarsClient,
                                           bad: Any) -> None:
    rs.get(CARS, json=bad)
    with pytest.raises(DecodeError):
        client.cars.list()


def test_every_error_is_a_cars_error_and_a_mysdk_error(
    rs: responses.RequestsMock, client: CarsClient
) -> None:
    import pickle

    from examples.cars_sdk import CarNotFound

    rs.get(f"{CARS}/5", status=404, json={"error": "not_found", "message": "no car 5"})
    with pytest.raises(CarsError) as info:
        client.cars.get(5)
    err = info.value
    assert isinstance(err, CarNotFound)
    assert isinstance(err, NotFoundError)
    assert err.code == "not_found"
    assert "no car 5" in str(err)
    clone = pickle.loads(pickle.dumps(err))  # noqa: S301 - our own data
    assert isinstance(clone, CarsError)
    assert isinstance(clone, CarNotFound)
    assert type(clone).__name__ == "CarNotFound"


def test_transport_and_argument_errors_are_cars_errors_too(client: CarsClient) -> None:
    with pytest.raises(CarsError) as info:
        client.cars.get("..")  # type: ignore[arg-type]
    assert isinstance(info.value, InvalidRequestError)


def test_the_user_agent_names_the_sdk(rs: responses.RequestsMock, client: CarsClient) -> None:
    rs.get(f"{CARS}/5", json=car_json(5))
    client.cars.get(5)
    agent = rs.calls[0].request.headers["User-Agent"]
    assert agent.startswith("cars-sdk/1.0.0 mysdk/")


def test_events_go_to_the_sdks_logger(
    rs: responses.RequestsMock, client: CarsClient, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.DEBUG, logger="cars_sdk")
    rs.get(f"{CARS}/5", json=car_json(5))
    client.cars.get(5)
    assert [r.name for r in caplog.records] == ["cars_sdk"]
    assert "response GET /api/v1/cars/5" in caplog.text
