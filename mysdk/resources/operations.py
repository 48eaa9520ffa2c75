"""Declared operations: a typed method signature plus where each argument goes.

An operation is declared on a :class:`~mysdk.resources.Resource` (or on a
:class:`~mysdk.Client` subclass) by decorating a method whose body is never run::

    class Cats(mysdk.Resource):
        path = "/cats"

        @mysdk.get("/{cat_id}")
        def get(self, cat_id: int) -> Cat:
            raise NotImplementedError  # declared: mysdk sends it

The method's parameters and return annotation are the operation's typed
interface (mypy sees them unchanged); the decorator records, as data, the HTTP
method, the path template, where the other arguments go (query, JSON body,
form, multipart files, headers), the expected statuses, and the pagination or
streaming style. Declaring performs no I/O, so an async client can bind the
same declarations. Calling the bound method sends the request through
:meth:`mysdk.Client.request`; ``.raw(...)`` returns a
:class:`RawResponse` with the status, headers and the parsed value. Bound to an
:class:`mysdk.AsyncClient`, the same declaration sends through
:meth:`mysdk.AsyncClient.request` and returns an awaitable (a
``mysdk.AsyncPager`` for a paginated operation, iterated with ``async for``).
Everything but the send itself (argument binding, path expansion, placing
arguments, parsing the answer) is the same code for both.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Collection, Coroutine, Mapping
from types import SimpleNamespace
from typing import (
    TYPE_CHECKING,
    Any,
    Concatenate,
    Generic,
    ParamSpec,
    TypedDict,
    TypeVar,
    overload,
)

import requests

from mysdk._types import NOT_GIVEN, NotGiven
from mysdk.errors import APIStatusError, DecodeError, InvalidRequestError, MySDKError, safe_url
from mysdk.resources.base import Resource
from mysdk.resources.paths import expand, template_names

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from mysdk._base import BaseClient
    from mysdk.async_client import AsyncClient
    from mysdk.client import Client
    from mysdk.pagination import AsyncPager, Page, Pager, PageRequest, Paginator
    from mysdk.resources.base import Async, Sync
    from mysdk.streaming import AsyncStream, Stream

__all__ = ["AsyncBoundOperation", "BoundOperation", "Operation", "OperationOptions",
           "OperationSpec", "RawResponse", "delete", "get", "operation", "patch", "post", "put"]

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

_PAGER_ARGS = frozenset({"max_pages", "max_items", "start"})  # go to the Pager, not the API
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_CO_VARARGS, _CO_VARKEYWORDS = 0x04, 0x08


class OperationOptions(TypedDict, total=False):
    """The keyword options of :func:`operation` (and of :func:`get`, :func:`post`, ...)."""

    expect: Collection[int] | None
    query: Collection[str]
    json: Collection[str]
    form: Collection[str]
    files: Collection[str]
    body: str | None
    headers: Mapping[str, str]
    page: Paginator | None
    stream: str | None
    credentials: str | NotGiven | None
    returns: Any


class RawResponse(Generic[T]):
    """An operation's parsed value with the response it came from.

    Attributes:
        parsed: What the operation returns (model, list, ``None``...).
        response: The ``requests.Response`` (an ``httpx.Response`` from an
            :class:`~mysdk.AsyncClient`), body already read.
        status_code: The HTTP status.
        headers: The response headers.
        request_id: The ``X-Request-Id``/``Request-Id`` header, or None.
    """

    __slots__ = ("headers", "parsed", "request_id", "response", "status_code")

    def __init__(self, parsed: T, response: Any) -> None:
        self.parsed = parsed
        self.response = response
        self.status_code = response.status_code
        self.headers = response.headers
        self.request_id = response.headers.get("X-Request-Id") or response.headers.get(
            "Request-Id")

    def __repr__(self) -> str:
        return f"RawResponse(status_code={self.status_code}, parsed={self.parsed!r})"


class OperationSpec:
    """The data of one declared operation (no I/O; shared by sync and async clients).

    Attributes:
        method: HTTP method, upper case.
        path: Template relative to the resource's ``path``, e.g. ``"/{cat_id}"``.
        expect: Statuses that count as success, or None for any 2xx.
        query, json, form, files: Argument names sent in each place; arguments
            not named anywhere go to the JSON body for POST/PUT/PATCH and to the
            query otherwise.
        body: Name of an argument that is the whole JSON body, or None.
        headers: Argument name → header name.
        page: A pagination strategy (:mod:`mysdk.pagination`), or None.
        stream: ``"ndjson"``, ``"sse"`` or ``"lines"`` for a streamed result.
        credentials: Name of the client's credentials to use, ``None`` for
            none, or ``NOT_GIVEN`` for the resource's or client's default.
        name: ``"Resource.method"``, set when the class is created.
    """

    def __init__(
        self, method: str, path: str, *, expect: Collection[int] | None,
        query: Collection[str], json: Collection[str], form: Collection[str],
        files: Collection[str], body: str | None, headers: Mapping[str, str],
        page: Paginator | None, stream: str | None, credentials: str | NotGiven | None,
        returns: Any,
    ) -> None:
        if stream not in (None, "ndjson", "sse", "lines"):
            raise ValueError(f"stream must be 'ndjson', 'sse' or 'lines', got {stream!r}")
        self.method = method
        self.path = path
        self.expect = frozenset(expect) if expect is not None else None
        self.query = frozenset(query)
        self.json = frozenset(json)
        self.form = frozenset(form)
        self.files = frozenset(files)
        self.body = body
        self.headers = dict(headers)
        self.page = page
        self.stream = stream
        self.credentials = credentials
        self.name = ""
        self._returns = returns
        self.positional: tuple[str, ...] = ()
        self.names: frozenset[str] = frozenset()
        self.defaults: dict[str, Any] = {}
        self._templates: dict[str, tuple[str, frozenset[str]]] = {}

    def bind_signature(self, func: Callable[..., Any]) -> None:
        """Read the stub's parameter names and defaults (from its code object:
        cheap, no ``inspect``)."""
        code = func.__code__
        if code.co_flags & (_CO_VARARGS | _CO_VARKEYWORDS):
            raise TypeError(f"{func.__qualname__}: declared operations take named "
                            "parameters only (no *args or **kwargs)")
        positional = code.co_varnames[1:code.co_argcount]  # without self
        keyword = code.co_varnames[code.co_argcount:code.co_argcount + code.co_kwonlyargcount]
        self.positional = tuple(positional)
        self.names = frozenset(positional) | frozenset(keyword)
        defaults = func.__defaults__ or ()
        self.defaults = dict(zip(positional[len(positional) - len(defaults):], defaults,
                                 strict=True))
        self.defaults.update(func.__kwdefaults__ or {})
        self._func = func
        unknown = (self.query | self.json | self.form | self.files | set(self.headers)
                   | ({self.body} if self.body else set())) - self.names
        if unknown:
            raise TypeError(f"{func.__qualname__}: {sorted(unknown)} named in the declaration "
                            "but not parameters of the method")

    @property
    def returns(self) -> Any:
        """What the operation returns: the declared ``returns=``, else the
        method's return annotation (resolved once, on first use)."""
        if self._returns is NOT_GIVEN:
            annotation = self._func.__annotations__.get("return", Any)
            holder = SimpleNamespace(__annotations__={"r": annotation})
            try:
                self._returns = typing.get_type_hints(holder, globalns=self._func.__globals__)["r"]
            except Exception as exc:
                raise TypeError(f"{self.name}: cannot resolve the return annotation "
                                f"{annotation!r} ({exc}); import the names it uses at run "
                                "time, or pass returns= to the decorator") from None
        return self._returns

    def template(self, base_path: str) -> tuple[str, frozenset[str]]:
        """The full path template under ``base_path`` and its parameter names (cached)."""
        found = self._templates.get(base_path)
        if found is None:
            full = base_path + self.path
            found = self._templates[base_path] = (full, frozenset(template_names(full)))
        return found

    def bind(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """Argument name → value for one call, defaults filled in.

        Raises:
            InvalidRequestError: Too many positional arguments, an unknown or
                repeated keyword, or a missing required argument (named).
        """
        if len(args) > len(self.positional):
            raise InvalidRequestError(f"{self.name}() takes {len(self.positional)} positional "
                                      f"arguments but {len(args)} were given")
        values = dict(zip(self.positional[:len(args)], args, strict=True))
        for key, value in kwargs.items():
            if key not in self.names:
                raise InvalidRequestError(f"{self.name}() got an unexpected argument {key!r}")
            if key in values:
                raise InvalidRequestError(f"{self.name}() got {key!r} twice")
            values[key] = value
        for key in self.names - values.keys():
            if key not in self.defaults:
                raise InvalidRequestError(f"{self.name}() is missing the argument {key!r}")
            values[key] = self.defaults[key]
        return values


class Operation(Generic[P, R]):
    """A declared operation on a class; bound on attribute access."""

    def __init__(self, func: Callable[Concatenate[Any, P], R], spec: OperationSpec) -> None:
        spec.bind_signature(func)
        self.spec = spec
        self.__doc__ = func.__doc__
        self.__wrapped__ = func

    def __set_name__(self, owner: type, name: str) -> None:
        self.spec.name = f"{owner.__name__}.{name}"
        full = getattr(owner, "path", "") + self.spec.path
        try:
            template_names(full)
        except ValueError as exc:
            raise TypeError(f"{self.spec.name}: {exc}") from None

    # A resource not generic over mysdk.Mode is Resource[Any]: the first
    # (sync) overload matches it, as it always did.
    @overload
    def __get__(self, obj: None, owner: type) -> Operation[P, R]: ...
    @overload
    def __get__(self, obj: Resource[Sync] | Client, owner: type) -> BoundOperation[P, R]: ...
    @overload
    def __get__(
        self, obj: Resource[Async] | AsyncClient, owner: type
    ) -> AsyncBoundOperation[P, R]: ...

    def __get__(
        self, obj: object, owner: type
    ) -> Operation[P, R] | BoundOperation[P, R] | AsyncBoundOperation[P, R]:
        if obj is None:
            return self
        client = obj.client if isinstance(obj, Resource) else obj
        if getattr(client, "is_async", False):
            return AsyncBoundOperation(self.spec, obj)
        return BoundOperation(self.spec, obj)


class BoundOperation(Generic[P, R]):
    """An operation bound to a resource (or client): call it, or call ``.raw``."""

    __slots__ = ("_owner", "_spec")

    def __init__(self, spec: OperationSpec, owner: Any) -> None:
        self._spec = spec
        self._owner = owner

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        value: R = _call(self._owner, self._spec, args, kwargs, raw=False)
        return value

    def raw(self, *args: P.args, **kwargs: P.kwargs) -> RawResponse[R]:
        """Like calling the operation, but returns a :class:`RawResponse`."""
        value: RawResponse[R] = _call(self._owner, self._spec, args, kwargs, raw=True)
        return value

    def __repr__(self) -> str:
        return f"<operation {self._spec.name}: {self._spec.method} {self._spec.path or '/'}>"


class AsyncBoundOperation(Generic[P, R]):
    """An operation bound to a resource of an :class:`~mysdk.AsyncClient`.

    Calling it returns a coroutine of the declared return type
    (``await client.cars.get(1)``); a paginated operation returns a
    :class:`~mysdk.AsyncPager` at once (``async for car in client.cars.list()``)
    and a streamed one a coroutine of an :class:`~mysdk.AsyncStream`.
    """

    __slots__ = ("_owner", "_spec")

    def __init__(self, spec: OperationSpec, owner: Any) -> None:
        self._spec = spec
        self._owner = owner

    @overload
    def __call__(  # type: ignore[overload-overlap]  # Pager[T] is the more specific R
        self: AsyncBoundOperation[P, Pager[T]], *args: P.args, **kwargs: P.kwargs
    ) -> AsyncPager[T]: ...
    @overload
    def __call__(
        self: AsyncBoundOperation[P, Stream[T]], *args: P.args, **kwargs: P.kwargs
    ) -> Coroutine[Any, Any, AsyncStream[T]]: ...
    @overload
    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, R]: ...

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        spec = self._spec
        if spec.page is not None and typing.get_origin(spec.returns) is not _page_class():
            return _call_sync_part(self._owner, spec, args, kwargs, _apager)
        return _acall(self._owner, spec, args, kwargs, raw=False)

    def raw(self, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, RawResponse[R]]:
        """Like calling the operation, but the coroutine gives a :class:`RawResponse`."""
        return _acall(self._owner, self._spec, args, kwargs, raw=True)

    def __repr__(self) -> str:
        return (f"<async operation {self._spec.name}: {self._spec.method} "
                f"{self._spec.path or '/'}>")


def operation(
    method: str, path: str = "", *, expect: Collection[int] | None = None,
    query: Collection[str] = (), json: Collection[str] = (), form: Collection[str] = (),
    files: Collection[str] = (), body: str | None = None, headers: Mapping[str, str] | None = None,
    page: Paginator | None = None, stream: str | None = None,
    credentials: str | NotGiven | None = NOT_GIVEN, returns: Any = NOT_GIVEN,
) -> Callable[[Callable[Concatenate[Any, P], R]], Operation[P, R]]:
    """Declare an operation (see the module docstring).

    Args:
        method: HTTP method.
        path: Template appended to the resource's ``path``, e.g. ``"/{cat_id}"``;
            every ``{name}`` is a parameter of the method (or bound by the
            resource), percent-encoded when sent.
        expect: Statuses that count as success; another 2xx raises
            :class:`~mysdk.errors.APIStatusError`. None: any 2xx.
        query: Parameters sent as query parameters.
        json: Parameters sent as fields of a JSON object body.
        form: Parameters sent as form fields (``application/x-www-form-urlencoded``,
            or multipart fields alongside ``files``).
        files: Parameters sent as multipart/form-data parts (values as
            requests takes them: a file, bytes, or ``(filename, file, type)``).
        body: A parameter that is the whole JSON body (a model is sent as
            its ``to_json()``).
        headers: Parameter name → header name, e.g. ``{"if_match": "If-Match"}``.
        page: A pagination strategy (``mysdk.Cursor()``, ``LinkHeader()``,
            ``PageNumber()``, ``OffsetLimit()``); the method returns
            ``mysdk.Pager[Item]`` (or ``mysdk.Page[Item]`` for one page).
            Parameters named ``max_pages``, ``max_items`` and ``start`` go to
            the pager.
        stream: ``"ndjson"``, ``"sse"`` or ``"lines"``: the method returns
            ``mysdk.Stream[Item]``.
        credentials: Name of the client's credentials for this operation;
            ``None`` for none. Default: the resource's, else the client's.
        returns: What to parse the body into; default the method's return
            annotation.

    Parameters named nowhere go to the JSON body for POST, PUT and PATCH, and
    to the query for other methods. A value left at ``mysdk.NOT_GIVEN`` is not
    sent at all; ``None`` is dropped from a query but sent as ``null`` in JSON.

    Raises:
        TypeError: At class creation: a named parameter does not exist, the
            method takes ``*args``/``**kwargs``, or the path template is bad.
    """
    def declare(func: Callable[Concatenate[Any, P], R]) -> Operation[P, R]:
        spec = OperationSpec(method.upper(), path, expect=expect, query=query, json=json,
                             form=form, files=files, body=body, headers=headers or {},
                             page=page, stream=stream, credentials=credentials, returns=returns)
        return Operation(func, spec)

    return declare


def get(
    path: str = "", **options: Unpack[OperationOptions]
) -> Callable[[Callable[Concatenate[Any, P], R]], Operation[P, R]]:
    """Declare a ``GET`` operation; see :func:`operation` for the options."""
    return operation("GET", path, **options)


def post(
    path: str = "", **options: Unpack[OperationOptions]
) -> Callable[[Callable[Concatenate[Any, P], R]], Operation[P, R]]:
    """Declare a ``POST`` operation; see :func:`operation` for the options."""
    return operation("POST", path, **options)


def put(
    path: str = "", **options: Unpack[OperationOptions]
) -> Callable[[Callable[Concatenate[Any, P], R]], Operation[P, R]]:
    """Declare a ``PUT`` operation; see :func:`operation` for the options."""
    return operation("PUT", path, **options)


def patch(
    path: str = "", **options: Unpack[OperationOptions]
) -> Callable[[Callable[Concatenate[Any, P], R]], Operation[P, R]]:
    """Declare a ``PATCH`` operation; see :func:`operation` for the options."""
    return operation("PATCH", path, **options)


def delete(
    path: str = "", **options: Unpack[OperationOptions]
) -> Callable[[Callable[Concatenate[Any, P], R]], Operation[P, R]]:
    """Declare a ``DELETE`` operation; see :func:`operation` for the options."""
    return operation("DELETE", path, **options)


# -- running an operation (sync) ---------------------------------------------------


def _call(owner: Any, spec: OperationSpec, args: tuple[Any, ...], kwargs: Mapping[str, Any],
          *, raw: bool) -> Any:
    return _call_sync_part(owner, spec, args, kwargs,
                           lambda client, spec, call: _send(client, spec, call, raw))


class _Prepared:
    """One call of an operation, ready to send: path and request() arguments."""

    __slots__ = ("path", "request", "values")

    def __init__(self, path: str, request: dict[str, Any], values: Mapping[str, Any]) -> None:
        self.path = path
        self.request = request
        self.values = values


def _prepare(spec: OperationSpec, bound: Mapping[str, Any],
             default_credentials: str | NotGiven | None, base_path: str,
             args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> _Prepared:
    """Bind the arguments, expand the path and place the rest (no I/O; both clients)."""
    values = spec.bind(args, kwargs)
    template, path_names = spec.template(base_path)
    path = expand(template, {**bound, **values}, spec.name)
    request = _place(spec, {k: v for k, v in values.items()
                            if k not in path_names and k not in _PAGER_ARGS})
    credentials = spec.credentials if spec.credentials is not NOT_GIVEN else default_credentials
    request["credentials"] = credentials
    request["operation"] = spec.name
    return _Prepared(path, request, values)


def _call_sync_part(owner: Any, spec: OperationSpec, args: tuple[Any, ...],
                    kwargs: Mapping[str, Any],
                    then: Callable[[Any, OperationSpec, _Prepared], Any]) -> Any:
    """Prepare the call and run ``then`` on it, branding any mysdk error."""
    from mysdk.resources.base import binding

    client, params, default_credentials, base_path = binding(owner)
    try:
        prepared = _prepare(spec, params, default_credentials, base_path, args, kwargs)
        return then(client, spec, prepared)
    except MySDKError as exc:
        client._branded(exc)
        raise


def _send(client: Client, spec: OperationSpec, call: _Prepared, raw: bool) -> Any:
    if spec.page is not None:
        return _pager(client, spec, call.path, call.request, call.values)
    if spec.stream is not None:
        return _stream(client, spec, call.path, call.request)
    resp = client.request(spec.method, call.path, **call.request)
    parsed = _parse_response(client, spec, resp)
    return RawResponse(parsed, resp) if raw else parsed


async def _acall(owner: Any, spec: OperationSpec, args: tuple[Any, ...],
                 kwargs: Mapping[str, Any], *, raw: bool) -> Any:
    from mysdk.resources.base import binding

    client, params, default_credentials, base_path = binding(owner)
    try:
        call = _prepare(spec, params, default_credentials, base_path, args, kwargs)
        if spec.page is not None:  # a Page[T]: one page
            return await _apage(client, spec, call)
        if spec.stream is not None:
            return await _astream(client, spec, call)
        resp = await client.request(spec.method, call.path, **call.request)
        parsed = _parse_response(client, spec, resp)
        return RawResponse(parsed, resp) if raw else parsed
    except MySDKError as exc:
        client._branded(exc)
        raise


def _place(spec: OperationSpec, values: Mapping[str, Any]) -> dict[str, Any]:
    """Split argument values into request() keyword arguments."""
    query: dict[str, Any] = {}
    json_fields: dict[str, Any] = {}
    form: dict[str, Any] = {}
    files: dict[str, Any] = {}
    headers: dict[str, str] = {}
    body: Any = NOT_GIVEN
    default_json = spec.method in _BODY_METHODS
    for name, value in values.items():
        if value is NOT_GIVEN:
            continue
        if name == spec.body:
            body = _jsonable(value)
        elif name in spec.headers:
            if value is not None:
                headers[spec.headers[name]] = str(value)
        elif name in spec.query:
            query[name] = _jsonable(value)
        elif name in spec.json:
            json_fields[name] = _jsonable(value)
        elif name in spec.form:
            form[name] = value
        elif name in spec.files:
            files[name] = value
        elif default_json and not spec.form and not spec.files:
            json_fields[name] = _jsonable(value)
        elif default_json:
            form[name] = value
        else:
            query[name] = _jsonable(value)
    out: dict[str, Any] = {}
    if query:
        out["params"] = query
    if headers:
        out["headers"] = headers
    if body is not NOT_GIVEN:
        out["json"] = body
    elif json_fields:
        out["json"] = json_fields
    if files:
        out["files"] = files
    if form:
        out["data"] = form
    return out


def _jsonable(value: Any) -> Any:
    """A model as its ``to_json()``; an enum as its value; lists and dicts deeply."""
    to_json = getattr(value, "to_json", None)
    if callable(to_json) and not isinstance(value, type):
        return to_json()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    enum_value = getattr(value, "value", NOT_GIVEN)
    if enum_value is not NOT_GIVEN and type(value).__module__ != "builtins" \
            and hasattr(type(value), "__members__"):
        return enum_value
    return value


def _check_status(spec: OperationSpec, resp: Any) -> None:
    if spec.expect is not None and resp.status_code not in spec.expect:
        method = resp.request.method if resp.request is not None else spec.method
        url = str(resp.url)
        raise APIStatusError(
            f"unexpected HTTP {resp.status_code} for {method} {safe_url(url)} "
            f"({spec.name} expects {sorted(spec.expect)})",
            status_code=resp.status_code, headers=resp.headers, method=str(method),
            url=url, response=resp)


def _parse_response(client: BaseClient, spec: OperationSpec, resp: Any) -> Any:
    _check_status(spec, resp)
    returns = spec.returns
    if returns is requests.Response or (
            isinstance(returns, type) and returns.__module__.partition(".")[0] == "httpx"):
        return resp  # declared "-> requests.Response" (or httpx.Response): the response itself
    if returns is None or returns is type(None):
        if resp.content:
            client.decode(resp)  # the response check still applies
        return None
    body = client.decode(resp)
    if returns is Any or returns is object:
        return body
    return parse_value(returns, body, spec.name)


def parse_value(tp: Any, data: Any, where: str) -> Any:
    """Build ``tp`` from decoded JSON: ``tp.from_json`` when it has one, else
    :func:`mysdk.models.parse`.

    Raises:
        DecodeError: The data does not fit ``tp`` (never a raw KeyError/TypeError).
    """
    problem = ""
    try:
        from_json = getattr(tp, "from_json", None)
        if from_json is not None:
            return from_json(data)
        from mysdk.models import parse

        return parse(tp, data)
    except DecodeError as exc:  # name the operation in front of the model's own message
        problem = exc.message
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        problem = (f"cannot read {getattr(tp, '__name__', tp)} from the response: "
                   f"{type(exc).__name__}: {str(exc)[:200]}")
    raise DecodeError(f"{where}: {problem}")


def _item_parser(spec: OperationSpec) -> Callable[[Any], Any]:
    args = typing.get_args(spec.returns)
    item = args[0] if args else Any
    if item is Any:
        return lambda value: value
    return lambda value: parse_value(item, value, spec.name)


class _Pages:
    """What fetching one page of a paginated operation needs (no I/O; both clients)."""

    __slots__ = ("base_params", "parse_item", "path", "request", "spec", "strategy")

    def __init__(self, spec: OperationSpec, path: str, request: dict[str, Any]) -> None:
        assert spec.page is not None
        self.spec = spec
        self.strategy = spec.page
        self.parse_item = _item_parser(spec)
        self.request = dict(request)
        self.base_params = dict(self.request.pop("params", {}) or {})
        self.path = path

    def target(self, page_request: PageRequest) -> tuple[str, dict[str, Any]]:
        """The ``(path or URL, request() arguments)`` of one page."""
        if page_request.url:
            return page_request.url, self.request
        return self.path, {**self.request, "params": {**self.base_params,
                                                        **page_request.params}}

    def page(self, client: BaseClient, page_request: PageRequest, resp: Any) -> Page[Any]:
        """The page in ``resp`` (status checked, body decoded and parsed)."""
        _check_status(self.spec, resp)
        body = client.decode(resp)
        return self.strategy.parse(page_request, body, resp.headers, self.parse_item,
                                   url=str(resp.url))

    def first(self, values: Mapping[str, Any]) -> PageRequest:
        from mysdk.pagination import PageRequest

        start = values.get("start", NOT_GIVEN)
        return start if isinstance(start, PageRequest) else self.strategy.first(self.base_params)


def _pager(client: Client, spec: OperationSpec, path: str, request: dict[str, Any],
           values: Mapping[str, Any]) -> Any:
    from mysdk.pagination import Page, Pager

    pages = _Pages(spec, path, request)

    def fetch(page_request: PageRequest) -> Page[Any]:
        target, arguments = pages.target(page_request)
        return pages.page(client, page_request, client.request(spec.method, target, **arguments))

    first = pages.first(values)
    if typing.get_origin(spec.returns) is Page:
        return fetch(first)
    return Pager(fetch, first,
                 max_pages=_opt_int(values.get("max_pages")),
                 max_items=_opt_int(values.get("max_items")))


def _afetch(client: AsyncClient, pages: _Pages) -> Callable[[PageRequest], Any]:
    async def fetch(page_request: PageRequest) -> Page[Any]:
        target, arguments = pages.target(page_request)
        resp = await client.request(pages.spec.method, target, **arguments)
        return pages.page(client, page_request, resp)

    return fetch


def _apager(client: AsyncClient, spec: OperationSpec, call: _Prepared) -> Any:
    from mysdk.pagination import AsyncPager

    pages = _Pages(spec, call.path, call.request)
    return AsyncPager(_afetch(client, pages), pages.first(call.values),
                      max_pages=_opt_int(call.values.get("max_pages")),
                      max_items=_opt_int(call.values.get("max_items")))


async def _apage(client: AsyncClient, spec: OperationSpec, call: _Prepared) -> Any:
    pages = _Pages(spec, call.path, call.request)
    return await _afetch(client, pages)(pages.first(call.values))


def _page_class() -> Any:
    from mysdk.pagination import Page

    return Page


def _opt_int(value: Any) -> int | None:
    if value is None or value is NOT_GIVEN:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequestError(f"max_pages and max_items must be ints, got {value!r}")
    return value


def _stream(client: Client, spec: OperationSpec, path: str, request: dict[str, Any]) -> Any:
    from mysdk.streaming import Stream

    response = client.stream(spec.method, path, **request)
    try:
        _check_status(spec, response.response)
    except MySDKError:
        response.close()
        raise
    return Stream(response, _item_parser(spec), spec.stream or "ndjson")


async def _astream(client: AsyncClient, spec: OperationSpec, call: _Prepared) -> Any:
    from mysdk.streaming import AsyncStream

    response = await client.stream(spec.method, call.path, **call.request)
    try:
        _check_status(spec, response.response)
    except MySDKError:
        await response.aclose()
        raise
    return AsyncStream(response, _item_parser(spec), spec.stream or "ndjson")
