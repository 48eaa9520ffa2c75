"""The Cars API (``/api/v1/cars``): the worked example resource."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from mysdk.errors import DecodeError
from mysdk.pagination import Page, iterate_items
from mysdk.resources.base import Resource

__all__ = ["Car", "CarsResource"]


@dataclass(frozen=True, slots=True)
class Car:
    """A car as the API returns it.

    Attributes:
        id: Server-assigned id.
        make: Manufacturer, 1 to 64 characters.
        model: Model name, 1 to 64 characters.
        year: Model year, 1886 to 2100.
        color: Colour, or ``None``.
        created_at: RFC 3339 UTC timestamp of creation.
        updated_at: RFC 3339 UTC timestamp of the last change.
    """

    id: int
    make: str
    model: str
    year: int
    color: str | None
    created_at: str
    updated_at: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Car:
        """Build a car from the API's JSON object.

        Raises:
            KeyError: A field is missing.
            TypeError: A field has the wrong type.
        """
        car = cls(
            id=data["id"], make=data["make"], model=data["model"], year=data["year"],
            color=data.get("color"), created_at=data["created_at"],
            updated_at=data["updated_at"],
        )
        for name, kind in (("id", int), ("make", str), ("model", str), ("year", int)):
            if not isinstance(getattr(car, name), kind):
                raise TypeError(f"field {name!r} should be {kind.__name__}")
        return car

    def to_json(self) -> dict[str, Any]:
        """The car as a JSON-ready dict."""
        return asdict(self)


class CarsResource(Resource[Car]):
    """``client.cars``: create, read, update, delete and list cars.

    Every method raises what :meth:`mysdk.Client.request` raises, e.g.
    :class:`~mysdk.errors.NotFoundError` for an unknown id and
    :class:`~mysdk.errors.UnprocessableEntityError` (``body["fields"]`` maps
    field → message) for invalid input, plus :class:`~mysdk.errors.DecodeError`
    when the response is not a car.
    """

    path = "/api/v1/cars"
    model = Car

    def create(self, *, make: str, model: str, year: int, color: str | None = None,
               idempotency_key: str | None = None) -> Car:
        """``POST /api/v1/cars``; returns the created car (201).

        Args:
            make: Manufacturer.
            model: Model name.
            year: Model year.
            color: Colour, or ``None``.
            idempotency_key: Sent as ``Idempotency-Key`` so the create can be
                retried without creating twice; default: the client's setting.
        """
        body = {"make": make, "model": model, "year": year, "color": color}
        extra: dict[str, Any] = {} if idempotency_key is None else {
            "idempotency_key": idempotency_key}
        return self._parse(self._client.post(self.path, json=body, **extra))

    def get(self, car_id: int) -> Car:
        """``GET /api/v1/cars/{id}``."""
        return self._parse(self._client.get(self.item_path(car_id)))

    def replace(self, car_id: int, *, make: str, model: str, year: int,
                color: str | None = None) -> Car:
        """``PUT /api/v1/cars/{id}``: replace every field."""
        body = {"make": make, "model": model, "year": year, "color": color}
        return self._parse(self._client.put(self.item_path(car_id), json=body))

    def update(self, car_id: int, **fields: Any) -> Car:
        """``PATCH /api/v1/cars/{id}``: change only the given fields."""
        return self._parse(self._client.patch(self.item_path(car_id), json=fields))

    def delete(self, car_id: int) -> None:
        """``DELETE /api/v1/cars/{id}`` (204)."""
        self._client.delete(self.item_path(car_id))

    def list(self, *, limit: int = 20, cursor: str | None = None,
             make: str | None = None) -> Page[Car]:
        """``GET /api/v1/cars``: one page.

        Args:
            limit: Items per page, 1 to 100.
            cursor: ``next_cursor`` of the previous page; ``None`` for the first.
            make: Only cars of this make.
        """
        data = self._client.get(self.path, params={"limit": limit, "cursor": cursor,
                                                   "make": make})
        if not isinstance(data, Mapping) or not isinstance(data.get("items"), list):
            raise DecodeError("expected {'items': [...], 'next_cursor': ...} from GET "
                              f"{self.path}")
        cursor_out = data.get("next_cursor")
        return Page([self._parse(item) for item in data["items"]],
                    cursor_out if isinstance(cursor_out, str) else None)

    def iterate(self, *, limit: int = 20, make: str | None = None,
                max_pages: int | None = None) -> Iterator[Car]:
        """Every car, page by page (lazily); see :meth:`list`."""
        return iterate_items(lambda c: self.list(limit=limit, cursor=c, make=make),
                             max_pages=max_pages)
