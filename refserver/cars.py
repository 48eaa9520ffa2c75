"""The Cars API resource handlers (``/api/v1/cars``, ``/api/v1/ping``).

Status codes follow RFC 9110: 201 + Location on create (§15.3.2), 204 without
content on delete (§15.3.5), 404 for unknown ids, 422 for well-formed JSON that
fails validation (§15.5.21), 400 for a body that is not JSON (§15.5.1).
"""

from __future__ import annotations

from refserver.handlers import ApiHandler
from refserver.store import Car
from refserver.validation import (
    MSG_CURSOR,
    MSG_LIMIT,
    CarFields,
    decode_cursor,
    encode_cursor,
    parse_limit,
    validate_car,
)

__all__ = ["ApiFallbackHandler", "CarHandler", "CarsHandler", "PingHandler"]

CARS_PATH = "/api/v1/cars"


class PingHandler(ApiHandler):
    """``GET /api/v1/ping``: the cheapest authenticated call, for benchmarks."""

    NEEDS_SCOPES = False

    def get(self) -> None:
        self.respond(200, {"pong": True})


class ApiFallbackHandler(ApiHandler):
    """Unknown ``/api/v1/*`` paths: still counted, faulted and authenticated, then 404."""

    ALLOWED_METHODS = ()

    async def prepare(self) -> None:
        await super().prepare()
        if not self._finished:
            self.respond(404, {"error": "not_found", "message": "no such resource"})


class _CarsBase(ApiHandler):
    def car_fields(self, *, partial: bool) -> CarFields | None:
        """Validated fields, or None after answering 400/422."""
        payload, ok = self.json_body()
        if not ok:
            return None
        fields, errors = validate_car(payload, partial=partial)
        if errors:
            self.respond(
                422, {"error": "validation_error", "message": "invalid car", "fields": errors}
            )
            return None
        return fields

    def not_found(self, raw_id: str) -> None:
        self.respond(404, {"error": "not_found", "message": f"car {raw_id} not found"})


class CarsHandler(_CarsBase):
    """``/api/v1/cars``: list with keyset paging, create."""

    ALLOWED_METHODS = ("GET", "POST")

    def get(self) -> None:
        errors: dict[str, str] = {}
        limit = parse_limit(self.get_query_argument("limit", None))
        if limit is None:
            errors["limit"] = MSG_LIMIT
        after_id = 0
        cursor = self.get_query_argument("cursor", None)
        if cursor is not None:
            decoded = decode_cursor(cursor)
            if decoded is None:
                errors["cursor"] = MSG_CURSOR
            else:
                after_id = decoded
        if errors or limit is None:
            self.respond(
                422, {"error": "validation_error", "message": "invalid query", "fields": errors}
            )
            return
        make = self.get_query_argument("make", None)
        cars, more = self.ctx.cars.list_page(after_id=after_id, limit=limit, make=make)
        next_cursor = encode_cursor(cars[-1]["id"]) if more and cars else None
        self.respond(200, {"items": cars, "next_cursor": next_cursor})

    def post(self) -> None:
        fields = self.car_fields(partial=False)
        if fields is None:
            return
        car = self.ctx.cars.create(fields)
        self.ctx.stats.record_car_created()
        self.respond(201, car, {"Location": f"{CARS_PATH}/{car['id']}"})


class CarHandler(_CarsBase):
    """``/api/v1/cars/{id}``: read, full replace, partial update, delete."""

    ALLOWED_METHODS = ("GET", "PUT", "PATCH", "DELETE")

    def _car_id(self, raw_id: str) -> int | None:
        # Route accepts any segment so a non-numeric id is a 404 "car x not found".
        return int(raw_id) if raw_id.isdigit() and len(raw_id) <= 18 else None

    def get(self, raw_id: str) -> None:
        car_id = self._car_id(raw_id)
        car = self.ctx.cars.get(car_id) if car_id is not None else None
        self._answer(raw_id, car)

    def put(self, raw_id: str) -> None:
        self._write(raw_id, partial=False)

    def patch(self, raw_id: str) -> None:
        self._write(raw_id, partial=True)

    def delete(self, raw_id: str) -> None:
        car_id = self._car_id(raw_id)
        if car_id is None or not self.ctx.cars.delete(car_id):
            self.not_found(raw_id)
            return
        self.respond(204)

    def _write(self, raw_id: str, *, partial: bool) -> None:
        car_id = self._car_id(raw_id)
        if car_id is None or self.ctx.cars.get(car_id) is None:
            # 404 before validating: the resource's existence is the first question.
            self.not_found(raw_id)
            return
        fields = self.car_fields(partial=partial)
        if fields is None:
            return
        self._answer(raw_id, self.ctx.cars.update(car_id, fields))

    def _answer(self, raw_id: str, car: Car | None) -> None:
        if car is None:
            self.not_found(raw_id)
        else:
            self.respond(200, car)
