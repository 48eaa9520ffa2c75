"""Cursor pagination: one :class:`Page` per request, and an iterator over all items."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from mysdk.errors import DecodeError

__all__ = ["Page", "iterate_items"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing.

    Attributes:
        items: The items on this page (may be empty even when more follow).
        next_cursor: Opaque cursor of the next page, or ``None`` on the last page.
    """

    items: list[T]
    next_cursor: str | None


def iterate_items(
    fetch: Callable[[str | None], Page[T]], *, max_pages: int | None = None
) -> Iterator[T]:
    """Yield every item of every page, fetching pages lazily.

    Stops on the cursor, not on an empty page: a server may return an empty
    page that still has a next cursor (openai-python #3915).

    Args:
        fetch: Returns the page for a cursor (``None`` for the first page).
        max_pages: Stop after this many pages; ``None`` for no limit.

    Raises:
        DecodeError: The server returned a cursor it had already returned,
            which would otherwise loop forever.
        MySDKError: Whatever ``fetch`` raises.
    """
    cursor: str | None = None
    seen: set[str] = set()
    pages = 0
    while max_pages is None or pages < max_pages:
        page = fetch(cursor)
        pages += 1
        yield from page.items
        if page.next_cursor is None:
            return
        if page.next_cursor in seen:
            raise DecodeError(f"pagination cursor repeated after {pages} pages; stopping")
        seen.add(page.next_cursor)
        cursor = page.next_cursor
