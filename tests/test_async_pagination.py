"""AsyncPager, and its sameness with Pager: one set of decisions, two shells.

Each behaviour test runs against both pagers over the same fake listing (the
async fetch awaits ``asyncio.sleep(0)`` so every fetch really suspends); a
property test drives both over random page graphs (loops, empty pages, limits,
failing fetches) and requires identical items, fetches, errors and resume
points. One end-to-end test pages an httpx MockTransport API with AsyncPager.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mysdk.errors import DecodeError, InvalidRequestError, MySDKError
from mysdk.pagination import (
    AsyncPager,
    Cursor,
    LinkHeader,
    OffsetLimit,
    Page,
    Pager,
    PageRequest,
)

IMPLS = ["sync", "async"]


@dataclass
class Listing:
    """Cursor pages ``{cursor: (items, next_cursor)}``; records every fetch."""

    pages: Mapping[str | None, tuple[list[Any], str | None]]
    fail_at: set[int] = field(default_factory=set)  # fetch numbers (1-based) that raise
    fetched: list[PageRequest] = field(default_factory=list)
    calls: int = 0

    def fetch(self, request: PageRequest) -> Page[Any]:
        self.calls += 1
        if self.calls > 50:  # a pager that misses a loop must not hang the test
            raise RuntimeError("more than 50 fetches: the pager is looping")
        if self.calls in self.fail_at:
            raise DecodeError(f"fetch {self.calls} failed")
        self.fetched.append(request)
        items, following = self.pages[request.params.get("cursor")]
        body = {"items": items, "next_cursor": following}
        return Cursor().parse(request, body, {}, lambda v: v)

    async def afetch(self, request: PageRequest) -> Page[Any]:
        await asyncio.sleep(0)
        return self.fetch(request)


@dataclass
class Run:
    """What one walk produced: items (or pages' items), the error, the pager after."""

    items: list[Any]
    error: MySDKError | None
    next_request: PageRequest | None
    pages_fetched: int


def make(impl: str, listing: Listing, *, first: PageRequest | None = None,
         **limits: Any) -> Any:
    first = PageRequest() if first is None else first
    if impl == "sync":
        return Pager(listing.fetch, first, **limits)
    return AsyncPager(listing.afetch, first, **limits)


def walk(impl: str, pager: Any, *, pages: bool = False, take: int | None = None) -> Run:
    """Take ``take`` items (all when None), or every page's items, stopping at an error."""
    out: list[Any] = []
    error = None
    if impl == "sync":
        try:
            if pages:
                for page in pager.pages():
                    out.append(page.items)
            else:
                for item in pager:
                    out.append(item)
                    if take is not None and len(out) == take:
                        break
        except MySDKError as exc:
            error = exc
    else:
        async def main() -> MySDKError | None:
            try:
                if pages:
                    async for page in pager.pages():
                        out.append(page.items)
                else:
                    async for item in pager:
                        out.append(item)
                        if take is not None and len(out) == take:
                            break
            except MySDKError as exc:
                return exc
            return None

        error = asyncio.run(main())
    return Run(out, error, pager.next_request, pager.pages_fetched)


# -- the same behaviour, sync and async ------------------------------------------------


@pytest.mark.parametrize("impl", IMPLS)
def test_lazy_crosses_empty_pages_and_stays_exhausted(impl: str) -> None:
    listing = Listing({None: ([1, 2], "p2"), "p2": ([], "p3"), "p3": ([], "p4"),
                       "p4": ([3], None)})
    pager = make(impl, listing)
    assert listing.fetched == []
    assert walk(impl, pager, take=1).items == [1]
    assert len(listing.fetched) == 1
    run = walk(impl, pager)
    assert (run.items, run.error, run.next_request, run.pages_fetched) == ([2, 3], None, None, 4)
    assert walk(impl, pager).items == []
    assert len(listing.fetched) == 4


@pytest.mark.parametrize("impl", IMPLS)
def test_loop_detection(impl: str) -> None:
    listing = Listing({None: ([1], "a"), "a": ([2], "b"), "b": ([3], "a")})
    run = walk(impl, make(impl, listing))
    assert run.items == [1, 2, 3]
    assert isinstance(run.error, DecodeError)
    assert "pagination repeated a request after 3 pages (cursor=a); stopping" in str(run.error)
    assert len(listing.fetched) == 3


@pytest.mark.parametrize("impl", IMPLS)
def test_loop_detection_includes_the_first_request(impl: str) -> None:
    listing = Listing({"a": ([1], "a")})
    run = walk(impl, make(impl, listing, first=PageRequest({"cursor": "a"})))
    assert run.items == [1]
    assert isinstance(run.error, DecodeError)


@pytest.mark.parametrize("impl", IMPLS)
def test_offset_empty_page_before_total_is_a_loop(impl: str) -> None:
    bodies = {0: {"items": [1], "total": 5}, 1: {"items": [], "total": 5}}

    calls = []

    def fetch(request: PageRequest) -> Page[Any]:
        calls.append(request)
        if len(calls) > 50:  # a pager that misses a loop must not hang the test
            raise RuntimeError("more than 50 fetches: the pager is looping")
        body = bodies[request.params["offset"]]
        return OffsetLimit().parse(request, body, {}, lambda v: v)

    async def afetch(request: PageRequest) -> Page[Any]:
        return fetch(request)

    first = OffsetLimit().first({})
    pager = Pager(fetch, first) if impl == "sync" else AsyncPager(afetch, first)
    run = walk(impl, pager)
    assert (run.items, type(run.error)) == ([1], DecodeError)


PAGES = {None: ([1, 2], "p2"), "p2": ([3, 4], "p3"), "p3": ([5], None)}


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize(("limits", "items", "fetches", "next_request"), [
    ({"max_pages": 2}, [1, 2, 3, 4], 2, PageRequest({"cursor": "p3"})),
    ({"max_items": 3}, [1, 2, 3], 2, PageRequest({"cursor": "p3"})),
    ({"max_items": 2}, [1, 2], 1, PageRequest({"cursor": "p2"})),  # no page it will not use
    ({"max_items": 9, "max_pages": 9}, [1, 2, 3, 4, 5], 3, None),
])
def test_limits(impl: str, limits: dict[str, Any], items: list[int], fetches: int,
                next_request: PageRequest | None) -> None:
    listing = Listing(PAGES)
    run = walk(impl, make(impl, listing, **limits))
    assert (run.items, run.error, run.next_request) == (items, None, next_request)
    assert len(listing.fetched) == run.pages_fetched == fetches


@pytest.mark.parametrize("impl", IMPLS)
def test_pages_cut_the_last_page_to_max_items_and_resume(impl: str) -> None:
    listing = Listing(PAGES)
    pager = make(impl, listing, max_items=3)
    run = walk(impl, pager, pages=True)
    assert run.items == [[1, 2], [3]]
    saved = PageRequest.from_json(run.next_request.to_json())  # type: ignore[union-attr]
    assert walk(impl, make(impl, Listing(PAGES), first=saved)).items == [5]


@pytest.mark.parametrize("impl", IMPLS)
def test_pages_refuses_a_half_read_page(impl: str) -> None:
    pager = make(impl, Listing({None: ([1, 2], "p2"), "p2": ([3], None)}))
    assert walk(impl, pager, take=1).items == [1]
    with pytest.raises(InvalidRequestError, match=r"Pager\.pages\(\): called mid-page"):
        pager.pages()  # refused at the call, before any iteration
    assert walk(impl, pager, take=1).items == [2]
    assert walk(impl, pager, pages=True).items == [[3]]


@pytest.mark.parametrize("impl", IMPLS)
def test_a_fetch_error_propagates_and_the_same_request_is_tried_again(impl: str) -> None:
    listing = Listing({None: ([1], "p2"), "p2": ([2], None)}, fail_at={2})
    pager = make(impl, listing)
    run = walk(impl, pager)
    assert (run.items, str(run.error)) == ([1], "fetch 2 failed")
    assert run.next_request == PageRequest({"cursor": "p2"})
    assert walk(impl, pager).items == [2]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("kwargs", [
    {"max_pages": 0}, {"max_items": -1}, {"max_items": 1.0}, {"max_pages": True},
    {"max_items": "3"},
])
def test_limits_are_validated(impl: str, kwargs: dict[str, Any]) -> None:
    owner = "Pager" if impl == "sync" else "AsyncPager"
    with pytest.raises(InvalidRequestError, match=f"^{owner}: max_"):
        make(impl, Listing({}), **kwargs)
    with pytest.raises(InvalidRequestError, match=f"^{owner}: first must be a PageRequest"):
        make(impl, Listing({}), first="cursor")  # type: ignore[arg-type]


# -- property: both pagers make the same decisions --------------------------------------

GRAPH = st.dictionaries(
    st.sampled_from([None, "a", "b", "c", "d"]),
    st.tuples(st.lists(st.integers(0, 9), max_size=3), st.sampled_from([None, "a", "b", "c", "d"])),
    min_size=1,
)


@given(graph=GRAPH, start=st.sampled_from([None, "a", "b"]),
       max_pages=st.none() | st.integers(1, 6), max_items=st.none() | st.integers(1, 8),
       fail_at=st.sets(st.integers(1, 6), max_size=2), pages=st.booleans())
def test_sync_and_async_pagers_decide_the_same(
    graph: dict[str | None, tuple[list[int], str | None]], start: str | None,
    max_pages: int | None, max_items: int | None, fail_at: set[int], pages: bool,
) -> None:
    pages_for = {k: graph.get(k, ([], None)) for k in [None, "a", "b", "c", "d"]}
    first = PageRequest() if start is None else PageRequest({"cursor": start})
    outcomes = []
    for impl in IMPLS:
        listing = Listing(pages_for, set(fail_at))
        pager = make(impl, listing, first=first, max_pages=max_pages, max_items=max_items)
        runs = [walk(impl, pager, pages=pages) for _ in range(3)]  # go on after errors
        outcomes.append(([(r.items, type(r.error), str(r.error), r.next_request,
                           r.pages_fetched) for r in runs], listing.fetched))
    assert outcomes[0] == outcomes[1]


# -- end to end over httpx --------------------------------------------------------------


def test_async_pager_over_httpx_with_link_headers() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        headers = {"Link": f'</v1/cars?page={page + 1}&sig=s3cr3t>; rel="next"'} if page < 3 else {}
        return httpx.Response(200, json=[page * 10, page * 10 + 1], headers=headers)

    async def main() -> tuple[list[int], list[str]]:
        strategy = LinkHeader()
        seen: list[str] = []
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler),
                                     base_url="https://api.example.com") as client:
            async def fetch(request: PageRequest) -> Page[int]:
                if request.url is not None:
                    resp = await client.get(request.url)
                else:
                    resp = await client.get("/v1/cars", params=dict(request.params))
                seen.append(str(resp.url))
                return strategy.parse(request, resp.json(), resp.headers, int,
                                      url=str(resp.url))

            items = [car async for car in AsyncPager(fetch, strategy.first({}))]
        return items, seen

    items, seen = asyncio.run(main())
    assert items == [10, 11, 20, 21, 30, 31]
    assert seen == ["https://api.example.com/v1/cars",
                    "https://api.example.com/v1/cars?page=2&sig=s3cr3t",
                    "https://api.example.com/v1/cars?page=3&sig=s3cr3t"]


def test_importing_pagination_imports_neither_httpx_nor_asyncio() -> None:
    code = ("import sys, mysdk.pagination\n"
            "print(sorted({'httpx', 'asyncio'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert out.strip() == "[]"
