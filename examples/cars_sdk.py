"""The Cars API SDK: the worked example, built only on mysdk's public names.

This is what an SDK author writes for their own API: models, errors, resources
and a client class, all declared. The reference server in ``refserver/`` serves
this API; ``examples/cars_demo.py`` drives it, and ``examples/cars_async_demo.py``
drives :class:`AsyncCarsClient`, which binds the same declarations with
``await`` (the resource is generic over ``mysdk.Mode``).
"""

from __future__ import annotations

import mysdk
from mysdk import NOT_GIVEN, NotGiven

__all__ = ["AsyncCarsClient", "Car", "CarNotFound", "CarValidationError", "Cars", "CarsClient",
           "CarsError"]

__version__ = "1.0.0"


class CarsError(mysdk.MySDKError):
    """Root of every error the Cars SDK raises (each is also a mysdk error)."""


class CarNotFound(mysdk.NotFoundError):
    """No car has that id (HTTP 404)."""


class CarValidationError(mysdk.UnprocessableEntityError):
    """The car was refused (HTTP 422); ``details`` maps each field to its problem."""


class Car(mysdk.Model):
    """A car as the API returns it (times are RFC 3339 UTC strings)."""

    id: int
    make: str
    model: str
    year: int
    color: str | None = None
    created_at: str
    updated_at: str


class Cars(mysdk.Resource[mysdk.Mode]):
    """``client.cars``: create, read, replace, update, delete and list cars."""

    path = "/api/v1/cars"
    item = "car_id"

    @mysdk.post("", expect=(201,), headers={"idempotency_key": "Idempotency-Key"})
    def create(self, *, make: str, model: str, year: int, color: str | None = None,
               idempotency_key: str | None = None) -> Car:
        """``POST /api/v1/cars`` (201); ``idempotency_key`` makes it safe to retry."""
        raise NotImplementedError  # declared: mysdk sends it

    @mysdk.get("/{car_id}")
    def get(self, car_id: int) -> Car:
        """``GET /api/v1/cars/{car_id}``; raises :class:`CarNotFound`."""
        raise NotImplementedError

    @mysdk.put("/{car_id}")
    def replace(self, car_id: int, *, make: str, model: str, year: int,
                color: str | None = None) -> Car:
        """``PUT /api/v1/cars/{car_id}``: replace every field."""
        raise NotImplementedError

    @mysdk.patch("/{car_id}")
    def update(self, car_id: int, *, make: str | NotGiven = NOT_GIVEN,
               model: str | NotGiven = NOT_GIVEN, year: int | NotGiven = NOT_GIVEN,
               color: str | NotGiven | None = NOT_GIVEN) -> Car:
        """``PATCH /api/v1/cars/{car_id}``: change only the fields given (``color=None`` clears)."""
        raise NotImplementedError

    @mysdk.delete("/{car_id}", expect=(204,))
    def delete(self, car_id: int) -> None:
        """``DELETE /api/v1/cars/{car_id}`` (204)."""
        raise NotImplementedError

    @mysdk.get("", page=mysdk.Cursor())
    def list(self, *, limit: int = 20, cursor: str | None = None,
             make: str | None = None) -> mysdk.Page[Car]:
        """One page of ``GET /api/v1/cars`` (``cursor``: the previous page's ``next_cursor``)."""
        raise NotImplementedError

    @mysdk.get("", page=mysdk.Cursor())
    def iterate(self, *, limit: int = 20, make: str | None = None,
                max_pages: int | None = None, max_items: int | None = None,
                start: mysdk.PageRequest | None = None) -> mysdk.Pager[Car]:
        """Every car, fetched page by page as you iterate (``.pages()`` for pages)."""
        raise NotImplementedError


class CarsClient(mysdk.Client):
    """The Cars API client: ``CarsClient(base_url=..., auth=mysdk.ClientCredentials(...))``."""

    brand = mysdk.Brand("cars-sdk", __version__, error=CarsError)
    error_map = mysdk.ErrorMap(
        envelope=mysdk.ErrorEnvelope(code="error", message="message", request_id=None,
                                     details="fields"),
        by_status={404: CarNotFound, 422: CarValidationError},
    )
    cars = mysdk.resource(Cars)


class AsyncCarsClient(mysdk.AsyncClient):
    """The same API on asyncio: ``await client.cars.get(1)``, ``async for car in
    client.cars.iterate()``; same options, errors and token handling as :class:`CarsClient`."""

    brand = CarsClient.brand
    error_map = CarsClient.error_map
    cars = mysdk.resource(Cars[mysdk.Async])
