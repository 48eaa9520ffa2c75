"""The Cars API (``/api/v1/cars``): the worked example resource."""

from __future__ import annotations

from typing import Any

from mysdk.models import Model
from mysdk.pagination import Cursor, Page, Pager, PageRequest
from mysdk.resources.base import Resource

__all__ = ["Car", "CarsResource"]


class Car(Model):
    """A car as the API returns it (unknown fields are ignored).

    Attributes:
        id: Server-assigned id.
        make: Manufacturer, 1 to 64 characters.
        model: Model name, 1 to 64 characters.
        year: Model year, 1886 to 2100.
        color: Colour, or ``None`` (also when the field is absent).
        created_at: RFC 3339 UTC timestamp of creation.
        updated_at: RFC 3339 UTC timestamp of the last change.

    ``Car.from_json(data)`` checks every field's type and raises
    :class:`~mysdk.errors.DecodeError` naming the field; ``car.to_json()`` gives
    the JSON object back (see :class:`mysdk.models.Model`).
    """

    id: int
    make: str
    model: str
    year: int
    color: str | None = None
    created_at: str
    updated_at: str


_PAGES = Cursor()  # {"items": [...], "next_cursor": "..."}; the next page is ?cursor=...


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

        Returns:
            The page: ``items``, ``next`` (``None`` on the last page) and
            ``next_cursor``, the text to pass as ``cursor`` for the next page.

        Raises:
            DecodeError: The body is not ``{"items": [...], "next_cursor": ...}``
                or an item is not a car (the message names it: ``items[3].year``).
        """
        request = _PAGES.first({"cursor": cursor})
        data = self._client.get(self.path, params={"limit": limit, "make": make,
                                                   **request.params})
        return _PAGES.parse(request, data, {}, Car.from_json)

    def iterate(self, *, limit: int = 20, make: str | None = None, cursor: str | None = None,
                max_pages: int | None = None, max_items: int | None = None) -> Pager[Car]:
        """Every car, fetching pages lazily (crossing empty ones); see :meth:`list`.

        Args:
            limit: Items per page, 1 to 100.
            make: Only cars of this make.
            cursor: Resume from a saved ``next_cursor``; ``None`` starts at the beginning.
            max_pages: Fetch at most this many pages; ``None`` for all.
            max_items: Yield at most this many cars; ``None`` for all.

        Returns:
            A :class:`~mysdk.pagination.Pager` (an iterator of cars; ``.pages()``
            goes page by page; ``.next_request`` is where to resume).

        Raises:
            InvalidRequestError: ``max_pages`` or ``max_items`` is not an int >= 1.
            DecodeError: (while iterating) a bad page, or a cursor seen before.
        """
        def fetch(request: PageRequest) -> Page[Car]:
            return self.list(limit=limit, make=make, cursor=request.params.get("cursor"))

        return Pager(fetch, _PAGES.first({"cursor": cursor}), max_pages=max_pages,
                     max_items=max_items)
