"""mysdk.pagination: the four strategies, Page, PageRequest and the lazy Pager (no I/O)."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mysdk.errors import DecodeError, InvalidRequestError
from mysdk.pagination import (
    Cursor,
    LinkHeader,
    OffsetLimit,
    Page,
    PageNumber,
    Pager,
    PageRequest,
    Paginator,
)

NO_HEADERS: Mapping[str, str] = {}


def ident(value: Any) -> Any:
    return value


def as_int(value: Any) -> int:
    if type(value) is not int:
        raise DecodeError(f"expected int, got {type(value).__name__}")
    return value


class FakeAPI:
    """Serves pages from a dict keyed by the merged request, recording every fetch."""

    def __init__(self, paginator: Paginator, base: Mapping[str, Any],
                 responses: Mapping[Any, tuple[Any, Mapping[str, str]]]) -> None:
        self.paginator = paginator
        self.base = dict(base)
        self.responses = responses
        self.fetched: list[PageRequest] = []

    def key(self, request: PageRequest) -> Any:
        if request.url is not None:
            return request.url
        return tuple(sorted({**self.base, **request.params}.items()))

    def fetch(self, request: PageRequest) -> Page[Any]:
        self.fetched.append(request)
        body, headers = self.responses[self.key(request)]
        return self.paginator.parse(request, body, headers, ident,
                                    url="https://api.example.com/v1/cars")


# -- PageRequest ----------------------------------------------------------------


def test_page_request_defaults_and_equality() -> None:
    assert PageRequest() == PageRequest({}, None)
    assert PageRequest({"cursor": "a"}) == PageRequest(params={"cursor": "a"})
    assert PageRequest({"cursor": "a"}) != PageRequest({"cursor": "b"})
    assert PageRequest(url="https://x.test/p?page=2").params == {}


@pytest.mark.parametrize("request_", [
    PageRequest(), PageRequest({"cursor": "abc", "limit": 5}),
    PageRequest(url="https://api.example.com/v1/cars?page=3"),
    PageRequest({"tags": ["a", "b"], "page": 2, "exact": True, "ratio": 0.5}),
])
def test_page_request_json_round_trip(request_: PageRequest) -> None:
    text = json.dumps(request_.to_json())
    assert PageRequest.from_json(json.loads(text)) == request_
    assert pickle.loads(pickle.dumps(request_)) == request_  # noqa: S301 - our own data


@pytest.mark.parametrize("bad", [
    None, [], "cursor", {"params": []}, {"params": {"a": {"nested": 1}}}, {"params": {1: "a"}},
    {"url": 3}, {"url": ""}, {"params": {"a": [{"x": 1}]}}, {"what": 1},
])
def test_page_request_from_json_refuses_bad_shapes(bad: Any) -> None:
    with pytest.raises(InvalidRequestError, match="PageRequest"):
        PageRequest.from_json(bad)


def test_page_request_repr_redacts_secret_values() -> None:
    text = repr(PageRequest({"cursor": "c1", "api_key": "hunter2"},
                            url="https://api.example.com/x?sig=s3cr3t&page=2"))
    assert "hunter2" not in text
    assert "s3cr3t" not in text
    assert "c1" in text
    assert "page=2" in text


# -- Page -----------------------------------------------------------------------


def test_page_fields_has_next_and_next_cursor() -> None:
    last = Page([1, 2], None, {"next_cursor": None})
    more = Page([], PageRequest({"cursor": "c2"}), {"next_cursor": "c2"})
    assert (last.items, last.next, last.has_next, last.next_cursor) == ([1, 2], None, False, None)
    assert (more.has_next, more.next_cursor) == (True, "c2")
    assert Page([1]).meta == {}
    assert Page([1]).next_cursor is None  # not a cursor page
    assert Page([1], None, {"a": 1}) == Page([1], None, {"a": 1})
    assert pickle.loads(pickle.dumps(more)) == more  # noqa: S301 - our own data
    assert "2 items" in repr(last)


def test_page_is_immutable_and_copies_meta() -> None:
    meta = {"total": 3}
    page = Page([1], None, meta)
    meta["total"] = 4
    assert page.meta == {"total": 3}
    with pytest.raises(AttributeError):
        page.items = []  # type: ignore[misc]
    assert page.replace(items=[2]).items == [2]


# -- Cursor ---------------------------------------------------------------------


def test_cursor_first_and_parse() -> None:
    cursor = Cursor()
    assert cursor.first({"limit": 2}) == PageRequest()
    assert cursor.first({"limit": 2, "cursor": None}) == PageRequest()
    assert cursor.first({"cursor": "saved"}) == PageRequest({"cursor": "saved"})
    page = cursor.parse(PageRequest(), {"items": [1, 2], "next_cursor": "c2"}, NO_HEADERS, ident)
    assert page == Page([1, 2], PageRequest({"cursor": "c2"}), {"next_cursor": "c2"})
    assert page.next_cursor == "c2"


@pytest.mark.parametrize("body", [
    {"items": [1]}, {"items": [1], "next_cursor": None}, {"items": [1], "next_cursor": ""},
])
def test_cursor_absent_null_or_empty_cursor_is_the_last_page(body: Any) -> None:
    page = Cursor().parse(PageRequest(), body, NO_HEADERS, ident)
    assert page.next is None
    assert page.next_cursor is None


def test_cursor_integer_cursor_is_sent_as_text() -> None:
    page = Cursor().parse(PageRequest(), {"items": [], "next_cursor": 1234}, NO_HEADERS, ident)
    assert page.next == PageRequest({"cursor": "1234"})


def test_cursor_dotted_paths_and_custom_names() -> None:
    cursor = Cursor(cursor_param="after", next_field="meta.page.next", items_field="data.rows",
                    meta_fields=("meta.total",))
    body = {"data": {"rows": ["a"]}, "meta": {"page": {"next": "n2"}, "total": 9}}
    page = cursor.parse(PageRequest(), body, NO_HEADERS, ident)
    assert page.items == ["a"]
    assert page.next == PageRequest({"after": "n2"})
    assert page.meta == {"next_cursor": "n2", "meta.total": 9}
    no_meta = cursor.parse(PageRequest(), {"data": {"rows": []}}, NO_HEADERS, ident)
    assert no_meta.next is None
    assert no_meta.meta == {"next_cursor": None}


@pytest.mark.parametrize(("body", "message"), [
    ([1, 2], "expected a JSON object"),
    ({"next_cursor": None}, "items: missing"),
    ({"items": {"0": 1}}, "items: expected a list, got dict"),
    ({"items": None}, "items: expected a list, got null"),
    ({"items": [], "next_cursor": ["c"]}, "next_cursor: expected a string cursor, got list"),
    ({"items": [], "next_cursor": True}, "next_cursor: expected a string cursor, got bool"),
    ({"items": [], "next_cursor": 1.5}, "next_cursor: expected a string cursor, got float"),
    ("text", "expected a JSON object"),
])
def test_cursor_bad_shapes_raise_decode_error(body: Any, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        Cursor().parse(PageRequest(), body, NO_HEADERS, ident)


def test_dotted_path_through_a_non_object_raises() -> None:
    with pytest.raises(DecodeError, match=r"meta\.next: expected a JSON object at 'meta'"):
        Cursor(next_field="meta.next").parse(PageRequest(), {"items": [], "meta": [1]},
                                             NO_HEADERS, ident)


def test_item_errors_name_the_index() -> None:
    with pytest.raises(DecodeError, match=r"items\[2\]: expected int, got str"):
        Cursor().parse(PageRequest(), {"items": [1, 2, "3"]}, NO_HEADERS, as_int)


@pytest.mark.parametrize("exc", [KeyError("id"), TypeError("bad"), ValueError("worse")])
def test_item_builders_raising_plain_errors_become_decode_errors(exc: Exception) -> None:
    def item(_: Any) -> Any:
        raise exc

    with pytest.raises(DecodeError, match=r"items\[0\]: cannot read the item") as info:
        Cursor().parse(PageRequest(), {"items": [{}]}, NO_HEADERS, item)
    assert info.value.__cause__ is exc


# -- LinkHeader (RFC 8288) --------------------------------------------------------


def link_page(header: str, *, url: str | None = "https://api.example.com/v1/cars?page=1",
              request: PageRequest | None = None, rel: str = "next") -> Page[Any]:
    return LinkHeader(rel=rel).parse(request or PageRequest(), [1], {"Link": header}, ident,
                                     url=url)


def test_link_header_with_several_links() -> None:
    header = ('<https://api.example.com/v1/cars?page=1>; rel="first", '
              '<https://api.example.com/v1/cars?page=3>; rel="next", '
              '<https://api.example.com/v1/cars?page=9>; rel="last"')
    page = link_page(header)
    assert page.items == [1]
    assert page.next == PageRequest(url="https://api.example.com/v1/cars?page=3")
    assert page.meta == {"links": {
        "first": "https://api.example.com/v1/cars?page=1",
        "next": "https://api.example.com/v1/cars?page=3",
        "last": "https://api.example.com/v1/cars?page=9",
    }}


@pytest.mark.parametrize(("header", "expected"), [
    ("<https://a.test/p2>; rel=next", "https://a.test/p2"),                       # unquoted
    ('<https://a.test/p2>; rel="next last"', "https://a.test/p2"),                # several rels
    ('<https://a.test/p9>; rel="last", <https://a.test/p2>;rel="NEXT"', "https://a.test/p2"),
    ('<https://a.test/p2> ; title="a, b; c" ; rel="next"', "https://a.test/p2"),  # , and ; quoted
    ('<https://a.test/p2?x=1,2>; rel="next"', "https://a.test/p2?x=1,2"),         # , in the URI
    ('<https://a.test/p2>; rel="next"; rel="prev"', "https://a.test/p2"),         # first rel wins
    ('<https://a.test/p1>; rel="prev"; rel="next", <https://a.test/p2>; rel=next',
     "https://a.test/p2"),
    ('<https://a.test/p2>; title="say \\"hi\\""; rel="next"', "https://a.test/p2"),
    ('<https://a.test/p2>; rel="next", , ', "https://a.test/p2"),                 # empty elements
    ("<https://a.test/p2>; foo; rel=next", "https://a.test/p2"),                  # bare param
])
def test_link_header_syntax(header: str, expected: str) -> None:
    page = link_page(header)
    assert page.next == PageRequest(url=expected)


@pytest.mark.parametrize(("ref", "expected"), [
    ("/v1/cars?page=2", "https://api.example.com/v1/cars?page=2"),
    ("?page=2", "https://api.example.com/v1/cars?page=2"),
    ("cars?page=2", "https://api.example.com/v1/cars?page=2"),
    ("../v2/cars?page=2", "https://api.example.com/v2/cars?page=2"),
    ("//other.example.com/p2", "https://other.example.com/p2"),
])
def test_link_header_relative_references_resolve_against_the_response_url(
    ref: str, expected: str
) -> None:
    assert link_page(f'<{ref}>; rel="next"').next == PageRequest(url=expected)


def test_link_header_without_url_resolves_against_the_request_url() -> None:
    request = PageRequest(url="https://api.example.com/v1/cars?page=2")
    page = link_page('</v1/cars?page=3>; rel="next"', url=None, request=request)
    assert page.next == PageRequest(url="https://api.example.com/v1/cars?page=3")


def test_link_header_relative_reference_without_a_base_raises() -> None:
    with pytest.raises(DecodeError, match="relative"):
        link_page('</v1/cars?page=3>; rel="next"', url=None)


def test_link_header_absent_or_without_next_is_the_last_page() -> None:
    assert LinkHeader().parse(PageRequest(), [], {}, ident).next is None
    assert link_page('<https://a.test/p1>; rel="prev"').next is None
    assert link_page("").next is None


def test_link_header_lookup_is_case_insensitive_and_skips_anchored_links() -> None:
    page = LinkHeader().parse(PageRequest(), [], {"link": "<https://a.test/p2>; rel=next"}, ident)
    assert page.next == PageRequest(url="https://a.test/p2")
    anchored = link_page('<https://a.test/x>; rel="next"; anchor="#frag"')
    assert anchored.next is None  # a link about another context (RFC 8288 §3.2)


def test_link_header_custom_rel_and_items_field() -> None:
    strategy = LinkHeader(rel="more", items_field="data")
    page = strategy.parse(PageRequest(), {"data": ["x"]},
                          {"Link": "<https://a.test/m>; rel=more"}, ident)
    assert (page.items, page.next) == (["x"], PageRequest(url="https://a.test/m"))
    assert strategy.first({"per_page": 5}) == PageRequest()


@pytest.mark.parametrize("header", [
    "https://a.test/p2; rel=next", "<https://a.test/p2; rel=next", '<https://a.test/p2>; rel="next',
    "<https://a.test/p2> rel=next",
])
def test_link_header_malformed_raises_decode_error(header: str) -> None:
    with pytest.raises(DecodeError, match="Link header"):
        link_page(header)


def test_link_header_body_shape() -> None:
    with pytest.raises(DecodeError, match="expected a JSON list"):
        LinkHeader().parse(PageRequest(), {"items": []}, {}, ident)


# -- PageNumber -----------------------------------------------------------------


def test_page_number_walk_and_stop_at_total_pages() -> None:
    strategy = PageNumber()
    first = strategy.first({"per_page": 2})
    assert first == PageRequest({"page": 1})
    page = strategy.parse(first, {"items": [1, 2], "total_pages": 2}, NO_HEADERS, ident)
    assert page.next == PageRequest({"page": 2})
    assert page.meta == {"page": 1, "total_pages": 2}
    last = strategy.parse(page.next, {"items": [3], "total_pages": 2}, NO_HEADERS, ident)
    assert last.next is None


def test_page_number_empty_page_before_the_last_continues() -> None:
    page = PageNumber().parse(PageRequest({"page": 1}), {"items": [], "total_pages": 3},
                              NO_HEADERS, ident)
    assert page.next == PageRequest({"page": 2})


def test_page_number_without_total_stops_on_an_empty_page() -> None:
    strategy = PageNumber(total_pages_field="meta.pages")
    full = strategy.parse(PageRequest({"page": 4}), {"items": [1]}, NO_HEADERS, ident)
    assert full.next == PageRequest({"page": 5})
    assert full.meta == {"page": 4, "total_pages": None}
    empty = strategy.parse(PageRequest({"page": 5}), {"items": []}, NO_HEADERS, ident)
    assert empty.next is None


def test_page_number_zero_based_and_caller_start() -> None:
    strategy = PageNumber(page_param="p", start=0)
    assert strategy.first({}) == PageRequest({"p": 0})
    assert strategy.first({"p": "3"}) == PageRequest({"p": 3})
    assert strategy.parse(PageRequest({"p": 1}), {"items": [1], "total_pages": 3},
                          NO_HEADERS, ident).next == PageRequest({"p": 2})
    assert strategy.parse(PageRequest({"p": 2}), {"items": [1], "total_pages": 3},
                          NO_HEADERS, ident).next is None


@pytest.mark.parametrize("total", ["3", -1, 2.0, True, [3]])
def test_page_number_bad_total_raises(total: Any) -> None:
    with pytest.raises(DecodeError, match="total_pages"):
        PageNumber().parse(PageRequest({"page": 1}), {"items": [], "total_pages": total},
                           NO_HEADERS, ident)


@pytest.mark.parametrize("page", ["x", -1, True, 1.5])
def test_page_number_bad_page_param_raises(page: Any) -> None:
    with pytest.raises(InvalidRequestError, match="page"):
        PageNumber().first({"page": page})


# -- OffsetLimit ----------------------------------------------------------------


def test_offset_limit_walk_and_stop_at_total() -> None:
    strategy = OffsetLimit(limit=2)
    first = strategy.first({})
    assert first == PageRequest({"offset": 0, "limit": 2})
    page = strategy.parse(first, {"items": [1, 2], "total": 3}, NO_HEADERS, ident)
    assert page.next == PageRequest({"offset": 2, "limit": 2})
    assert page.meta == {"offset": 0, "limit": 2, "total": 3}
    last = strategy.parse(page.next, {"items": [3], "total": 3}, NO_HEADERS, ident)
    assert last.next is None


def test_offset_limit_advances_by_the_items_received_not_the_limit() -> None:
    # a server capping the page size still gets every item
    page = OffsetLimit(limit=100).parse(PageRequest({"offset": 10, "limit": 100}),
                                        {"items": [1] * 25, "total": 90}, NO_HEADERS, ident)
    assert page.next == PageRequest({"offset": 35, "limit": 100})


def test_offset_limit_caller_params_and_unknown_total() -> None:
    strategy = OffsetLimit(offset_param="skip", limit_param="take", total_field="count")
    first = strategy.first({"skip": 5, "take": 3})
    assert first == PageRequest({"skip": 5, "take": 3})
    assert strategy.first({}) == PageRequest({"skip": 0})
    full = strategy.parse(first, {"items": [1]}, NO_HEADERS, ident)
    assert full.next == PageRequest({"skip": 6, "take": 3})
    assert strategy.parse(first, {"items": []}, NO_HEADERS, ident).next is None


@pytest.mark.parametrize("total", ["9", -2, 1.0, False])
def test_offset_limit_bad_total_raises(total: Any) -> None:
    with pytest.raises(DecodeError, match="total"):
        OffsetLimit().parse(PageRequest({"offset": 0}), {"items": [], "total": total},
                            NO_HEADERS, ident)


# -- strategy configuration -------------------------------------------------------


@pytest.mark.parametrize("build", [
    lambda: Cursor(cursor_param=""), lambda: Cursor(next_field="a..b"),
    lambda: Cursor(items_field=""), lambda: Cursor(meta_fields=("",)),
    lambda: LinkHeader(rel=""), lambda: LinkHeader(rel="next last"),
    lambda: LinkHeader(items_field="."), lambda: PageNumber(start=-1),
    lambda: PageNumber(start=True), lambda: PageNumber(page_param=3),
    lambda: OffsetLimit(limit=0), lambda: OffsetLimit(limit=2.5),
    lambda: OffsetLimit(total_field=""),
])
def test_strategy_configuration_is_validated(build: Callable[[], Any]) -> None:
    with pytest.raises(InvalidRequestError):
        build()


def test_strategies_are_immutable_values() -> None:
    assert Cursor() == Cursor()
    assert Cursor(cursor_param="after") != Cursor()
    assert "cursor_param='after'" in repr(Cursor(cursor_param="after"))
    assert pickle.loads(pickle.dumps(OffsetLimit(limit=5))) == OffsetLimit(limit=5)  # noqa: S301 - our own data
    with pytest.raises(AttributeError):
        Cursor().cursor_param = "x"  # type: ignore[misc]


@pytest.mark.parametrize("strategy", [Cursor(), LinkHeader(), PageNumber(), OffsetLimit()])
def test_strategies_satisfy_the_protocol(strategy: Paginator) -> None:
    assert isinstance(strategy.first({}), PageRequest)


# -- Pager ----------------------------------------------------------------------


def cursor_api(pages: Mapping[str | None, tuple[list[Any], str | None]]) -> FakeAPI:
    responses = {}
    for cursor, (items, next_cursor) in pages.items():
        key = tuple(sorted({"limit": 2, **({} if cursor is None else {"cursor": cursor})}.items()))
        responses[key] = ({"items": items, "next_cursor": next_cursor}, {})
    return FakeAPI(Cursor(), {"limit": 2}, responses)


def test_pager_is_lazy_and_crosses_empty_pages() -> None:
    api = cursor_api({None: ([1, 2], "p2"), "p2": ([], "p3"), "p3": ([], "p4"),
                      "p4": ([3], None)})
    pager = Pager(api.fetch, Cursor().first({"limit": 2}))
    assert api.fetched == []
    assert next(pager) == 1
    assert len(api.fetched) == 1
    assert list(pager) == [2, 3]
    assert len(api.fetched) == 4
    assert pager.next_request is None
    assert list(pager) == []  # exhausted: no more fetches
    assert len(api.fetched) == 4


def test_pager_pages() -> None:
    api = cursor_api({None: ([1, 2], "p2"), "p2": ([], "p3"), "p3": ([3], None)})
    pages = list(Pager(api.fetch, PageRequest()).pages())
    assert [p.items for p in pages] == [[1, 2], [], [3]]
    assert [p.next_cursor for p in pages] == ["p2", "p3", None]


def test_pager_loop_detection() -> None:
    api = cursor_api({None: ([1], "a"), "a": ([2], "b"), "b": ([3], "a")})
    pager = Pager(api.fetch, PageRequest())
    assert [next(pager) for _ in range(3)] == [1, 2, 3]
    with pytest.raises(DecodeError, match=r"pagination repeated .*cursor=a.*stopping"):
        next(pager)
    assert len(api.fetched) == 3


def test_pager_loop_detection_includes_the_first_request_and_urls() -> None:
    api = cursor_api({None: ([1], "a"), "a": ([2], None)})
    pager = Pager(api.fetch, PageRequest({"cursor": "a"}))
    api.responses = {**api.responses,
                     (("cursor", "a"), ("limit", 2)): ({"items": [2], "next_cursor": "a"}, {})}
    with pytest.raises(DecodeError, match="repeated"):
        list(pager)
    link = FakeAPI(LinkHeader(), {}, {
        "https://a.test/1": ([1], {"Link": "</2?sig=s3cr3t>; rel=next"}),
        "https://a.test/2?sig=s3cr3t": ([2], {"Link": '<https://a.test/3>; rel="next"'}),
        "https://a.test/3": ([3], {"Link": "</2?sig=s3cr3t>; rel=next"}),
    })

    def fetch(request: PageRequest) -> Page[Any]:
        link.fetched.append(request)
        body, headers = link.responses[request.url]
        return LinkHeader().parse(request, body, headers, ident, url=request.url)

    with pytest.raises(DecodeError, match=r"repeated .*https://a\.test/2\?sig=\*\*\*") as info:
        list(Pager(fetch, PageRequest(url="https://a.test/1")))
    assert "s3cr3t" not in str(info.value)
    assert [r.url for r in link.fetched] == [
        "https://a.test/1", "https://a.test/2?sig=s3cr3t", "https://a.test/3"]


def test_pager_max_pages_and_max_items() -> None:
    pages = {None: ([1, 2], "p2"), "p2": ([3, 4], "p3"), "p3": ([5], None)}
    api = cursor_api(pages)
    assert list(Pager(api.fetch, PageRequest(), max_pages=2)) == [1, 2, 3, 4]
    assert len(api.fetched) == 2
    api = cursor_api(pages)
    pager = Pager(api.fetch, PageRequest(), max_items=3)
    assert list(pager) == [1, 2, 3]
    assert len(api.fetched) == 2  # never fetches a page it will not use
    assert pager.next_request == PageRequest({"cursor": "p3"})
    api = cursor_api(pages)
    pager = Pager(api.fetch, PageRequest(), max_items=2)
    assert list(pager) == [1, 2]
    assert len(api.fetched) == 1


def test_pager_max_items_truncates_the_last_page_of_pages() -> None:
    api = cursor_api({None: ([1, 2], "p2"), "p2": ([3, 4], "p3")})
    pages = list(Pager(api.fetch, PageRequest(), max_items=3).pages())
    assert [p.items for p in pages] == [[1, 2], [3]]
    assert pages[-1].next == PageRequest({"cursor": "p3"})


def test_pager_resume_from_a_saved_request() -> None:
    pages = {None: ([1, 2], "p2"), "p2": ([3, 4], "p3"), "p3": ([5], None)}
    api = cursor_api(pages)
    first = Pager(api.fetch, PageRequest(), max_pages=1)
    assert list(first) == [1, 2]
    saved = json.dumps(first.next_request.to_json() if first.next_request else None)
    api = cursor_api(pages)
    resumed = Pager(api.fetch, PageRequest.from_json(json.loads(saved)))
    assert list(resumed) == [3, 4, 5]
    assert api.fetched[0] == PageRequest({"cursor": "p2"})


def test_pager_resume_from_a_saved_link() -> None:
    api = FakeAPI(LinkHeader(), {}, {
        "https://api.example.com/v1/cars?page=2": (
            [3], {"Link": '</v1/cars?page=3>; rel="next"'}),
        "https://api.example.com/v1/cars?page=3": ([4], {}),
    })

    def fetch(request: PageRequest) -> Page[Any]:
        body, headers = api.responses[request.url]
        return LinkHeader().parse(request, body, headers, ident)

    saved = PageRequest(url="https://api.example.com/v1/cars?page=2")
    assert list(Pager(fetch, saved)) == [3, 4]


def test_pager_page_and_offset_strategies_end_to_end() -> None:
    numbered = FakeAPI(PageNumber(), {"per_page": 2}, {
        (("page", 1), ("per_page", 2)): ({"items": [1, 2], "total_pages": 3}, {}),
        (("page", 2), ("per_page", 2)): ({"items": [], "total_pages": 3}, {}),
        (("page", 3), ("per_page", 2)): ({"items": [3], "total_pages": 3}, {}),
    })
    assert list(Pager(numbered.fetch, PageNumber().first({"per_page": 2}))) == [1, 2, 3]
    offset = FakeAPI(OffsetLimit(), {"limit": 2}, {
        (("limit", 2), ("offset", 0)): ({"items": [1, 2], "total": 3}, {}),
        (("limit", 2), ("offset", 2)): ({"items": [3], "total": 3}, {}),
    })
    assert list(Pager(offset.fetch, OffsetLimit().first({"limit": 2}))) == [1, 2, 3]


def test_pager_offset_empty_page_before_total_is_a_loop_not_silent_truncation() -> None:
    api = FakeAPI(OffsetLimit(), {}, {
        (("offset", 0),): ({"items": [1], "total": 5}, {}),
        (("offset", 1),): ({"items": [], "total": 5}, {}),
    })
    with pytest.raises(DecodeError, match="repeated"):
        list(Pager(api.fetch, OffsetLimit().first({})))


def test_pager_fetch_error_propagates_and_the_pager_can_go_on() -> None:
    api = cursor_api({None: ([1], "p2"), "p2": ([2], None)})
    calls = {"n": 0}

    def flaky(request: PageRequest) -> Page[Any]:
        calls["n"] += 1
        if calls["n"] == 2:
            raise DecodeError("boom")
        return api.fetch(request)

    pager = Pager(flaky, PageRequest())
    assert next(pager) == 1
    with pytest.raises(DecodeError, match="boom"):
        next(pager)
    assert next(pager) == 2  # the failed request is not remembered as fetched


def test_pager_pages_refuses_a_half_read_page() -> None:
    api = cursor_api({None: ([1, 2], "p2"), "p2": ([3], None)})
    pager = Pager(api.fetch, PageRequest())
    assert next(pager) == 1
    with pytest.raises(InvalidRequestError, match="mid-page"):
        pager.pages()
    assert next(pager) == 2
    assert [p.items for p in pager.pages()] == [[3]]


@pytest.mark.parametrize("kwargs", [
    {"max_pages": 0}, {"max_pages": -1}, {"max_items": 0}, {"max_items": 1.0},
    {"max_pages": True}, {"max_items": "3"},
])
def test_pager_limits_are_validated(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequestError, match="max_"):
        Pager(lambda r: Page([]), PageRequest(), **kwargs)


def test_pager_first_must_be_a_page_request() -> None:
    with pytest.raises(InvalidRequestError, match="PageRequest"):
        Pager(lambda r: Page([]), "cursor")  # type: ignore[arg-type]


# -- properties -------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=4),
    max_leaves=20,
)
LINK_PIECES = st.lists(st.sampled_from([
    "<", ">", ";", ",", " ", "=", '"', "\\", "rel", "next", "anchor", "/p?x=1", "p2", "//h",
    "https://a.test/p", "http://[", "https://[::1", "#f", "\u00e9", "NEXT last",
]), max_size=14).map("".join)
STRATEGIES: list[Paginator] = [
    Cursor(), Cursor(next_field="meta.next", items_field="data.items"), LinkHeader(),
    LinkHeader(items_field="items"), PageNumber(), OffsetLimit(limit=3),
]


@given(body=JSON | st.fixed_dictionaries({"items": JSON}, optional={
    "next_cursor": JSON, "total": JSON, "total_pages": JSON, "meta": JSON}),
       link=st.text(max_size=40) | LINK_PIECES, which=st.integers(0, len(STRATEGIES) - 1))
def test_any_body_or_link_header_parses_or_raises_decode_error(
    body: Any, link: str, which: int
) -> None:
    strategy = STRATEGIES[which]
    request = strategy.first({})
    try:
        page = strategy.parse(request, body, {"Link": link}, ident, url="https://a.test/x")
    except DecodeError:
        return
    assert isinstance(page.items, list)
    assert page.next is None or isinstance(page.next, PageRequest)
