"""The declarative base of a resource, and how resources attach to a client.

A resource is a class that declares a path template and operations; it holds
no state but the client it is bound to and the path parameters bound so far::

    class Items(mysdk.Resource):
        path = "/v2/owners/{owner_id}/items"
        item = "item_id"                      # client.owners(1).items(9) binds item_id

        @mysdk.get("/{item_id}")
        def get(self) -> Item:
            raise NotImplementedError  # declared: mysdk sends it

    class Owners(mysdk.Resource):
        path = "/v2/owners"
        item = "owner_id"
        items = mysdk.resource(Items)         # nested: binds owner_id from the parent

    class AcmeClient(mysdk.Client):
        owners = mysdk.resource(Owners)

    client.owners(1).items(9).get()           # GET /v2/owners/1/items/9

One declaration serves a sync and an async client. A resource that is generic
over :data:`Mode` is typed for both: bound to a :class:`~mysdk.Client` its
operations return values, bound to an :class:`~mysdk.AsyncClient` (declared as
``mysdk.resource(Items[mysdk.Async])``) they return awaitables::

    class Items(mysdk.Resource[mysdk.Mode]):
        ...

    class Owners(mysdk.Resource[mysdk.Mode]):
        items: mysdk.ResourceField[Items[mysdk.Mode]] = mysdk.resource(Items)

    class AsyncAcmeClient(mysdk.AsyncClient):
        owners = mysdk.resource(Owners[mysdk.Async])

    await client.owners(1).items(9).get()
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, overload

from mysdk._types import NOT_GIVEN, NotGiven, TimeoutArg
from mysdk.errors import InvalidRequestError

if TYPE_CHECKING:
    from typing_extensions import Self

    from mysdk._base import BaseClient
    from mysdk.retry import RetryPolicy

__all__ = ["Async", "Mode", "Resource", "ResourceField", "Sync", "binding", "resource"]


class Sync:
    """Type marker: a resource bound to a :class:`~mysdk.Client` (the default)."""


class Async:
    """Type marker: a resource bound to an :class:`~mysdk.AsyncClient`; its
    operations return awaitables (``await client.cars.get(1)``)."""


if TYPE_CHECKING:
    from typing_extensions import TypeVar as _DefaultTypeVar

    Mode = _DefaultTypeVar("Mode", Sync, Async, default=Sync)
else:  # the default matters to type checkers only
    Mode = TypeVar("Mode", Sync, Async)
"""The type variable a resource is generic over: ``class Cars(mysdk.Resource[mysdk.Mode])``.

:class:`Sync` unless the resource is declared as ``Cars[mysdk.Async]``."""

RT = TypeVar("RT", bound="Resource[Any]")


class Resource(Generic[Mode]):
    """A group of operations under one path template.

    Class attributes:
        path: Template of the collection, e.g. ``"/owners/{owner_id}/items"``.
        item: Name of the parameter that identifies one item (e.g.
            ``"item_id"``): calling the resource, ``resource(9)``, binds it.
        credentials: Name of the client's credentials its operations use
            (``credentials=`` of :class:`~mysdk.Client`); ``None`` for none;
            default the client's ``auth``.

    Resources are cheap views: binding creates a new one, nothing is cached
    but the top-level resource per client. Declare ``Resource[mysdk.Mode]``
    to use one declaration with both clients (see the module docstring).
    """

    path: ClassVar[str] = ""
    item: ClassVar[str | None] = None
    credentials: ClassVar[str | NotGiven | None] = NOT_GIVEN

    __slots__ = ("_client", "_params")

    def __init__(self, client: BaseClient, params: Mapping[str, Any] | None = None) -> None:
        self._client = client
        self._params: Mapping[str, Any] = dict(params or {})

    def __call__(self, item_id: object) -> Self:
        """This resource with its ``item`` parameter bound to ``item_id``.

        Raises:
            InvalidRequestError: The resource declares no ``item``, or the id
                is ``None``.
        """
        if self.item is None:
            raise InvalidRequestError(f"{type(self).__name__} declares no item parameter")
        if item_id is None or item_id is NOT_GIVEN:
            raise InvalidRequestError(f"{type(self).__name__}: {self.item} must not be None")
        return type(self)(self._client, {**self._params, self.item: item_id})

    def with_options(
        self, *, headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None, timeout: TimeoutArg | NotGiven = NOT_GIVEN,
        retry: RetryPolicy | NotGiven | None = NOT_GIVEN, idempotency_keys: bool | None = None,
    ) -> Self:
        """This resource on ``client.with_options(...)`` (see :meth:`mysdk.Client.with_options`)."""
        client = self._client.with_options(headers=headers, params=params, timeout=timeout,
                                           retry=retry, idempotency_keys=idempotency_keys)
        return type(self)(client, self._params)

    @property
    def client(self) -> BaseClient:
        """The client this resource sends through."""
        return self._client

    def __repr__(self) -> str:
        bound = ", ".join(f"{k}={v!r}" for k, v in self._params.items())
        return f"{type(self).__name__}({bound})"


class ResourceField(Generic[RT]):
    """Attaches a resource class to a client class, or nests it in a resource.

    On a client, each client gets one instance (made on first access). In a
    resource, each access returns a new instance carrying the parent's bound
    parameters, so ``client.owners(1).items`` fills ``{owner_id}``.
    """

    def __init__(self, cls: type[RT]) -> None:
        origin = typing.get_origin(cls) or cls  # Cars[mysdk.Async] is Cars at run time
        if not (isinstance(origin, type) and issubclass(origin, Resource)):
            raise TypeError(f"mysdk.resource() takes a Resource subclass, got {cls!r}")
        self.cls: type[RT] = typing.cast("type[RT]", origin)
        self.name = origin.__name__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type) -> ResourceField[RT]: ...
    @overload
    def __get__(self, obj: object, owner: type) -> RT: ...

    def __get__(self, obj: object, owner: type) -> ResourceField[RT] | RT:
        if obj is None:
            return self
        if isinstance(obj, Resource):
            return self.cls(obj.client, obj._params)
        from mysdk._base import RESOURCE_CACHE_PREFIX

        key = RESOURCE_CACHE_PREFIX + self.name
        cached: RT | None = obj.__dict__.get(key)
        if cached is None:
            cached = obj.__dict__[key] = self.cls(obj)  # type: ignore[arg-type]
        return cached


def resource(cls: type[RT]) -> ResourceField[RT]:
    """Declare ``cls`` as a resource of a client class or a nested resource."""
    return ResourceField(cls)


def binding(owner: Any) -> tuple[Any, Mapping[str, Any], str | NotGiven | None, str]:
    """``(client, bound params, default credentials, base path)`` of an
    operation's owner (a resource, or a client for top-level operations)."""
    if isinstance(owner, Resource):
        return owner.client, owner._params, owner.credentials, owner.path
    return owner, {}, NOT_GIVEN, ""
