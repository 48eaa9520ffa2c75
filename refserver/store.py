"""SQLite storage of cars (stdlib ``sqlite3``).

One connection per server, guarded by a lock: ``:memory:`` databases exist only
inside their connection, and the handle may be closed from a thread other than
the one that opened it (hence ``check_same_thread=False``).
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime, timezone
from typing import TypedDict

from refserver.validation import CarFields

__all__ = ["Car", "CarStore", "utc_now"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cars (
    -- AUTOINCREMENT: ids are never reused, so cursors and 404s stay meaningful.
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    make TEXT NOT NULL,
    model TEXT NOT NULL,
    year INTEGER NOT NULL,
    color TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
)
"""
_COLUMNS = "id, make, model, year, color, created_at, updated_at"


class Car(TypedDict):
    id: int
    make: str
    model: str
    year: int
    color: str | None
    created_at: str
    updated_at: str


def utc_now() -> str:
    """RFC 3339 timestamp in UTC with a ``Z`` suffix, millisecond precision."""
    now = datetime.now(timezone.utc)
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _row_to_car(row: tuple[int, str, str, int, str | None, str, str]) -> Car:
    return Car(
        id=row[0],
        make=row[1],
        model=row[2],
        year=row[3],
        color=row[4],
        created_at=row[5],
        updated_at=row[6],
    )


class CarStore:
    def __init__(self, path: str = ":memory:") -> None:
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False)
        with self._lock, self._conn:
            self._conn.execute(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _one(self, car_id: int) -> Car | None:
        row = self._conn.execute(f"SELECT {_COLUMNS} FROM cars WHERE id = ?", (car_id,)).fetchone()
        return _row_to_car(row) if row else None

    def create(self, fields: CarFields) -> Car:
        now = utc_now()
        with self._lock, self._conn:
            cur = self._conn.execute(
                "INSERT INTO cars (make, model, year, color, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (fields["make"], fields["model"], fields["year"], fields.get("color"), now, now),
            )
            car = self._one(int(cur.lastrowid or 0))
        assert car is not None  # just inserted inside the same transaction
        return car

    def get(self, car_id: int) -> Car | None:
        with self._lock:
            return self._one(car_id)

    def list_page(self, *, after_id: int, limit: int, make: str | None) -> tuple[list[Car], bool]:
        """Cars with id > ``after_id`` in id order, and whether more follow."""
        sql = f"SELECT {_COLUMNS} FROM cars WHERE id > ?"
        params: list[object] = [after_id]
        if make is not None:
            sql += " AND make = ?"
            params.append(make)
        sql += " ORDER BY id LIMIT ?"
        params.append(limit + 1)  # one extra row tells whether there is a next page
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
        cars = [_row_to_car(r) for r in rows[:limit]]
        return cars, len(rows) > limit

    def update(self, car_id: int, fields: CarFields) -> Car | None:
        """Set the given fields (all of them for PUT, some for PATCH); None if absent."""
        with self._lock, self._conn:
            if self._one(car_id) is None:
                return None
            if fields:
                names = sorted(fields)  # keys come from validation.WRITABLE only
                assignments = ", ".join(f"{n} = ?" for n in names)
                values = [fields[n] for n in names]  # type: ignore[literal-required]
                self._conn.execute(
                    f"UPDATE cars SET {assignments}, updated_at = ? WHERE id = ?",
                    (*values, utc_now(), car_id),
                )
            return self._one(car_id)

    def delete(self, car_id: int) -> bool:
        with self._lock, self._conn:
            cur = self._conn.execute("DELETE FROM cars WHERE id = ?", (car_id,))
            return cur.rowcount > 0
