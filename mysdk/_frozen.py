"""A minimal immutable value base, so the import path avoids ``dataclasses``.

``import dataclasses`` pulls in ``inspect`` and ``ast`` (about 5 ms); mysdk's
import budget is 10% of ``import requests``, so its value types use this.
"""

from __future__ import annotations

from typing import Any, TypeVar

__all__ = ["Frozen"]

F = TypeVar("F", bound="Frozen")


class Frozen:
    """Immutable slots object: equality, hash, pickling and ``replace()`` by field.

    Subclasses list their fields in ``__slots__`` (in constructor order), set
    them in ``__init__`` with :meth:`_set`, and accept every field as a keyword.
    """

    __slots__: tuple[str, ...] = ()

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; use replace()")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}

    def replace(self: F, **changes: Any) -> F:
        """Return a copy with ``changes`` applied, validated like the constructor.

        Raises:
            TypeError: A name is not a field.
            ValueError: A changed value is invalid.
        """
        fields = self._fields()
        unknown = set(changes) - set(fields)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field(s) {sorted(unknown)}")
        fields.update(changes)
        return type(self)(**fields)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.__slots__)

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, n) for n in self.__slots__))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self._fields()))


def _rebuild(cls: type[F], fields: dict[str, Any]) -> F:
    return cls(**fields)
