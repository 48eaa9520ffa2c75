"""Factories of typed responses, errors and models for unit tests."""

from __future__ import annotations

import pytest

import mysdk
from mysdk.resources.cars import Car
from mysdk.testing import (
    car_json,
    make_car,
    make_model,
    make_response,
    make_status_error,
)


def test_make_response_with_json() -> None:
    resp = make_response(201, json={"id": 7}, headers={"X-Request-Id": "r-1"}, method="POST",
                         url="https://api.example.test/api/v1/cars")
    assert resp.status_code == 201
    assert resp.reason == "Created"
    assert resp.json() == {"id": 7}
    assert resp.headers["content-type"] == "application/json"
    assert resp.headers["x-request-id"] == "r-1"
    assert resp.request.method == "POST"
    assert resp.url == "https://api.example.test/api/v1/cars"
    assert resp.ok


def test_make_response_with_a_raw_body() -> None:
    resp = make_response(200, body="plain text", headers={"Content-Type": "text/plain"})
    assert resp.text == "plain text"
    assert resp.content == b"plain text"
    assert make_response(599).reason == ""


def test_json_and_body_together_are_refused() -> None:
    with pytest.raises(ValueError, match="json or body"):
        make_response(json={}, body=b"x")


@pytest.mark.parametrize(("status", "cls"), [
    (400, mysdk.BadRequestError), (401, mysdk.UnauthorizedError), (404, mysdk.NotFoundError),
    (409, mysdk.ConflictError), (422, mysdk.UnprocessableEntityError),
    (429, mysdk.RateLimitError), (503, mysdk.ServerError),
])
def test_make_status_error_builds_the_client_s_error(status: int, cls: type) -> None:
    error = make_status_error(status, json={"error": "x", "message": "why"},
                              headers={"X-Request-Id": "req-9", "Retry-After": "3"})
    assert type(error) is cls
    assert error.status_code == status
    assert error.body == {"error": "x", "message": "why"}
    assert error.request_id == "req-9"
    assert "why" in str(error)


def test_make_status_error_reads_retry_after() -> None:
    assert make_status_error(429, headers={"Retry-After": "3"}).retry_after == 3.0


def test_make_model_and_make_car() -> None:
    car = make_car(7, color="blue")
    assert isinstance(car, Car)
    assert (car.id, car.make, car.color, car.year) == (7, "VW", "blue", 2007)
    assert make_model(Car, car_json(7), color="blue") == car
    with pytest.raises(KeyError):
        make_model(Car, {"id": 1})

