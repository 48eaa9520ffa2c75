"""The Cars API flows, replayed from cassettes recorded against the reference server."""

from __future__ import annotations

import pytest

import mysdk
from tests.replay.conftest import Replay

pytestmark = pytest.mark.replay


def test_create_read_update_delete(replay: Replay) -> None:
    cars = replay.client.cars
    created = cars.create(make="Volvo", model="240", year=1989, color="red")
    assert cars.get(created.id) == created
    updated = cars.update(created.id, color="blue")
    assert updated.color == "blue"
    assert cars.replace(created.id, make="Volvo", model="245", year=1990).model == "245"
    cars.delete(created.id)
    with pytest.raises(mysdk.NotFoundError) as info:
        cars.get(created.id)
    assert info.value.body == {"error": "not_found", "message": f"car {created.id} not found"}


def test_list_pages(replay: Replay) -> None:
    for year in (2001, 2002, 2003):
        replay.client.cars.create(make="Fiat", model="Punto", year=year)
    years = [car.year for car in replay.client.cars.iterate(limit=2)]
    assert years == [2001, 2002, 2003]


def test_validation_error(replay: Replay) -> None:
    with pytest.raises(mysdk.UnprocessableEntityError) as info:
        replay.client.cars.create(make="Volvo", model="240", year=1700)
    assert "year" in info.value.body["fields"]


def test_reauth_after_server_side_expiry(replay: Replay) -> None:
    events: list[mysdk.Event] = []
    replay.client._on_event = events.append  # observe this test's exchanges only
    car = replay.client.cars.create(make="Saab", model="900", year=1992)
    replay.expire_tokens()
    assert replay.client.cars.get(car.id) == car
    statuses = [e.status for e in events if e.kind == "response"]
    assert statuses == [201, 401, 200]
    assert [e.kind for e in events].count("reauth") == 1
