"""The Cars SDK's flows, replayed from cassettes recorded against the reference server."""

from __future__ import annotations

import pytest

import mysdk
from examples.cars_sdk import CarNotFound, CarsClient, CarValidationError
from mysdk.testing import Recorder
from refserver import RunningServer

pytestmark = pytest.mark.replay


def test_create_read_update_delete(recorded_client: CarsClient,
                                   mysdk_recorder: Recorder) -> None:
    cars = recorded_client.cars
    created = cars.create(make="Volvo", model="240", year=1989, color="red")
    assert cars.get(created.id) == created
    updated = cars.update(created.id, color="blue")
    assert updated.color == "blue"
    assert cars.replace(created.id, make="Volvo", model="245", year=1990).model == "245"
    cars.delete(created.id)
    with pytest.raises(CarNotFound) as info:
        cars.get(created.id)
    assert info.value.body == {"error": "not_found", "message": f"car {created.id} not found"}
    mysdk_recorder.assert_all_played()


def test_list_pages(recorded_client: CarsClient, mysdk_recorder: Recorder) -> None:
    for year in (2001, 2002, 2003):
        recorded_client.cars.create(make="Fiat", model="Punto", year=year)
    years = [car.year for car in recorded_client.cars.iterate(limit=2)]
    assert years == [2001, 2002, 2003]
    mysdk_recorder.assert_all_played()


def test_validation_error(recorded_client: CarsClient) -> None:
    with pytest.raises(CarValidationError) as info:
        recorded_client.cars.create(make="Volvo", model="240", year=1700)
    assert "year" in info.value.body["fields"]


def test_reauth_after_server_side_expiry(recorded_client: CarsClient,
                                         refserver_live: RunningServer | None) -> None:
    events: list[mysdk.Event] = []
    recorded_client._on_event = events.append  # observe this test's exchanges only
    car = recorded_client.cars.create(make="Saab", model="900", year=1992)
    if refserver_live is not None:  # recording: revoke server-side; a replay has the 401
        refserver_live.expire_access_tokens()
    assert recorded_client.cars.get(car.id) == car
    statuses = [e.status for e in events if e.kind == "response"]
    assert statuses == [201, 401, 200]
    assert [e.kind for e in events].count("reauth") == 1

