"""Which redirects the client follows, and how (RFC 9110 §15.4): pure rules.

Nothing here sends a request; the client's request path asks :func:`next_hop`
what to do with a 3xx and performs the hop itself, so a sync and an async
client share the policy.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import urljoin, urlsplit

__all__ = ["MAX_REDIRECTS", "REDIRECT_STATUSES", "Hop", "next_hop", "origin", "resolve_location"]

MAX_REDIRECTS = 5
"""Most redirects one call follows; the sixth 3xx is raised as a RedirectError."""

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
"""Statuses with a ``Location`` the client may follow (RFC 9110 §15.4.2-15.4.9)."""

_DEFAULT_PORTS = {"http": 80, "https": 443}


class Hop(NamedTuple):
    """The request to send for a followed redirect.

    Attributes:
        method: The method of the next request.
        url: The absolute URL of the next request.
        keep_body: True when the body is sent again (307, 308, and 301/302
            for methods other than POST).
    """

    method: str
    url: str
    keep_body: bool


def origin(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of ``url`` (RFC 6454 §4), default ports filled in.

    Raises:
        ValueError: ``url`` has an invalid port.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme, 0)


def resolve_location(request_url: str, location: str | None) -> str | None:
    """The absolute URL a ``Location`` header points at (RFC 9110 §10.2.2), or None."""
    if not location or not location.strip():
        return None
    try:
        return urljoin(request_url, location.strip())
    except ValueError:
        return None


def next_hop(method: str, url: str, status: int, location: str | None) -> Hop | str:
    """Decide how to follow a 3xx response to ``method url``.

    Args:
        method: The request's method, upper case.
        url: The request's absolute URL.
        status: The response status (300-399).
        location: The response's ``Location`` header, or None.

    Returns:
        The :class:`Hop` to send; or, when the redirect must not be followed,
        a short reason (a 3xx that is not a redirect, no usable ``Location``,
        another origin, or https to http: credentials stay with the origin).
    """
    if status not in REDIRECT_STATUSES:
        return f"HTTP {status} is not a redirect the client follows"
    target = resolve_location(url, location)
    if target is None:
        return "the redirect has no usable Location"
    try:
        here, there = origin(url), origin(target)
    except ValueError:
        return "the redirect's Location is not a valid URL"
    if there[0] not in _DEFAULT_PORTS:
        return "the redirect's Location is not an http(s) URL"
    if here[0] == "https" and there[0] == "http":
        return "refusing to follow a redirect from https to http"
    if here != there:
        return "refusing to follow a redirect to another origin (credentials stay with the API)"
    target = target.partition("#")[0]
    if status == 303:
        # RFC 9110 §15.4.4: the next request is a GET (HEAD stays HEAD), without the body.
        return Hop("HEAD" if method == "HEAD" else "GET", target, keep_body=False)
    if status in (301, 302) and method == "POST":
        # RFC 9110 §15.4.2/§15.4.3: user agents may change POST to GET; all do.
        return Hop("GET", target, keep_body=False)
    return Hop(method, target, keep_body=True)
