"""Pagination without I/O: strategies that read pages, and a lazy :class:`Pager`.

A listing is a sequence of requests. A :class:`Paginator` strategy says what to
fetch first (:meth:`~Paginator.first`) and, given a response, which items it
holds and what to fetch next (:meth:`~Paginator.parse`, returning a
:class:`Page`). It never sends anything: a driver (a resource method, a sync or
an async client) performs each :class:`PageRequest` and hands the decoded body
and headers back. :class:`Pager` drives a ``fetch`` callable lazily, page by
page or item by item::

    strategy = Cursor()                       # {"items": [...], "next_cursor": "..."}
    params = {"limit": 50}

    def fetch(request: PageRequest) -> Page[Car]:
        if request.url is not None:          # a Link rel="next" (an absolute URL)
            resp = client.request("GET", request.url)
        else:                                # the listing, with the page's params on top
            resp = client.request("GET", "/api/v1/cars", params={**params, **request.params})
        return strategy.parse(request, resp.json(), resp.headers, Car.from_json, url=resp.url)

    for car in Pager(fetch, strategy.first(params), max_items=500):
        ...

:class:`AsyncPager` is the same for an async ``fetch`` (``async for car in
AsyncPager(afetch, ...)``), with the same decisions from the same code; this
module imports neither httpx nor asyncio.

Strategies (immutable values, validated keyword-only configuration):

* :class:`Cursor`: an opaque cursor in the body (``next_cursor``), sent back as a
  query parameter (``cursor``).
* :class:`LinkHeader`: the ``Link`` response header, ``rel="next"`` (RFC 8288).
* :class:`PageNumber`: ``page=1, 2, ...`` with ``total_pages`` in the body.
* :class:`OffsetLimit`: ``offset``/``limit`` with ``total`` in the body.

Rules shared by every strategy and the pager (openai-python #3915, google-api-core
``page_iterator``): a listing ends when the next cursor or link is absent, never on
an empty page (the two count-based strategies without a total are the documented
exception); a request that was already fetched is never fetched again (the server
is looping: :class:`~mysdk.errors.DecodeError`); a body of the wrong shape raises
:class:`~mysdk.errors.DecodeError` naming the field.

Resuming: a :class:`PageRequest` is a small JSON-ready value
(:meth:`PageRequest.to_json`, :meth:`PageRequest.from_json`); save
``page.next`` or ``pager.next_request`` and build a new :class:`Pager` from it later.
"""

from __future__ import annotations

from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Hashable,
    Iterator,
    Mapping,
    Sequence,
)
from types import MappingProxyType
from typing import Any, Generic, NamedTuple, Protocol, TypeVar
from urllib.parse import urlencode, urljoin, urlsplit

from mysdk._frozen import Frozen
from mysdk.errors import (
    SECRET_QUERY_PARAMS,
    DecodeError,
    InvalidRequestError,
    redact_query,
    safe_url,
)

__all__ = [
    "AsyncPager",
    "Cursor",
    "LinkHeader",
    "OffsetLimit",
    "Page",
    "PageNumber",
    "PageRequest",
    "Pager",
    "Paginator",
]

T = TypeVar("T")

_ABSENT: Any = object()
_SCALARS = (str, int, float, bool, type(None))


class PageRequest(NamedTuple):
    """What to fetch for one page: query parameters, or an absolute URL.

    A tuple of plain values: equal requests compare equal, it pickles, and
    :meth:`to_json`/:meth:`from_json` carry it through JSON so a listing can be
    resumed in another process.

    Attributes:
        params: Query parameters to set (or override) on the listing call, e.g.
            ``{"cursor": "abc"}`` or ``{"page": 3}``. The driver sends the
            listing's own parameters with these on top. Values are JSON scalars
            or lists of them.
        url: An absolute URL to GET instead of the listing path (a ``Link``
            ``rel="next"`` target); then ``params`` is empty and the listing's own
            parameters are not added (the URL already carries them). ``None``
            for a request on the listing path.

    Treat ``params`` as read-only: the mapping given is kept, not copied.
    """

    params: Mapping[str, Any] = MappingProxyType({})
    url: str | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        return (PageRequest, (dict(self.params), self.url))

    def to_json(self) -> dict[str, Any]:
        """The request as ``{"params": {...}, "url": str | None}``, ready for ``json.dumps``."""
        return {"params": dict(self.params), "url": self.url}

    @classmethod
    def from_json(cls, data: Any) -> PageRequest:
        """Rebuild a request saved with :meth:`to_json`.

        Args:
            data: ``{"params": {name: scalar or list of scalars}, "url": str | None}``;
                either key may be missing.

        Raises:
            InvalidRequestError: ``data`` has another shape (it is the caller's
                saved state, so a bad one is bad input, not a bad response).
        """
        if not isinstance(data, Mapping) or not set(data) <= {"params", "url"}:
            raise InvalidRequestError(
                "PageRequest.from_json: expected {'params': {...}, 'url': str | None}")
        params = data.get("params", {})
        url = data.get("url")
        if not isinstance(params, Mapping) or not all(
            isinstance(k, str) and _is_param_value(v) for k, v in params.items()
        ):
            raise InvalidRequestError(
                "PageRequest.from_json: 'params' must map names to JSON scalars or lists")
        if url is not None and (not isinstance(url, str) or not url):
            raise InvalidRequestError("PageRequest.from_json: 'url' must be a URL or null")
        return cls(dict(params), url)

    def __repr__(self) -> str:
        # A next link or cursor may be signed (sig=, token=): show it redacted.
        params = {k: "***" if str(k).lower() in SECRET_QUERY_PARAMS else v
                  for k, v in self.params.items()}
        url = None if self.url is None else safe_url(self.url)
        return f"PageRequest(params={params!r}, url={url!r})"

    def describe(self) -> str:
        """A short text for messages and logs, with secret-named values redacted."""
        if self.url is not None:
            return safe_url(self.url)
        return redact_query(urlencode(_flat(self.params), doseq=True)) or "the first page"


def _is_param_value(value: Any) -> bool:
    if isinstance(value, list):
        return all(isinstance(v, _SCALARS) for v in value)
    return isinstance(value, _SCALARS)


def _flat(params: Mapping[str, Any]) -> list[tuple[str, Any]]:
    return sorted((str(k), v) for k, v in params.items())


class Page(Frozen, Generic[T]):
    """One page of a listing: its items, what to fetch next, and page metadata.

    Attributes:
        items: The items of this page, built by the ``item`` callable given to
            :meth:`Paginator.parse`; may be empty even when more pages follow.
        next: The request for the next page, or ``None`` on the last page.
        meta: What the strategy read besides the items: ``{"next_cursor": ...}``
            (:class:`Cursor`), ``{"links": {rel: url}}`` (:class:`LinkHeader`),
            ``{"page": 2, "total_pages": 7}`` (:class:`PageNumber`),
            ``{"offset": 40, "limit": 20, "total": 130}`` (:class:`OffsetLimit`),
            plus the strategy's ``meta_fields``. A copy: changing the mapping
            given to the constructor does not change the page.
    """

    __slots__ = ("items", "meta", "next")

    items: list[T]
    next: PageRequest | None
    meta: Mapping[str, Any]

    def __init__(self, items: list[T], next: PageRequest | None = None,
                 meta: Mapping[str, Any] | None = None) -> None:
        self._set("items", items)
        self._set("next", next)
        self._set("meta", dict(meta or {}))

    @property
    def has_next(self) -> bool:
        """True when another page follows (``next`` is not ``None``)."""
        return self.next is not None

    @property
    def next_cursor(self) -> str | None:
        """The next page's cursor as text (``meta["next_cursor"]``, set by :class:`Cursor`).

        ``None`` on the last page and for pages of other strategies. Kept for
        code that pages by hand: ``resource.list(cursor=page.next_cursor)``.
        """
        cursor = self.meta.get("next_cursor")
        return cursor if isinstance(cursor, str) else None

    def __repr__(self) -> str:
        return (f"Page(items=<{len(self.items)} items>, next={self.next!r}, "
                f"meta={self.meta!r})")


class Paginator(Protocol):
    """A pagination strategy: pure functions from responses to pages; no I/O, no state."""

    def first(self, params: Mapping[str, Any]) -> PageRequest:
        """The request for the first page of a listing called with ``params``.

        Args:
            params: The listing call's query parameters; the driver sends them on
                every request of the listing, under each request's own ``params``.
                A strategy reads its own parameter from them (``page=3`` starts
                at page 3, ``cursor="..."`` resumes there).

        Raises:
            InvalidRequestError: The strategy's own parameter has a bad value.
        """
        ...

    def parse(self, request: PageRequest, body: Any, headers: Mapping[str, str],
              item: Callable[[Any], T], *, url: str | None = None) -> Page[T]:
        """Read one response into a :class:`Page`.

        Args:
            request: The request this response answers.
            body: The decoded JSON body.
            headers: The response headers (looked up case-insensitively).
            item: Builds one item from its JSON, e.g. ``Car.from_json``; may raise
                :class:`~mysdk.errors.DecodeError`, ``KeyError``, ``TypeError`` or
                ``ValueError`` for a bad item.
            url: The absolute URL the response came from (after redirects), the
                base for relative references (RFC 3986 §5.1); ``None`` falls back
                to ``request.url``.

        Raises:
            DecodeError: The body, a header or an item has the wrong shape; the
                message names the field (``items[3]: ...``).
        """
        ...


# -- shared readers ---------------------------------------------------------------


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _check_path(what: str, path: str | None, *, optional: bool = False) -> None:
    if path is None and optional:
        return
    if not isinstance(path, str) or not path or "" in path.split("."):
        raise InvalidRequestError(f"{what} must be a field name or a dotted path, got {path!r}")


def _check_fields(what: str, fields: Any) -> tuple[str, ...]:
    if isinstance(fields, str):
        raise InvalidRequestError(f"{what} must be a sequence of paths, not one string")
    for path in fields:
        _check_path(what, path)
    return tuple(fields)


def _check_name(what: str, name: Any) -> None:
    if not isinstance(name, str) or not name:
        raise InvalidRequestError(f"{what} must be a non-empty string, got {name!r}")


def _lookup(body: Any, path: str) -> Any:
    """The value at a dotted ``path`` of ``body``, or ``_ABSENT``.

    Raises:
        DecodeError: An intermediate value is present but not a JSON object.
    """
    value = body
    parts = path.split(".")
    for depth, part in enumerate(parts):
        if not isinstance(value, Mapping):
            where = ".".join(parts[:depth]) or "the body"
            raise DecodeError(f"{path}: expected a JSON object at {where!r}, got {_kind(value)}")
        value = value.get(part, _ABSENT)
        if value is _ABSENT:
            return _ABSENT
    return value


def _items(body: Any, items_field: str | None, item: Callable[[Any], T]) -> list[T]:
    if items_field is None:
        if not isinstance(body, list):
            raise DecodeError(f"expected a JSON list of items, got {_kind(body)}")
        raw, label = body, ""
    else:
        if not isinstance(body, Mapping):
            raise DecodeError(
                f"expected a JSON object with {items_field!r}, got {_kind(body)}")
        raw, label = _lookup(body, items_field), items_field
        if raw is _ABSENT:
            raise DecodeError(f"{items_field}: missing")
        if not isinstance(raw, list):
            raise DecodeError(f"{items_field}: expected a list, got {_kind(raw)}")
    return [_item(item, value, f"{label}[{index}]") for index, value in enumerate(raw)]


def _item(item: Callable[[Any], T], value: Any, where: str) -> T:
    try:
        return item(value)
    except DecodeError as exc:
        raise DecodeError(f"{where}: {exc.message}") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise DecodeError(f"{where}: cannot read the item: {type(exc).__name__}: {exc}") from exc


def _count(body: Any, path: str | None) -> int | None:
    """A count (``total``, ``total_pages``) at ``path``: an int >= 0, or None when absent."""
    if path is None:
        return None
    value = _lookup(body, path)
    if value is _ABSENT or value is None:
        return None
    if type(value) is not int or value < 0:
        raise DecodeError(f"{path}: expected an integer >= 0, got {value!r}")
    return value


def _meta(body: Any, fields: Sequence[str], meta: dict[str, Any]) -> dict[str, Any]:
    for path in fields:
        value = _lookup(body, path)
        if value is not _ABSENT:
            meta[path] = value
    return meta


def _whole(what: str, value: Any, minimum: int) -> int:
    """A caller's page/offset/limit parameter as an int >= ``minimum`` (digits allowed)."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if type(value) is not int or value < minimum:
        raise InvalidRequestError(f"{what} must be an integer >= {minimum}, got {value!r}")
    return value


class _Strategy(Frozen):
    __slots__: tuple[str, ...] = ()

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"


# -- strategies -------------------------------------------------------------------


class Cursor(_Strategy):
    """Cursor pagination: the body names an opaque cursor, sent back as a parameter.

    ``{"items": [...], "next_cursor": "abc"}`` → next request ``?cursor=abc``. The
    listing ends when the cursor is absent, ``null`` or ``""`` (Slack's
    convention), even after an empty page. An integer cursor is sent as text.

    Args:
        cursor_param: Query parameter carrying the cursor.
        next_field: Field (dotted path, e.g. ``"meta.next"``) of the next cursor.
        items_field: Field (dotted path) of the item list.
        meta_fields: Dotted paths copied into ``page.meta`` under their path when
            present, e.g. ``("total_count",)``.

    Raises:
        InvalidRequestError: A name is empty or a path has an empty segment.
    """

    __slots__ = ("cursor_param", "items_field", "meta_fields", "next_field")

    cursor_param: str
    next_field: str
    items_field: str
    meta_fields: tuple[str, ...]

    def __init__(self, *, cursor_param: str = "cursor", next_field: str = "next_cursor",
                 items_field: str = "items", meta_fields: Sequence[str] = ()) -> None:
        _check_name("Cursor: cursor_param", cursor_param)
        _check_path("Cursor: next_field", next_field)
        _check_path("Cursor: items_field", items_field)
        meta = _check_fields("Cursor: meta_fields", meta_fields)
        self._set("cursor_param", cursor_param)
        self._set("next_field", next_field)
        self._set("items_field", items_field)
        self._set("meta_fields", meta)

    def first(self, params: Mapping[str, Any]) -> PageRequest:
        """``params`` may hold a saved cursor under ``cursor_param`` to resume from."""
        cursor = params.get(self.cursor_param)
        return PageRequest() if cursor is None else PageRequest({self.cursor_param: cursor})

    def parse(self, request: PageRequest, body: Any, headers: Mapping[str, str],
              item: Callable[[Any], T], *, url: str | None = None) -> Page[T]:
        """See :meth:`Paginator.parse`; ``meta`` is ``{"next_cursor": str | None}``."""
        items = _items(body, self.items_field, item)
        cursor = _lookup(body, self.next_field)
        if cursor is _ABSENT or cursor is None or cursor == "":
            cursor = None
        elif type(cursor) is int:
            cursor = str(cursor)
        elif not isinstance(cursor, str):
            raise DecodeError(
                f"{self.next_field}: expected a string cursor, got {_kind(cursor)}")
        following = None if cursor is None else PageRequest({self.cursor_param: cursor})
        return Page(items, following,
                    _meta(body, self.meta_fields, {"next_cursor": cursor}))


class LinkHeader(_Strategy):
    """Link header pagination (RFC 8288, as GitHub and many REST APIs do it).

    The next page is the target of the ``Link`` header's link whose ``rel`` lists
    ``rel`` (``Link: <https://api.example.com/cars?page=3>; rel="next"``). The
    header may hold several links, quoted or bare ``rel`` values, several
    relation types per link (``rel="next last"``, compared case-insensitively,
    RFC 8288 §2.1.1; only a link's first ``rel`` counts, §3.3) and relative
    references, resolved against the response URL (§3.2, RFC 3986 §5). A link
    with an ``anchor`` parameter describes another resource and is ignored. The
    listing ends when no such link is present.

    Args:
        rel: The relation type of the next page's link.
        items_field: Field (dotted path) of the item list, or ``None`` when the
            body is the JSON list of items itself.
        meta_fields: Dotted paths of the body copied into ``page.meta``.

    Raises:
        InvalidRequestError: ``rel`` is empty or holds a space; a path is empty.
    """

    __slots__ = ("items_field", "meta_fields", "rel")

    rel: str
    items_field: str | None
    meta_fields: tuple[str, ...]

    def __init__(self, *, rel: str = "next", items_field: str | None = None,
                 meta_fields: Sequence[str] = ()) -> None:
        _check_name("LinkHeader: rel", rel)
        if any(c.isspace() for c in rel):
            raise InvalidRequestError(f"LinkHeader: rel must be one relation type, got {rel!r}")
        _check_path("LinkHeader: items_field", items_field, optional=True)
        meta = _check_fields("LinkHeader: meta_fields", meta_fields)
        self._set("rel", rel.lower())
        self._set("items_field", items_field)
        self._set("meta_fields", meta)

    def first(self, params: Mapping[str, Any]) -> PageRequest:
        """The listing path with the caller's ``params``; later pages are links."""
        return PageRequest()

    def parse(self, request: PageRequest, body: Any, headers: Mapping[str, str],
              item: Callable[[Any], T], *, url: str | None = None) -> Page[T]:
        """See :meth:`Paginator.parse`; ``meta`` is ``{"links": {rel: absolute URL}}``.

        Raises:
            DecodeError: Also for a malformed ``Link`` header (rather than
                silently ending the listing), or a relative link with neither
                ``url`` nor ``request.url`` to resolve it against.
        """
        items = _items(body, self.items_field, item)
        base = url if url is not None else request.url
        links: dict[str, str] = {}
        following = None
        for target, params in _parse_links(_header(headers, "link")):
            if "anchor" in params:
                continue
            rels = params.get("rel", "").lower().split()
            if following is None and self.rel in rels:
                following = _resolve(target, base, strict=True)
            for rel in rels:
                links.setdefault(rel, _resolve(target, base, strict=False))
        return Page(items, None if following is None else PageRequest(url=following),
                    _meta(body, self.meta_fields, {"links": links}))


def _header(headers: Mapping[str, str], name: str) -> str:
    """The value of header ``name`` (lower case), found case-insensitively; ``""`` if absent."""
    value = headers.get(name.title())  # a requests CaseInsensitiveDict answers any case
    if value is None:
        value = next((v for k, v in headers.items()
                      if isinstance(k, str) and k.lower() == name), "")
    if not isinstance(value, str):
        raise DecodeError(f"{name.title()} header: expected text, got {_kind(value)}")
    return value


def _resolve(target: str, base: str | None, *, strict: bool) -> str:
    """``target`` made absolute against ``base`` (RFC 3986 §5.2).

    A relative reference without a base is an error when ``strict`` (the next
    link is needed), else kept as it is (a link that is only reported in meta).
    """
    try:
        if urlsplit(target).scheme:
            return target
        if base is None:
            if not strict:
                return target
            raise DecodeError(f"Link header: relative reference {target!r} and no URL to "
                              "resolve it against (pass url= to parse)")
        return urljoin(base, target)
    except ValueError as exc:
        raise DecodeError(f"Link header: invalid URL reference {target!r}") from exc


def _skip(text: str, i: int, chars: str) -> int:
    while i < len(text) and text[i] in chars:
        i += 1
    return i


def _parse_links(value: str) -> list[tuple[str, dict[str, str]]]:
    """Parse a ``Link`` field value (RFC 8288 §3) into ``(target, {param: value})``.

    Parameter names are lower-cased; of repeated parameters the first is kept.
    Empty list elements are skipped (RFC 9110 §5.6.1).

    Raises:
        DecodeError: A link is not ``<...>``, a parameter does not start with
            ``;``, or a quoted string is not closed.
    """
    links: list[tuple[str, dict[str, str]]] = []
    i, n = 0, len(value)
    while True:
        i = _skip(value, i, " \t,")
        if i >= n:
            return links
        end = value.find(">", i + 1) if value[i] == "<" else -1
        if end < 0:
            raise DecodeError(f"Link header: expected '<URI>' at character {i}")
        target, params = value[i + 1:end].strip(), dict[str, str]()
        i = end + 1
        while True:
            i = _skip(value, i, " \t")
            if i >= n or value[i] == ",":
                break
            if value[i] != ";":
                raise DecodeError(f"Link header: expected ';' or ',' at character {i}")
            i = _skip(value, i + 1, " \t")
            start = i
            while i < n and value[i] not in "=;, \t":
                i += 1
            name = value[start:i].lower()
            i = _skip(value, i, " \t")
            param = ""
            if i < n and value[i] == "=":
                param, i = _param_value(value, _skip(value, i + 1, " \t"))
            if name:
                params.setdefault(name, param)
        links.append((target, params))


def _param_value(value: str, i: int) -> tuple[str, int]:
    """A token or quoted-string (RFC 9110 §5.6.4) at ``i``; returns it and the next index."""
    if i < len(value) and value[i] == '"':
        out: list[str] = []
        i += 1
        while i < len(value):
            char = value[i]
            if char == "\\" and i + 1 < len(value):
                out.append(value[i + 1])
                i += 2
            elif char == '"':
                return "".join(out), i + 1
            else:
                out.append(char)
                i += 1
        raise DecodeError("Link header: unterminated quoted string")
    start = i
    while i < len(value) and value[i] not in ";, \t":
        i += 1
    return value[start:i], i


class PageNumber(_Strategy):
    """Page-number pagination: ``?page=1, 2, ...`` and a page count in the body.

    ``{"items": [...], "total_pages": 7}``: after page ``p`` the next is ``p + 1``
    while ``p`` is before the last page (``start + total_pages - 1``), even when a
    page is empty. When the body has no page count (absent or ``null``) the only
    sign of the end is an empty page, so the listing stops at the first empty page.

    Args:
        page_param: Query parameter of the page number.
        total_pages_field: Field (dotted path) of the page count, or ``None``.
        items_field: Field (dotted path) of the item list.
        start: Number of the first page: 1 (the default) or 0.
        meta_fields: Dotted paths of the body copied into ``page.meta``.

    Raises:
        InvalidRequestError: A name or path is empty, or ``start`` is not an int >= 0.
    """

    __slots__ = ("items_field", "meta_fields", "page_param", "start", "total_pages_field")

    page_param: str
    total_pages_field: str | None
    items_field: str
    start: int
    meta_fields: tuple[str, ...]

    def __init__(self, *, page_param: str = "page", total_pages_field: str | None = "total_pages",
                 items_field: str = "items", start: int = 1,
                 meta_fields: Sequence[str] = ()) -> None:
        _check_name("PageNumber: page_param", page_param)
        _check_path("PageNumber: total_pages_field", total_pages_field, optional=True)
        _check_path("PageNumber: items_field", items_field)
        meta = _check_fields("PageNumber: meta_fields", meta_fields)
        if type(start) is not int or start < 0:
            raise InvalidRequestError(f"PageNumber: start must be an int >= 0, got {start!r}")
        self._set("page_param", page_param)
        self._set("total_pages_field", total_pages_field)
        self._set("items_field", items_field)
        self._set("start", start)
        self._set("meta_fields", meta)

    def first(self, params: Mapping[str, Any]) -> PageRequest:
        """Page ``params[page_param]`` if given (an int, or digits), else ``start``."""
        page = params.get(self.page_param, self.start)
        return PageRequest({self.page_param: _whole(self.page_param, page, self.start)})

    def parse(self, request: PageRequest, body: Any, headers: Mapping[str, str],
              item: Callable[[Any], T], *, url: str | None = None) -> Page[T]:
        """See :meth:`Paginator.parse`; ``meta`` is ``{"page": int, "total_pages": int | None}``.

        Raises:
            InvalidRequestError: ``request.params`` holds a bad page number.
        """
        page = _whole(self.page_param, request.params.get(self.page_param, self.start),
                      self.start)
        items = _items(body, self.items_field, item)
        total = _count(body, self.total_pages_field)
        more = page < self.start + total - 1 if total is not None else bool(items)
        following = PageRequest({self.page_param: page + 1}) if more else None
        return Page(items, following, _meta(body, self.meta_fields,
                                            {"page": page, "total_pages": total}))


class OffsetLimit(_Strategy):
    """Offset/limit pagination: ``?offset=40&limit=20`` and a total in the body.

    ``{"items": [...], "total": 130}``: the next offset is this offset plus the
    number of items received (not the limit: a server capping the page size
    loses nothing); the listing ends when that reaches ``total``. An empty page
    before the total repeats its request, which the :class:`Pager` reports as a
    loop rather than ending short. Without a total (absent or ``null``) the
    listing stops at the first empty page.

    Args:
        offset_param: Query parameter of the offset (items to skip).
        limit_param: Query parameter of the page size.
        total_field: Field (dotted path) of the total number of items, or ``None``.
        items_field: Field (dotted path) of the item list.
        limit: Page size to send when the caller's parameters have none;
            ``None`` leaves it to the server.
        meta_fields: Dotted paths of the body copied into ``page.meta``.

    Raises:
        InvalidRequestError: A name or path is empty, or ``limit`` is not an int >= 1.
    """

    __slots__ = ("items_field", "limit", "limit_param", "meta_fields", "offset_param",
                 "total_field")

    offset_param: str
    limit_param: str
    total_field: str | None
    items_field: str
    limit: int | None
    meta_fields: tuple[str, ...]

    def __init__(self, *, offset_param: str = "offset", limit_param: str = "limit",
                 total_field: str | None = "total", items_field: str = "items",
                 limit: int | None = None, meta_fields: Sequence[str] = ()) -> None:
        _check_name("OffsetLimit: offset_param", offset_param)
        _check_name("OffsetLimit: limit_param", limit_param)
        _check_path("OffsetLimit: total_field", total_field, optional=True)
        _check_path("OffsetLimit: items_field", items_field)
        meta = _check_fields("OffsetLimit: meta_fields", meta_fields)
        if limit is not None and (type(limit) is not int or limit < 1):
            raise InvalidRequestError(f"OffsetLimit: limit must be an int >= 1, got {limit!r}")
        self._set("offset_param", offset_param)
        self._set("limit_param", limit_param)
        self._set("total_field", total_field)
        self._set("items_field", items_field)
        self._set("limit", limit)
        self._set("meta_fields", meta)

    def first(self, params: Mapping[str, Any]) -> PageRequest:
        """Offset ``params[offset_param]`` (default 0) and the page size, if any."""
        request: dict[str, Any] = {
            self.offset_param: _whole(self.offset_param, params.get(self.offset_param, 0), 0)}
        limit = params.get(self.limit_param, self.limit)
        if limit is not None:
            request[self.limit_param] = _whole(self.limit_param, limit, 1)
        return PageRequest(request)

    def parse(self, request: PageRequest, body: Any, headers: Mapping[str, str],
              item: Callable[[Any], T], *, url: str | None = None) -> Page[T]:
        """See :meth:`Paginator.parse`; ``meta`` is ``{"offset", "limit", "total"}``.

        Raises:
            InvalidRequestError: ``request.params`` holds a bad offset or limit.
        """
        offset = _whole(self.offset_param, request.params.get(self.offset_param, 0), 0)
        limit = request.params.get(self.limit_param)
        items = _items(body, self.items_field, item)
        total = _count(body, self.total_field)
        reached = offset + len(items)
        more = reached < total if total is not None else bool(items)
        following = None
        if more:
            params: dict[str, Any] = {self.offset_param: reached}
            if limit is not None:
                params[self.limit_param] = limit
            following = PageRequest(params)
        return Page(items, following, _meta(body, self.meta_fields,
                                            {"offset": offset, "limit": limit, "total": total}))


# -- the pager --------------------------------------------------------------------


def _freeze(value: Any) -> Hashable:
    if isinstance(value, Mapping):
        return frozenset((k, _freeze(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value  # type: ignore[no-any-return]


def _limit(owner: str, name: str, value: Any) -> int | None:
    if value is not None and (type(value) is not int or value < 1):
        raise InvalidRequestError(f"{owner}: {name} must be an int >= 1 or None, got {value!r}")
    limit: int | None = value
    return limit


class _Walk(Generic[T]):
    """The pager's decisions, without I/O: what to fetch next, when to stop, loops.

    :class:`Pager` and :class:`AsyncPager` are shells around one of these: they
    ask it for a step, perform the fetch it names (plainly or awaited) and hand
    the page back. A fetch that raises is not recorded, so asking again
    retries the same request.
    """

    def __init__(self, owner: str, first: PageRequest, max_pages: int | None,
                 max_items: int | None) -> None:
        if not isinstance(first, PageRequest):
            raise InvalidRequestError(f"{owner}: first must be a PageRequest, got {first!r}")
        self.next: PageRequest | None = first
        self.max_pages = _limit(owner, "max_pages", max_pages)
        self.max_items = _limit(owner, "max_items", max_items)
        self.owner = owner
        self.seen: set[Hashable] = set()
        self.pages = 0
        self.items = 0
        self.buffer: list[T] = []
        self.index = 0

    def item_step(self) -> PageRequest | bool:
        """Before taking an item: ``True`` when one is ready (:meth:`take`), ``False``
        when the listing is over, else the request to fetch (then :meth:`add_items`).

        Raises:
            DecodeError: The request to fetch was already fetched (a loop).
        """
        if self.max_items is not None and self.items >= self.max_items:
            return False
        if self.index < len(self.buffer):
            return True
        request = self.page_step()
        return False if request is None else request

    def take(self) -> T:
        """The next item of the current page (after ``item_step()`` said ``True``)."""
        value = self.buffer[self.index]
        self.index += 1
        self.items += 1
        return value

    def add_items(self, request: PageRequest, page: Page[T]) -> None:
        """Record the page fetched for ``request``; its items are taken one by one."""
        self._record(request, page)
        self.buffer, self.index = page.items, 0

    def check_pages(self) -> None:
        """Refuse to switch to whole pages while items of the current one are left.

        Raises:
            InvalidRequestError: Some items of the current page were taken, some not.
        """
        if self.index < len(self.buffer) and not self.limited():
            raise InvalidRequestError(
                f"{self.owner}.pages(): called mid-page, after taking some items one by one")

    def page_step(self) -> PageRequest | None:
        """The request of the next page to fetch, or ``None`` when the listing is over.

        Raises:
            DecodeError: That request was already fetched (a loop).
        """
        request = self.next
        if request is None or self.limited():
            return None
        if self._key(request) in self.seen:
            raise DecodeError(f"pagination repeated a request after {self.pages} pages "
                              f"({request.describe()}); stopping")
        return request

    def add_page(self, request: PageRequest, page: Page[T]) -> Page[T]:
        """Record the page fetched for ``request``; it as handed out whole (cut to
        ``max_items``, its ``next`` kept)."""
        self._record(request, page)
        if self.max_items is not None:
            room = self.max_items - self.items
            if len(page.items) > room:
                page = page.replace(items=page.items[:room])
        self.items += len(page.items)
        self.buffer, self.index = [], 0
        return page

    def limited(self) -> bool:
        return ((self.max_pages is not None and self.pages >= self.max_pages)
                or (self.max_items is not None and self.items >= self.max_items))

    def _record(self, request: PageRequest, page: Page[T]) -> None:
        self.seen.add(self._key(request))
        self.pages += 1
        self.next = page.next

    @staticmethod
    def _key(request: PageRequest) -> Hashable:
        return (request.url, _freeze(request.params))


class _Walked(Generic[T]):
    """What :class:`Pager` and :class:`AsyncPager` share: their :class:`_Walk`
    and the state it exposes."""

    def __init__(self, owner: str, first: PageRequest, max_pages: int | None,
                 max_items: int | None) -> None:
        self._walk: _Walk[T] = _Walk(owner, first, max_pages, max_items)

    @property
    def next_request(self) -> PageRequest | None:
        """The request of the next page to fetch; ``None`` once the listing ended."""
        return self._walk.next

    @property
    def pages_fetched(self) -> int:
        """Pages fetched so far."""
        return self._walk.pages


class Pager(_Walked[T]):
    """A lazy iterator over a listing's items, fetching pages as they are needed.

    Nothing is fetched until the first item (or page) is asked for. The listing
    ends when a page has no ``next``; an empty page with a ``next`` is crossed.
    A pager is one pass: once exhausted it stays exhausted.

    Resuming: :attr:`next_request` is the next page the pager would fetch (and
    ``page.next`` of every page is too); save it (:meth:`PageRequest.to_json`)
    and ``Pager(fetch, saved)`` continues there. Resumption is per page: items
    of a page cut short by ``max_items`` are not seen again.

    Args:
        fetch: Performs one request and returns its page; whatever it raises
            propagates (and the request may be tried again by asking again).
        first: The first request: ``strategy.first(params)``, or a saved
            ``next`` to resume from.
        max_pages: Fetch at most this many pages; ``None`` for no limit.
        max_items: Yield at most this many items (the page holding the last
            is the last fetched); ``None`` for no limit.

    Raises:
        InvalidRequestError: ``first`` is not a :class:`PageRequest`, or a limit
            is not an int >= 1 or ``None``.
    """

    def __init__(self, fetch: Callable[[PageRequest], Page[T]], first: PageRequest, *,
                 max_pages: int | None = None, max_items: int | None = None) -> None:
        super().__init__("Pager", first, max_pages, max_items)
        self._fetch = fetch

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        """The next item, fetching pages (crossing empty ones) as needed.

        Raises:
            StopIteration: No next page, or ``max_pages``/``max_items`` reached.
            DecodeError: The next request was already fetched (a loop).
            MySDKError: Whatever ``fetch`` raises.
        """
        walk = self._walk
        while isinstance(step := walk.item_step(), PageRequest):
            walk.add_items(step, self._fetch(step))
        if not step:
            raise StopIteration
        return walk.take()

    def pages(self) -> Iterator[Page[T]]:
        """The remaining pages, one fetch each, lazily; with ``max_items`` the
        last page's items are cut to the limit (its ``next`` is kept).

        Raises:
            InvalidRequestError: Items of the current page were taken one by one
                and some are left (they would be lost).
            DecodeError: (while iterating) the next request was already fetched.
        """
        self._walk.check_pages()
        return self._iter_pages()

    def _iter_pages(self) -> Iterator[Page[T]]:
        walk = self._walk
        while (request := walk.page_step()) is not None:
            yield walk.add_page(request, self._fetch(request))


class AsyncPager(_Walked[T]):
    """:class:`Pager` for an async ``fetch``: ``async for item in pager``.

    The same decisions as :class:`Pager` (the same code): lazy, crosses empty
    pages, stops at a page without ``next``, ``max_pages``/``max_items``, a
    repeated request is a loop (:class:`~mysdk.errors.DecodeError`), resumable
    from :attr:`next_request`. It adds no waits of its own: each wait is the
    awaited ``fetch``, bounded by the client that performs it. One task at a
    time: two tasks iterating one pager concurrently could fetch a page twice.

    Args:
        fetch: An async callable performing one request and returning its page;
            whatever it raises propagates (the request may be tried again).
        first: The first request: ``strategy.first(params)``, or a saved ``next``.
        max_pages: Fetch at most this many pages; ``None`` for no limit.
        max_items: Yield at most this many items; ``None`` for no limit.

    Raises:
        InvalidRequestError: ``first`` is not a :class:`PageRequest`, or a limit
            is not an int >= 1 or ``None``.
    """

    def __init__(self, fetch: Callable[[PageRequest], Awaitable[Page[T]]],
                 first: PageRequest, *, max_pages: int | None = None,
                 max_items: int | None = None) -> None:
        super().__init__("AsyncPager", first, max_pages, max_items)
        self._fetch = fetch

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        """The next item, fetching pages (crossing empty ones) as needed.

        Raises:
            StopAsyncIteration: No next page, or ``max_pages``/``max_items`` reached.
            DecodeError: The next request was already fetched (a loop).
            MySDKError: Whatever ``fetch`` raises.
        """
        walk = self._walk
        while isinstance(step := walk.item_step(), PageRequest):
            walk.add_items(step, await self._fetch(step))
        if not step:
            raise StopAsyncIteration
        return walk.take()

    def pages(self) -> AsyncIterator[Page[T]]:
        """The remaining pages as an async iterator, one fetch each, lazily; with
        ``max_items`` the last page's items are cut to the limit.

        Raises:
            InvalidRequestError: Items of the current page were taken one by one
                and some are left (they would be lost).
            DecodeError: (while iterating) the next request was already fetched.
        """
        self._walk.check_pages()
        return self._aiter_pages()

    async def _aiter_pages(self) -> AsyncIterator[Page[T]]:
        walk = self._walk
        while (request := walk.page_step()) is not None:
            yield walk.add_page(request, await self._fetch(request))
