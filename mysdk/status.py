"""Turn a non-success HTTP response into the matching :mod:`mysdk.errors` class."""

from __future__ import annotations

import time
from typing import Any

import requests

from mysdk.errors import APIStatusError, RedirectError, safe_url, status_error_class
from mysdk.redirects import resolve_location
from mysdk.retry import parse_retry_after

__all__ = ["error_from_response"]

_REQUEST_ID_HEADERS = ("X-Request-Id", "Request-Id", "X-Correlation-Id")
_MAX_TEXT = 2000  # characters of a non-JSON error body kept on the error
_MAX_DEPTH = 32  # nesting levels of a JSON error body kept parsed; deeper is kept as text


def error_from_response(
    resp: requests.Response, method: str, url: str, attempts: int = 1, note: str = "",
    *, body_truncated: bool = False,
) -> APIStatusError:
    """Build the error for ``resp`` (status >= 300) without raising it.

    Args:
        resp: The response.
        method: HTTP method of the request.
        url: The request URL (userinfo is stripped by the error).
        attempts: Attempts the call made.
        note: Extra text for the message (e.g. why a 401 was not replayed).
        body_truncated: The body was cut at :data:`mysdk.errors.MAX_ERROR_BODY`
            bytes; JSON is then not parsed and the text is kept.

    Returns:
        An instance of the class :func:`mysdk.errors.status_error_class` picks,
        with ``body`` (JSON or text), ``request_id`` and ``retry_after``
        (RFC 9110 §10.2.3, seconds) filled in.
    """
    status = resp.status_code
    url = safe_url(url)  # the message must not carry userinfo (a password)
    body = _body(resp, body_truncated)
    headers = dict(resp.headers)
    message = f"HTTP {status} {resp.reason or ''}".rstrip() + f" for {method} {url}"
    summary = _summary(body)
    if summary:
        message += f": {summary}"
    if note:
        message += f" ({note})"
    error = status_error_class(status)(
        message,
        status_code=status,
        headers=headers,
        body=body,
        method=method,
        url=url,
        request_id=next((resp.headers[h] for h in _REQUEST_ID_HEADERS if h in resp.headers), None),
        retry_after=parse_retry_after(resp.headers.get("Retry-After"), now=time.time()),
        attempts=attempts,
        response=resp,
    )
    error.body_truncated = body_truncated
    if isinstance(error, RedirectError):
        target = resolve_location(url, resp.headers.get("Location"))
        error.location = safe_url(target) if target else ""
    return error


def _body(resp: requests.Response, truncated: bool) -> Any:
    if not resp.content:
        return ""
    if not truncated and "json" in resp.headers.get("Content-Type", ""):
        try:
            parsed = resp.json()
        except (ValueError, RecursionError):  # malformed, or nested deeper than the stack
            parsed = None
        if parsed is not None and _shallow(parsed):
            return parsed
    try:
        return resp.text[:_MAX_TEXT]
    except (LookupError, ValueError):  # an unknown charset in Content-Type
        return resp.content[:_MAX_TEXT].decode("utf-8", "replace")


def _shallow(value: Any) -> bool:
    """True when ``value`` nests at most :data:`_MAX_DEPTH` levels (an error must
    pickle and print without hitting the recursion limit)."""
    level: list[Any] = [value]
    for _ in range(_MAX_DEPTH):
        level = [child for item in level if isinstance(item, (dict, list))
                 for child in (item.values() if isinstance(item, dict) else item)]
        if not level:
            return True
    return False


def _summary(body: Any) -> str:
    """The server's own short explanation, if the body has one."""
    if isinstance(body, dict):
        for field in ("message", "error_description", "detail", "error", "title"):
            value = body.get(field)
            if isinstance(value, str) and value:
                return value[:200]
        return ""
    return body[:200] if isinstance(body, str) else ""
