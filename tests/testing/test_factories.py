"""Factories of typed responses, errors and models for unit tests."""

from __future__ import annotations

import dataclasses

import pytest

import mysdk
from mysdk.testing import (
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


class Owner(mysdk.Model):
    id: int
    name: str
    email: str | None = None


@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    y: int


def test_make_model_builds_and_checks_a_model() -> None:
    owner = make_model(Owner, {"id": 1, "name": "Ada"}, email="ada@example.test")
    assert owner == Owner(id=1, name="Ada", email="ada@example.test")
    with pytest.raises(mysdk.DecodeError, match="name"):
        make_model(Owner, {"id": 1})
    with pytest.raises(mysdk.DecodeError, match="id"):
        make_model(Owner, id="one", name="Ada")


def test_make_model_takes_dataclasses_and_from_json_classes() -> None:
    assert make_model(Point, x=1, y=2) == Point(1, 2)

    class Legacy:
        def __init__(self, data: dict[str, object]) -> None:
            self.data = data

        @classmethod
        def from_json(cls, data: dict[str, object]) -> Legacy:
            return cls(data)

    assert make_model(Legacy, {"a": 1}, b=2).data == {"a": 1, "b": 2}
