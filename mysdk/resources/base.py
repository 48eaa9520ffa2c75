"""The declarative base of a resource: a collection path and a model type."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar
from urllib.parse import quote

from mysdk.errors import DecodeError, InvalidRequestError

if TYPE_CHECKING:
    from mysdk.client import Client

__all__ = ["Model", "Resource"]


class Model(Protocol):
    """A value type built from a JSON object."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Any:
        """Build the value; raise ``KeyError``/``TypeError``/``ValueError`` on a bad shape."""
        ...


M = TypeVar("M", bound=Model)


class Resource(Generic[M]):
    """A REST collection: subclasses declare ``path`` and ``model``.

    Example::

        class CarsResource(Resource[Car]):
            path = "/api/v1/cars"
            model = Car
    """

    path: ClassVar[str]
    model: ClassVar[type[Any]]

    def __init__(self, client: Client) -> None:
        self._client = client

    def item_path(self, item_id: int | str) -> str:
        """The path of one item; the id is percent-encoded (no path injection).

        Raises:
            InvalidRequestError: The id is ``""``, ``"."`` or ``".."``, which
                URL normalisation would turn into the collection or its parent.
        """
        text = str(item_id)
        if text in ("", ".", ".."):
            raise InvalidRequestError(f"{type(self).__name__}: item id {text!r} is not valid")
        return f"{self.path}/{quote(text, safe='')}"

    def _parse(self, data: Any) -> M:
        """Build one model from JSON, or raise :class:`~mysdk.errors.DecodeError`."""
        if not isinstance(data, Mapping):
            raise DecodeError(f"expected a JSON object for {self.model.__name__}, got "
                              f"{type(data).__name__}")
        try:
            return self.model.from_json(data)  # type: ignore[no-any-return]
        except (KeyError, TypeError, ValueError) as exc:
            raise DecodeError(f"cannot read {self.model.__name__} from the response: "
                              f"{type(exc).__name__}: {exc}") from exc
